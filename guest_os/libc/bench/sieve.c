/* Benchmark kernel: the sieve of Eratosthenes (byte arrays, nested loops). */
#include <stdio.h>
#ifndef REPEAT
#define REPEAT 1
#endif
#define N 3000

static unsigned char composite[N + 1];

unsigned kernel(void)
{
    unsigned count = 0;
    for (int i = 0; i <= N; i++)
        composite[i] = 0;
    for (int i = 2; i <= N; i++) {
        if (composite[i])
            continue;
        count++;
        for (int j = i * i; j <= N; j += i)
            composite[j] = 1;
    }
    return count;
}

int main(void)
{
    unsigned acc = 0;
    for (int r = 0; r < REPEAT; r++)
        acc += kernel();
    printf("%u\n", acc);
    return 0;
}
