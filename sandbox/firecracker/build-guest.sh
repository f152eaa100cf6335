#!/bin/sh
# Builds the shunt microVM guest from Debian packages only: the distro
# kernel (apt-get download, unpacked, never installed), its uncompressed
# vmlinux, and an initramfs of busybox-static, the virtio/9p/overlay/net
# modules (QEMU), the virtio-blk/ext4/vsock modules (Firecracker), our
# /init and the static command-channel agent (agent.c, built here with
# the host's C compiler and static libc). Reproducible: fixed mtimes,
# sorted cpio.
# Output: <cache>/<digest>/{vmlinux,initrd.cpio,kernel.version} and
# <cache>/current -> <digest>. Prints the image directory.
# --rootfs debootstrap also builds a Debian root (debootstrap minbase,
# needs root) packed read-only into <cache>/rootfs/<rdigest>/rootfs.ext4
# by mke2fs -d, linked as <image>/rootfs.ext4: the guest mounts it under a
# tmpfs overlay instead of the busybox initramfs (Firecracker) or the
# host's root (QEMU's agent channel). A root built once is linked into
# later images by any user; --rootfs none unlinks it.
# Usage: build-guest.sh [--cache DIR] [--kernel-package NAME]
#                       [--rootfs debootstrap|none] [--suite NAME] [--mirror URL]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${SHUNT_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shunt/vm}
kpkg=${SHUNT_VM_KERNEL_PKG:-}
rootfs=
suite=${SHUNT_VM_SUITE:-bookworm}
mirror=${SHUNT_VM_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "build-guest.sh: $1 needs a value" >&2; exit 2; }
	case $1 in
	--cache) cache=$2; shift 2 ;;
	--kernel-package) kpkg=$2; shift 2 ;;
	--rootfs)
		case $2 in debootstrap | none) rootfs=$2 ;; *) echo "build-guest.sh: --rootfs debootstrap|none" >&2; exit 2 ;; esac
		shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	--mirror) mirror=$2; shift 2 ;;
	*) echo "build-guest.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
die() { echo "build-guest.sh: $*" >&2; exit 1; }
bb=/bin/busybox
[ -x "$bb" ] && "$bb" 2>&1 | head -1 | grep -q BusyBox || die "busybox-static is missing: apt-get install busybox-static"
file -L "$bb" 2>/dev/null | grep -q "statically linked" || ldd "$bb" 2>&1 | grep -q "not a dynamic" ||
	die "$bb is not static: apt-get install busybox-static"
command -v cpio >/dev/null || die "cpio is missing: apt-get install cpio"
command -v xz >/dev/null || die "xz is missing: apt-get install xz-utils"
# the agent's sources: next to this script when installed, else sandbox/
chan=$here
[ -r "$chan/vmchan.c" ] || chan=$here/..
[ -r "$here/agent.c" ] && [ -r "$chan/vmchan.c" ] && [ -r "$chan/vmchan.h" ] || die "agent.c/vmchan.c not found next to $0"
cc=${CC:-cc}
command -v "$cc" >/dev/null || die "no C compiler for the guest agent: apt-get install gcc libc6-dev"
if [ -z "$kpkg" ]; then
	# the generic flavour: the cloud kernel has no 9p
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
	[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64; run apt-get update"
	apt-cache show "$kpkg-unsigned" >/dev/null 2>&1 && kpkg=$kpkg-unsigned
fi
kver=$(apt-cache show "$kpkg" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
[ -n "$kver" ] || die "package $kpkg not found in the apt archive; run apt-get update"
digest=$( { echo "$kpkg $kver"; "$bb" 2>&1 | head -1; cat "$here/init" "$0" "$here/agent.c" "$chan/vmchan.c" "$chan/vmchan.h"; } | sha256sum | cut -c1-16)
out=$cache/$digest

# The Debian root: debootstrap minbase, normalised (no apt lists, logs or
# caches, fixed hostname, mtimes at 0), packed by mke2fs -d with a fixed
# UUID, hash seed and clock, so one tree gives one image. Keyed by the
# recipe; the package versions it got are in manifest.
rrecipe="debootstrap minbase $suite $mirror v1"
rdigest=$(echo "$rrecipe" | sha256sum | cut -c1-16)
rdir=$cache/rootfs/$rdigest
build_rootfs() {
	[ -s "$rdir/rootfs.ext4" ] && return 0
	[ "$(id -u)" = 0 ] || die "building the debootstrap root needs root (debootstrap chroots and makes device nodes): run 'sudo shunt vm build --rootfs debootstrap --cache $cache' once; later builds reuse it"
	command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
	command -v mke2fs >/dev/null || die "mke2fs is missing: apt-get install e2fsprogs"
	mkdir -p "$cache/rootfs"
	rtmp=$(mktemp -d "$cache/rootfs/.build.XXXXXX")
	# debootstrap mounts /proc and /sys in the tree: stay on this file system
	trap 'umount -R "$rtmp/root/proc" "$rtmp/root/sys" 2>/dev/null; rm -rf --one-file-system "$rtmp"' EXIT
	r=$rtmp/root
	debootstrap --variant=minbase "$suite" "$r" "$mirror" >"$rtmp/log" 2>&1 ||
		die "debootstrap $suite $mirror failed: $(tail -2 "$rtmp/log" | tr '\n' ' ')"
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
		"$r"/var/cache/ldconfig/aux-cache "$r"/debootstrap
	mkdir -p "$r/var/lib/apt/lists/partial"
	find "$r/var/log" -type f -delete
	echo shunt-vm >"$r/etc/hostname"
	: >"$r/etc/resolv.conf"
	echo "$rdigest" >"$r/etc/shunt-guest-root"
	dpkg-query --admindir="$r/var/lib/dpkg" -W -f '${Package} ${Version}\n' >"$rtmp/manifest" 2>/dev/null ||
		die "cannot list the packages of the debootstrap root"
	find "$r" -exec touch -h -d @0 {} +
	kib=$(du -sk --apparent-size "$r" | cut -f1)
	# room for the inode tables and metadata; the image is read-only
	kib=$((kib + kib / 4 + 65536))
	E2FSPROGS_FAKE_TIME=1 mke2fs -q -F -t ext4 -O ^has_journal -m 0 -L shunt-root \
		-U 5e3b7c0a-5a1d-4c1e-9c4b-000000000001 -E hash_seed=5e3b7c0a-5a1d-4c1e-9c4b-000000000002 \
		-d "$r" "$rtmp/rootfs.ext4" "${kib}k" >"$rtmp/mke2fs.log" 2>&1 ||
		die "mke2fs -d of the debootstrap root failed: $(tail -2 "$rtmp/mke2fs.log" | tr '\n' ' ')"
	# mke2fs copies ctime and atime from the tree, which touch cannot fix
	(cd "$r" && find . | sed 's|^\.||; s|^$|/|' | grep -v '"' |
		awk '{ printf "sif \"%s\" ctime 0\nsif \"%s\" atime 0\n", $0, $0 }') >"$rtmp/times"
	E2FSPROGS_FAKE_TIME=1 debugfs -w -f "$rtmp/times" "$rtmp/rootfs.ext4" >/dev/null 2>&1 ||
		die "debugfs could not reset the timestamps of the root image"
	chmod 0644 "$rtmp/rootfs.ext4" "$rtmp/manifest"
	mkdir -p "$rtmp/out"
	mv "$rtmp/rootfs.ext4" "$rtmp/manifest" "$rtmp/out/"
	rm -rf "$rdir"
	mv "$rtmp/out" "$rdir"
	chmod 0755 "$rdir"
	rm -rf "$rtmp"
	trap - EXIT
	ln -sfn "$rdigest" "$cache/rootfs/current"
	for d in "$cache"/rootfs/*; do
		[ "${d##*/}" = "$rdigest" ] || [ "${d##*/}" = current ] || rm -rf "$d"
	done
	# sudo into a user's cache: the root is theirs to link and replace
	chown -hR --reference="$cache" "$cache/rootfs" 2>/dev/null || true
}
# a link left as it is when right: a cache built by another user
# (root) stays usable read-only
relink() { [ "$(readlink "$2" 2>/dev/null)" = "$1" ] || ln -sfn "$1" "$2"; }
# the image's root drive: the one requested, else the one built before
link_rootfs() {
	case $rootfs in
	none) rm -f "$out/rootfs.ext4" "$cache/rootfs/current" ;;
	debootstrap) relink "../rootfs/$rdigest/rootfs.ext4" "$out/rootfs.ext4" ;;
	*)
		if [ -s "$cache/rootfs/current/rootfs.ext4" ]; then
			relink "../rootfs/$(readlink "$cache/rootfs/current")/rootfs.ext4" "$out/rootfs.ext4"
		fi ;;
	esac
}
[ "$rootfs" != debootstrap ] || build_rootfs
if [ -s "$out/vmlinux" ] && [ -s "$out/initrd.cpio" ]; then
	link_rootfs
	relink "$digest" "$cache/current"
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download "$kpkg=$kver" >/dev/null 2>"$tmp/apt.err") ||
	die "apt-get download $kpkg failed: $(tail -1 "$tmp/apt.err")"
dpkg-deb -x "$tmp"/*.deb "$tmp/pkg"
vmlinuz=$(ls "$tmp"/pkg/boot/vmlinuz-* | head -1)
mods=$(ls -d "$tmp"/pkg/lib/modules/* | head -1)
# the bzImage carries an xz payload: find its magic and decompress
off=$(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$vmlinuz" | head -1 | cut -d: -f1)
[ -n "$off" ] || die "no xz payload in $vmlinuz"
tail -c +$((off + 1)) "$vmlinuz" | xz -dc 2>/dev/null >"$tmp/vmlinux" || true
head -c 4 "$tmp/vmlinux" | grep -q ELF || die "could not extract an ELF vmlinux from $vmlinuz"
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/modules" "$root/tmp"
cp "$bb" "$root/bin/busybox"
cp "$here/init" "$root/init"
"$cc" -static -O2 -s -std=gnu11 -D_GNU_SOURCE -I"$chan" -o "$root/bin/shunt-vm-agent" \
	"$here/agent.c" "$chan/vmchan.c" 2>"$tmp/cc.err" || die "building the static guest agent failed (apt-get install libc6-dev): $(tail -3 "$tmp/cc.err")"
chmod 0755 "$root/init" "$root/bin/busybox" "$root/bin/shunt-vm-agent"
# QEMU: 9p + overlay + net; Firecracker: virtio-blk + ext4 + vsock (load order)
for m in virtio virtio_ring virtio_mmio virtio_console netfs fscache 9pnet 9pnet_virtio 9p overlay \
	failover net_failover virtio_net crc16 mbcache jbd2 crc32c_generic ext4 virtio_blk vsock \
	vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport; do
	f=$(find "$mods" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
	[ -n "$f" ] || die "module $m missing from $kpkg"
	case $f in *.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;; *) cp "$f" "$root/lib/modules/$m.ko" ;; esac
done
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet >"$tmp/initrd.cpio")
echo "$kpkg $kver" >"$tmp/kernel.version"
mkdir -p "$tmp/out"
mv "$tmp/vmlinux" "$tmp/initrd.cpio" "$tmp/kernel.version" "$tmp/out/"
rm -rf "$out"
mv "$tmp/out" "$out"
link_rootfs
ln -sfn "$digest" "$cache/current"
# older images (other digests) are no longer current
for d in "$cache"/*; do
	case ${d##*/} in "$digest") ;; [0-9a-f]*) [ -d "$d" ] && [ ${#d} -eq $((${#cache} + 17)) ] && rm -rf "$d" ;; esac
done
echo "$out"
