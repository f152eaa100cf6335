#!/usr/bin/env bash
# The microVM runner: real QEMU -M microvm boots under TCG of the guest
# built from Debian packages (sandbox/firecracker/build-guest.sh), one at
# a time, each with a timeout. Exit codes, separate stdout/stderr, the
# read-only and read-write workspace, the ephemeral root, --timeout, no
# network, the allowlist through the proxy, full by NAT, a faked exit marker,
# orphan sweep after SIGKILL, fail closed.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

FC="$TOP/sandbox/firecracker"
export SHUNT_VM_BUILD_SCRIPT="$FC/build-guest.sh"
# the root drive (a debootstrap root) is sandbox_microvm_rootfs.sh's;
# here the guest's root is the host's (QEMU) or the initramfs (Firecracker)
export SHUNT_VM_ROOTFS=none
# Firecracker's plan needs no binary: the generated config and VMM command
out=$(SHUNT="$SHUNT" SHUNT_VM_CACHE="$TEST_TMP/no-cache" "$FC/start.sh" --backend firecracker \
	--dry-run --mem 256 --vcpus 2 "$TEST_TMP" make install 2>&1)
is "$?" 0 "start.sh --backend firecracker --dry-run: exit 0"
like "$out" "backend: firecracker" "firecracker dry-run: backend"
like "$out" '"boot_args":"console=ttyS0 [^"]*shunt.agent=vsock"' "firecracker dry-run: boot args select the vsock agent"
like "$out" '"drives":\[\{"drive_id":"workspace","path_on_host":"workspace.ext4","is_root_device":false,"is_read_only":false\}\]' \
	"firecracker dry-run: the workspace as a writable ext4 drive"
like "$out" '"machine-config":\{"vcpu_count":2,"mem_size_mib":256' "firecracker dry-run: machine config"
like "$out" '"vsock":\{"guest_cid":3,"uds_path":"v.sock"\}' "firecracker dry-run: vsock"
like "$out" '"network-interfaces":\[\]' "firecracker dry-run: no network interfaces"
like "$out" "firecracker --no-api --config-file" "firecracker dry-run: the VMM command"
export SHUNT_VM_BACKEND=qemu

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	done_testing
	exit
fi

# fail closed before any image exists and none can be built (the build
# on first use: sandbox_microvm_firstuse.sh)
rm -f "$TEST_TMP/ran"
out=$(SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/no-build-script" SHUNT_VM_CACHE="$TEST_TMP/no-cache" "$SHUNT" run --runtime microvm --network none \
	--workspace "$TEST_TMP" -- touch "$TEST_TMP/ran" 2>&1)
is "$?" 125 "no guest image: exit 125"
ok "no guest image: the command did not run" -- test ! -e "$TEST_TMP/ran"
out=$(SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/no-build-script" SHUNT_VM_CACHE="$TEST_TMP/no-cache" "$SHUNT" vm probe 2>&1)
like "$out" "shunt vm build" "no guest image: vm probe says how to build it"
out=$(SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/no-build-script" SHUNT_VM_CACHE="$TEST_TMP/no-cache" "$SHUNT" run --profile SYSTEM_WRITE --network none \
	--workspace "$TEST_TMP" -- touch "$TEST_TMP/ran" 2>&1)
is "$?" 125 "no VM: SYSTEM_WRITE fails closed (125)"
ok "no VM: SYSTEM_WRITE did not run" -- test ! -e "$TEST_TMP/ran"
out=$(SHUNT_QEMU="$TEST_TMP/no-qemu" "$SHUNT" vm probe 2>&1)
like "$out" "apt-get install qemu-system-x86" "no QEMU: vm probe says how to install it"

# The guest image: one shared cache for the root and the nobody runs
# (built by the first; the apt download is ~70 MB, the build ~10 s).
export SHUNT_VM_CACHE=${SHUNT_VM_CACHE:-/var/tmp/shunt-vm-test-cache}
if ! [ -r "$SHUNT_VM_CACHE/current/initrd.cpio" ] || ! "$FC/build-guest.sh" >/dev/null 2>"$TEST_TMP/build.err"; then
	if ! mkdir -p "$SHUNT_VM_CACHE" 2>/dev/null || ! [ -w "$SHUNT_VM_CACHE" ]; then
		export SHUNT_VM_CACHE="$TEST_TMP/vm-cache"
	fi
	if ! "$SHUNT" vm build >/dev/null 2>"$TEST_TMP/build.err"; then
		skip "cannot build the guest image here: $(tail -2 "$TEST_TMP/build.err" | tr '\n' ' ')"
		done_testing
		exit
	fi
fi
chmod -R a+rX "$SHUNT_VM_CACHE" 2>/dev/null
ok "shunt vm probe: usable" -- "$SHUNT" vm probe >/dev/null

WS="$TEST_TMP/ws"
mkdir -p "$WS"
echo original >"$WS/keep.txt"
chmod -R a+rwX "$TEST_TMP"
vm() { timeout 120 "$SHUNT" run --runtime microvm --network none --workspace "$WS" "$@"; }

out=$(vm -- sh -c 'echo hello; echo to-stderr >&2; pwd' 2>"$TEST_TMP/err")
rc=$?
is "$rc" 0 "echo hello: exit 0"
is "$out" "hello
$WS" "stdout is the command's, cwd is the workspace"
is "$(cat "$TEST_TMP/err")" "to-stderr" "stderr kept separate from stdout"

# SIGKILL shunt mid-run: the job state stays behind, the next run sweeps it
JOBS="$XDG_STATE_HOME/shunt/vm/jobs"
"$SHUNT" run --runtime microvm --network none --workspace "$WS" -- sleep 1000 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	ls "$JOBS"/*/job.json >/dev/null 2>&1 && break
	sleep 0.1
done
orphan=$(ls -d "$JOBS"/* 2>/dev/null | head -1)
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
ok "a killed run leaves its job state (job.json)" -- test -f "$orphan/job.json"
like "$(cat "$orphan/job.json" 2>/dev/null)" '"backend":"qemu","pid":[0-9]+,"created_ms":[0-9]+,"deadline_ms":[0-9]+,"image_digest":"[0-9a-f]+"' \
	"job.json carries backend, pid, created, deadline, image digest"
vmm=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$orphan/job.json" 2>/dev/null)

vm -- sh -c 'exit 42' >/dev/null 2>&1
is "$?" 42 "exit code 42 comes through"
ok "the next run removed the orphaned job" -- test ! -e "$orphan"
# (a zombie waiting for its new parent to reap it counts as gone)
if [ -n "$vmm" ] && [ -e "/proc/$vmm" ] && [ "$(awk '{print $3}' "/proc/$vmm/stat" 2>/dev/null)" != Z ]; then
	fail "the orphan's QEMU ($vmm) is still running"
else
	pass "the orphan's QEMU is gone"
fi

out=$(vm --profile READ_ONLY -- sh -c 'echo changed > keep.txt && echo WROTE' 2>&1)
rc=$?
unlike "$out" WROTE "read-only workspace: the write failed inside"
ok "read-only workspace: non-zero exit ($rc)" -- test "$rc" -ne 0
is "$(cat "$WS/keep.txt")" original "read-only workspace: host file unchanged"

tag="shunt-vm-test-$$"
out=$(vm --profile SYSTEM_WRITE -- sh -c "echo new > made.txt && echo x > /usr/$tag && cat /usr/$tag && echo inside > /etc/$tag" 2>&1)
is "$?" 0 "SYSTEM_WRITE: writes to the workspace and /usr succeed inside"
is "$out" x "the /usr write is visible inside the VM"
is "$(cat "$WS/made.txt" 2>/dev/null)" new "read-write workspace: the write reached the host"
ok "the /usr write did not reach the host" -- test ! -e "/usr/$tag"
ok "the /etc write did not reach the host" -- test ! -e "/etc/$tag"

out=$(vm --timeout 5 -- sleep 1000 2>&1)
is "$?" 124 "--timeout kills sleep 1000 (exit 124)"
like "$out" "timed out" "the timeout is reported"
ok "no job state left after the timeout" -- test -z "$(ls -A "$JOBS" 2>/dev/null)"

out=$(vm -- sh -c 'ls /sys/class/net' 2>&1)
is "$out" lo "no network by default: only loopback in the VM"

# allowlist: QEMU user-mode net with restrict=on whose one forward
# (guestfwd 10.0.2.100:3128) reaches the host's filtering proxy. Loopback
# servers only; the user's shunt hosts file names them. One boot.
BIG=$((200 * 1024 * 1024))
python3 "$TOP/tests/helpers/nethttpd.py" 127.0.0.2 "$TEST_TMP/port" "$BIG" &
srv=$!
for _ in $(seq 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.1; done
P=$(cat "$TEST_TMP/port")
mkdir -p "$XDG_CONFIG_HOME/shunt"
printf '127.0.0.2 allowed.test\n127.0.0.3 denied.test\n10.0.0.1 rebind.test\n' >"$XDG_CONFIG_HOME/shunt/net-hosts"
HOSTIP=$(hostname -I 2>/dev/null | awk '{print $1}')
want=$(curl -s "http://127.0.0.2:$P/big" | sha256sum | cut -d' ' -f1)
out=$(vm --network allowlist --allow-host "allowed.test:$P" --allow-host "127.0.0.2:$P" \
	--allow-host "rebind.test:$P" -- sh -c '
	P=$1 HOSTIP=$2
	echo "env: $HTTP_PROXY $https_proxy $ALL_PROXY $NO_PROXY"
	echo "wget: $(busybox wget -q -O - http://allowed.test:$P/hello)"
	echo "connect: $(curl -sS -f -p http://allowed.test:$P/hello)"
	echo "denied: $(busybox wget -O - http://denied.test:$P/hello 2>&1 | tr "\n" " ")"
	echo "rebind: $(curl -sS http://rebind.test:$P/hello)"
	curl -sS --noproxy "*" --max-time 10 http://10.0.2.2:$P/hello >/dev/null 2>&1
	echo "direct-slirp-host: rc=$?"
	[ -n "$HOSTIP" ] && curl -sS --noproxy "*" --max-time 10 http://$HOSTIP:$P/ >/dev/null 2>&1
	echo "direct-host-ip: rc=$?"
	getent hosts deb.debian.org
	echo "dns: rc=$?"
	busybox nslookup deb.debian.org 10.0.2.3 >/dev/null 2>&1
	echo "dns-slirp: rc=$?"
	echo "big: $(curl -sS -f http://allowed.test:$P/big | sha256sum)"
	' sh "$P" "$HOSTIP" 2>"$TEST_TMP/net.err")
is "$?" 0 "allowlist: the VM ran"
like "$out" "env: http://10.0.2.100:3128 http://10.0.2.100:3128 http://10.0.2.100:3128 localhost" \
	"allowlist: the guest's proxy variables point at the forward"
like "$out" "wget: hello from 127.0.0.2" "allowlist: an allowed name works through the proxy (busybox wget)"
like "$out" "connect: hello from 127.0.0.2" "allowlist: and through CONNECT (curl -p)"
like "$out" "denied: .*403 Forbidden" "allowlist: a name not on the list is refused (403)"
like "$(cat "$TEST_TMP/net.err")" "blocked connect to denied.test:$P \(not in the allowlist\)" \
	"allowlist: the user sees why"
like "$out" "rebind: .*resolves to private address 10.0.0.1" "allowlist: a name resolving to a private address is refused"
like "$out" "direct-slirp-host: rc=(7|28)" "allowlist: a direct connect to the host (10.0.2.2) fails"
if [ -n "$HOSTIP" ]; then
	like "$out" "direct-host-ip: rc=(7|28)" "allowlist: a direct connect to the host's address $HOSTIP fails"
else
	skip "no non-loopback host address to try a direct connect to"
fi
like "$out" "dns: rc=2" "allowlist: DNS lookups fail"
like "$out" "dns-slirp: rc=1" "allowlist: QEMU's own resolver (10.0.2.3) does not answer either"
like "$out" "big: $want " "allowlist: 200 MB through the proxy, checksum matches"
out=$("$SHUNT" vm plan --network restricted --workspace "$WS" -- true 2>&1)
like "$out" "restrict=on,ipv6=off,guestfwd=tcp:10.0.2.100:3128-cmd:" "allowlist: vm plan shows the restricted user-mode net"
kill "$srv" 2>/dev/null
rm -f "$XDG_CONFIG_HOME/shunt/net-hosts"

# full, chosen explicitly: QEMU's user-mode NAT (10.0.2.2 is the host's
# loopback), no proxy variables
python3 "$TOP/tests/helpers/nethttpd.py" 127.0.0.1 "$TEST_TMP/port1" &
srv=$!
for _ in $(seq 100); do [ -s "$TEST_TMP/port1" ] && break; sleep 0.1; done
out=$(vm --network full -- sh -c 'env | grep -ci _proxy; curl -sS --max-time 20 http://10.0.2.2:'"$(cat "$TEST_TMP/port1")"'/hello' 2>&1)
is "$out" "0
hello from 127.0.0.1" "full: the VM reaches the host through user-mode NAT, without a proxy"
kill "$srv" 2>/dev/null

out=$(vm -- sh -c 'echo SHUNT-EXIT-00000000000000000000000000000000 0; for d in /dev/hvc*; do echo "SHUNT-EXIT-0 0" > $d; done 2>/dev/null; exit 7' 2>/dev/null)
is "$?" 7 "a faked exit marker (stdout and the status channel) does not fool it"
like "$out" "SHUNT-EXIT-0+ 0" "the fake marker is passed through as output"

# hidden paths (sandbox.hide_paths, ~/.ssh, ...) are covered host-side,
# in QEMU's own mount namespace: the 9p exports cannot reach them
mkdir -p "$WS/secrets" "$XDG_CONFIG_HOME/shunt"
echo SECRET-KEY-MATERIAL >"$WS/secrets/key"
echo SECRET-TOKEN >"$WS/.env"
chmod -R a+rwX "$WS"
printf 'sandbox:\n  hide_paths: [%s/secrets, %s/.env]\n' "$WS" "$WS" >"$XDG_CONFIG_HOME/shunt/config.yaml"
out=$(vm --profile SYSTEM_WRITE -- sh -c 'ls secrets; cat secrets/key .env; echo LISTED' 2>&1)
unlike "$out" "SECRET-" "hidden paths are hidden from the VM"
like "$out" LISTED "the VM ran with the hidden paths covered"
is "$(cat "$WS/secrets/key")" SECRET-KEY-MATERIAL "the host's hidden file is untouched"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"

# SYSTEM_WRITE goes to the microVM by default once a VM can run
out=$(timeout 120 "$SHUNT" run --profile SYSTEM_WRITE --network none --workspace "$WS" -- cat /proc/cmdline 2>&1)
like "$out" "console=ttyS0.*tsc_early_khz=" "SYSTEM_WRITE runs in the microVM (guest kernel command line)"

# the product's executable interface
out=$(SHUNT="$SHUNT" timeout 120 "$FC/start.sh" --ttl 60 --mem 256 --vcpus 2 "$WS" sh -c 'nproc; cat keep.txt; exit 5' 2>&1)
is "$?" 5 "start.sh: exit code is the command's"
is "$out" "2
original" "start.sh: --vcpus reaches the VM, the mount is the workspace"
out=$(SHUNT="$SHUNT" "$FC/start.sh" --dry-run --mem 256 "$WS" make install 2>&1)
like "$out" "backend: qemu" "start.sh --dry-run: backend"
like "$out" "'-nic' 'none'" "start.sh --dry-run: QEMU command line without network"
like "$out" "mounts: $WS \(workspace, read-write\)" "start.sh --dry-run: mounts"

# Firecracker's transport on QEMU (SHUNT_VM_QEMU_CHANNEL=agent): the
# workspace as an ext4 drive built by mke2fs -d, the command over the
# framed channel to the static guest agent (on hvc0 here, vsock under
# Firecracker), the changes copied back with debugfs
AWS="$TEST_TMP/aws"
mkdir -p "$AWS/sub" "$AWS/secrets"
echo original >"$AWS/keep.txt"
echo gone >"$AWS/sub/gone.txt"
echo SECRET-KEY-MATERIAL >"$AWS/secrets/key"
chmod -R a+rwX "$AWS"
avm() { SHUNT_VM_QEMU_CHANNEL=agent timeout 120 "$SHUNT" run --runtime microvm --network none --workspace "$AWS" "$@"; }
out=$(avm -- sh -c 'echo hello; echo to-stderr >&2; cat keep.txt; grep " $PWD " /proc/mounts | cut -d" " -f1,3; ls /sys/class/net; exit 42' 2>"$TEST_TMP/aerr")
is "$?" 42 "agent channel: exit code 42"
is "$out" "hello
original
/dev/vda ext4
lo" "agent channel: stdout; the workspace is the ext4 drive at its host path; no network"
is "$(cat "$TEST_TMP/aerr")" to-stderr "agent channel: stderr kept separate"
out=$(avm --profile READ_ONLY -- sh -c 'echo changed > keep.txt && echo WROTE' 2>&1)
unlike "$out" WROTE "agent channel: a read-only drive refuses writes"
is "$(cat "$AWS/keep.txt")" original "agent channel: read-only: host file unchanged"
mkdir -p "$XDG_CONFIG_HOME/shunt"
printf 'sandbox:\n  hide_paths: [%s/secrets]\n' "$AWS" >"$XDG_CONFIG_HOME/shunt/config.yaml"
out=$(avm --profile SYSTEM_WRITE -- sh -c "cat secrets/key; echo new > made.txt; rm sub/gone.txt; ln -s /etc/passwd escape; ln -s keep.txt inside; echo planted > secrets/planted; echo x > /usr/$tag; echo done" 2>&1)
is "$?" 0 "agent channel: SYSTEM_WRITE run"
unlike "$out" SECRET- "agent channel: hidden paths are not in the workspace image"
is "$(cat "$AWS/made.txt" 2>/dev/null)" new "agent channel: a new file is copied back"
ok "agent channel: a deleted file is removed on the host" -- test ! -e "$AWS/sub/gone.txt"
is "$(readlink "$AWS/inside" 2>/dev/null)" keep.txt "agent channel: a symlink inside the workspace is copied back"
ok "agent channel: a symlink leaving the workspace is not copied back" -- test ! -L "$AWS/escape"
like "$out" "not copied back .*escape" "agent channel: ... and reported"
is "$(cat "$AWS/secrets/key")" SECRET-KEY-MATERIAL "agent channel: the hidden file survives the copy-back"
ok "agent channel: nothing planted in a hidden path" -- test ! -e "$AWS/secrets/planted"
ok "agent channel: the /usr write stayed in the VM" -- test ! -e "/usr/$tag"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
avm -- sh -c "printf 'SV\\022\\000\\000\\000\\000\\004\\000\\000\\000\\000'; exit 7" >"$TEST_TMP/fake" 2>/dev/null
is "$?" 7 "agent channel: a fake exit frame in the output does not fool it"
like "$(od -An -c "$TEST_TMP/fake" | tr -s ' ')" "S V 022 \\\\0" "agent channel: the fake frame is passed through as bytes"
out=$(avm --timeout 5 -- sleep 1000 2>&1)
is "$?" 124 "agent channel: --timeout kills sleep 1000"
# SIGKILL mid-run: the VMM's job state (written by the agent-channel
# boot, as under Firecracker) is swept by the next run
rm -rf "$JOBS"
SHUNT_VM_QEMU_CHANNEL=agent "$SHUNT" run --runtime microvm --network none --workspace "$AWS" -- sleep 1000 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	ls "$JOBS"/*/job.json >/dev/null 2>&1 && break
	sleep 0.1
done
orphan=$(ls -d "$JOBS"/* 2>/dev/null | head -1)
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
like "$(cat "$orphan/job.json" 2>/dev/null)" '"backend":"qemu","pid":[0-9]+' "agent channel: a killed run leaves job.json with the VMM pid"
vmm=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$orphan/job.json" 2>/dev/null)
"$SHUNT" vm sweep >/dev/null
ok "agent channel: the sweep removed the orphaned job" -- test ! -e "$orphan"
if [ -n "$vmm" ] && [ -e "/proc/$vmm" ] && [ "$(awk '{print $3}' "/proc/$vmm/stat" 2>/dev/null)" != Z ]; then
	fail "agent channel: the orphan's QEMU ($vmm) is still running"
else
	pass "agent channel: the orphan's QEMU is gone"
fi

# Firecracker: a real boot where a firecracker binary and a usable KVM exist
fc_bin=${SHUNT_FIRECRACKER:-$(command -v firecracker)}
if [ -n "$fc_bin" ] && [ -x "$fc_bin" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
	SHUNT_VM_BACKEND= "$SHUNT" vm probe 2>/dev/null | grep -q usable &&
	SHUNT_VM_BACKEND= timeout 60 "$SHUNT" run --runtime microvm --network none --workspace "$WS" -- true 2>/dev/null &&
	SHUNT_VM_BACKEND= "$SHUNT" vm plan 2>/dev/null | grep -q "backend: firecracker"; then
	fcvm() { SHUNT_VM_BACKEND=firecracker timeout 120 "$SHUNT" run --runtime microvm --network none --workspace "$WS" "$@"; }
	out=$(fcvm -- sh -c 'echo hello; echo to-stderr >&2; exit 42' 2>"$TEST_TMP/fcerr")
	is "$?" 42 "firecracker: exit code 42"
	is "$out" hello "firecracker: stdout over vsock"
	is "$(cat "$TEST_TMP/fcerr")" to-stderr "firecracker: stderr kept separate"
	fcvm --profile SYSTEM_WRITE -- sh -c 'echo fc > fc-made.txt' >/dev/null 2>&1
	is "$(cat "$WS/fc-made.txt" 2>/dev/null)" fc "firecracker: a read-write workspace is copied back"
	fcvm --profile READ_ONLY -- sh -c 'echo changed > keep.txt' >/dev/null 2>&1
	is "$(cat "$WS/keep.txt")" original "firecracker: read-only workspace unchanged"
	out=$(fcvm --timeout 5 -- sleep 1000 2>&1)
	is "$?" 124 "firecracker: --timeout kills sleep 1000"
else
	skip "firecracker boot: no firecracker binary with a /dev/kvm that boots guests here (Debian has no package; set SHUNT_FIRECRACKER); its config, command channel and workspace image are tested by test_microvm, test_vmchan and test_wsimage"
fi

# auto: a firecracker that does not boot counts as absent (boot probe)
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	printf '#!/bin/sh\necho "cannot create the VM" >&2\nexit 1\n' >"$TEST_TMP/fc-broken"
	chmod +x "$TEST_TMP/fc-broken"
	out=$(SHUNT_VM_BACKEND= SHUNT_FIRECRACKER="$TEST_TMP/fc-broken" timeout 120 "$SHUNT" run --runtime microvm \
		--network none --workspace "$WS" -- sh -c 'cat /proc/cmdline' 2>&1)
	like "$out" "tsc_early_khz|console=ttyS0 quiet" "auto: a firecracker whose boot probe fails falls back to QEMU"
	like "$(cat /tmp/shunt-probe-$(id -u)/vm-firecracker 2>/dev/null)" "fc-broken .* no" \
		"auto: the failed probe is cached"
else
	skip "auto with a non-booting firecracker: /dev/kvm is not read-write for $(id -un)"
fi
out=$(SHUNT="$SHUNT" SHUNT_VM_BACKEND= SHUNT_FIRECRACKER="$TEST_TMP/no-fc" "$FC/start.sh" --backend firecracker "$WS" touch "$WS/fc-ran" 2>&1)
is "$?" 125 "start.sh --backend firecracker without firecracker/KVM: 125"
ok "... the command did not run" -- test ! -e "$WS/fc-ran"
like "$out" "firecracker. binary" "... says what is missing"
like "$out" '"machine-config":\{"vcpu_count":1' "... and prints the Firecracker config"
done_testing
