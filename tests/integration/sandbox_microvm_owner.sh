#!/usr/bin/env bash
# Owners after the ext4 workspace's copy-back (Firecracker's transport,
# booted for real under QEMU with SHUNT_VM_QEMU_CHANNEL=agent): a file
# that existed keeps its owner, group and mode where the caller may set
# them (root: any file; others: their own), new files are the invoking
# user's, and the image's owners are never applied.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

export SHUNT_VM_BUILD_SCRIPT="$TOP/sandbox/firecracker/build-guest.sh"
export SHUNT_VM_BACKEND=qemu SHUNT_VM_QEMU_CHANNEL=agent SHUNT_VM_ROOTFS=none

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	done_testing
	exit
fi
# the guest image sandbox_microvm.sh builds (shared cache), else our own
export SHUNT_VM_CACHE=${SHUNT_VM_CACHE:-/var/tmp/shunt-vm-test-cache}
if ! [ -r "$SHUNT_VM_CACHE/current/vmlinux" ]; then
	[ -w "$SHUNT_VM_CACHE" ] || [ -w "$(dirname "$SHUNT_VM_CACHE")" ] || export SHUNT_VM_CACHE="$TEST_TMP/vm-cache"
	if ! "$SHUNT" vm build >/dev/null 2>"$TEST_TMP/build.err"; then
		skip "cannot build the guest image here: $(tail -2 "$TEST_TMP/build.err" | tr '\n' ' ')"
		done_testing
		exit
	fi
fi

WS="$TEST_TMP/ws"
mkdir -p "$WS"
echo old >"$WS/mine.txt"
chmod 0604 "$WS/mine.txt"
echo old >"$WS/exec.sh"
chmod 0644 "$WS/exec.sh"
me="$(id -u):$(id -g)"
if [ "$(id -u)" = 0 ]; then
	echo old >"$WS/other.txt"
	chown 12345:54321 "$WS/other.txt"
	chmod 0640 "$WS/other.txt"
	touch "$WS/other.txt"
fi
chmod a+rx "$TEST_TMP"

out=$(timeout 180 "$SHUNT" run --runtime microvm --profile SYSTEM_WRITE --network none --workspace "$WS" -- \
	sh -c 'for f in *.txt; do echo changed > "$f"; done; chmod 0755 exec.sh; echo new > made.txt; chown 4242 made.txt; echo ran' 2>&1)
rc=$?
is "$rc" 0 "read-write run: exit 0"
like "$out" "ran" "the command ran"
is "$(cat "$WS/mine.txt")" changed "own file: the change is copied back"
is "$(stat -c '%u:%g %a' "$WS/mine.txt")" "$me 604" "own file: keeps owner and mode 0604"
is "$(stat -c '%a' "$WS/exec.sh")" 755 "a mode the guest set (chmod 0755) is copied back"
is "$(stat -c '%u:%g' "$WS/made.txt" 2>/dev/null)" "$me" "a new file belongs to the invoking user ($(id -un)), not the uid the guest gave it"
if [ "$(id -u)" = 0 ]; then
	is "$(cat "$WS/other.txt")" changed "root: another user's file: the change is copied back"
	is "$(stat -c '%u:%g %a' "$WS/other.txt")" "12345:54321 640" "root: ... and it keeps its owner, group and mode"
else
	skip "a file owned by another uid needs root to set up (as $(id -un): own files only)"
fi
done_testing
