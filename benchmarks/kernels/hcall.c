/* The hypercall-heavy loop of benchmarks/kernels/hcall.s, with a call to a function
   that cannot be inlined standing in for the hypercall. */
__attribute__((noinline)) unsigned firmware(unsigned nr) {
    __asm__ volatile("" ::: "memory");
    return nr == 2 ? (unsigned)-38 : 0;
}

unsigned kernel(void) {
    static unsigned s;
    for (int n = 0; n < 1000; n++) {
        s += firmware(2);
        s += s ^ 0x55;
    }
    return s;
}
