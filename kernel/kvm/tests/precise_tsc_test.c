// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test of the fork's KVM precise TSC UAPI (KVM_GET_TSC_STATE,
 * KVM_SET_TSC_STATE, KVM_CLOCK_TAI, KVM_SET_CLOCK_TAI) on a VM with
 * NR_VCPUS vCPUs that never run. Prints TAP.
 *
 * The guest TSC is checked through KVM's own TSC offset attribute: with no
 * TSC scaling (guest and host kHz equal, checked) guest TSC = host TSC +
 * offset, so what SET applied is verified to the cycle.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/kvm_precise_tsc.h>

#define NR_VCPUS	3
#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL

struct tsc_state {
	struct kvm_tsc_state h;
	struct kvm_tsc_state_vcpu v[NR_VCPUS];
};

static int vm_fd, vcpu_fd[NR_VCPUS];
static int failures, tests;

static void check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!cond)
		failures++;
	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void die(const char *what)
{
	printf("not ok - %s: %s\n", what, strerror(errno));
	printf("1..%d\n", tests + 1);
	exit(1);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * NSEC_PER_MSEC };

	nanosleep(&ts, NULL);
}

/* ioctl() returning -errno, so results read as the kernel's. */
static int kvm(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static uint64_t vcpu_offset(int i)
{
	uint64_t off;
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uintptr_t)&off,
	};

	if (ioctl(vcpu_fd[i], KVM_GET_DEVICE_ATTR, &attr))
		die("KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
	return off;
}

static void offsets(uint64_t *off)
{
	for (int i = 0; i < NR_VCPUS; i++)
		off[i] = vcpu_offset(i);
}

static int same_offsets(const uint64_t *a, const uint64_t *b)
{
	return !memcmp(a, b, NR_VCPUS * sizeof(*a));
}

static void get_state(struct tsc_state *s)
{
	memset(s, 0, sizeof(*s));
	s->h.nr_vcpus = NR_VCPUS;
	if (ioctl(vm_fd, KVM_GET_TSC_STATE, s))
		die("KVM_GET_TSC_STATE");
}

static uint64_t cycles(int64_t ns, uint32_t khz)
{
	return (unsigned __int128)ns * khz / NSEC_PER_MSEC;
}

/* After a SET: every vCPU's offset is what its saved TSC + elapsed says. */
static int offsets_match(const struct tsc_state *in,
			 const struct tsc_state *out)
{
	uint64_t add = cycles(out->h.elapsed, in->h.tsc_khz);

	for (int i = 0; i < NR_VCPUS; i++) {
		uint64_t want = in->v[i].tsc + add - out->h.host_tsc;

		if (vcpu_offset(i) != want) {
			printf("# vCPU %d offset %" PRIu64 ", want %" PRIu64 "\n",
			       i, vcpu_offset(i), want);
			return 0;
		}
	}
	return 1;
}

static uint32_t clock_flags(void)
{
	struct kvm_clock_data d = { 0 };

	if (ioctl(vm_fd, KVM_GET_CLOCK, &d))
		die("KVM_GET_CLOCK");
	return d.flags;
}

static void setup(void)
{
	int kvm_fd = open("/dev/kvm", O_RDWR);
	int caps;

	if (kvm_fd < 0)
		die("open /dev/kvm");
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		die("KVM_CREATE_VM");
	for (int i = 0; i < NR_VCPUS; i++) {
		vcpu_fd[i] = ioctl(vm_fd, KVM_CREATE_VCPU, i);
		if (vcpu_fd[i] < 0)
			die("KVM_CREATE_VCPU");
	}
	caps = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PRECISE_TSC);
	check(caps == (KVM_PRECISE_TSC_HAS_CLOCK_TAI |
		       KVM_PRECISE_TSC_HAS_TSC_STATE),
	      "KVM_CAP_PRECISE_TSC reports both features (%d)", caps);
	if (caps <= 0) {
		printf("1..%d\n", tests);
		exit(1);
	}
}

static void test_get(struct tsc_state *s)
{
	struct tsc_state small = { .h.nr_vcpus = 1 };
	int64_t tai = clock_ns(CLOCK_TAI);
	int r = kvm(vm_fd, KVM_GET_TSC_STATE, &small);
	int khz = ioctl(vcpu_fd[0], KVM_GET_TSC_KHZ, 0);

	check(r == -E2BIG && small.h.nr_vcpus == NR_VCPUS,
	      "GET with room for 1 vCPU: -E2BIG and nr_vcpus %u (%d)",
	      small.h.nr_vcpus, r);
	get_state(s);
	check(s->h.flags == KVM_TSC_STATE_TAI_EXACT,
	      "GET: host TSC and TAI from one TSC read (flags %#x)",
	      s->h.flags);
	check(s->h.tsc_khz == (uint32_t)khz && khz > 0,
	      "GET: tsc_khz %u is the vCPUs' (%d)", s->h.tsc_khz, khz);
	check(llabs(s->h.tai - tai) < 100 * NSEC_PER_MSEC,
	      "GET: tai within 100 ms of CLOCK_TAI (%+.3f ms)",
	      (s->h.tai - tai) / 1e6);
	for (int i = 0; i < NR_VCPUS; i++)
		check(s->v[i].vcpu_id == (uint32_t)i &&
		      s->v[i].tsc == s->h.host_tsc + vcpu_offset(i),
		      "GET: vCPU %d's TSC is host TSC + its offset", i);
	check(s->v[0].tsc == s->v[1].tsc && s->v[1].tsc == s->v[2].tsc,
	      "GET: the vCPUs KVM synchronised at creation have equal TSCs");
	check(ioctl(vm_fd, KVM_GET_TSC_KHZ, 0) == khz,
	      "no TSC scaling: VM and vCPU kHz agree (%d)", khz);
}

static void test_round_trip(const struct tsc_state *saved)
{
	struct tsc_state s = *saved, again;
	uint64_t off[NR_VCPUS];
	int r;

	s.h.flags = KVM_TSC_STATE_TAI_EXACT | KVM_TSC_STATE_ELAPSED;
	s.h.elapsed = 0;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0, "SET the state just read, elapsed 0 (%d)", r);
	check(s.h.elapsed == 0 && offsets_match(saved, &s),
	      "round trip: every vCPU's TSC at SET's host TSC is the saved one");
	offsets(off);
	check(off[0] == off[1] && off[1] == off[2],
	      "vCPUs with equal saved TSCs have bit-identical offsets");
	check(clock_flags() & KVM_CLOCK_TSC_STABLE,
	      "master clock on after SET (KVM_GET_CLOCK flags %#x)",
	      clock_flags());
	get_state(&again);
	check(again.v[0].tsc == saved->v[0].tsc +
	      (again.h.host_tsc - s.h.host_tsc),
	      "GET after SET: the TSC runs on from the restored value");
}

static void test_master_clock_breaks(const struct tsc_state *saved)
{
	struct tsc_state s = *saved;
	int r;

	/* Negative control: unequal TSCs must turn the master clock off. */
	s.h.flags = KVM_TSC_STATE_ELAPSED;
	s.h.elapsed = 0;
	s.v[1].tsc += 1000;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0 && !(clock_flags() & KVM_CLOCK_TSC_STABLE),
	      "control: a vCPU 1000 cycles apart turns the master clock off (%d, flags %#x)",
	      r, clock_flags());
	s.v[1].tsc -= 1000;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0 && (clock_flags() & KVM_CLOCK_TSC_STABLE),
	      "equal TSCs again: master clock back on (%d, flags %#x)",
	      r, clock_flags());
}

static void test_elapsed(void)
{
	struct tsc_state saved, s;
	int64_t t0;
	int r;

	get_state(&saved);
	t0 = clock_ns(CLOCK_TAI);
	sleep_ms(200);
	s = saved;
	s.h.flags = 0;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0 && s.h.elapsed >= 200 * NSEC_PER_MSEC &&
	      s.h.elapsed <= clock_ns(CLOCK_TAI) - t0 + 100 * NSEC_PER_MSEC,
	      "SET advances by the TAI elapsed: %.3f ms after a 200 ms sleep (%d)",
	      s.h.elapsed / 1e6, r);
	check(!(s.h.flags & KVM_TSC_STATE_CLAMPED) && offsets_match(&saved, &s),
	      "TAI elapsed applied to every vCPU to the cycle");

	s = saved;
	s.h.flags = KVM_TSC_STATE_ELAPSED;
	s.h.elapsed = 5 * NSEC_PER_SEC;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0 && s.h.elapsed == 5 * NSEC_PER_SEC &&
	      offsets_match(&saved, &s),
	      "explicit elapsed 5 s applied to every vCPU to the cycle (%d)", r);

	s = saved;
	s.h.flags = 0;
	s.h.tai = clock_ns(CLOCK_TAI) + 5 * NSEC_PER_SEC;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0 && (s.h.flags & KVM_TSC_STATE_CLAMPED) &&
	      s.h.elapsed == 0 && offsets_match(&saved, &s),
	      "reference 5 s in the future: 0 applied, reported CLAMPED (%d, flags %#x)",
	      r, s.h.flags);
}

static void test_bound(void)
{
	struct tsc_state s;
	uint64_t before[NR_VCPUS], after[NR_VCPUS];
	int r;

	get_state(&s);
	offsets(before);
	s.h.flags = KVM_TSC_STATE_MAX_ELAPSED;
	s.h.tai -= 10 * NSEC_PER_SEC;
	s.h.max_elapsed = NSEC_PER_SEC;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	offsets(after);
	check(r == -ERANGE && same_offsets(before, after),
	      "10 s elapsed over a 1 s bound: -ERANGE, nothing applied (%d)", r);
	check(s.h.elapsed >= 10 * NSEC_PER_SEC &&
	      s.h.elapsed < 12 * NSEC_PER_SEC,
	      "-ERANGE reports the elapsed it refused (%.3f s)",
	      s.h.elapsed / 1e9);

	s.h.flags = KVM_TSC_STATE_MAX_ELAPSED | KVM_TSC_STATE_ELAPSED;
	s.h.elapsed = 2 * NSEC_PER_SEC;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	offsets(after);
	check(r == -ERANGE && same_offsets(before, after),
	      "explicit 2 s over a 1 s bound: -ERANGE, nothing applied (%d)", r);

	s.h.elapsed = NSEC_PER_SEC / 2;
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	check(r == 0 && s.h.elapsed == NSEC_PER_SEC / 2,
	      "control: 0.5 s under a 1 s bound is applied (%d)", r);
}

/* One malformed field: -EINVAL and not one offset changed. */
static void bad(const struct tsc_state *good, const char *what,
		void (*spoil)(struct tsc_state *s))
{
	struct tsc_state s = *good;
	uint64_t before[NR_VCPUS], after[NR_VCPUS];
	int r;

	offsets(before);
	spoil(&s);
	r = kvm(vm_fd, KVM_SET_TSC_STATE, &s);
	offsets(after);
	check(r == -EINVAL && same_offsets(before, after),
	      "bad input (%s): -EINVAL, nothing applied (%d)", what, r);
}

static void unknown_flag(struct tsc_state *s)
{
	s->h.flags |= 1u << 31;
}

static void clamped_in(struct tsc_state *s)
{
	s->h.flags |= KVM_TSC_STATE_CLAMPED;
}

static void pad(struct tsc_state *s)
{
	s->h.pad = 1;
}

static void reserved(struct tsc_state *s)
{
	s->h.reserved[1] = 1;
}

static void too_few(struct tsc_state *s)
{
	s->h.nr_vcpus = NR_VCPUS - 1;
}

static void dup_vcpu(struct tsc_state *s)
{
	s->v[2].vcpu_id = 0;
}

static void no_vcpu(struct tsc_state *s)
{
	s->v[1].vcpu_id = 77;
}

static void vcpu_pad(struct tsc_state *s)
{
	s->v[1].pad = 1;
}

static void khz(struct tsc_state *s)
{
	s->h.tsc_khz += 1000;
}

static void zero_khz(struct tsc_state *s)
{
	s->h.tsc_khz = 0;
}

static void neg_elapsed(struct tsc_state *s)
{
	s->h.flags |= KVM_TSC_STATE_ELAPSED;
	s->h.elapsed = -1;
}

/* 2^63 - 1 ns at the vCPUs' kHz: more cycles than 64 bits hold. */
static void huge_elapsed(struct tsc_state *s)
{
	s->h.flags |= KVM_TSC_STATE_ELAPSED;
	s->h.elapsed = INT64_MAX;
}

static void stray_elapsed(struct tsc_state *s)
{
	s->h.elapsed = 1;
}

static void stray_max(struct tsc_state *s)
{
	s->h.max_elapsed = 1;
}

static void no_tai(struct tsc_state *s)
{
	s->h.tai = 0;
}

static void test_bad_input(void)
{
	struct tsc_state good, s;

	get_state(&good);
	/* Make every vCPU's offset differ from a good SET's, if one happens. */
	good.h.flags = KVM_TSC_STATE_ELAPSED;
	good.h.elapsed = 0;
	good.v[0].tsc += 123456;
	good.v[1].tsc += 123456;
	good.v[2].tsc += 123456;
	bad(&good, "unknown flag", unknown_flag);
	bad(&good, "output flag CLAMPED as input", clamped_in);
	bad(&good, "pad", pad);
	bad(&good, "reserved", reserved);
	bad(&good, "nr_vcpus one short", too_few);
	bad(&good, "a vCPU twice", dup_vcpu);
	bad(&good, "unknown vcpu_id", no_vcpu);
	bad(&good, "vCPU entry pad", vcpu_pad);
	bad(&good, "tsc_khz not the vCPUs'", khz);
	bad(&good, "tsc_khz 0", zero_khz);
	bad(&good, "negative explicit elapsed", neg_elapsed);
	bad(&good, "explicit elapsed overflowing the TSC", huge_elapsed);
	good.h.flags = 0;
	bad(&good, "elapsed without KVM_TSC_STATE_ELAPSED", stray_elapsed);
	bad(&good, "max_elapsed without KVM_TSC_STATE_MAX_ELAPSED", stray_max);
	bad(&good, "no reference tai", no_tai);
	/* Control: the unspoilt input is accepted, so -EINVAL meant the field. */
	s = good;
	s.h.flags = KVM_TSC_STATE_ELAPSED;
	check(kvm(vm_fd, KVM_SET_TSC_STATE, &s) == 0 &&
	      offsets_match(&good, &s),
	      "control: the same input unspoilt is accepted and applied");
}

static void test_clock_tai(void)
{
	struct kvm_clock_data d = { 0 }, d2 = { 0 };
	struct kvm_clock_tai *t = (struct kvm_clock_tai *)&d;
	struct kvm_clock_tai *t2 = (struct kvm_clock_tai *)&d2;
	struct kvm_clock_tai set;
	int64_t tai_off = clock_ns(CLOCK_TAI) - clock_ns(CLOCK_REALTIME);
	int64_t err;
	int r;

	if (ioctl(vm_fd, KVM_GET_CLOCK, &d))
		die("KVM_GET_CLOCK");
	check((d.flags & KVM_CLOCK_TAI) && (d.flags & KVM_CLOCK_HOST_TSC),
	      "KVM_GET_CLOCK reports KVM_CLOCK_TAI with HOST_TSC (flags %#x)",
	      d.flags);
	check((t->tai - (int64_t)d.realtime) % NSEC_PER_SEC == 0 &&
	      llabs(t->tai - (int64_t)d.realtime - tai_off) < NSEC_PER_SEC / 2,
	      "tai - realtime is the host's TAI offset, whole seconds (%" PRId64 " ns)",
	      (int64_t)(t->tai - (int64_t)d.realtime));
	r = kvm(vm_fd, KVM_SET_CLOCK, &d);
	check(r == 0, "KVM_SET_CLOCK takes KVM_GET_CLOCK's result back (%d)", r);

	if (ioctl(vm_fd, KVM_GET_CLOCK, &d))
		die("KVM_GET_CLOCK");
	sleep_ms(200);
	/*
	 * kvmclock runs on by itself: set it 1 s back, so that the check
	 * below fails if KVM_SET_CLOCK_TAI did nothing.
	 */
	memset(&set, 0, sizeof(set));
	set.clock = d.clock - NSEC_PER_SEC;
	set.flags = KVM_CLOCK_TAI;
	set.tai = t->tai;
	r = kvm(vm_fd, KVM_SET_CLOCK_TAI, &set);
	check(r == 0 && set.elapsed >= 200 * NSEC_PER_MSEC &&
	      set.elapsed < 2 * NSEC_PER_SEC && set.flags == KVM_CLOCK_TAI,
	      "KVM_SET_CLOCK_TAI applies the TAI elapsed: %.3f ms (%d)",
	      set.elapsed / 1e6, r);
	if (ioctl(vm_fd, KVM_GET_CLOCK, &d2))
		die("KVM_GET_CLOCK");
	/* kvmclock now = the value set + TAI elapsed since its instant. */
	err = (int64_t)(d2.clock - set.clock) - (t2->tai - t->tai);
	check(llabs(err) < 50000,
	      "kvmclock after KVM_SET_CLOCK_TAI = value set + TAI elapsed: error %+" PRId64 " ns",
	      err);

	memset(&set, 0, sizeof(set));
	set.clock = d2.clock;
	set.flags = KVM_CLOCK_TAI;
	set.tai = t2->tai + 5 * NSEC_PER_SEC;
	r = kvm(vm_fd, KVM_SET_CLOCK_TAI, &set);
	check(r == 0 && set.elapsed == 0 &&
	      set.flags == (KVM_CLOCK_TAI | KVM_CLOCK_TAI_CLAMPED),
	      "reference 5 s ahead: 0 applied, KVM_CLOCK_TAI_CLAMPED (%d, flags %#x)",
	      r, set.flags);

	memset(&set, 0, sizeof(set));
	set.clock = d2.clock;
	set.tai = t2->tai;
	check(kvm(vm_fd, KVM_SET_CLOCK_TAI, &set) == -EINVAL,
	      "KVM_SET_CLOCK_TAI without KVM_CLOCK_TAI: -EINVAL");
	set.flags = KVM_CLOCK_TAI;
	set.elapsed = 1;
	check(kvm(vm_fd, KVM_SET_CLOCK_TAI, &set) == -EINVAL,
	      "KVM_SET_CLOCK_TAI with input elapsed: -EINVAL");
	set.elapsed = 0;
	set.flags = KVM_CLOCK_TAI | (1u << 30);
	check(kvm(vm_fd, KVM_SET_CLOCK_TAI, &set) == -EINVAL,
	      "KVM_SET_CLOCK_TAI with an unknown flag: -EINVAL");
}

int main(void)
{
	struct tsc_state saved;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();
	test_get(&saved);
	test_round_trip(&saved);
	test_master_clock_breaks(&saved);
	test_elapsed();
	test_bound();
	test_bad_input();
	test_clock_tai();
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
