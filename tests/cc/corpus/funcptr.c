/* Function pointers: calls through pointers, tables of them, callbacks, and
   recursion. */
#include <stdio.h>

typedef int (*binop)(int, int);

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }

static int fold(const int *v, int n, binop f, int init)
{
    for (int i = 0; i < n; i++)
        init = f(init, v[i]);
    return init;
}

static int ackermann(int m, int n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

struct op { const char *name; binop fn; };

int main(void)
{
    static const struct op ops[] = {{"add", add}, {"sub", sub}, {"mul", mul}};
    int values[] = {1, 2, 3, 4, 5};
    for (int i = 0; i < 3; i++)
        printf("%s=%d ", ops[i].name, fold(values, 5, ops[i].fn, i == 2));
    printf("\n");
    binop f = &sub;
    printf("%d %d\n", f(10, 3), (*f)(3, 10));
    printf("%d\n", ackermann(2, 3));
    int (*table[2])(int, int) = {mul, add};
    printf("%d\n", table[0](6, 7) + table[1](1, 1));
    return 0;
}
