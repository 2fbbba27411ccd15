/* Corners: loops with goto, switch inside loops with continue, nested switch,
   struct returns through function pointers, many arguments, pointer comparison,
   static local arrays, char arithmetic, post/pre increment through pointers. */
#include <stdio.h>

struct pair { int a, b; };
typedef struct pair (*maker)(int);

static struct pair make(int v)
{
    struct pair p = {v, v * v};
    return p;
}

static int many(int a, int b, int c, int d, int e, int f, int g, int h, int i)
{
    return a - b + c - d + e - f + g - h + i * 100;
}

static int classify(int v)
{
    switch (v & 3) {
    case 0:
        switch (v & 4) {
        case 0: return 0;
        default: return 4;
        }
    case 1:
        return 1;
    }
    return -1;
}

static int *counter(void)
{
    static int slots[4];
    return slots;
}

int main(void)
{
    int total = 0;
    for (int i = 0; i < 12; i++) {
        switch (i % 4) {
        case 0:
            continue;
        case 1:
            total += 1;
            break;
        default:
            total += 10;
        }
        total += 100;
    }
    printf("%d\n", total);
    int i = 0, acc = 0;
loop:
    if (i < 5) {
        acc += i++;
        goto loop;
    }
    printf("%d %d\n", i, acc);
    printf("%d %d %d %d\n", classify(0), classify(4), classify(5), classify(6));
    maker m = make;
    struct pair p = m(7);
    printf("%d %d %d\n", p.a, p.b, m(3).b);
    printf("%d\n", many(1, 2, 3, 4, 5, 6, 7, 8, 9));
    int arr[5] = {5, 4, 3, 2, 1};
    int *lo = &arr[1], *hi = &arr[3];
    printf("%d %d %d\n", lo < hi, hi >= lo, lo == hi - 2);
    int *c = counter();
    c[1]++;
    counter()[1] += 5;
    printf("%d\n", counter()[1]);
    char ch = 'a';
    ch += 2;
    printf("%c %d\n", ch, ch - 'a');
    int buf[3] = {1, 2, 3};
    int *q = buf;
    *q++ += 10;
    ++*q;
    printf("%d %d %d\n", buf[0], buf[1], *q);
    unsigned u = 1000;
    printf("%u %u %u\n", u / 8, u % 16, u * 4);
    int neg = -1000;
    printf("%d %d %d\n", neg / 8, neg % 16, neg >> 3);
    return 0;
}
