/* Recursive fibonacci(20), as benchmarks/kernels/fib.s. */
__attribute__((noinline)) unsigned fib(unsigned n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

unsigned kernel(void) {
    return fib(20);
}
