/* Structs and unions: layout and padding, nested members, assignment, passing and
   returning by value, arrays of structs, anonymous members, offsetof. */
#include <stdio.h>
#include <stddef.h>

struct point { int x, y; };
struct mixed { char c; int i; short s; char d; };
struct nested { struct point a, b; char tag[3]; };
union word { unsigned u; unsigned char bytes[4]; short halves[2]; };
struct with_anon { int kind; union { int i; char c; }; };

static struct point add(struct point p, struct point q)
{
    struct point r = {p.x + q.x, p.y + q.y};
    return r;
}

static void scale(struct point *p, int k)
{
    p->x *= k;
    p->y *= k;
}

int main(void)
{
    printf("%d %d %d %d\n", (int)sizeof(struct mixed), (int)offsetof(struct mixed, i),
           (int)offsetof(struct mixed, s), (int)offsetof(struct mixed, d));
    printf("%d %d\n", (int)sizeof(struct nested), (int)sizeof(union word));
    struct point a = {1, 2}, b = {10, 20};
    struct point c = add(a, b);
    printf("%d %d\n", c.x, c.y);
    scale(&c, 3);
    printf("%d %d\n", c.x, c.y);
    struct nested n = {{1, 2}, {3, 4}, "hi"};
    struct nested m = n;
    m.a.x = 99;
    printf("%d %d %d %s\n", n.a.x, m.a.x, m.b.y, m.tag);
    union word w;
    w.u = 0x11223344;
    printf("%x %x %x\n", w.bytes[0], w.bytes[3], (unsigned short)w.halves[1]);
    struct point pts[3] = {{1, 1}, {2, 4}, {3, 9}};
    int total = 0;
    for (struct point *p = pts; p < pts + 3; p++)
        total += p->x * p->y;
    printf("%d\n", total);
    struct with_anon v;
    v.kind = 1;
    v.i = 0x41;
    printf("%d %c %d\n", v.kind, v.c, (int)sizeof v);
    printf("%d\n", add(a, add(a, b)).y);
    return 0;
}
