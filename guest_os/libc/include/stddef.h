/* stddef.h: freestanding C99 (paravisor cc, ILP32). */
#ifndef _STDDEF_H
#define _STDDEF_H
typedef unsigned int size_t;
typedef int ptrdiff_t;
typedef int wchar_t;
#define NULL ((void *)0)
/* offsetof(type, member) is built into the compiler. */
#endif
