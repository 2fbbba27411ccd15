/* Global and static data with initializers: nested braces, designated
   initializers, strings, addresses of other globals, inferred array sizes, static
   locals, tentative definitions. */
#include <stdio.h>

struct config { const char *name; int values[3]; struct { char a, b; } pair; };

int counter;
int primes[] = {2, 3, 5, 7, 11, 13};
char greeting[16] = "hi there";
const char *messages[] = {"first", "second", [4] = "fifth"};
struct config configs[] = {
    {"one", {1, 2, 3}, {'a', 'b'}},
    {.values = {[2] = 9}, .name = "two"},
    {"three", 4, 5, 6, 'x', 'y'},
};
int *prime_ptr = &primes[2];
int matrix[2][3] = {{1, 2, 3}, {4, 5, 6}};
int flat[2][2] = {1, 2, 3};
static unsigned char bytes[] = {255, 256 - 1, 'A'};
short shorts[3] = {-1, 40000 - 65536};

static int next_id(void)
{
    static int id = 100;
    return id++;
}

int main(void)
{
    counter += 5;
    printf("%d %d %d\n", counter, (int)(sizeof primes / sizeof primes[0]), primes[5]);
    printf("%s %d\n", greeting, greeting[10]);
    printf("%s %s %d %s\n", messages[0], messages[1], messages[2] == 0, messages[4]);
    for (int i = 0; i < 3; i++)
        printf("%s %d %d %d %c%c\n", configs[i].name, configs[i].values[0],
               configs[i].values[1], configs[i].values[2],
               configs[i].pair.a ? configs[i].pair.a : '-',
               configs[i].pair.b ? configs[i].pair.b : '-');
    printf("%d %d\n", *prime_ptr, prime_ptr[1]);
    printf("%d %d %d %d\n", matrix[1][2], flat[1][0], flat[1][1], (int)sizeof bytes);
    printf("%d %d %d\n", bytes[0], bytes[2], shorts[1] + shorts[2]);
    int a = next_id(), b = next_id();
    printf("%d %d %d\n", a, b, next_id());
    return 0;
}
