/* Integer arithmetic with C's conversions: promotions, usual arithmetic
   conversions, unsigned wrap-around, truncating division, shifts, narrowing. */
#include <stdio.h>

int main(void)
{
    int a = 7, b = -3;
    unsigned u = 7, big = 4000000000u;
    char c = 127;
    unsigned char uc = 250;
    short s = -32768;
    unsigned short us = 65535;

    printf("%d %d %d %d\n", a / b, a % b, -a / 2, -a % 2);
    printf("%u %u\n", u - 8, big + big);
    printf("%d %d\n", -1 < 1u, -1 < (int)1u);
    printf("%d %d\n", (char)(c + 1), (unsigned char)(uc + 10));
    printf("%d %u\n", (short)(s - 1), (unsigned short)(us + 1));
    c++;
    uc += 10;
    printf("%d %d\n", c, uc);
    printf("%d %d %u\n", 1 << 30, -16 >> 2, 0x80000000u >> 31);
    printf("%d %d\n", ~0, !0 + !5);
    printf("%d\n", (a & 3) | (b ^ 1));
    printf("%u\n", (unsigned)-1 / 3);
    printf("%d\n", 0x7fffffff + 0u > 0);
    long l = 10000;
    printf("%ld %lu\n", l * l / 1000, (unsigned long)l * 3);
    int x = 10;
    x -= 3;
    x *= x;
    printf("%d\n", x);
    unsigned short m = 40000;
    printf("%d\n", m * m > 0);   /* promoted to int: 1600000000 fits */
    printf("%d %d %d\n", 17 % 5, -17 % 5, 17 % -5);
    return 0;
}
