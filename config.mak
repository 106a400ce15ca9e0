QEMU_SRC := /root/.cache/qemu-tsc-fork/pristine-test
QEMU_VERSION := 10.0.13
