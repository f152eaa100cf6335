#!/usr/bin/env bash
# shuntd's warm gVisor pool with real runsc: a cold first run leaving the
# template, a pre-started sandbox whose init waits for its command, the
# warm run's output, stderr, exit codes (plain and by signal), stdin at
# EOF, workspace writes, the plan's timeout, each sandbox used once,
# nothing left behind by `daemon stop`, and an idle key's sandbox given
# back.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

command -v curl >/dev/null || { skip "curl(1) is not installed (apt-get install curl)"; done_testing; exit; }
if ! command -v runsc >/dev/null; then
	skip "runsc (gVisor) is not installed: apt-get install runsc"
	done_testing
	exit
fi
if ! out=$("$SHUNT" run --runtime gvisor --network none --workspace "$TEST_TMP" -- true 2>&1); then
	skip "runsc cannot start a sandbox here: $(echo "$out" | head -c 300)"
	done_testing
	exit
fi

WS="$TEST_TMP/ws"
mkdir -p "$WS"
echo one >"$WS/mark"
chmod -R a+rX "$TEST_TMP"
chmod -R a+rwX "$WS"
mkdir -p "$XDG_CONFIG_HOME/shunt"
cat >"$XDG_CONFIG_HOME/shunt/config.yaml" <<'EOF'
sandbox:
  runtime: gvisor
  network_mode: none
  timeout: 8
pool:
  gvisor: 1
EOF

SOCK="$XDG_RUNTIME_DIR/shunt/shuntd.sock"
cleanup() {
	"$SHUNT" daemon stop >/dev/null 2>&1
	rm -rf "$TEST_TMP" 2>/dev/null
}
trap cleanup EXIT
get() { curl -s --max-time 10 --unix-socket "$SOCK" "http://shuntd$1"; }
field() { get /v1/pools | sed -n "s/.*{\"runtime\":\"gvisor\",[^{]*\"$1\":\([0-9]*\).*/\1/p"; }
# waits until the pool for PROFILE's key in $WS has its sandbox ready
wait_ready() {
	local i
	for i in $(seq 1 120); do
		get /v1/pools | grep -q "\"profile\":\"$1\",\"workspace\":\"$WS\",\"size\":1,\"ready\":1" && return 0
		sleep 0.5
	done
	diag "pools: $(get /v1/pools)"
	return 1
}
dx() { (cd "$WS" && timeout 60 "$SHUNT" daemon exec "$@"); }

ok "daemon start" -- "$SHUNT" daemon start
is "$(field size)" 1 "/v1/pools: gvisor size 1 from pool.gvisor"

out=$(dx -- sh -c 'cat mark; exit 3'); rc=$?
is "$rc" 3 "first run (cold): exit code"
is "$out" one "first run (cold): output"
is "$(field cold_fallbacks)" 1 "first run counted as a cold fallback"

ok "a warm sandbox becomes ready" -- wait_ready WORKSPACE_WRITE
out=$(dx -- sh -c 'for i in 1 2 3; do echo line$i; done; cat; echo e1 >&2; echo w >new; echo x >/tmp/scratch; exit 5' 2>"$TEST_TMP/err"); rc=$?
is "$rc" 5 "warm run: exit code"
is "$out" "$(printf 'line1\nline2\nline3')" "warm run: stdout in order, stdin at EOF"
is "$(cat "$TEST_TMP/err")" e1 "warm run: stderr"
is "$(cat "$WS/new" 2>/dev/null)" w "warm run: workspace write reached the host"
is "$(field warm_runs)" 1 "warm run counted"

ok "replaced in the background" -- wait_ready WORKSPACE_WRITE
# (a write, so the policy grants WORKSPACE_WRITE as for the runs above:
# each profile has its own key)
out=$(dx -- sh -c 'echo y >new3; test -e /tmp/scratch && echo leaked || echo fresh; pwd')
is "$out" "$(printf 'fresh\n%s' "$WS")" "used once (a fresh /tmp), in the caller's directory"

# shunt exec (the fd-passing run): a piped stdin does not fit a warm
# sandbox (its command's stdin is /dev/null), so that run is cold, and
# gets the stdin; with stdin /dev/null it takes the warm sandbox
ok "ready again for shunt exec" -- wait_ready WORKSPACE_WRITE
out=$(cd "$WS" && printf 'piped\n' | timeout 60 "$SHUNT" exec -c 'rm -rf ~/nothing-here; cat; echo "in: $SHUNT_SANDBOX"' 2>"$TEST_TMP/err"); rc=$?
is "$rc:$out" "$(printf '0:piped\nin: gvisor')" "shunt exec, piped stdin: the command read it"
like "$(cat "$TEST_TMP/err")" 'sandboxed \(gvisor, WORKSPACE_WRITE\).*\(via shuntd\)' "shunt exec, piped stdin: via the daemon"
is "$(field warm_runs)/$(field cold_fallbacks)" 2/1 "shunt exec, piped stdin: a cold start, the warm sandbox left alone"
# the client's environment (PWD included) is part of the sandbox's key, so
# its first run is cold and leaves a template for the next
out=$(cd "$WS" && timeout 60 "$SHUNT" exec -c 'rm -rf ~/nothing-here; echo cold-exec; exit 6' </dev/null 2>/dev/null); rc=$?
is "$rc:$out" "6:cold-exec" "shunt exec, stdin /dev/null, first run: output and exit code"
is "$(field cold_fallbacks)" 2 "shunt exec, stdin /dev/null, first run: a cold start for its key"
ready_n() { # N: that many warm sandboxes ready (all keys)
	local i
	for i in $(seq 1 120); do
		[ "$(field ready)" = "$1" ] && return 0
		sleep 0.5
	done
	return 1
}
ok "a warm sandbox for shunt exec's key" -- ready_n 2
out=$(cd "$WS" && timeout 60 "$SHUNT" exec -c 'rm -rf ~/nothing-here; echo warm-exec; exit 7' </dev/null 2>/dev/null); rc=$?
is "$rc:$out" "7:warm-exec" "shunt exec, stdin /dev/null: output and exit code"
is "$(field warm_runs)" 3 "shunt exec, stdin /dev/null: the warm sandbox"

# READ_ONLY plans have their own key: a cold run first
dx --profile READ_ONLY -- sh -c 'kill -TERM $$'; rc=$?
is "$rc" 143 "cold run killed by SIGTERM: 128+15"
ok "READ_ONLY: a warm sandbox of its own" -- wait_ready READ_ONLY
dx --profile READ_ONLY -- sh -c 'kill -TERM $$'; rc=$?
is "$rc" 143 "warm run killed by SIGTERM: 128+15"
ok "READ_ONLY: ready again" -- wait_ready READ_ONLY
out=$(dx --profile READ_ONLY -- sleep 60 2>&1); rc=$?
is "$rc" 124 "warm run: the plan's timeout (8 s) stops it"
like "$out" "timed out" "and says so"
is "$(field warm_runs)" 5 "five warm runs counted"
is "$(field cold_fallbacks)" 3 "three cold starts (one per key)"
like "$(get /metrics)" 'shuntd_pool_warm_runs_total\{runtime="gvisor"\} 5' "/metrics: warm runs"

ok "ready again" -- wait_ready READ_ONLY
ok "daemon stop" -- "$SHUNT" daemon stop
sleep 1
left=$(ls "$XDG_RUNTIME_DIR/shunt/gvisor" 2>/dev/null | grep pool)
is "$left" "" "no warm sandbox bundle left after stop"

# a key nobody asks for gives its sandbox back (SHUNT_POOL_IDLE_S)
SHUNT_POOL_IDLE_S=3 "$SHUNT" daemon start >/dev/null
dx -- true
ok "idle test: a warm sandbox becomes ready" -- wait_ready WORKSPACE_WRITE
for _ in $(seq 1 40); do
	get /v1/pools | grep -q '"runtime":"gvisor","size":1,"ready":0,"booting":0,.*"keys":\[\]' && break
	sleep 0.25
done
like "$(get /v1/pools)" '"runtime":"gvisor","size":1,"ready":0,"booting":0,.*"keys":\[\]' \
	"an idle key loses its sandbox and is forgotten"
is "$(ls "$XDG_RUNTIME_DIR/shunt/gvisor" 2>/dev/null | grep pool)" "" "and its bundle is gone"
"$SHUNT" daemon stop >/dev/null
done_testing
