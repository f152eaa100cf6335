#!/usr/bin/env bash
# seccomp in the process runner, observed from inside: tests/helpers/sysprobe
# attempts each risky syscall under `shunt run` and prints the errno. The
# probes are chosen so the kernel alone would answer differently (EBADF,
# EFAULT, OK, ...) from the filter's EPERM / ENOSYS, so a pass proves the
# filter is loaded, not just that the user namespace lacks privileges.
. "$(dirname "$0")/../lib.sh"
setup_home

PROBE=$BUILD/tests/helpers/sysprobe
if ! [ -x "$PROBE" ]; then
	skip "sysprobe helper not built ($PROBE)"
	done_testing
	exit
fi
WS=$TEST_TMP/ws
mkdir -p "$WS"
cp "$PROBE" "$WS/sysprobe"
chmod 755 "$WS" "$WS/sysprobe"

# Baseline on the host, unfiltered: the probes can tell the difference.
is "$("$PROBE" tiocsti)" EBADF "host: TIOCSTI on fd -1 is EBADF (kernel, not filter)"
unlike "$("$PROBE" clone3)" '^ENOSYS$' "host: clone3 is not ENOSYS"
is "$("$PROBE" setns)" EBADF "host: setns(-1) is EBADF"
is "$("$PROBE" write)" OK "host: ordinary write works"

cd "$WS" || exit 1
if ! out=$("$SHUNT" run --profile WORKSPACE_WRITE --workspace "$WS" -- /bin/true 2>&1); then
	skip "shunt run (process runner) is not usable here: $(printf '%s' "$out" | head -1)"
	done_testing
	exit
fi

declare -A want=(
	[unshare-user]=EPERM [clone-user]=EPERM [clone3]=ENOSYS [mount]=EPERM [bpf]=EPERM
	[keyctl]=EPERM [tiocsti]=EPERM [tiocsti-hi]=EPERM [perf]=EPERM [userfaultfd]=EPERM
	[kexec]=EPERM [init_module]=EPERM [io_uring]=EPERM [setns]=EPERM [chroot]=EPERM
	[personality]=EPERM [open_by_handle_at]=EPERM [write]=OK
)
for prof in READ_ONLY WORKSPACE_WRITE; do
	res=$("$SHUNT" run --profile "$prof" --workspace "$WS" -- "$WS/sysprobe" all 2>&1)
	for k in "${!want[@]}"; do
		got=$(printf '%s\n' "$res" | awk -v k="$k" '$1 == k { print $2 }')
		is "$got" "${want[$k]}" "$prof: $k -> ${want[$k]}"
	done
	is "$("$SHUNT" run --profile "$prof" --workspace "$WS" -- "$WS/sysprobe" ptrace 2>&1)" EPERM \
		"$prof: ptrace(PTRACE_ATTACH) of the parent -> EPERM"
done

# A user-supplied Docker-format profile replaces the built-in one.
cat >"$WS/deny-uname.json" <<'JSON'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
	"syscalls": [
		{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
		 "includes": {"caps": []}, "comment": "test: deny uname with EACCES"}
	]
}
JSON
"$SHUNT" run --profile WORKSPACE_WRITE --workspace "$WS" -- /bin/uname >/dev/null 2>&1
is "$?" 0 "uname works under the built-in profile"
out=$("$SHUNT" run --profile WORKSPACE_WRITE --workspace "$WS" --seccomp-profile "$WS/deny-uname.json" -- /bin/uname 2>&1)
rc=$?
ok "uname fails under --seccomp-profile denying it (rc $rc)" -- test "$rc" -ne 0
like "$out" "[Pp]ermission denied" "the denial is EACCES (errnoRet honoured)"

# A broken profile fails closed: the command never runs, the error has file:line:col.
printf '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_NOPE"}]\n}\n' >"$WS/bad.json"
rm -f "$WS/ran"
out=$("$SHUNT" run --profile WORKSPACE_WRITE --workspace "$WS" --seccomp-profile "$WS/bad.json" -- /bin/touch "$WS/ran" 2>&1)
rc=$?
ok "bad profile: shunt run fails (rc $rc)" -- test "$rc" -ne 0
ok "bad profile: the command did not run" -- test ! -e "$WS/ran"
like "$out" "bad.json:3:[0-9]+: unknown action 'SCMP_ACT_NOPE'" "bad profile: error names file:line:col and the action"
done_testing
