/* Variadic functions with stdarg.h, including more arguments than registers and a
   va_list handed to vsnprintf. */
#include <stdarg.h>
#include <stdio.h>

static int sum(int count, ...)
{
    va_list ap;
    int total = 0;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        total += va_arg(ap, int);
    va_end(ap);
    return total;
}

static int logf(char *buf, int size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static const char *pick(int which, ...)
{
    va_list ap, copy;
    va_start(ap, which);
    va_copy(copy, ap);
    const char *s = 0;
    for (int i = 0; i <= which; i++)
        s = va_arg(copy, const char *);
    va_end(copy);
    va_end(ap);
    return s;
}

int main(void)
{
    printf("%d %d %d\n", sum(0), sum(3, 1, 2, 3), sum(9, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    char buf[32];
    int n = logf(buf, sizeof buf, "[%s:%d]", "log", 42);
    printf("%s %d\n", buf, n);
    printf("%s\n", pick(2, "a", "b", "c", "d"));
    return 0;
}
