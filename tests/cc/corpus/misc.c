/* Enums, typedefs, sizeof, casts, compound literals, the comma operator, bool,
   const, nested scopes and shadowing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum color { RED, GREEN = 5, BLUE, LAST = BLUE + 10 };
typedef enum color color_t;
typedef struct { int16_t lo; uint8_t tag; } packed_t;

static int area(const int *rect)
{
    return rect[0] * rect[1];
}

int main(void)
{
    color_t c = BLUE;
    printf("%d %d %d %d\n", RED, GREEN, c, LAST);
    printf("%d %d %d\n", (int)sizeof(packed_t), (int)sizeof(int16_t), (int)sizeof(c));
    bool flag = 42;
    printf("%d %d\n", flag, (bool)0);
    int x = 1;
    {
        int x = 2;
        x++;
        printf("%d ", x);
    }
    printf("%d\n", x);
    int y = (x += 2, x * 10);
    printf("%d\n", y);
    printf("%d\n", area((int[]){6, 7}));
    packed_t p = (packed_t){-3, 9};
    printf("%d %d\n", p.lo, p.tag);
    uint32_t big = (uint32_t)-1;
    int8_t small = (int8_t)200;
    printf("%u %d %d\n", big, small, (uint8_t)small);
    enum { K = 3 };
    int arr[4] = {[K] = 1};
    printf("%d\n", arr[3] + arr[0]);
    return 0;
}
