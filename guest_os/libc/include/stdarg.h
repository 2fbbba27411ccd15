/* stdarg.h for paravisor cc.  A variadic function stores a0..a5 just below the
   caller's stack arguments, so the arguments form one array of words and a va_list
   is a pointer walking it.  va_arg's second operand is passed as a null pointer of
   the requested type, which lets the compiler check the type. */
#ifndef _STDARG_H
#define _STDARG_H
typedef char *va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, (type *)0)
#define va_end(ap) ((void)(ap))
#define va_copy(dst, src) ((dst) = (src))
#endif
