/* The printf family's conversions, flags, widths and precisions (compared with
   the host's printf). */
#include <stdio.h>

int main(void)
{
    printf("[%d] [%5d] [%-5d] [%05d] [%+d] [% d]\n", 42, 42, 42, 42, 42, 42);
    printf("[%i] [%d] [%.3d] [%8.3d] [%-8.3d]\n", -7, -2147483647 - 1, 5, -5, 5);
    printf("[%u] [%x] [%X] [%#x] [%#X] [%08x]\n", 4294967295u, 3054, 3054, 255, 255, 48879);
    printf("[%o] [%#o] [%c] [%3c] [%-3c]\n", 8, 8, 'z', 'y', 'x');
    printf("[%s] [%8s] [%-8s] [%.2s] [%8.3s]\n", "abc", "abc", "abc", "abc", "abcdef");
    printf("[%ld] [%lu] [%lx] [%hd] [%hhu] [%%]\n", -5L, 5UL, 255UL, 70000, 300);
    printf("[%*d] [%-*d] [%.*d] [%.0d]\n", 6, 1, 6, 2, 4, 3, 0);
    char buf[8];
    int n = snprintf(buf, sizeof buf, "%s-%d", "overflow", 12345);
    printf("%s %d\n", buf, n);
    n = snprintf(buf, 0, "%d", 123);
    printf("%d\n", n);
    return 0;
}
