/*
 * tscprobe: COM1 (16550 UART at 0x3f8) output, polled.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "serial.h"
#include "x86.h"

#define COM1            0x3f8
#define UART_THR        0       /* transmit holding register */
#define UART_IER        1
#define UART_DLL        0       /* divisor latch, DLAB set */
#define UART_DLM        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_LSR_THRE   0x20
#define UART_LCR_DLAB   0x80
#define UART_LCR_8N1    0x03

void serial_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DLL, 1);           /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    outb(COM1 + UART_FCR, 0x07);        /* enable and clear FIFOs */
    outb(COM1 + UART_MCR, 0x03);        /* DTR, RTS */
}

static void serial_putc(char c)
{
    while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE)) {
        cpu_relax();
    }
    outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *buf, unsigned long len)
{
    for (unsigned long i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            serial_putc('\r');
        }
        serial_putc(buf[i]);
    }
}
