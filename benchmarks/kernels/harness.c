/* Times `reps` calls of kernel() (from another translation unit, so the calls cannot be
   hoisted): prints "<nanoseconds> <last result>".  Built by benchmarks/cpu.py. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

unsigned kernel(void);
void setup(void) __attribute__((weak));

int main(int argc, char **argv) {
    long reps = argc > 1 ? atol(argv[1]) : 1;
    unsigned result = 0;
    struct timespec t0, t1;
    if (setup) setup();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long r = 0; r < reps; r++) {
        result = kernel();
        __asm__ volatile("" ::: "memory");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.0f %u\n", (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec), result);
    return 0;
}
