/* Bit-fields: layout (GCC's), signed and unsigned fields, unnamed and zero-width
   fields, initializers, assignment values, compound assignment and increments. */
#include <stdio.h>
struct flags { unsigned a : 3; int b : 5; unsigned : 0; unsigned char c : 4; _Bool d : 1; unsigned full : 32; };
struct flags g = {5, -3, 9, 1, 0xdeadbeef};
struct flags h = {.b = 7, .c = 15};
int main(void) {
    struct flags l = {1, 2, 3};
    printf("%d %d %d %d %x %d\n", g.a, g.b, g.c, g.d, g.full, (int)sizeof(struct flags));
    printf("%d %d %d\n", h.a, h.b, h.c);
    l.a = 9; l.b = 17; l.c++; l.d = 5;
    int r = (l.b = 31);
    printf("%d %d %d %d %d %d\n", l.a, l.b, l.c, l.d, r, l.a - 5 < 0);
    g.b += 10; g.a--; 
    printf("%d %d %d\n", g.b, g.a, g.c);
    return 0;
}
