/*
 * tscprobe: entry points defined in isr.S and the C code they call.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_ISR_H
#define TSCPROBE_ISR_H

#include <stdint.h>

/* What exception_common hands to exception_report(). */
typedef struct ExceptionFrame {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
} ExceptionFrame;

/* Stubs for vectors 0-31, indexed by vector. */
extern void (*const exception_stubs[32])(void);
extern void timer_stub(void);
extern void spurious_stub(void);

/* Print the fault and stop the vCPU; called by every exception stub. */
void exception_report(const ExceptionFrame *frame)
    __attribute__((noreturn));

#endif
