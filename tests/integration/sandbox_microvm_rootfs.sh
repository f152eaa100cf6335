#!/usr/bin/env bash
# The debootstrap guest root (shunt vm build --rootfs debootstrap): a
# Debian minbase tree packed read-only into ext4 by mke2fs -d, booted for
# real under QEMU with Firecracker's transport (SHUNT_VM_QEMU_CHANNEL=agent,
# TCG, one boot at a time): Debian userland the busybox initramfs lacks,
# writes to / gone after the run, the workspace drive copied back.
# debootstrap needs root: root builds the root into the shared test cache,
# nobody reuses it and sees the error that says how to build it.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

FC="$TOP/sandbox/firecracker"
export SHUNT_VM_BUILD_SCRIPT="$FC/build-guest.sh"
export SHUNT_VM_BACKEND=qemu SHUNT_VM_QEMU_CHANNEL=agent
unset SHUNT_VM_ROOTFS

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	done_testing
	exit
fi

# without root, building the root fails and says how to get it
if [ "$(id -u)" != 0 ]; then
	out=$(SHUNT_VM_CACHE="$TEST_TMP/own-cache" "$SHUNT" vm build --rootfs debootstrap 2>&1)
	rc=$?
	ok "vm build --rootfs debootstrap as $(id -un): fails" -- test "$rc" != 0
	like "$out" "needs root.*sudo shunt vm build --rootfs debootstrap" "... and says to build it once as root"
	ok "... before downloading anything" -- test ! -e "$TEST_TMP/own-cache/current"
fi

# one shared cache for the root and the nobody runs (as sandbox_microvm.sh)
export SHUNT_VM_CACHE=${SHUNT_VM_CACHE:-/var/tmp/shunt-vm-test-cache}
if [ "$(id -u)" = 0 ]; then
	if ! command -v debootstrap >/dev/null; then
		skip "debootstrap is not installed (apt-get install debootstrap)"
		done_testing
		exit
	fi
	mkdir -p "$SHUNT_VM_CACHE"
	if ! out=$("$SHUNT" vm build --rootfs debootstrap 2>&1); then
		fail "vm build --rootfs debootstrap: $(echo "$out" | tail -2 | tr '\n' ' ')"
		done_testing
		exit
	fi
	chmod -R a+rX "$SHUNT_VM_CACHE"
	img=$(readlink -f "$SHUNT_VM_CACHE/current/rootfs.ext4")
	ok "vm build --rootfs debootstrap: the image links the root drive" -- test -s "$img"
	before=$(stat -c %Y "$img")
	out=$("$SHUNT" vm build --rootfs debootstrap 2>&1)
	is "$?/$(stat -c %Y "$img")" "0/$before" "a second build reuses the cached root"
	like "$(cat "$(dirname "$img")/manifest")" "^perl-base [0-9]" "the manifest lists the packages it got"
fi
if ! [ -r "$SHUNT_VM_CACHE/current/rootfs.ext4" ] || ! [ -r "$SHUNT_VM_CACHE/current/vmlinux" ]; then
	skip "no debootstrap guest root in $SHUNT_VM_CACHE: it is built by the root run ('sudo shunt vm build --rootfs debootstrap')"
	done_testing
	exit
fi
rdigest=$(basename "$(dirname "$(readlink -f "$SHUNT_VM_CACHE/current/rootfs.ext4")")")

# Firecracker would get the same drive
out=$(SHUNT="$SHUNT" SHUNT_VM_QEMU_CHANNEL= "$FC/start.sh" --backend firecracker --dry-run "$TEST_TMP" true 2>&1)
like "$out" '"drive_id":"rootfs","path_on_host":"[^"]*/rootfs.ext4","is_root_device":false,"is_read_only":true' \
	"firecracker plan: the debootstrap root as a read-only drive"
like "$out" 'shunt.rootfs=/dev/vdb' "firecracker plan: the guest mounts it"

WS="$TEST_TMP/ws"
mkdir -p "$WS"
echo original >"$WS/keep.txt"
chmod -R a+rwX "$TEST_TMP"
tag="shunt-rootfs-$$"
vm() { timeout 180 "$SHUNT" run --runtime microvm --network none --workspace "$WS" "$@"; }

out=$(vm --profile SYSTEM_WRITE -- sh -c "cat /etc/shunt-guest-root; dpkg -l | grep -c '^ii';
apt-get --version | head -1; /usr/bin/perl -e 'print \"perl \", 6*7, \"\\n\"'; cat keep.txt;
echo x > /etc/$tag; echo y > /usr/bin/$tag; echo new > made.txt" 2>"$TEST_TMP/err")
rc=$?
is "$rc" 0 "debootstrap root: exit 0"
lines=$(echo "$out" | wc -l)
is "$(echo "$out" | sed -n 1p)" "$rdigest" "the guest's / is the debootstrap root ($rdigest), not the host's"
like "$(echo "$out" | sed -n 2p)" '^[0-9]{2,}$' "dpkg -l lists the installed packages"
like "$(echo "$out" | sed -n 3p)" '^apt [0-9]' "apt-get --version runs"
is "$(echo "$out" | sed -n 4p)" "perl 42" "/usr/bin/perl runs"
is "$(echo "$out" | sed -n 5p)" original "the workspace drive is mounted at its host path"
is "$lines" 5 "nothing else on stdout"
is "$(cat "$WS/made.txt" 2>/dev/null)" new "read-write profile: the new file is copied back"
ok "the writes to / did not reach the host" -- test ! -e "/etc/$tag" -a ! -e "/usr/bin/$tag"

out=$(vm -- sh -c "ls /etc/$tag /usr/bin/$tag 2>/dev/null; echo checked" 2>&1)
is "$out" checked "the next run's root has none of the last run's writes"
done_testing
