/*
 * seed000-kvm: replay, with raw KVM ioctls, what a VMM does when it restores
 * a young guest (seed 000, kernel bugzilla 217423).
 *
 * A fresh VM is created, its vCPU runs for a moment, and then a "saved"
 * MSR_IA32_TSC value a little AHEAD of the current guest TSC is written with
 * KVM_SET_MSRS, as a restore does.  Kernels without the user_set_tsc fix
 * (mainline 6.7) treat a host write within one second of the value the TSC
 * was last synchronised to as an attempt to synchronise, and keep the old
 * offset: the write is swallowed.  Kernels with the fix apply it.
 *
 * The guest is a real-mode loop: rdtsc, store EDX:EAX at 0x2000, "out" to
 * port 0x10.  Each KVM_RUN therefore returns one fresh guest TSC sample, as
 * the guest itself sees it.
 *
 * Usage: seed000-kvm [WAIT_MS [AHEAD_MS]]   (defaults 200 and 150)
 * Output: key=value lines; "single.result", "pair.result" and
 * "control.result" are one of applied, swallowed, other.  Exit status 0
 * unless an ioctl failed (then an "error=" line and status 2).
 *
 * Copyright (c) 2026 qemu-tsc-fork contributors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define MSR_IA32_TSC    0x10
#define GUEST_MEM_SIZE  0x10000
#define GUEST_CODE      0x1000
#define GUEST_DATA      0x2000
#define GUEST_PORT      0x10
#define MAX_VCPUS       2
#define CONTROL_AHEAD_MS 5000

typedef struct Vm {
    int kvm;
    int fd;
    uint8_t *mem;
    int run_size;
    int nr_vcpus;
    int vcpu[MAX_VCPUS];
    struct kvm_run *run[MAX_VCPUS];
} Vm;

/* 16-bit code, see the comment at the top. */
static const uint8_t guest_code[] = {
    0x0f, 0x31,                     /* rdtsc */
    0x66, 0xa3, 0x00, 0x20,         /* mov [0x2000], eax */
    0x66, 0x89, 0x16, 0x04, 0x20,   /* mov [0x2004], edx */
    0xe6, GUEST_PORT,               /* out 0x10, al */
    0xeb, 0xf1,                     /* jmp back to rdtsc (-15) */
};

static void die(const char *fmt, ...)
{
    va_list ap;
    int err = errno;

    va_start(ap, fmt);
    printf("error=");
    vprintf(fmt, ap);
    printf(": %s\n", strerror(err));
    va_end(ap);
    fflush(stdout);
    exit(2);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        /* keep sleeping for the rest */
    }
}

static void vm_create(Vm *vm)
{
    struct kvm_userspace_memory_region region;

    memset(vm, 0, sizeof(*vm));
    vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm < 0) {
        die("open /dev/kvm");
    }
    vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
    if (vm->fd < 0) {
        die("KVM_CREATE_VM");
    }
    /* Needed on Intel for real mode, harmless on AMD. */
    if (ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0) {
        die("KVM_SET_TSS_ADDR");
    }
    vm->run_size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size <= 0) {
        die("KVM_GET_VCPU_MMAP_SIZE");
    }
    vm->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vm->mem == MAP_FAILED) {
        die("mmap guest memory");
    }
    memcpy(vm->mem + GUEST_CODE, guest_code, sizeof(guest_code));
    memset(&region, 0, sizeof(region));
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = GUEST_MEM_SIZE;
    region.userspace_addr = (uintptr_t)vm->mem;
    if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        die("KVM_SET_USER_MEMORY_REGION");
    }
}

static void vm_destroy(Vm *vm)
{
    int i;

    for (i = 0; i < vm->nr_vcpus; i++) {
        munmap(vm->run[i], vm->run_size);
        close(vm->vcpu[i]);
    }
    close(vm->fd);
    munmap(vm->mem, GUEST_MEM_SIZE);
    close(vm->kvm);
}

static int vcpu_create(Vm *vm)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int i = vm->nr_vcpus;
    int fd;

    fd = ioctl(vm->fd, KVM_CREATE_VCPU, i);
    if (fd < 0) {
        die("KVM_CREATE_VCPU %d", i);
    }
    vm->run[i] = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
                      MAP_SHARED, fd, 0);
    if (vm->run[i] == MAP_FAILED) {
        die("mmap kvm_run");
    }
    /* Real mode, CS base 0, start at GUEST_CODE. */
    if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0) {
        die("KVM_GET_SREGS");
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    sregs.ds.base = 0;
    sregs.ds.selector = 0;
    if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0) {
        die("KVM_SET_SREGS");
    }
    memset(&regs, 0, sizeof(regs));
    regs.rip = GUEST_CODE;
    regs.rflags = 2;
    if (ioctl(fd, KVM_SET_REGS, &regs) < 0) {
        die("KVM_SET_REGS");
    }
    vm->vcpu[i] = fd;
    vm->nr_vcpus++;
    return i;
}

/* Run vCPU @i once around the guest loop: returns the TSC the guest read. */
static uint64_t guest_tsc(Vm *vm, int i)
{
    struct kvm_run *run = vm->run[i];
    uint32_t lo, hi;

    if (ioctl(vm->vcpu[i], KVM_RUN, 0) < 0) {
        die("KVM_RUN vcpu %d", i);
    }
    if (run->exit_reason != KVM_EXIT_IO || run->io.port != GUEST_PORT) {
        errno = 0;
        die("vcpu %d: unexpected exit reason %u", i, run->exit_reason);
    }
    memcpy(&lo, vm->mem + GUEST_DATA, 4);
    memcpy(&hi, vm->mem + GUEST_DATA + 4, 4);
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t msr_tsc(Vm *vm, int i)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry entry;
    } msrs;

    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.entry.index = MSR_IA32_TSC;
    if (ioctl(vm->vcpu[i], KVM_GET_MSRS, &msrs) != 1) {
        die("KVM_GET_MSRS(IA32_TSC) vcpu %d", i);
    }
    return msrs.entry.data;
}

static void set_msr_tsc(Vm *vm, int i, uint64_t value)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry entry;
    } msrs;

    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.entry.index = MSR_IA32_TSC;
    msrs.entry.data = value;
    if (ioctl(vm->vcpu[i], KVM_SET_MSRS, &msrs) != 1) {
        die("KVM_SET_MSRS(IA32_TSC) vcpu %d", i);
    }
}

/* KVM_VCPU_TSC_OFFSET (Linux 5.16+); prints "n/a" where it is missing. */
static void print_tsc_offset(const char *key, Vm *vm, int i)
{
    uint64_t offset = 0;
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uintptr_t)&offset,
    };

    if (ioctl(vm->vcpu[i], KVM_GET_DEVICE_ATTR, &attr) < 0) {
        printf("%s=n/a\n", key);
    } else {
        printf("%s=%" PRId64 "\n", key, (int64_t)offset);
    }
}

static double cycles_to_ms(int64_t cycles, uint64_t khz)
{
    return (double)cycles / (double)khz;
}

/*
 * applied:   the guest reads at least the written value (a TSC only moves
 *            forward after the write);
 * swallowed: the guest is still short of the written value by more than
 *            half of the jump, i.e. it stayed on its old timeline;
 * other:     anything else, e.g. a partial adjustment.
 */
static const char *classify(uint64_t before, uint64_t written,
                            uint64_t after, uint64_t khz)
{
    uint64_t tolerance = khz;       /* 1 ms of TSC */

    if (after + tolerance >= written) {
        return "applied";
    }
    if (after < before + (written - before) / 2) {
        return "swallowed";
    }
    return "other";
}

static void report(const char *p, const char *what, uint64_t before,
                   uint64_t written, uint64_t after, uint64_t khz)
{
    int64_t short_by = (int64_t)(written - after);
    int64_t moved = (int64_t)(after - before);

    printf("%s.%s.tsc_before=%" PRIu64 "\n", p, what, before);
    printf("%s.%s.tsc_written=%" PRIu64 "\n", p, what, written);
    printf("%s.%s.tsc_after=%" PRIu64 "\n", p, what, after);
    printf("%s.%s.after_minus_written_cycles=%" PRId64 "\n", p, what,
           -short_by);
    printf("%s.%s.after_minus_written_ms=%.3f\n", p, what,
           cycles_to_ms(-short_by, khz));
    printf("%s.%s.after_minus_before_ms=%.3f\n", p, what,
           cycles_to_ms(moved, khz));
    printf("%s.%s.result=%s\n", p, what,
           classify(before, written, after, khz));
}

/*
 * One vCPU: create, run, wait, write TSC ahead, run, read.  Keys are
 * prefixed with @p.
 */
static const char *case_single(const char *p, int wait_ms, int ahead_ms)
{
    Vm vm;
    uint64_t khz, t_first, before, written, after, msr_after;
    int64_t t0, t1, t2;
    const char *result;
    char key[64];

    vm_create(&vm);
    t0 = now_ns();
    vcpu_create(&vm);
    khz = ioctl(vm.vcpu[0], KVM_GET_TSC_KHZ, 0);
    if ((int64_t)khz <= 0) {
        die("KVM_GET_TSC_KHZ");
    }
    t_first = guest_tsc(&vm, 0);
    snprintf(key, sizeof(key), "%s.vcpu0.offset_initial", p);
    print_tsc_offset(key, &vm, 0);
    sleep_ms(wait_ms);

    before = guest_tsc(&vm, 0);
    written = before + (uint64_t)ahead_ms * khz;
    t1 = now_ns();
    set_msr_tsc(&vm, 0, written);
    t2 = now_ns();
    msr_after = msr_tsc(&vm, 0);
    after = guest_tsc(&vm, 0);
    snprintf(key, sizeof(key), "%s.vcpu0.offset_after_write", p);
    print_tsc_offset(key, &vm, 0);

    printf("%s.ahead_ms=%d\n", p, ahead_ms);
    printf("%s.guest_first_tsc=%" PRIu64 "\n", p, t_first);
    printf("%s.host_ms_create_to_write=%.3f\n", p, (t1 - t0) / 1e6);
    printf("%s.host_ms_in_set_msrs=%.3f\n", p, (t2 - t1) / 1e6);
    printf("%s.vcpu0.msr_readback=%" PRIu64 "\n", p, msr_after);
    report(p, "vcpu0", before, written, after, khz);
    result = classify(before, written, after, khz);
    printf("%s.result=%s\n", p, result);
    vm_destroy(&vm);
    return result;
}

/*
 * Two vCPUs, the second created WAIT_MS after the first: KVM synchronises
 * it to the first.  Then the restore writes the same saved value to both,
 * vCPU 0 first, as QEMU does.
 */
static const char *case_pair(int wait_ms, int ahead_ms)
{
    Vm vm;
    uint64_t khz, a0, a1, before, written, after[MAX_VCPUS];
    const char *r0, *r1, *result;
    int i;

    vm_create(&vm);
    vcpu_create(&vm);
    khz = ioctl(vm.vcpu[0], KVM_GET_TSC_KHZ, 0);
    guest_tsc(&vm, 0);
    sleep_ms(wait_ms);
    vcpu_create(&vm);

    /* Synchronised vCPUs read the same TSC, give or take the time between. */
    a0 = guest_tsc(&vm, 0);
    a1 = guest_tsc(&vm, 1);
    printf("pair.vcpu1_minus_vcpu0_at_create_cycles=%" PRId64 "\n",
           (int64_t)(a1 - a0));
    printf("pair.vcpu1_minus_vcpu0_at_create_ms=%.3f\n",
           cycles_to_ms((int64_t)(a1 - a0), khz));
    print_tsc_offset("pair.vcpu0.offset_initial", &vm, 0);
    print_tsc_offset("pair.vcpu1.offset_initial", &vm, 1);

    before = guest_tsc(&vm, 0);
    written = before + (uint64_t)ahead_ms * khz;
    for (i = 0; i < vm.nr_vcpus; i++) {
        set_msr_tsc(&vm, i, written);
    }
    for (i = 0; i < vm.nr_vcpus; i++) {
        after[i] = guest_tsc(&vm, i);
    }
    print_tsc_offset("pair.vcpu0.offset_after_write", &vm, 0);
    print_tsc_offset("pair.vcpu1.offset_after_write", &vm, 1);
    report("pair", "vcpu0", before, written, after[0], khz);
    report("pair", "vcpu1", before, written, after[1], khz);

    r0 = classify(before, written, after[0], khz);
    r1 = classify(before, written, after[1], khz);
    result = strcmp(r0, r1) == 0 ? r0 : "other";
    printf("pair.result=%s\n", result);
    vm_destroy(&vm);
    return result;
}

/* The TSC frequency KVM gives a new vCPU by default. */
static uint64_t tsc_khz(void)
{
    Vm vm;
    int64_t khz;

    vm_create(&vm);
    vcpu_create(&vm);
    khz = ioctl(vm.vcpu[0], KVM_GET_TSC_KHZ, 0);
    if (khz <= 0) {
        die("KVM_GET_TSC_KHZ");
    }
    vm_destroy(&vm);
    return khz;
}

int main(int argc, char **argv)
{
    struct utsname u;
    int wait_ms = argc > 1 ? atoi(argv[1]) : 200;
    int ahead_ms = argc > 2 ? atoi(argv[2]) : 150;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (uname(&u) == 0) {
        printf("kernel=%s\n", u.release);
    }
    printf("wait_ms=%d\n", wait_ms);
    printf("ahead_ms=%d\n", ahead_ms);
    printf("tsc_khz=%" PRIu64 "\n", tsc_khz());
    case_single("single", wait_ms, ahead_ms);
    case_pair(wait_ms, ahead_ms);
    /*
     * Control: a write far outside KVM's one-second window is applied by
     * every kernel with working TSC offsets.  If it is not, this KVM
     * ignores TSC writes altogether and "swallowed" above means nothing.
     */
    case_single("control", wait_ms, CONTROL_AHEAD_MS);
    return 0;
}
