/* stdio.h: console output for guests (guest_os/libc/stdio.c).  Output is buffered
   per line and written with HYPERVISOR_console_io(CONSOLEIO_write); exit() flushes.
   Conversions: %d %i %u %x %X %o %p %s %c %% with flags - + space 0 #, width and
   precision (also *), and the length modifiers h hh l z t. */
#ifndef _STDIO_H
#define _STDIO_H
#include <stdarg.h>
#include <stddef.h>
#define EOF (-1)
int putchar(int c);
int puts(const char *s);
int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
int sprintf(char *buf, const char *fmt, ...);
int snprintf(char *buf, size_t size, const char *fmt, ...);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void fflush_console(void);
#endif
