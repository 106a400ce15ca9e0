# qemu-tsc-fork: build upstream QEMU 10.0 with the fork's files laid over it.
# See README.md and docs/build.md.

BUILD   := build
SRC     := $(BUILD)/src
QBUILD  := $(BUILD)/qemu
ABUILD  := $(BUILD)/qemu-asan
UBUILD  := $(BUILD)/unit
QEMU    := $(QBUILD)/qemu-system-x86_64
STAMPS  := $(BUILD)/stamps

# Every C build goes through ccache (scripts/install-deps installs it):
# QEMU, stock QEMU, the unit build, the lab's programs and the KVM
# modules find gcc/cc in /usr/lib/ccache first. The cache is ccache's own
# (~/.cache/ccache), outside the checkout; with the checkout as base dir
# and without the working directory in the hash, a clone at another path
# (CI's) hits what this one compiled.
export PATH := /usr/lib/ccache:$(PATH)
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

# Targets a fresh clone can run without configure having been called.
NOCONF_GOALS := clean distclean help libvirt
ifneq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
-include config.mak
endif

.PHONY: all deps overlay qemu qemu-asan stock-qemu unit check lab-check lab-soak patches clean distclean help demo bench fuzz libvirt

all: qemu unit

help:
	@echo "make            build the fork's qemu-system-x86_64 and unit tests"
	@echo "make demo       the seed scenarios, stock QEMU beside the fork"
	@echo "make check      run every test; ends with 'N passed, N failed'"
	@echo "make bench      stock vs fork figures into build/bench/results.json"
	@echo "make lab-check  only the lab: real KVM in an emulated SVM host (TCG)"
	@echo "make fuzz       the fuzz targets, FUZZ_SECONDS (600) each"
	@echo "make libvirt    the fork's libvirt into build/libvirt/root"
	@echo "make patches    export the fork as a quilt series into dist/"
	@echo "make clean      remove build/ and dist/ (the source cache stays)"

# Installing packages needs root; install-deps is a no-op once done.
$(STAMPS)/deps: scripts/install-deps scripts/versions.sh
	@mkdir -p $(STAMPS)
	scripts/install-deps
	@touch $@
deps: $(STAMPS)/deps

config.mak: | $(STAMPS)/deps
	./configure

# Always re-run: it rewrites only the files whose content changed.
overlay: config.mak $(STAMPS)/deps
	scripts/overlay.py $(QEMU_SRC) . $(SRC)

$(QBUILD)/build.ninja: config.mak scripts/versions.sh scripts/configure-qemu
	$(MAKE) overlay
	rm -rf $(QBUILD)
	scripts/configure-qemu $(SRC) $(QBUILD)

qemu: overlay $(QBUILD)/build.ninja
	ninja -C $(QBUILD) qemu-system-x86_64 tests/qtest/migration-test tests/qtest/nap-test tests/qtest/precise-tsc-test
	scripts/link-firmware $(QBUILD)

# The fork with clang, ASan, UBSan and its libFuzzer targets (docs/fuzz.md):
# the qtests run against it once in make check, the fuzz targets briefly.
$(ABUILD)/build.ninja: config.mak scripts/versions.sh scripts/configure-qemu
	$(MAKE) overlay
	rm -rf $(ABUILD)
	scripts/configure-qemu $(SRC) $(ABUILD) --sanitize

qemu-asan: overlay $(ABUILD)/build.ninja
	ninja -C $(ABUILD) qemu-system-x86_64 qemu-fuzz-x86_64 tests/qtest/nap-test tests/qtest/precise-tsc-test
	scripts/link-firmware $(ABUILD)

fuzz: qemu-asan
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600) FUZZ_SEED=$(or $(FUZZ_SEED),0) tests/fuzz/run

# An unpatched build of the same pristine tree, for the compatibility tests.
stock-qemu: config.mak $(STAMPS)/deps
	scripts/build-stock-qemu

# The fork's libvirt (patches/libvirt, libvirt/; docs/libvirt.md): Debian's
# libvirt 11.3 source with the series, QEMU driver only, installed into
# build/libvirt/root. tests/libvirt runs it as a private daemon.
libvirt: $(STAMPS)/deps
	scripts/build-libvirt

unit: $(STAMPS)/deps
	@test -f $(UBUILD)/build.ninja || meson setup $(UBUILD) . >/dev/null
	ninja -C $(UBUILD)

check: qemu qemu-asan stock-qemu unit patches kvm-modules libvirt
	tests/check $(if $(SUITES),--only "$(SUITES)")

# The lab runs the fork's QEMU inside real KVM in an emulated host.
lab-check: qemu stock-qemu unit kvm-modules
	tests/lab/check

# Long or known-unstable lab tests, kept out of make check (see
# tests/lab/soak and tests/lab/soak2 for why each is there).
lab-soak: qemu stock-qemu unit
	LAB_TIMEOUT=$${LAB_TIMEOUT:-900} LAB_SUITE=tests/lab/soak \
	    LAB_SUITE2=tests/lab/soak2 tests/lab/check

# The nap guest driver (kernel/guest/) for Debian's 6.12 and 6.1 kernels,
# into build/guest/<kernel release>/qemu_nap.ko (headers from the cache).
.PHONY: guest-driver
guest-driver: $(STAMPS)/deps
	scripts/build-guest-driver

# The seed scenarios, stock beside the fork, with a table and a plot
# (scripts/demo); figures with repeat counts into build/bench (scripts/bench).
$(STAMPS)/demo-deps: scripts/install-deps scripts/versions.sh
	@mkdir -p $(STAMPS)
	scripts/install-deps --demo
	@touch $@

demo: qemu stock-qemu unit libvirt $(STAMPS)/demo-deps
	scripts/demo

bench: qemu stock-qemu unit kvm-modules $(STAMPS)/demo-deps
	scripts/bench

# The fork's KVM modules for the lab's Debian 6.12 kernel, into
# build/kernel/modules/ (kernel/kvm/build; docs/kernel.md), and its patch
# series in git format-patch form into dist/kernel/.
.PHONY: kvm-modules kernel-patches
kvm-modules: $(STAMPS)/deps
	kernel/kvm/build

kernel-patches:
	kernel/kvm/export-patches

# Both series, the way a distribution carries them: dist/patches (QEMU)
# and dist/libvirt/patches (libvirt), each a quilt series to append to the
# Debian package's debian/patches/series.
patches: overlay
	scripts/export-patches.py $(QEMU_SRC) . dist
	p=$$(scripts/fetch-libvirt) && \
	    scripts/export-patches.py --upstream libvirt "$$p" . dist/libvirt

clean:
	rm -rf $(BUILD) dist

distclean: clean
	rm -f config.mak
