/*
 * Stand-in for QEMU's qemu/osdep.h when the fork's pure files are built
 * outside QEMU for unit tests: just the standard headers they rely on.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_QEMU_OSDEP_H
#define TESTS_UNIT_QEMU_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#endif
