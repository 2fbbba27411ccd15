/* Pointers and arrays: arithmetic, decay, 2-D arrays, pointer differences,
   pointers to pointers, strings. */
#include <stdio.h>
#include <string.h>

static int sum(const int *p, int n)
{
    int s = 0;
    for (const int *end = p + n; p < end; p++)
        s += *p;
    return s;
}

static void swap(int *a, int *b)
{
    int t = *a;
    *a = *b;
    *b = t;
}

int main(void)
{
    int a[10];
    for (int i = 0; i < 10; i++)
        a[i] = i * i;
    printf("%d %d %d\n", sum(a, 10), *(a + 3), 4[a]);
    int *p = &a[7], *q = a + 2;
    printf("%d %d\n", (int)(p - q), (int)(q - p));
    swap(&a[0], &a[9]);
    printf("%d %d\n", a[0], a[9]);
    int grid[3][4];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            grid[r][c] = r * 10 + c;
    int (*row)[4] = grid + 2;
    printf("%d %d %d\n", grid[1][3], (*row)[1], (int)sizeof grid);
    char text[] = "hello";
    char *t = text;
    while (*t)
        *t++ -= 32;
    printf("%s %d\n", text, (int)sizeof text);
    const char *words[] = {"alpha", "beta", "gamma"};
    const char **w = words;
    printf("%s %c %d\n", *(w + 1), w[2][3], (int)strlen(*w));
    short hs[4] = {1, -2, 3, -4};
    short *hp = hs;
    hp += 3;
    printf("%d %d\n", *hp, hp[-1]);
    char *null = 0;
    printf("%d %d\n", null == 0, !null);
    int x = 5;
    int *px = &x, **ppx = &px;
    **ppx = 42;
    printf("%d\n", x);
    return 0;
}
