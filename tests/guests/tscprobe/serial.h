/*
 * tscprobe: polled output on COM1 and a tiny printf.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_SERIAL_H
#define TSCPROBE_SERIAL_H

void serial_init(void);
void serial_write(const char *buf, unsigned long len);

/*
 * printf subset: %s %c %d %u %x with optional '0' flag, width and l/ll.
 * Each call is written atomically with respect to other vCPUs.
 */
void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
