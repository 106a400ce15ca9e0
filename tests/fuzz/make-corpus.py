#!/usr/bin/python3
"""Writes the hand-made seed inputs of the fork's fuzz targets into
tests/fuzz/corpus/TARGET/seed-NAME (the layouts are the targets': see
tests/qtest/fuzz/nap_fuzz.c and precise_tsc_fuzz.c). Inputs the fuzzer
found worth keeping sit beside them (libFuzzer's -merge=1 into the
corpus), under their hash names."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# nap-regs: op, width, offset (le16), value (le32). Register offsets from
# include/hw/misc/qemu-nap-abi.h; write_reg indexes ACK, GUEST_STATE,
# GUEST_ERROR, TIME_LATCH.
READ, WRITE, WRITE_REG, REQUEST, WAKE, SYSTEM_RESET, WAKEUP_RESET = range(7)
W8, W16, W32, W64 = range(4)
ACK, GUEST_STATE, GUEST_ERROR, TIME_LATCH = range(4)
READY, SUSPENDING, REFUSED, RESUMED = 1, 2, 3, 4


def act(op, width=W32, offset=0, value=0):
    return struct.pack("<BBHI", op, width, offset, value)


NAP = {
    "read-all": b"".join(act(READ, W32, off) for off in range(0, 0x48, 4)),
    "driver-naps": b"".join([
        act(WRITE_REG, W32, GUEST_STATE, READY),
        act(REQUEST, value=0),
        act(WRITE_REG, 1, ACK),                  # the right sequence number
        act(WRITE_REG, W32, GUEST_STATE, SUSPENDING),
        act(WAKEUP_RESET),
        act(WRITE_REG, W32, GUEST_STATE, RESUMED),
        act(WAKE)]),
    "refusal": b"".join([
        act(WRITE_REG, W32, GUEST_STATE, READY),
        act(REQUEST, value=4 | 1),               # mode nap
        act(WRITE_REG, W32, GUEST_ERROR, 16),
        act(WRITE_REG, W32, GUEST_STATE, REFUSED),
        act(REQUEST, value=0)]),
    "sleep-button": b"".join([
        act(REQUEST, value=4 | 2),
        act(WAKE),
        act(REQUEST, value=8)]),                 # timeout 0: refused
    "bad-accesses": b"".join([
        act(WRITE, W8, 0x18, 1), act(WRITE, W16, 0x1a, 0xffff),
        act(WRITE, W64, 0x10, 7), act(WRITE, W32, 0x19, 1),
        act(WRITE, W32, 0xffc, 1), act(READ, W64, 0x44),
        act(WRITE_REG, 0, ACK, 5), act(WRITE_REG, W32, GUEST_STATE, 9),
        act(WRITE_REG, W32, GUEST_ERROR, 5000),
        act(WRITE_REG, W32, TIME_LATCH, 2)]),
    "latch-and-resets": b"".join([
        act(WRITE_REG, W32, TIME_LATCH, 1), act(READ, W32, 0x28),
        act(REQUEST), act(SYSTEM_RESET), act(REQUEST),
        act(WAKEUP_RESET), act(READ, W32, 0x0c)]),
}

# precise-tsc-stream: control byte (vCPU, bit 7 new load) + the
# subsection's fields, big-endian as VMState writes them.
F_VALID, F_KVM_PAIR = 1, 2
TAI_NS = 1764000000 * 10**9          # 2025-11-24, in the past


def sub(flags=F_VALID | F_KVM_PAIR, khz=2000000, tai=TAI_NS, off=37,
        kvmclock=10**9, bracket=1000, tsc=5 * 10**9, adjust=0):
    return struct.pack(">IIqiQQQQ", flags, khz, tai, off, kvmclock, bracket,
                       tsc, adjust)


PRECISE = {
    "two-vcpus": bytes([0x80]) + sub() + bytes([1]) + sub(tsc=5 * 10**9 + 7),
    "instants-differ": bytes([0x80]) + sub() + bytes([1]) + sub(tai=TAI_NS + 1),
    "bad-flags": bytes([0x80]) + sub(flags=4 | F_VALID),
    "bad-khz": bytes([0x80]) + sub(khz=0) + bytes([0x81]) + sub(khz=2**31),
    "tai-offset": bytes([0x80]) + sub(off=3601) + bytes([0x80]) + sub(off=-37),
    "future": bytes([0x80]) + sub(tai=2**62),
    "reload": bytes([0x80]) + sub() + bytes([0x81]) + sub(tsc=1, adjust=9),
    "truncated": bytes([0x80]) + sub()[:20],
}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


write("nap-regs", NAP)
write("precise-tsc-stream", PRECISE)
