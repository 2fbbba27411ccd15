/* Benchmark kernel: recursive Fibonacci (calls and returns). */
#include <stdio.h>
#ifndef REPEAT
#define REPEAT 1
#endif

static unsigned fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

unsigned kernel(void)
{
    return fib(15);
}

int main(void)
{
    unsigned acc = 0;
    for (int r = 0; r < REPEAT; r++)
        acc += kernel();
    printf("%u\n", acc);
    return 0;
}
