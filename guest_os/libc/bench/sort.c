/* Benchmark kernel: insertion sort of a pseudo-random array (loads, stores,
   compares). */
#include <stdio.h>
#ifndef REPEAT
#define REPEAT 1
#endif
#define N 200

static int data[N];

unsigned kernel(void)
{
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (int)(seed >> 8) % 1000;
    }
    for (int i = 1; i < N; i++) {
        int v = data[i], j = i - 1;
        while (j >= 0 && data[j] > v) {
            data[j + 1] = data[j];
            j--;
        }
        data[j + 1] = v;
    }
    return (unsigned)data[0] + (unsigned)data[N / 2] * 7u + (unsigned)data[N - 1];
}

int main(void)
{
    unsigned acc = 0;
    for (int r = 0; r < REPEAT; r++)
        acc += kernel();
    printf("%u\n", acc);
    return 0;
}
