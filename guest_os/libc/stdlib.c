/* stdlib.c: the heap, exit and number conversion.
 *
 * The heap is a static arena of HEAP_SIZE bytes carved into blocks, each with an
 * 8-byte header {size of the whole block, in-use flag}; malloc takes the first free
 * block that fits (splitting it), free marks a block free and merges it with the
 * free blocks that follow.  Payloads are 8-aligned.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <paravisor.h>
#include <hypercalls.h>

#define HEAP_SIZE (256 * 1024)

struct block {
    size_t size;        /* bytes, header included; a multiple of 8 */
    size_t used;
};

static unsigned long long heap_words[HEAP_SIZE / 8];     /* 8-aligned */
#define heap ((char *)heap_words)
static int heap_ready;

static struct block *first_block(void)
{
    struct block *b = (struct block *)heap;
    if (!heap_ready) {
        b->size = HEAP_SIZE;
        b->used = 0;
        heap_ready = 1;
    }
    return b;
}

static struct block *next_block(struct block *b)
{
    char *next = (char *)b + b->size;
    return next < heap + HEAP_SIZE ? (struct block *)next : NULL;
}

static void merge_following(struct block *b)
{
    struct block *n = next_block(b);
    while (n != NULL && !n->used) {
        b->size += n->size;
        n = next_block(b);
    }
}

void *malloc(size_t size)
{
    if (size == 0 || size > HEAP_SIZE)
        return NULL;
    size_t need = (size + sizeof(struct block) + 7) & ~7u;
    for (struct block *b = first_block(); b != NULL; b = next_block(b)) {
        if (b->used)
            continue;
        merge_following(b);
        if (b->size < need)
            continue;
        if (b->size - need >= 16) {
            struct block *rest = (struct block *)((char *)b + need);
            rest->size = b->size - need;
            rest->used = 0;
            b->size = need;
        }
        b->used = 1;
        return b + 1;
    }
    return NULL;
}

void free(void *ptr)
{
    if (ptr == NULL)
        return;
    struct block *b = (struct block *)ptr - 1;
    b->used = 0;
    merge_following(b);
}

void *calloc(size_t count, size_t size)
{
    if (size && count > HEAP_SIZE / size)
        return NULL;
    void *p = malloc(count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void *realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return malloc(size);
    struct block *b = (struct block *)ptr - 1;
    size_t have = b->size - sizeof(struct block);
    if (size <= have)
        return ptr;
    void *p = malloc(size);
    if (p != NULL) {
        memcpy(p, ptr, have);
        free(ptr);
    }
    return p;
}

static void shutdown(unsigned reason, int code)
{
    struct sched_shutdown request = {reason, (unsigned)code};
    fflush_console();
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &request);
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &request);
}

void exit(int status)
{
    shutdown(SHUTDOWN_poweroff, status);
}

void abort(void)
{
    printf("abort() called\n");
    shutdown(SHUTDOWN_crash, 134);
}

void __assert_fail(const char *expr, const char *file, int line)
{
    printf("%s:%d: assertion failed: %s\n", file, line, expr);
    shutdown(SHUTDOWN_crash, 134);
}

int abs(int x)
{
    return x < 0 ? -x : x;
}

long labs(long x)
{
    return x < 0 ? -x : x;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    unsigned long value = 0;
    int negative = 0;
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (*s == '-' || *s == '+')
        negative = *s++ == '-';
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }
    while (digit_value(*s) < base)
        value = value * base + digit_value(*s++);
    if (end != NULL)
        *end = (char *)s;
    return negative ? -value : value;
}

long strtol(const char *s, char **end, int base)
{
    return (long)strtoul(s, end, base);
}

int atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}
