#!/usr/bin/env bash
# `shunt exec` through shuntd (the local fd-passing run) with the real
# daemon and the process runner: stdin piped through, the argv and -c
# forms, exit codes and signals (passed on to the command; a killed client
# kills the run), the daemon re-deciding with its own policy (a blocked
# line, a weaker runtime), the in-process fallback when no daemon answers
# (and --no-daemon / SHUNT_NO_DAEMON=1), no second run when the daemon dies
# mid-run, SO_PEERCRED refusing another uid (root only: it needs two
# uids), and a line typed into a real interactive bash in tmux getting the
# terminal as its stdin through the hook.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
SH=bash
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"
hook_begin # setup_home, plus the tmux helpers (or a reason to skip them)
[ -n "${TEST_TMP:-}" ] || setup_home
WS="$HOME/ws"
mkdir -p "$WS"
chmod -R a+rX "$TEST_TMP"
cd "$WS" || exit 1

cat >"$TEST_TMP/rules.yaml" <<'EOF'
rules:
  - id: test-sandbox
    description: test line for the sandbox
    match: '^echo via-daemon'
    programs: [echo]
    risk: medium
    tags: [test]
    examples: {match: ["echo via-daemon"], nomatch: ["echo hello"]}
  - id: test-prompt
    description: test line that needs approval
    match: '^echo prompt-me'
    programs: [echo]
    risk: high
    tags: [test]
    examples: {match: ["echo prompt-me"], nomatch: ["echo hello"]}
  - id: test-godmode
    description: test line that wants GODMODE
    match: '^echo godmode-me'
    programs: [echo]
    risk: high
    profile: GODMODE
    tags: [test]
    examples: {match: ["echo godmode-me"], nomatch: ["echo hello"]}
EOF
mkdir -p "$XDG_CONFIG_HOME/shunt"
cat >"$XDG_CONFIG_HOME/shunt/config.yaml" <<EOF
rules: ["$TEST_TMP/rules.yaml"]
sandbox:
  runtime: process
EOF

if ! "$SHUNT" run --profile READ_ONLY --workspace "$WS" -- true 2>"$TEST_TMP/probe.err"; then
	skip "the process sandbox cannot run here: $(head -c 300 "$TEST_TMP/probe.err")"
	done_testing
	exit
fi
command -v curl >/dev/null || { skip "curl(1) is not installed (apt-get install curl)"; done_testing; exit; }

SOCK="$XDG_RUNTIME_DIR/shunt/shuntd.sock"
cleanup() {
	"$SHUNT" daemon stop >/dev/null 2>&1
	"${T[@]}" kill-server >/dev/null 2>&1
	rm -rf "$TEST_TMP" 2>/dev/null
}
trap cleanup EXIT
runs() { curl -s --unix-socket "$SOCK" http://x/metrics | sed -n 's/^shuntd_runs_total{runtime="process"} //p'; }
# waits (bounded) until file $1 contains $2
wait_file() {
	local i
	for i in $(seq 1 100); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

ok "daemon start" -- "$SHUNT" daemon start

# stdin goes through: a pipe, read by the sandboxed line
out=$(printf 'a\nb\n' | "$SHUNT" exec -c 'echo via-daemon >/dev/null; cat; echo "in: $SHUNT_SANDBOX"' 2>"$TEST_TMP/err"); rc=$?
is "$rc" 0 "piped stdin via the daemon: exit 0"
is "$out" "$(printf 'a\nb\nin: process')" "the sandboxed line read the client's stdin"
like "$(cat "$TEST_TMP/err")" 'sandboxed \(process, WORKSPACE_WRITE\).*\(via shuntd\)' "the notice says it ran via shuntd"
is "$(runs)" 1 "the daemon ran it (shuntd_runs_total)"
out=$(printf 'line1\n' | "$SHUNT" exec -- echo via-daemon argv-form 2>/dev/null); rc=$?
is "$rc:$out" "0:via-daemon argv-form" "the argv form runs via the daemon too"
is "$(runs)" 2 "counted"
# shunt run with a stdin that is not /dev/null takes the same path
out=$(printf 'p\n' | "$SHUNT" run -- sh -c 'cat; echo "in: $SHUNT_SANDBOX"' 2>/dev/null); rc=$?
is "$rc:$out" "$(printf '0:p\nin: process')" "shunt run with piped stdin: via the daemon, stdin read"
is "$(runs)" 3 "counted"
# a command the rules block (harmless in a sandbox): `shunt run` asked for
# the sandbox itself, so it runs there with and without a daemon, alike
blocked='dd if=/dev/zero of=/dev/shunt-test-nonexistent count=0'
r0=$(runs)
out=$(printf 'p\n' | "$SHUNT" run -- $blocked 2>&1); rc=$?
out2=$(printf 'p\n' | SHUNT_NO_DAEMON=1 "$SHUNT" run -- $blocked 2>&1); rc2=$?
is "$rc" "$rc2" "shunt run of a blocked command, piped stdin: the same exit code with and without the daemon ($rc2)"
unlike "$out" "refused" "the daemon does not refuse shunt run's own sandboxed run"
is "$(runs)" "$((r0 + 1))" "the daemon ran it"
out=$(printf 'p\n' | "$SHUNT" daemon exec -- $blocked 2>&1); rc=$?
is "$rc" 126 "shunt daemon exec of the same command: the daemon's policy refuses it"
like "$out" "blocked" "with the reason"
out=$(printf 'x\0y' | "$SHUNT" exec -c 'echo via-daemon >/dev/null; od -An -c | tr -d " \n"' 2>/dev/null)
is "$out" 'x\0y' "binary stdin arrives unchanged"
"$SHUNT" exec -c 'echo via-daemon; echo to-err >&2' >"$TEST_TMP/o" 2>"$TEST_TMP/e"
is "$(cat "$TEST_TMP/o")" via-daemon "stdout is the client's stdout"
like "$(cat "$TEST_TMP/e")" '^to-err$' "stderr is the client's stderr"

# malformed requests on the fd-passing protocol: refused, nothing runs,
# and the HTTP API on the same socket is unaffected
RAW="$TOP/tests/fixtures/fdrun_raw.py"
if command -v python3 >/dev/null; then
	before=$(runs)
	like "$(python3 "$RAW" "$SOCK" two-fds)" '^F .*three fds' "raw: two fds instead of three: refused"
	like "$(python3 "$RAW" "$SOCK" oversized)" '^F bad request frame' "raw: a frame over the size limit: refused"
	like "$(python3 "$RAW" "$SOCK" unknown-field)" "^F unknown field 'plan'" "raw: a client plan: refused as an unknown field"
	like "$(python3 "$RAW" "$SOCK" bad-json)" '^F invalid JSON' "raw: bad JSON: refused"
	like "$(python3 "$RAW" "$SOCK" ok-true)" '^A process WORKSPACE_WRITE' "raw: a valid request is accepted"
	is "$(runs)" $((before + 1)) "raw: only the valid one ran"
	is "$(curl -s --unix-socket "$SOCK" http://x/v1/health | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')" ok "HTTP on the same socket still answers"
else
	skip "python3 is not installed (the raw protocol client is a python script)"
fi

# the client's environment reaches the command (through the daemon's
# env_whitelist), but what shapes the sandbox stays the daemon's: a client
# HOME elsewhere does not uncover the real home's secrets
mkdir -p "$HOME/.ssh" "$TEST_TMP/fakehome"
echo secret-key >"$HOME/.ssh/id_test"
out=$(LANG=C.UTF-8 HOME="$TEST_TMP/fakehome" "$SHUNT" exec -c "echo via-daemon >/dev/null; find $HOME -name id_test; echo \"lang=\$LANG home=\$HOME\"" 2>&1)
unlike "$out" id_test "a client's HOME elsewhere: the real ~/.ssh stays hidden"
like "$out" "lang=C.UTF-8 home=$HOME\$" "the client's LANG arrives; HOME is the daemon's"

# exit codes, as in-process
"$SHUNT" exec -c 'echo via-daemon >/dev/null; exit 7' 2>/dev/null; is "$?" 7 "exit code 7 comes back"
AUDIT="$XDG_STATE_HOME/shunt/audit.jsonl"
wait_file "$AUDIT" 'exit 7.*"exit_code":7' # written after the exit status went out
like "$(grep '"event":"exec"' "$AUDIT" | grep 'exit 7')" '"source":"cli".*"runtime":"process".*"exit_code":7' \
	"the daemon audits the run with its exit code"
"$SHUNT" exec -c 'echo via-daemon >/dev/null; kill -9 $$' 2>/dev/null; is "$?" 137 "killed by SIGKILL: 137"
"$SHUNT" exec -c 'echo via-daemon >/dev/null; /nonexistent/prog' 2>/dev/null; is "$?" 127 "a missing program: 127"

# signals sent to the client reach the command
for s in TERM:143 INT:130 HUP:129; do
	sig=${s%:*} want=${s#*:}
	"$SHUNT" exec -c 'echo via-daemon >/dev/null; echo started; exec sleep 30' >"$TEST_TMP/sig.$sig" 2>&1 &
	p=$!
	wait_file "$TEST_TMP/sig.$sig" started
	kill -"$sig" "$p"
	wait "$p"; rc=$?
	is "$rc" "$want" "SIG$sig to the client: the command dies of it ($want)"
done
"$SHUNT" exec -c "echo via-daemon >/dev/null; trap 'echo got-term; exit 5' TERM; echo started; sleep 30 & wait" >"$TEST_TMP/trap" 2>&1 &
p=$!
wait_file "$TEST_TMP/trap" started
kill -TERM "$p"
wait "$p"; rc=$?
is "$rc" 5 "a SIGTERM the command traps: its own exit code"
like "$(cat "$TEST_TMP/trap")" got-term "the command's trap ran"
"$SHUNT" exec -c "echo via-daemon >/dev/null; echo started; sleep 3; echo late >$WS/late" >"$TEST_TMP/k9" 2>&1 &
p=$!
wait_file "$TEST_TMP/k9" started
{ kill -9 "$p"; wait "$p"; } 2>/dev/null # (no job notice in the TAP output)
sleep 4
ok "a client killed with SIGKILL: the run is killed too" -- test ! -e "$WS/late"

# the daemon decides again, with its own policy; the client's counts for nothing
"$SHUNT" daemon stop >/dev/null
mkdir -p "$TEST_TMP/dcfg/shunt" "$TEST_TMP/dstate"
cat >"$TEST_TMP/dcfg/shunt/config.yaml" <<EOF
rules: ["$TEST_TMP/rules.yaml"]
sandbox:
  runtime: process
policies:
  denylist:
    - "*deny-me*"
EOF
XDG_CONFIG_HOME="$TEST_TMP/dcfg" XDG_STATE_HOME="$TEST_TMP/dstate" "$SHUNT" daemon start >/dev/null
out=$("$SHUNT" exec -c "echo via-daemon deny-me; touch $WS/denied" 2>&1); rc=$?
is "$rc" 126 "a line the daemon's policy blocks: 126"
like "$out" "shuntd refused.*denylisted" "with the daemon's reason"
ok "and it ran nowhere (no second try in-process)" -- test ! -e "$WS/denied"
"$SHUNT" daemon stop >/dev/null
cat >"$TEST_TMP/dcfg/shunt/config.yaml" <<EOF
rules: ["$TEST_TMP/rules.yaml"]
sandbox:
  runtime: microvm
EOF
XDG_CONFIG_HOME="$TEST_TMP/dcfg" XDG_STATE_HOME="$TEST_TMP/dstate" "$SHUNT" daemon start >/dev/null
out=$("$SHUNT" exec -c "echo via-daemon; touch $WS/weaker" 2>&1); rc=$?
is "$rc" 126 "a client asking for process where the daemon maps microvm: refused"
like "$out" "weaker than the microvm" "says why"
ok "and it did not run" -- test ! -e "$WS/weaker"
"$SHUNT" daemon stop >/dev/null

# no daemon: in-process, silently; --no-daemon / SHUNT_NO_DAEMON=1 force it
out=$(printf 'q\n' | "$SHUNT" exec -c 'echo via-daemon >/dev/null; cat' 2>"$TEST_TMP/err"); rc=$?
is "$rc:$out" "0:q" "no daemon: runs in-process with its stdin"
unlike "$(cat "$TEST_TMP/err")" 'shuntd' "without a word about the daemon"
"$SHUNT" daemon start >/dev/null
before=$(runs)
out=$(printf 'r\n' | SHUNT_NO_DAEMON=1 "$SHUNT" exec -c 'echo via-daemon >/dev/null; cat' 2>"$TEST_TMP/err"); rc=$?
is "$rc:$out" "0:r" "SHUNT_NO_DAEMON=1: runs in-process"
out=$(printf 's\n' | "$SHUNT" exec --no-daemon -c 'echo via-daemon >/dev/null; cat' 2>>"$TEST_TMP/err"); rc=$?
is "$rc:$out" "0:s" "--no-daemon: runs in-process"
unlike "$(cat "$TEST_TMP/err")" 'via shuntd' "neither says via shuntd"
is "$(runs)" "$before" "and the daemon ran nothing"

# the daemon dies mid-run: the client says so, exits 125, and does not run
# the command a second time
dpid=$(cat "$XDG_RUNTIME_DIR/shunt/shuntd.pid")
: >"$WS/count"
"$SHUNT" exec -c "echo via-daemon >/dev/null; echo x >>$WS/count; echo started; sleep 3; echo late >>$WS/count" >"$TEST_TMP/died" 2>&1 &
p=$!
wait_file "$TEST_TMP/died" started
kill -9 "$dpid" $(pgrep -P "$dpid")
wait "$p"; rc=$?
is "$rc" 125 "daemon killed mid-run: the client exits 125"
like "$(cat "$TEST_TMP/died")" "went away.*not run again" "and says the command is not run again"
sleep 4
is "$(cat "$WS/count")" x "the command ran once and was stopped with the daemon"
ok "a stale socket is left behind" -- test -S "$SOCK"
out=$(printf 't\n' | "$SHUNT" exec -c 'echo via-daemon >/dev/null; cat' 2>/dev/null); rc=$?
is "$rc:$out" "0:t" "a stale socket: in-process fallback"
rm -f "$SOCK"

# SO_PEERCRED: a root daemon refuses a client of another uid, which then
# runs the command itself (in-process, as that uid)
if ! is_root || ! id nobody >/dev/null 2>&1; then
	skip "SO_PEERCRED refusal needs root to have a client of another uid (runs as root in CI)"
else
	"$SHUNT" daemon start >/dev/null
	before=$(runs)
	chmod 711 "$TEST_TMP" "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/shunt"
	chmod 666 "$SOCK"
	NB="$TEST_TMP/nobody"
	mkdir -p "$NB/ws" "$NB/.config/shunt"
	cp "$XDG_CONFIG_HOME/shunt/config.yaml" "$NB/.config/shunt/"
	chmod a+r "$TEST_TMP/rules.yaml"
	chown -R nobody "$NB"
	out=$(cd "$NB/ws" && printf 'u\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env HOME="$NB" XDG_CONFIG_HOME="$NB/.config" XDG_STATE_HOME="$NB/.state" XDG_CACHE_HOME="$NB/.cache" \
		"$SHUNT" exec -c 'echo via-daemon >/dev/null; cat; id -u' 2>"$TEST_TMP/nb.err"); rc=$?
	like "$(cat "$TEST_TMP/nb.err")" "serves only that uid and root, not uid $(id -u nobody)" "a nobody client is refused by the root daemon (SO_PEERCRED)"
	is "$(runs)" "$before" "the daemon ran nothing for it"
	if grep -q 'cannot sandbox\|setup failed' "$TEST_TMP/nb.err"; then
		skip "the in-process fallback as nobody: no process sandbox for nobody here: $(grep -m1 'cannot\|failed' "$TEST_TMP/nb.err")"
	else
		like "$out" "^u" "the client ran it itself, with its stdin ($rc)"
	fi
	chmod 700 "$XDG_RUNTIME_DIR"
	"$SHUNT" daemon stop >/dev/null
fi

# a real interactive bash in tmux: the hook hands the line to shunt exec,
# which hands it with the terminal to the daemon
if [ -n "${HOOK_SKIP_ALL:-}" ]; then
	skip "$HOOK_SKIP_ALL"
else
	"$SHUNT" daemon start >/dev/null
	before=$(runs)
	start_shell
	step 'echo via-daemon >/dev/null; if test -t 0; then echo "tty-$((1 + 1))"; fi; read -r x; echo "got-$x-$((2 + 3))"'
	wait_for '^tty-2$' 150
	"${T[@]}" send-keys -t 0 -l -- 'typed-line'
	"${T[@]}" send-keys -t 0 Enter
	mark
	like "$(pane)" '\(via shuntd\)' "tmux: the hook's line ran via shuntd"
	like "$(pane)" '^tty-2$' "tmux: its stdin is the terminal (test -t 0)"
	like "$(pane)" '^got-typed-line-5$' "tmux: it read the line typed with send-keys"
	is "$(runs)" $((before + 1)) "tmux: counted by the daemon"
	wait_file "$AUDIT" '"source":"hook".*got-'
	like "$(grep '"event":"exec"' "$AUDIT" | grep 'got-')" '"source":"hook".*"exit_code":0' \
		"tmux: audited by the daemon as a hook line"
	# a prompt stays here; "s" (sandbox) hands the line to the daemon,
	# which accepts the approved prompt for a sandboxed run only
	clear_pane
	step 'echo prompt-me >/dev/null; test -t 0 && echo "answered-$((3 + 4))"'
	if wait_for 'choose \[y/r/s/d/N\]'; then
		step s
		mark
		like "$(pane)" 'sandboxed \(process, WORKSPACE_WRITE\).*\(via shuntd\)' "tmux: a prompt answered s runs via shuntd"
		like "$(pane)" '^answered-7$' "tmux: with the terminal"
	else
		fail "tmux: the prompt appeared"
		fail "tmux: (no prompt)"
	fi
	is "$(runs)" $((before + 2)) "tmux: counted by the daemon"
	# GODMODE on the process runner is weaker isolation, accepted (or
	# not) here: it never goes to the daemon
	clear_pane
	step 'echo godmode-me >/dev/null; echo "god-$SHUNT_PROFILE"'
	if wait_for 'type GODMODE'; then
		step GODMODE
		mark
		if pane | grep -q 'cannot sandbox'; then
			skip "tmux: GODMODE needs the weaker-isolation opt-in or a microVM here"
		else
			unlike "$(pane)" 'via shuntd' "tmux: a GODMODE answer runs in-process"
		fi
	else
		fail "tmux: the GODMODE prompt appeared"
		pane | grep -v '^[[:space:]]*$' | tail -8 | sed 's/^/#   /'
	fi
	is "$(runs)" $((before + 2)) "tmux: the daemon did not run the GODMODE line"
	clear_pane
	step 'echo via-daemon >/dev/null; echo sleeping; sleep 30'
	wait_for '^sleeping$' 150
	"${T[@]}" send-keys -t 0 C-c
	wait_idle
	step 'echo "rc-$?"'
	wait_for '^rc-' 50
	like "$(pane)" '^rc-130$' "tmux: Ctrl-C ended the sandboxed sleep (exit 130)"
	stop_shell
	"$SHUNT" daemon stop >/dev/null
fi

done_testing
