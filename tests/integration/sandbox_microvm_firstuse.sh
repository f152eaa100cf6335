#!/usr/bin/env bash
# First use of the microVM runner: with an empty cache, `shunt run
# --runtime microvm` builds the guest image (the build `shunt vm build`
# runs) and then runs the command, saying so in one line on stderr when
# that is not a terminal and in one line updated in place when it is;
# two concurrent first runs build it once (one waits, then reuses it), as
# do two `shunt vm build`.
# The real build downloads the Debian kernel (~70 MB) and takes ~1 min.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home
unset SHUNT_VM_CACHE SHUNT_VM_BUILD_SCRIPT SHUNT_VM_KVM
export SHUNT_VM_BACKEND=qemu SHUNT_VM_ROOTFS=none

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	done_testing
	exit
fi
WS="$TEST_TMP/ws"
mkdir -p "$WS"
first() { (cd "$WS" && timeout 900 "$SHUNT" run --runtime microvm --profile SYSTEM_WRITE -- "$@" </dev/null); }
image() { ls "$XDG_CACHE_HOME/shunt/vm/current/vmlinux" 2>/dev/null; }

# `shunt vm build` takes the same lock: two at once build one after the other
printf '#!/bin/sh\necho "start $$" >>"%s"; sleep 1; echo "end $$" >>"%s"\n' \
	"$TEST_TMP/marks" "$TEST_TMP/marks" >"$TEST_TMP/mark-build.sh"
chmod +x "$TEST_TMP/mark-build.sh"
SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/mark-build.sh" "$SHUNT" vm build 2>/dev/null &
SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/mark-build.sh" "$SHUNT" vm build 2>/dev/null
wait
is "$(cut -d' ' -f1 "$TEST_TMP/marks" | tr '\n' ' ')" "start end start end " \
	"two concurrent 'shunt vm build': the second starts after the first ended"
rm -rf "$XDG_CACHE_HOME/shunt"

# nothing to build it with: fails closed and says how to build it
out=$(SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/no-build-script" first touch "$WS/ran" 2>&1)
is "$?" 125 "no image and no build script: exit 125"
like "$out" "guest image is not built .*shunt vm build" "no image and no build script: says how to build it"
ok "no image and no build script: the command did not run" -- test ! -e "$WS/ran"

# a failing build: the command does not run, the error names the log
printf '#!/bin/sh\necho "no kernel for you" >&2\nexit 3\n' >"$TEST_TMP/bad-build.sh"
out=$(SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/bad-build.sh" first touch "$WS/ran" 2>&1)
is "$?" 125 "a failed build: exit 125"
like "$out" "building the microVM guest image failed \(exit 3\): no kernel for you; see .*build.log" \
	"a failed build: the error carries the build's last line and its log"
ok "a failed build: the command did not run" -- test ! -e "$WS/ran"
rm -rf "$XDG_CACHE_HOME/shunt"

# the guest image build needs busybox-static and the Debian archive
if ! [ -x /bin/busybox ] || ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
	skip "cannot build the guest image here (busybox-static or the Debian archive missing)"
	done_testing
	exit
fi

# two concurrent first runs: one builds, the other waits and reuses it
first sh -c 'echo one' >"$TEST_TMP/out1" 2>"$TEST_TMP/err1" &
p1=$!
first sh -c 'echo two' >"$TEST_TMP/out2" 2>"$TEST_TMP/err2" &
p2=$!
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
is "$rc1 $rc2" "0 0" "two concurrent first runs: both exit 0"
is "$(cat "$TEST_TMP/out1") $(cat "$TEST_TMP/out2")" "one two" "both commands ran in the VM"
if [ "$rc1 $rc2" != "0 0" ]; then
	diag "err1: $(cat "$TEST_TMP/err1")"
	diag "err2: $(cat "$TEST_TMP/err2")"
	diag "build.log: $(tail -3 "$XDG_CACHE_HOME/shunt/vm/build.log" 2>/dev/null)"
fi
is "$(cat "$TEST_TMP/err1" "$TEST_TMP/err2" | grep -c '^shunt: building the microVM guest image')" 1 \
	"the image was built once (one 'building' line in all)"
is "$(cat "$TEST_TMP/err1" "$TEST_TMP/err2" | grep -v '^shunt: building' | grep -vc '^shunt: waiting for another shunt building the microVM guest image')" 0 \
	"the other run waited for that build (or came after it): nothing else on stderr"
for n in 1 2; do
	ok "run $n: at most one line on stderr (no terminal)" -- test "$(wc -l <"$TEST_TMP/err$n")" -le 1
done
like "$(cat "$TEST_TMP/err1" "$TEST_TMP/err2")" \
	"^shunt: building the microVM guest image \(first use, about a minute; log: $XDG_CACHE_HOME/shunt/vm/build.log\)" \
	"the line says what is built and where its log is"
ok "the image is in the cache" -- test -n "$(image)"
ok "no build left half-done" -- test -z "$(ls -d "$XDG_CACHE_HOME"/shunt/vm/.build.* 2>/dev/null | grep -v '/\.build\.lock$')"

# later runs reuse it silently
ino=$(stat -c %i "$(image)")
out=$(first true 2>&1)
is "$?" 0 "a second run: exit 0"
is "$out" "" "a second run: nothing on stderr (no build)"
is "$(stat -c %i "$(image)")" "$ino" "a second run: the image was not rebuilt"

# on a terminal: one line updated in place (carriage return), then the
# result; a quick stand-in build copies the image just built
real=$(readlink -f "$XDG_CACHE_HOME/shunt/vm/current")
cat >"$TEST_TMP/quick-build.sh" <<EOF
#!/bin/sh
# --cache DIR
sleep 1.5
mkdir -p "\$2/quick" && cp "$real/vmlinux" "$real/initrd.cpio" "\$2/quick/" && ln -sfn quick "\$2/current"
EOF
chmod +x "$TEST_TMP/quick-build.sh"
export XDG_CACHE_HOME="$TEST_TMP/cache2"
out=$(cd "$WS" && SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/quick-build.sh" timeout 600 script -qec \
	"'$SHUNT' run --runtime microvm --profile SYSTEM_WRITE -- true" /dev/null </dev/null)
is "$?" 0 "on a terminal: built and ran (exit 0)"
like "$out" $'\r'".*shunt: built the microVM guest image in [0-9]+ s" \
	"on a terminal: the progress line is rewritten in place and ends with the result"
is "$(printf '%s' "$out" | tr -d '\r' | grep -c 'shunt: ')" 1 "on a terminal: one line"
done_testing
