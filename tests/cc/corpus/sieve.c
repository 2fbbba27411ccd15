/* A small benchmark kernel: the sieve of Eratosthenes and a checksum loop. */
#include <stdio.h>

#define N 2000
static char composite[N + 1];

int main(void)
{
    int count = 0;
    for (int i = 2; i <= N; i++) {
        if (composite[i])
            continue;
        count++;
        for (int j = i * i; j <= N; j += i)
            composite[j] = 1;
    }
    unsigned hash = 2166136261u;
    for (int i = 0; i <= N; i++)
        hash = (hash ^ composite[i]) * 16777619u;
    printf("%d primes below %d, hash %x\n", count, N, hash);
    return count % 256;
}
