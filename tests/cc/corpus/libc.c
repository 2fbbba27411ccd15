/* The freestanding runtime: string.h, the heap, number conversion, assert. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { int value; struct node *next; };

int main(void)
{
    char buf[32];
    strcpy(buf, "hello");
    strcat(buf, ", world");
    printf("%s %d %d\n", buf, (int)strlen(buf), strcmp("abc", "abd") < 0);
    printf("%s %s\n", strchr(buf, 'w'), strrchr(buf, 'o'));
    printf("%d %d\n", strncmp("abcdef", "abcxyz", 3), memcmp("ab", "ac", 2) < 0);
    memset(buf, 'x', 3);
    buf[3] = 0;
    printf("%s\n", buf);
    char overlap[] = "abcdefgh";
    memmove(overlap + 2, overlap, 5);
    printf("%s\n", overlap);
    struct node *list = 0;
    for (int i = 1; i <= 100; i++) {
        struct node *n = malloc(sizeof *n);
        assert(n != 0);
        n->value = i;
        n->next = list;
        list = n;
    }
    int total = 0;
    while (list) {
        struct node *next = list->next;
        total += list->value;
        free(list);
        list = next;
    }
    printf("%d\n", total);
    int *big = calloc(1000, sizeof(int));
    big = realloc(big, 2000 * sizeof(int));
    big[1999] = 7;
    printf("%d %d\n", big[0], big[1999]);
    free(big);
    printf("%d %ld %lu %d\n", atoi("-123"), strtol("0x1f", 0, 0), strtoul("777", 0, 8),
           abs(-9));
    return 0;
}
