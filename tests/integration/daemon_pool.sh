#!/usr/bin/env bash
# shuntd's warm microVM pool with real QEMU (TCG here): pool.size from the
# config, the first run of a workspace starting cold and leaving a
# template, the daemon booting a VM that waits for its command, the next
# run using it (output, exit code, workspace writes), each warm VM used
# once (its root changes are gone in the next), another workspace never
# getting a VM booted for the first one, /v1/pools and the pool gauges in
# /metrics, `shunt run` using the daemon on its own (and not with
# SHUNT_NO_DAEMON=1 / --no-daemon), the daemon refusing a weaker runtime
# or a blocked command, and no VM left behind by `daemon stop`. One QEMU
# boots at a time.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

FC="$TOP/sandbox/firecracker"
export SHUNT_VM_BUILD_SCRIPT="$FC/build-guest.sh" SHUNT_VM_BACKEND=qemu
command -v curl >/dev/null || { skip "curl(1) is not installed (apt-get install curl)"; done_testing; exit; }
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	done_testing
	exit
fi

# a bad pool size is a config error with its position
mkdir -p "$XDG_CONFIG_HOME/shunt"
printf 'pool:\n  microvm: 99\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
out=$("$SHUNT" config show 2>&1); rc=$?
is "$rc" 2 "pool.microvm: 99 is refused"
like "$out" "config.yaml:2:.*too large" "with file:line:col"

# the guest image, shared with sandbox_microvm.sh (see there)
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

WS="$TEST_TMP/ws" WS2="$TEST_TMP/ws2"
mkdir -p "$WS" "$WS2"
echo one >"$WS/mark"
echo two >"$WS2/mark"
chmod -R a+rwX "$TEST_TMP"
cat >"$XDG_CONFIG_HOME/shunt/config.yaml" <<'EOF'
sandbox:
  runtime: microvm
  network_mode: none
  timeout: 120
pool:
  microvm: 1
EOF

SOCK="$XDG_RUNTIME_DIR/shunt/shuntd.sock"
cleanup() {
	"$SHUNT" daemon stop >/dev/null 2>&1
	rm -rf "$TEST_TMP" 2>/dev/null
}
trap cleanup EXIT
get() { curl -s --max-time 10 --unix-socket "$SOCK" "http://shuntd$1"; }
field() { get /v1/pools | sed -n "s/.*{\"runtime\":\"microvm\",[^{]*\"$1\":\([0-9]*\).*/\1/p"; }
# waits (at most 240 s: a TCG boot under load) until a warm VM is ready
wait_ready() {
	local i
	for i in $(seq 1 480); do
		[ "$(field ready)" = 1 ] && return 0
		sleep 0.5
	done
	return 1
}
dx() { (cd "$1" && shift && timeout 300 "$SHUNT" daemon exec -- "$@"); }

ok "daemon start" -- "$SHUNT" daemon start
is "$(field size)" 1 "/v1/pools: size 1 from pool.microvm"
is "$(field ready)" 0 "/v1/pools: nothing warm before the first run"
like "$(get /v1/pools)" '"keys":\[\]' "/v1/pools: no keys yet"

out=$(dx "$WS" sh -c 'cat mark; echo to-err >&2; exit 3' 2>"$TEST_TMP/err"); rc=$?
is "$rc" 3 "first run (cold): exit code"
is "$out" one "first run (cold): stdout, in the workspace"
is "$(cat "$TEST_TMP/err")" to-err "first run (cold): stderr"
is "$(field cold_fallbacks)" 1 "first run counted as a cold fallback"
like "$(get /v1/pools)" "\"workspace\":\"$WS\"" "/v1/pools lists the workspace's key"

ok "a warm VM becomes ready" -- wait_ready
out=$(dx "$WS" sh -c 'cat mark; echo warm >new; echo junk >/rootfile; echo e2 >&2; exit 7' 2>"$TEST_TMP/err"); rc=$?
is "$rc" 7 "warm run: exit code"
is "$out" one "warm run: stdout, in the workspace"
is "$(cat "$TEST_TMP/err")" e2 "warm run: stderr"
is "$(cat "$WS/new" 2>/dev/null)" warm "warm run: workspace write reached the host"
is "$(field warm_runs)" 1 "warm run counted"
is "$(field cold_fallbacks)" 1 "no cold fallback for it"

ok "the used VM is replaced in the background" -- wait_ready
out=$(dx "$WS" sh -c 'test -e /rootfile && echo leaked || echo fresh'); rc=$?
is "$out" fresh "each warm VM is used once: the previous run's root changes are gone"
is "$(field warm_runs)" 2 "second warm run counted"

ok "ready again" -- wait_ready
# `shunt run` goes through the daemon on its own (stdin /dev/null) ...
out=$(cd "$WS" && timeout 300 "$SHUNT" run --runtime microvm -- sh -c 'cat mark; exit 4' </dev/null); rc=$?
is "$rc" 4 "shunt run via the daemon: exit code"
is "$out" one "shunt run via the daemon: output"
is "$(field warm_runs)" 3 "shunt run via the daemon: a warm VM"
# ... which grants what in-process grants. A runtime weaker than the
# policy maps the daemon refuses, so shunt run runs that one here, as it
# would without a daemon
r0=$(get /metrics | sed -n 's/^shuntd_runs_total{runtime="process"} //p')
out=$(cd "$WS" && "$SHUNT" run --runtime process -- sh -c 'echo weaker-here' </dev/null 2>&1); rc=$?
is "$out/$rc" weaker-here/0 "shunt run --runtime process under a microvm policy: runs, as without a daemon"
is "$(get /metrics | sed -n 's/^shuntd_runs_total{runtime="process"} //p')" "$r0" "in this process: the daemon ran nothing"
out=$(cd "$WS" && "$SHUNT" daemon exec -- dd if=/dev/zero of=/dev/shunt-test-nonexistent count=0 </dev/null 2>&1); rc=$?
is "$rc" 126 "a blocked command is refused by the daemon (shunt daemon exec)"
# SHUNT_NO_DAEMON=1 and --no-daemon run in-process: the pool is not touched
out=$(cd "$WS" && SHUNT_NO_DAEMON=1 timeout 300 "$SHUNT" run --runtime microvm --network none -- sh -c 'echo inproc' </dev/null); rc=$?
is "$out/$rc" inproc/0 "SHUNT_NO_DAEMON=1: runs in-process"
out=$(cd "$WS" && timeout 300 "$SHUNT" run --no-daemon --runtime microvm -- sh -c 'echo inproc2' </dev/null); rc=$?
is "$out/$rc" inproc2/0 "--no-daemon: runs in-process"
is "$(field warm_runs)/$(field cold_fallbacks)" 3/1 "neither used the pool"

ok "ready again" -- wait_ready
# shunt exec of a line the policy sandboxes: the fd-passing run (stdio
# handed to the daemon) takes the warm VM
out=$(cd "$WS" && printf 'piped\n' | timeout 300 "$SHUNT" exec -c 'rm -rf ~/nothing-here; cat mark; echo e3 >&2; exit 6' 2>"$TEST_TMP/err"); rc=$?
is "$rc" 6 "shunt exec via the daemon: exit code"
is "$out" one "shunt exec via the daemon: stdout, in the workspace"
like "$(cat "$TEST_TMP/err")" 'sandboxed \(microvm, .*\(via shuntd\)' "shunt exec via the daemon: the notice"
like "$(cat "$TEST_TMP/err")" 'e3' "shunt exec via the daemon: stderr"
is "$(field warm_runs)/$(field cold_fallbacks)" 4/1 "shunt exec via the daemon: a warm VM"

ok "ready again" -- wait_ready
# a VM booted for $WS must never serve another workspace
out=$(dx "$WS2" sh -c 'cat mark; if ls '"$WS"' >/dev/null 2>&1; then echo sees-ws1; fi'); rc=$?
is "$rc" 0 "other workspace: runs"
is "$out" two "other workspace: its own workspace, not the warm VM's"
is "$(field warm_runs)" 4 "other workspace: not a warm run"
is "$(field cold_fallbacks)" 2 "other workspace: a cold start"

m=$(get /metrics)
like "$m" 'shuntd_pool_size\{runtime="microvm"\} 1' "/metrics: pool size gauge"
like "$m" 'shuntd_pool_warm_runs_total\{runtime="microvm"\} 4' "/metrics: warm runs"
like "$m" 'shuntd_pool_ready\{runtime="microvm"\} [0-9]' "/metrics: ready gauge"

# one command, one outcome with or without a daemon: shunt run's own
# profile is not the daemon's to cap (SYSTEM_WRITE in a microVM runs
# in-process, so it runs through the daemon too)
runs() { get /metrics | sed -n 's/^shuntd_runs_total{runtime="microvm"} //p'; }
out=$(cd "$WS" && SHUNT_NO_DAEMON=1 timeout 300 "$SHUNT" run --runtime microvm --profile SYSTEM_WRITE -- sh -c 'echo sw-here' </dev/null 2>&1); rc=$?
is "$out/$rc" sw-here/0 "shunt run --profile SYSTEM_WRITE on a microVM, no daemon: runs"
r0=$(runs)
out=$(cd "$WS" && timeout 300 "$SHUNT" run --runtime microvm --profile SYSTEM_WRITE -- sh -c 'echo sw-daemon' </dev/null 2>&1); rc=$?
is "$out/$rc" sw-daemon/0 "the same with the daemon up: runs too (no 403)"
is "$(runs)" "$((r0 + 1))" "and the daemon ran it"
out=$(cd "$WS" && printf 'x\n' | timeout 300 "$SHUNT" run --runtime microvm --profile SYSTEM_WRITE -- sh -c 'echo sw-fd' 2>&1); rc=$?
is "$out/$rc" sw-fd/0 "the same with stdin passed along (fd run)"

# --workspace from another directory: the daemon takes it, and the
# second run is warm, as from inside the workspace
mkdir -p "$TEST_TMP/elsewhere"
# $WS2 has its own warm VM by now: wait for $WS's key
ws_ready() { get /v1/pools | sed -n "s|.*\"workspace\":\"$WS\",\"size\":[0-9]*,\"ready\":\([0-9]*\).*|\1|p"; }
wait_ws_ready() {
	local i
	for i in $(seq 1 480); do
		[ "$(ws_ready)" = 1 ] && return 0
		sleep 0.5
	done
	return 1
}
ok "a warm VM for the workspace" -- wait_ws_ready
w0=$(field warm_runs)
out=$(cd "$TEST_TMP/elsewhere" && timeout 300 "$SHUNT" run --runtime microvm --workspace "$WS" -- sh -c 'cat mark' </dev/null); rc=$?
is "$out/$rc" one/0 "--workspace from outside: runs in the workspace"
ok "ready again" -- wait_ws_ready
w1=$(field warm_runs)
out=$(cd "$TEST_TMP/elsewhere" && timeout 300 "$SHUNT" run --runtime microvm --workspace "$WS" -- sh -c 'cat mark' </dev/null); rc=$?
is "$out/$rc" one/0 "--workspace from outside, second run"
is "$(field warm_runs)" "$((w1 + 1))" "--workspace from outside: the second run is warm"
ok "warm runs counted from outside too ($w0 -> $(field warm_runs))" -- test "$(field warm_runs)" -gt "$w0"

ok "daemon stop" -- "$SHUNT" daemon stop
sleep 1
left=$(ls "$XDG_STATE_HOME/shunt/vm/jobs" 2>/dev/null)
is "$left" "" "no warm VM job left after stop"
done_testing
