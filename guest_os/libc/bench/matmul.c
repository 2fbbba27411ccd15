/* Benchmark kernel: 12x12 integer matrix multiplication (2-D arrays, multiplies). */
#include <stdio.h>
#ifndef REPEAT
#define REPEAT 1
#endif
#define N 12

static int a[N][N], b[N][N], c[N][N];

unsigned kernel(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = i + j;
            b[i][j] = i - j;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int s = 0;
            for (int k = 0; k < N; k++)
                s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    unsigned h = 0;
    for (int i = 0; i < N; i++)
        h = h * 31u + (unsigned)c[i][(i * 5) % N];
    return h;
}

int main(void)
{
    unsigned acc = 0;
    for (int r = 0; r < REPEAT; r++)
        acc += kernel();
    printf("%u\n", acc);
    return 0;
}
