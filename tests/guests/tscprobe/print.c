/*
 * tscprobe: formatted output to COM1.  Lines are formatted into a local
 * buffer first so one lock hold writes the whole line.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "serial.h"
#include "spinlock.h"

#define PRINT_BUF_SIZE 256

typedef struct OutBuf {
    char data[PRINT_BUF_SIZE];
    unsigned long len;
} OutBuf;

static Spinlock print_lock;

static void out_char(OutBuf *out, char c)
{
    if (out->len < sizeof(out->data)) {
        out->data[out->len++] = c;
    }
}

static void out_number(OutBuf *out, uint64_t value, unsigned base,
                       bool negative, unsigned width, char pad)
{
    char digits[24];
    unsigned n = 0;

    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value);
    if (negative) {
        digits[n++] = '-';
    }
    while (width > n) {
        out_char(out, pad);
        width--;
    }
    while (n) {
        out_char(out, digits[--n]);
    }
}

static void out_string(OutBuf *out, const char *s)
{
    if (!s) {
        s = "(null)";
    }
    while (*s) {
        out_char(out, *s++);
    }
}

static uint64_t fetch_unsigned(va_list *ap, unsigned longs)
{
    if (longs) {
        return va_arg(*ap, unsigned long);
    }
    return va_arg(*ap, unsigned int);
}

static int64_t fetch_signed(va_list *ap, unsigned longs)
{
    if (longs) {
        return va_arg(*ap, long);
    }
    return va_arg(*ap, int);
}

static void format(OutBuf *out, const char *fmt, va_list *ap)
{
    while (*fmt) {
        char pad = ' ';
        unsigned width = 0;
        unsigned longs = 0;
        int64_t sval;

        if (*fmt != '%') {
            out_char(out, *fmt++);
            continue;
        }
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (unsigned)(*fmt++ - '0');
        }
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
            sval = fetch_signed(ap, longs);
            out_number(out, sval < 0 ? -(uint64_t)sval : (uint64_t)sval,
                       10, sval < 0, width, pad);
            break;
        case 'u':
            out_number(out, fetch_unsigned(ap, longs), 10, false, width, pad);
            break;
        case 'x':
            out_number(out, fetch_unsigned(ap, longs), 16, false, width, pad);
            break;
        case 'c':
            out_char(out, (char)va_arg(*ap, int));
            break;
        case 's':
            out_string(out, va_arg(*ap, const char *));
            break;
        case '%':
            out_char(out, '%');
            break;
        default:
            /* Unknown conversion or end of string: show what was there. */
            out_char(out, '%');
            if (!*fmt) {
                return;
            }
            out_char(out, *fmt);
            break;
        }
        fmt++;
    }
}

void print(const char *fmt, ...)
{
    OutBuf out = { .len = 0 };
    va_list ap;

    va_start(ap, fmt);
    format(&out, fmt, &ap);
    va_end(ap);

    spin_lock(&print_lock);
    serial_write(out.data, out.len);
    spin_unlock(&print_lock);
}
