/* stdio.c: printf and friends over the hypervisor console.
 *
 * One formatter (format) writes through a `struct sink`: a bounded buffer for
 * snprintf, or the console line buffer for printf.  Conversions follow C99 7.19.6.1
 * for the integer subset: flags - + space 0 #, width, precision, h hh l z t.
 */
#include <stdio.h>
#include <string.h>
#include <paravisor.h>
#include <hypercalls.h>

struct sink {
    int console;        /* write to the console (else to buf) */
    char *buf;
    size_t size;        /* capacity of buf, including the NUL */
    size_t count;       /* characters produced so far (even past size) */
};

#define CONSOLE_LINE 128
static char console_line[CONSOLE_LINE];
static int console_used;

void fflush_console(void)
{
    if (console_used)
        HYPERVISOR_console_io(CONSOLEIO_write, console_used, console_line);
    console_used = 0;
}

static void console_put(char c)
{
    console_line[console_used++] = c;
    if (c == '\n' || console_used == CONSOLE_LINE)
        fflush_console();
}

static void put(struct sink *out, char c)
{
    if (out->console)
        console_put(c);
    else if (out->count + 1 < out->size)
        out->buf[out->count] = c;
    out->count++;
}

static void pad(struct sink *out, char c, int n)
{
    while (n-- > 0)
        put(out, c);
}

struct spec {
    int left, plus, space, zero, alt;
    int width, precision;   /* precision -1: none */
    char length;            /* 0, 'h', 'H' (hh), 'l' */
};

/* Digits of `value` in `base` (lowest first) into buf; returns how many. */
static int digits(char *buf, unsigned value, unsigned base, int upper)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    do {
        buf[n++] = set[value % base];
        value /= base;
    } while (value);
    return n;
}

static void number(struct sink *out, struct spec *s, unsigned value, int negative,
                   unsigned base, int upper, const char *prefix)
{
    char buf[12];
    int n = digits(buf, value, base, upper);
    int prefix_len = strlen(prefix);
    int zeros = 0, total;
    char sign = negative ? '-' : s->plus ? '+' : s->space ? ' ' : 0;
    if (s->precision >= 0) {
        if (s->precision == 0 && value == 0)
            n = 0;                      /* "%.0d" of 0 prints no digits */
        if (s->precision > n)
            zeros = s->precision - n;
    } else if (s->zero && !s->left) {
        total = n + prefix_len + (sign != 0);
        if (s->width > total)
            zeros = s->width - total;
    }
    if (base == 8 && s->alt && zeros == 0 && (n == 0 || buf[n - 1] != '0'))
        zeros = 1;
    total = n + zeros + prefix_len + (sign != 0);
    if (!s->left)
        pad(out, ' ', s->width - total);
    if (sign)
        put(out, sign);
    while (*prefix)
        put(out, *prefix++);
    pad(out, '0', zeros);
    while (n > 0)
        put(out, buf[--n]);
    if (s->left)
        pad(out, ' ', s->width - total);
}

static void string(struct sink *out, struct spec *s, const char *str)
{
    int n = 0;
    if (str == NULL)
        str = "(null)";
    while (str[n] && (s->precision < 0 || n < s->precision))
        n++;
    if (!s->left)
        pad(out, ' ', s->width - n);
    for (int i = 0; i < n; i++)
        put(out, str[i]);
    if (s->left)
        pad(out, ' ', s->width - n);
}

static unsigned narrow(unsigned value, char length, int is_signed)
{
    if (length == 'h')
        return is_signed ? (unsigned)(short)value : (unsigned short)value;
    if (length == 'H')
        return is_signed ? (unsigned)(signed char)value : (unsigned char)value;
    return value;
}

static const char *parse_spec(const char *fmt, struct spec *s, va_list *ap)
{
    memset(s, 0, sizeof *s);
    s->precision = -1;
    for (;; fmt++) {
        if (*fmt == '-') s->left = 1;
        else if (*fmt == '+') s->plus = 1;
        else if (*fmt == ' ') s->space = 1;
        else if (*fmt == '0') s->zero = 1;
        else if (*fmt == '#') s->alt = 1;
        else break;
    }
    if (*fmt == '*') {
        s->width = va_arg(*ap, int);
        if (s->width < 0) {
            s->left = 1;
            s->width = -s->width;
        }
        fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9')
        s->width = s->width * 10 + (*fmt++ - '0');
    if (*fmt == '.') {
        fmt++;
        s->precision = 0;
        if (*fmt == '*') {
            s->precision = va_arg(*ap, int);
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            s->precision = s->precision * 10 + (*fmt++ - '0');
    }
    if (*fmt == 'h') {
        s->length = 'h';
        if (*++fmt == 'h') {
            s->length = 'H';
            fmt++;
        }
    } else if (*fmt == 'l' || *fmt == 'z' || *fmt == 't' || *fmt == 'j') {
        s->length = 'l';        /* all 32-bit on PV32 */
        fmt++;
    }
    return fmt;
}

static void convert(struct sink *out, struct spec *s, char conv, va_list *ap)
{
    unsigned u;
    int i;
    switch (conv) {
    case 'd':
    case 'i':
        i = (int)narrow(va_arg(*ap, int), s->length, 1);
        number(out, s, i < 0 ? -(unsigned)i : (unsigned)i, i < 0, 10, 0, "");
        break;
    case 'u':
        s->plus = s->space = 0;
        number(out, s, narrow(va_arg(*ap, unsigned), s->length, 0), 0, 10, 0, "");
        break;
    case 'x':
    case 'X':
        u = narrow(va_arg(*ap, unsigned), s->length, 0);
        s->plus = s->space = 0;
        number(out, s, u, 0, 16, conv == 'X', s->alt && u ? (conv == 'X' ? "0X" : "0x") : "");
        break;
    case 'o':
        s->plus = s->space = 0;
        number(out, s, narrow(va_arg(*ap, unsigned), s->length, 0), 0, 8, 0, "");
        break;
    case 'p':
        s->plus = s->space = 0;
        number(out, s, (unsigned)va_arg(*ap, void *), 0, 16, 0, "0x");
        break;
    case 'c':
        s->precision = -1;
        if (!s->left)
            pad(out, ' ', s->width - 1);
        put(out, (char)va_arg(*ap, int));
        if (s->left)
            pad(out, ' ', s->width - 1);
        break;
    case 's':
        string(out, s, va_arg(*ap, const char *));
        break;
    default:                    /* %% and unknown conversions print themselves */
        put(out, conv);
        break;
    }
}

static int format(struct sink *out, const char *fmt, va_list ap)
{
    struct spec s;
    while (*fmt) {
        if (*fmt != '%') {
            put(out, *fmt++);
            continue;
        }
        fmt = parse_spec(fmt + 1, &s, &ap);
        if (!*fmt)
            break;
        convert(out, &s, *fmt++, &ap);
    }
    return out->count;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink out = {0, buf, size, 0};
    int n = format(&out, fmt, ap);
    if (size)
        buf[out.count < size ? out.count : size - 1] = 0;
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, 0x7fffffff, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink out = {1, NULL, 0, 0};
    return format(&out, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int putchar(int c)
{
    console_put((char)c);
    return (unsigned char)c;
}

int puts(const char *s)
{
    while (*s)
        console_put(*s++);
    console_put('\n');
    return 0;
}
