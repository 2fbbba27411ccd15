/* Control flow: if/else chains, loops with break and continue, switch (dense,
   sparse, fall-through, default), goto, short-circuit evaluation and ?:. */
#include <stdio.h>

static int calls;

static int touch(int v)
{
    calls++;
    return v;
}

static const char *dense(int v)
{
    switch (v) {
    case 0: return "zero";
    case 1: return "one";
    case 2: return "two";
    case 3: return "three";
    case 4: return "four";
    default: return "many";
    }
}

static int sparse(int v)
{
    int r = 0;
    switch (v) {
    case -100:
        r += 1;
    case 7:
        r += 10;
        break;
    case 1000000:
        r = 5;
        break;
    default:
        r = -1;
    }
    return r;
}

int main(void)
{
    for (int i = -1; i <= 5; i++)
        printf("%s ", dense(i));
    printf("\n%d %d %d %d\n", sparse(-100), sparse(7), sparse(1000000), sparse(3));
    int n = 0;
    for (int i = 0; i < 100; i++) {
        if (i % 3 == 0)
            continue;
        if (i > 20)
            break;
        n += i;
    }
    printf("%d\n", n);
    int k = 0;
    do {
        k += 2;
    } while (k < 7);
    int w = 100;
    while (w > 1)
        w /= 3;
    printf("%d %d\n", k, w);
    int r = touch(0) && touch(1);
    r += touch(1) || touch(2);
    r += (touch(0) || touch(0)) ? 10 : 20;
    printf("%d %d\n", r, calls);
    int count = 0;
again:
    count++;
    if (count < 5)
        goto again;
    printf("%d\n", count);
    int x = 3;
    const char *sign = x > 0 ? "pos" : x < 0 ? "neg" : "zero";
    printf("%s\n", sign);
    unsigned u = 3;
    switch (u) {
    case 1: case 2: printf("small\n"); break;
    case 3: case 4: printf("medium\n"); break;
    }
    return 0;
}
