#!/usr/bin/env bash
# shunt doctor: output structure, --json validity, and that what it says
# about user namespaces matches what `unshare -Ur true` does right now.
. "$(dirname "$0")/../lib.sh"
setup_home

names="userns landlock seccomp cgroups overlayfs process runsc podman docker qemu firecracker kvm vm-firecracker vm-rootfs editor shim"

out=$("$SHUNT" doctor 2>&1); rc=$?
is "$rc" 0 "doctor exits 0 (it is a report)"
for n in $names; do
	like "$out" "^$n: +(ok|missing|degraded) +— " "human output has a '$n' line"
done
bad=$(printf '%s\n' "$out" | grep -Ev '^[a-z][a-z-]*: +(ok|missing|degraded) +— .+' || true)
is "$bad" "" "every line is 'name: status — detail'"
# aligned: the status column starts at the same offset on every line
cols=$(printf '%s\n' "$out" | awk '{ match($0, /: +/); print RSTART + RLENGTH }' | sort -u | wc -l)
is "$cols" 1 "status column is aligned"

json=$("$SHUNT" doctor --json 2>/dev/null); rc=$?
is "$rc" 0 "doctor --json exits 0"
ok "--json output parses (python3 -m json.tool)" -- sh -c 'printf "%s" "$1" | python3 -m json.tool >/dev/null' _ "$json"
jget() { printf '%s' "$json" | python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[k]
print(json.dumps(d))' "$1" 2>/dev/null; }
for n in $names; do
	st=$(jget "checks.$n.status")
	like "$st" '^"(ok|missing|degraded)"$' "json: checks.$n.status is ok|missing|degraded"
done
like "$(jget checks.landlock.abi)" '^[0-9]+$' "json: landlock.abi is a number"
like "$(jget checks.userns.works)" '^(true|false)$' "json: userns.works is a boolean"

# The claim about user namespaces must match reality for this user.
if unshare -Ur true 2>/dev/null; then want=true; else want=false; fi
is "$(jget checks.userns.works)" "$want" "userns verdict matches 'unshare -Ur true' ($want) as $(id -un)"
if [ "$want" = true ]; then
	like "$(jget checks.userns.status)" '"ok"' "userns status ok when unshare works"
else
	like "$(jget checks.userns.status)" '"missing"' "userns status missing when unshare fails"
	unlike "$(jget checks.userns.fix)" '^null$' "a fix is suggested when user namespaces are missing"
fi

# cgroups: 'ok' exactly when a limited cgroup could be created.
cgst=$(jget checks.cgroups.status); cgv=$(jget checks.cgroups.limits_version)
if [ "$cgst" = '"ok"' ]; then
	like "$cgv" '^[12]$' "cgroups ok: limits via v1 or v2"
else
	is "$cgv" 0 "cgroups not writable: no limits version (rlimits fallback)"
fi
# v1 limits with a cgroup2 mount lacking favordynmods: the attach waits
# for an RCU grace period, and doctor says how to avoid it (and only then)
v2opts=$(awk '$3 == "cgroup2" {print $4; exit}' /proc/self/mounts)
if [ "$cgv" = 1 ] && [ -n "$v2opts" ]; then
	case ",$v2opts," in
	*,favordynmods,*) is "$(jget checks.cgroups.tip)" "" "favordynmods already set: no tip" ;;
	*) like "$(jget checks.cgroups.tip)" "remount,favordynmods" "cgroup v1 limits: a tip on avoiding the attach wait" ;;
	esac
else
	is "$(jget checks.cgroups.tip)" "" "no v1 limits here: no favordynmods tip"
fi
if [ -n "${SHUNT_UNPRIV:-}" ] && [ -d /sys/fs/cgroup/memory ] && ! [ -w /sys/fs/cgroup/memory ]; then
	is "$cgst" '"degraded"' "unprivileged on cgroup v1: degraded (rlimits)"
fi

# kvm: a non-openable /dev/kvm is never reported usable.
if [ -e /dev/kvm ] && ! [ -r /dev/kvm -a -w /dev/kvm ]; then
	is "$(jget checks.kvm.usable)" false "unreadable /dev/kvm is not usable"
fi

# shim detection follows LD_PRELOAD (the file need not be loadable for the check).
shim=$(LD_PRELOAD= "$SHUNT" doctor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["shim"]["loaded"])')
is "$shim" False "shim not loaded without LD_PRELOAD"
if [ -f "$SHIM" ]; then
	shim=$(LD_PRELOAD="$SHIM" "$SHUNT" doctor --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["shim"]["loaded"])' 2>/dev/null)
	is "$shim" True "shim detected when LD_PRELOAD has libshunt-preload.so"
	core=$(LD_PRELOAD="$SHIM" "$SHUNT" doctor --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["shim"]["core"])' 2>/dev/null)
	is "$core" True "the shim core is found next to the interposer"
	lone=$(mktemp -d)
	cp "$SHIM" "$lone/"
	out=$(LD_PRELOAD="$lone/libshunt-preload.so" "$SHUNT" doctor 2>/dev/null)
	like "$out" "libshunt-shim-core.so is missing" "doctor: an interposer without its core is reported"
	rm -rf "$lone"
else
	skip "shim library not built"
fi
ed=$(TERM_PROGRAM=vscode "$SHUNT" doctor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["editor"]["editor"])')
is "$ed" vscode "TERM_PROGRAM=vscode is detected"
ed=$(env -u TERM_PROGRAM CURSOR_TRACE_ID=x "$SHUNT" doctor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["editor"]["editor"])')
is "$ed" cursor "CURSOR_TRACE_ID is detected as Cursor"

# TLS verification off must be reported
tlsdir=$(mktemp -d)
printf 'policy:\n  sources:\n    - {url: "http://127.0.0.1:9/p.yaml", insecure: true}\n' >"$tlsdir/c.yaml"
like "$(SHUNT_CONFIG="$tlsdir/c.yaml" "$SHUNT" doctor 2>&1)" 'tls: +degraded .*insecure: true' \
	"doctor warns about insecure: true policy sources"
like "$("$SHUNT" doctor 2>&1)" 'tls: +ok' "doctor: TLS verified by default"
rm -rf "$tlsdir"

# The Firecracker backend: binary, KVM, image and the cached boot probe
fcj() { "$SHUNT" doctor --json | python3 -c 'import json,sys
c=json.load(sys.stdin)["checks"][sys.argv[1]]
print(" ".join(json.dumps(c.get(k)) for k in sys.argv[2:]))' "$@"; }
export SHUNT_VM_CACHE="$TEST_TMP/no-vm-cache"
out=$(SHUNT_FIRECRACKER="$TEST_TMP/no-fc" "$SHUNT" doctor 2>&1)
like "$out" "vm-firecracker: +missing +— no firecracker binary: the microVM backend is QEMU" \
	"vm-firecracker: no binary"
is "$(SHUNT_FIRECRACKER="$TEST_TMP/no-fc" fcj vm-firecracker status binary usable)" '"missing" null false' \
	"json: vm-firecracker missing, binary null, not usable"
like "$out" "vm-rootfs: +missing .*sudo shunt vm build --rootfs debootstrap" \
	"vm-rootfs: no root drive, and how to build one"
printf '#!/bin/sh\necho "cannot create the VM" >&2\nexit 1\n' >"$TEST_TMP/fc-broken"
chmod +x "$TEST_TMP/fc-broken"
export SHUNT_FIRECRACKER="$TEST_TMP/fc-broken"
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	like "$("$SHUNT" doctor 2>&1)" "vm-firecracker: +missing +— .*fc-broken found, but /dev/kvm is not usable by this user" \
		"vm-firecracker: a binary but no usable /dev/kvm for $(id -un)"
	is "$(fcj vm-firecracker kvm probe)" "false null" "json: kvm false, not probed"
elif ! [ -r "${SHUNT_VM_SHARED_CACHE:-/var/tmp/shunt-vm-test-cache}/current/vmlinux" ]; then
	like "$("$SHUNT" doctor 2>&1)" "vm-firecracker: +missing +— .*guest image is not built \(shunt vm build\)" \
		"vm-firecracker: binary and KVM, no guest image"
	skip "the boot probe needs the guest image sandbox_microvm.sh builds"
else
	export SHUNT_VM_CACHE=${SHUNT_VM_SHARED_CACHE:-/var/tmp/shunt-vm-test-cache}
	like "$("$SHUNT" doctor 2>&1)" "vm-firecracker: +degraded +— .*fc-broken found and /dev/kvm opens, but no boot probe" \
		"vm-firecracker: not probed yet"
	is "$(fcj vm-firecracker probe usable)" "null false" "json: probe null"
	out=$("$SHUNT" vm probe --boot 2>&1)
	like "$out" "firecracker: does not boot the guest: .*console: cannot create the VM" \
		"vm probe --boot: runs the boot probe and says why it failed"
	like "$("$SHUNT" doctor 2>&1)" "vm-firecracker: +missing +— .*fc-broken did not boot guest image .*cached boot probe: .*cannot create the VM.*rm /tmp/shunt-probe-$(id -u)/vm-firecracker" \
		"vm-firecracker: the cached failed probe, why, and how to retry"
	is "$(fcj vm-firecracker probe usable)" "false false" "json: probe false, not usable"
	like "$(fcj vm-firecracker why)" "cannot create the VM" "json: why"
fi
unset SHUNT_FIRECRACKER
: >"$TEST_TMP/root.ext4"
like "$(SHUNT_VM_ROOTFS="$TEST_TMP/root.ext4" "$SHUNT" doctor 2>&1)" "vm-rootfs: +ok +— .*root.ext4" \
	"vm-rootfs: a root drive is reported"
unset SHUNT_VM_CACHE

"$SHUNT" doctor --bogus >/dev/null 2>&1; rc=$?
is "$rc" 2 "unknown option: exit 2"
done_testing
