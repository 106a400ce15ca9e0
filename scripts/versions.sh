# The one place that pins what the fork is built from and tested on.
# Series are pinned, point releases are resolved from the archive at build
# time (Debian serves only the newest one of each suite).

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Upstream QEMU base: Debian's source package of the 10.0 series.
QEMU_SUITE=trixie
QEMU_SERIES=10.0

# Where fetched sources and pristine trees are kept (outside the repo).
FORK_CACHE=${FORK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-tsc-fork}

# QEMU's build for the fork: what a lab and the qtests need, no more.
QEMU_CONFIGURE_FLAGS="--target-list=x86_64-softmmu --without-default-features
 --enable-kvm --enable-tcg --disable-docs --disable-download
 --disable-install-blobs --disable-werror"
# The unpatched build for the compatibility tests runs only under KVM in
# the lab: without TCG it builds in about two thirds of the time. The
# migration stream does not depend on the accelerators built in.
QEMU_STOCK_CONFIGURE_FLAGS=$(echo $QEMU_CONFIGURE_FLAGS |
    sed 's/--enable-tcg/--disable-tcg/')
# The fork built with clang, ASan and UBSan, and libFuzzer's fuzz targets
# (make qemu-asan, make fuzz): its qtests and fuzz targets run under the
# qtest accelerator, so it needs no TCG either.
QEMU_SANITIZE_CONFIGURE_FLAGS="$QEMU_STOCK_CONFIGURE_FLAGS --cc=clang-14
 --cxx=clang++-14 --enable-fuzzing --enable-asan --enable-ubsan"

# Kernel side (kernel/kvm): the linux-source series the KVM patch series is
# against and the out-of-tree modules are built for. The point release is
# the one lab host deb612-ours boots (tests/lab/hosts.sh resolves it), so
# kernel image, headers and source always agree.
KVM_LINUX_SERIES=6.12

# libvirt series (patches/libvirt, make libvirt; docs/libvirt.md): Debian's
# source package of libvirt 11.3, the release made for QEMU 10.0 (its
# capabilities data knows 10.0's QMP). trixie ships it, and Debian 12
# users who take QEMU 10.0 from bookworm-backports get the same 11.3 from
# there, so one series serves both. Debian 12's own libvirt 9.0 (binary
# packages, unpatched) is what the "works unchanged" tests run.
LIBVIRT_SUITE=trixie
LIBVIRT_SERIES=11.3
# Only what the tests use: the monolithic libvirtd with the QEMU driver
# and the remote driver for virsh; no docs, no other drivers. libnl stays:
# 11.3 does not build without it (virnetdevbridge.c uses RTM_* from it).
LIBVIRT_MESON_OPTIONS="-Ddriver_qemu=enabled -Ddriver_remote=enabled -Ddriver_libvirtd=enabled
 -Djson_c=enabled -Dreadline=enabled -Ddriver_network=disabled
 -Ddriver_lxc=disabled -Ddriver_ch=disabled -Ddriver_libxl=disabled
 -Ddriver_vbox=disabled -Ddriver_esx=disabled -Ddriver_hyperv=disabled
 -Ddriver_openvz=disabled -Ddriver_vmware=disabled -Ddriver_bhyve=disabled
 -Ddriver_vz=disabled -Ddriver_interface=disabled -Ddriver_secrets=disabled
 -Ddriver_test=disabled -Dstorage_dir=disabled -Dstorage_fs=disabled
 -Dstorage_lvm=disabled -Dstorage_disk=disabled -Dstorage_iscsi=disabled
 -Dstorage_iscsi_direct=disabled -Dstorage_mpath=disabled
 -Dstorage_rbd=disabled -Dstorage_scsi=disabled -Dstorage_vstorage=disabled
 -Dstorage_zfs=disabled -Dstorage_gluster=disabled -Ddocs=disabled
 -Dtests=disabled -Dnls=disabled -Dnss=disabled -Dlogin_shell=disabled
 -Dhost_validate=disabled -Dinit_script=none -Dapparmor=disabled
 -Dselinux=disabled -Dsecdriver_apparmor=disabled
 -Dsecdriver_selinux=disabled -Dwireshark_dissector=disabled
 -Dpolkit=disabled -Dsasl=disabled -Dfirewalld=disabled
 -Dfirewalld_zone=disabled -Dudev=disabled -Dlibssh=disabled
 -Dlibssh2=disabled -Dnumactl=disabled -Dnumad=disabled -Dsanlock=disabled
 -Dfuse=disabled -Dcurl=disabled -Dpciaccess=disabled -Dblkid=disabled
 -Dcapng=disabled -Dlibpcap=disabled -Daudit=disabled
 -Dbash_completion=disabled -Dglusterfs=disabled -Dlibiscsi=disabled
 -Dopenwsman=disabled -Dnetcf=disabled -Dattr=disabled -Ddtrace=disabled
 -Dnbdkit=disabled -Dsysctl_config=disabled -Dssh_proxy=disabled
 -Duserfaultfd_sysctl=disabled -Dpm_utils=disabled"
