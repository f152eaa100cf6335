#!/usr/bin/env bash
# The microVM runner's cost: wall time of `echo hello` through
# `shunt run --runtime microvm`, median of N runs, side by side with a
# bare qemu-system-x86_64 boot of the same kernel, initramfs and devices
# (the same /init running the same job, without shunt). Prints the ratio
# (target <= 1.10), the absolute times and the breakdown: image
# preparation (cache-hit build check), boot to init, init setup
# (9p/overlay mounts), command, VMM start/stop.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-5}
QEMU=$(command -v qemu-system-x86_64) || { echo "microvm: SKIP: qemu-system-x86_64 not installed"; exit 0; }
export SHUNT_VM_CACHE=${SHUNT_VM_CACHE:-/var/tmp/shunt-vm-test-cache}
export SHUNT_VM_BACKEND=qemu SHUNT_NO_SYSTEM_CONFIG=1
BUILDER="$TOP/sandbox/firecracker/build-guest.sh"
WORK=$(mktemp -d /tmp/shunt-bench-vm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export XDG_STATE_HOME="$WORK/state"
if ! sh "$BUILDER" >/dev/null 2>"$WORK/build.err"; then
	echo "microvm: SKIP: cannot build the guest: $(tail -1 "$WORK/build.err")"
	exit 0
fi
IMG=$(cd "$SHUNT_VM_CACHE/current" && pwd -P)
WS="$WORK/ws"
mkdir -p "$WS"
tsc=$(awk -F: '/cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)

ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

bare() {
	local j="$WORK/bare"
	rm -rf "$j"
	mkdir -p "$j/share"
	printf "NONCE=bench\nWS_RW=0\nWS='%s'\n" "$WS" >"$j/share/env"
	printf "cd '%s' || exit 126\nexec 'echo' 'hello'\n" "$WS" >"$j/share/cmd.sh"
	"$QEMU" -M microvm,rtc=on -accel tcg -m 512 -smp 1 -nodefaults -no-user-config -display none \
		-no-reboot -nic none -kernel "$IMG/vmlinux" -initrd "$IMG/initrd.cpio" \
		-append "console=ttyS0 quiet loglevel=1 panic=-1 reboot=t tsc_early_khz=$tsc" \
		-serial "file:$j/console.log" -device virtio-serial-device \
		-chardev "file,id=out,path=$j/out" -device virtconsole,chardev=out \
		-chardev "file,id=err,path=$j/err" -device virtconsole,chardev=err \
		-chardev "file,id=st,path=$j/status" -device virtconsole,chardev=st \
		-fsdev local,id=root,path=/,readonly=on,security_model=none,multidevs=remap \
		-device virtio-9p-device,fsdev=root,mount_tag=root \
		-fsdev "local,id=job,path=$j/share,security_model=none" -device virtio-9p-device,fsdev=job,mount_tag=job \
		-fsdev "local,id=ws,path=$WS,readonly=on,security_model=none,multidevs=remap" \
		-device virtio-9p-device,fsdev=ws,mount_tag=ws 2>>"$j/console.log"
	grep -q "^SHUNT-EXIT-bench 0" "$j/status" && [ "$(cat "$j/out")" = hello ]
}

: >"$WORK/agent.t"; : >"$WORK/mkfs.t"; : >"$WORK/shunt.t"; : >"$WORK/bare.t"; : >"$WORK/prep.t"; : >"$WORK/boot.t"; : >"$WORK/setup.t"; : >"$WORK/cmd.t"
for ((i = 0; i < N; i++)); do
	t0=$(ms)
	out=$(SHUNT_VM_KEEP_JOB=1 "$SHUNT" run --runtime microvm --network none --mem 512M --workspace "$WS" -- echo hello 2>&1)
	t1=$(ms)
	[ "$out" = hello ] || { echo "microvm: FAILED: shunt run printed '$out'"; exit 1; }
	echo $((t1 - t0)) >>"$WORK/shunt.t"
	st=$(cat "$XDG_STATE_HOME"/shunt/vm/jobs/*/status)
	rm -rf "$XDG_STATE_HOME"/shunt/vm/jobs/*
	awk '/^boot /{b=$2} /^ready /{r=$2} /^done /{d=$2} END {printf "%d %d %d\n", b*1000, (r-b)*1000, (d-r)*1000}' <<<"$st" >"$WORK/one"
	read -r boot setup cmd <"$WORK/one"
	echo "$boot" >>"$WORK/boot.t"; echo "$setup" >>"$WORK/setup.t"; echo "$cmd" >>"$WORK/cmd.t"
	t0=$(ms)
	bare || { echo "microvm: FAILED: bare QEMU boot"; exit 1; }
	t1=$(ms)
	echo $((t1 - t0)) >>"$WORK/bare.t"
	t0=$(ms)
	sh "$BUILDER" >/dev/null
	t1=$(ms)
	echo $((t1 - t0)) >>"$WORK/prep.t"
	# Firecracker's transport on QEMU: ext4 workspace drive + agent channel
	t0=$(ms)
	out=$(SHUNT_VM_QEMU_CHANNEL=agent "$SHUNT" run --runtime microvm --network none --mem 512M --workspace "$WS" -- echo hello 2>&1)
	t1=$(ms)
	[ "$out" = hello ] || { echo "microvm: FAILED: agent channel printed '$out'"; exit 1; }
	echo $((t1 - t0)) >>"$WORK/agent.t"
	t0=$(ms)
	PATH=$PATH:/usr/sbin:/sbin mke2fs -q -F -t ext4 -E root_owner -d "$WS" "$WORK/ws.ext4" 64M >/dev/null 2>&1
	t1=$(ms)
	echo $((t1 - t0)) >>"$WORK/mkfs.t"
done
s=$(median <"$WORK/shunt.t"); b=$(median <"$WORK/bare.t")
prep=$(median <"$WORK/prep.t"); boot=$(median <"$WORK/boot.t")
setup=$(median <"$WORK/setup.t"); cmd=$(median <"$WORK/cmd.t")
printf 'microvm (TCG, %d runs, medians)\n' "$N"
printf '  shunt run --runtime microvm -- echo hello  %6d ms\n' "$s"
printf '  bare qemu-system-x86_64 (same guest)      %6d ms\n' "$b"
awk -v s="$s" -v b="$b" 'BEGIN {printf "  ratio                                     %6.2f  (target <= 1.10)\n", s / b}'
printf '  breakdown: image preparation (cache hit)  %6d ms  (build-guest.sh digest check; not on the run path)\n' "$prep"
printf '             kernel boot to /init           %6d ms  (guest uptime)\n' "$boot"
printf '             init setup (9p, overlay)       %6d ms\n' "$setup"
printf '             command                        %6d ms\n' "$cmd"
printf '             VMM start/stop + shunt         %6d ms  (the rest)\n' $((s - boot - setup - cmd))
a=$(median <"$WORK/agent.t"); mk=$(median <"$WORK/mkfs.t")
printf '  agent channel (SHUNT_VM_QEMU_CHANNEL=agent: ext4 drive + framed channel, Firecracker'"'"'s transport)\n'
printf '    shunt run -- echo hello                 %6d ms\n' "$a"
awk -v a="$a" -v b="$b" 'BEGIN {printf "    ratio to bare QEMU (9p guest)           %6.2f\n", a / b}'
printf '    of which workspace image (mke2fs -d)    %6d ms\n' "$mk"
