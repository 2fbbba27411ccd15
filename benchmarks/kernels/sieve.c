/* Sieve of Eratosthenes below N, as benchmarks/kernels/sieve.s. */
#define N 8192
static unsigned char flags[N];

unsigned kernel(void) {
    unsigned count = 0;
    for (unsigned i = 0; i < N; i++) flags[i] = 1;
    for (unsigned i = 2; i * i < N; i++)
        if (flags[i])
            for (unsigned j = i * i; j < N; j += i) flags[j] = 0;
    for (unsigned i = 2; i < N; i++) count += flags[i];
    return count;
}
