/*
 * tscprobe: local APIC in xAPIC (MMIO) mode.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_LAPIC_H
#define TSCPROBE_LAPIC_H

#include <stdint.h>

/* Software-enable this vCPU's APIC and accept all priorities. */
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);

void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t vector_page);

/* LVT timer: mask it, or unmask it in TSC-deadline / one-shot mode. */
void lapic_timer_disable(void);
void lapic_timer_mode_deadline(uint8_t vector);
void lapic_timer_mode_oneshot(uint8_t vector);
void lapic_timer_start(uint32_t initial_count);
uint32_t lapic_timer_current(void);

#endif
