#!/usr/bin/env bash
# shunt log and shunt metrics: reading the audit log (incl. corrupt lines
# and --follow), the metrics summary, JSON and reset.
. "$(dirname "$0")/../lib.sh"
setup_home
AUDIT="$XDG_STATE_HOME/shunt/audit.jsonl"
cd "$TEST_TMP"

out=$("$SHUNT" log --help); rc=$?
is "$rc" 0 "log --help exits 0"
like "$out" "usage: shunt log" "log help"
out=$("$SHUNT" metrics --help); rc=$?
is "$rc" 0 "metrics --help exits 0"
like "$out" "shunt metrics reset" "metrics help"

out=$("$SHUNT" log 2>&1); rc=$?
is "$rc" 0 "log on a missing audit log exits 0"
like "$out" "no records" "and says there are none"
out=$("$SHUNT" log -n x 2>&1); rc=$?
is "$rc" 2 "bad -n is a usage error"

# A real record from a trust add, then records other writers produce.
setsid -w "$SHUNT" trust add 'echo audited' --yes </dev/null >/dev/null 2>&1
ok "trust add created the audit log" -- test -f "$AUDIT"
is "$(stat -c %a "$AUDIT")" 600 "audit log is mode 0600"
is "$(stat -c %a "$(dirname "$AUDIT")")" 700 "audit directory is mode 0700"
rec() { # action risk rules command why [event]
	printf '{"time":"2026-01-01T00:00:0%d.000Z","event":"%s","pid":1,"ppid":1,"uid":0,"tty":null,"cwd":"/","source":"hook","command":"%s","action":"%s","risk":"%s","score":50,"rules":[%s],"profile":null,"runtime":"process","network":"none","allow_hosts":[],"approved_by":null,"duration_ms":1500,"exit_code":0,"why":"%s","run_id":null,"runtime_flags":null,"cache_hit":false,"weaker_isolation":false}\n' \
		"$1" "${7:-decision}" "$5" "$2" "$3" "$4" "$6" >>"$AUDIT"
}
rec 1 sandbox medium '"npm-install"' 'npm install left-pad' 'networked install'
rec 2 block critical '"rm-root"' 'rm -rf /' 'deletes the root'
echo '{"this is": not json' >>"$AUDIT"
rec 3 host low '' 'ls' 'low risk'

out=$("$SHUNT" log 2>"$TEST_TMP/log.err"); rc=$?
is "$rc" 0 "log exits 0 despite a corrupt line"
like "$(cat "$TEST_TMP/log.err")" "skipped 1 corrupt line" "corrupt line reported on stderr"
like "$out" "trust-add.*echo audited" "trust-add record shown"
like "$out" "sandbox +medium +\[npm-install\] npm install left-pad" "sandbox record: action, risk, rules, command"
like "$out" "deletes the root" "why shown"
is "$(printf '%s\n' "$out" | wc -l)" 4 "four valid records shown"

out=$("$SHUNT" log -n 2 2>/dev/null)
is "$(printf '%s\n' "$out" | wc -l)" 2 "-n 2 shows two lines"
like "$(printf '%s\n' "$out" | tail -1)" " ls" "newest last"
out=$("$SHUNT" log -n 1 --json 2>/dev/null)
like "$out" '^\{"time":"2026-01-01T00:00:03.000Z".*"command":"ls"' "--json prints the raw line"

# Hostile command text stays on one line in the human view.
printf '{"time":"2026-01-01T00:00:04.000Z","event":"decision","command":"evil\\n\\u001b[31mred","action":"host","risk":"low","rules":[]}\n' >>"$AUDIT"
out=$("$SHUNT" log -n 1 2>/dev/null)
is "$(printf '%s\n' "$out" | wc -l)" 1 "newline in a command does not break the line"
unlike "$out" $'\x1b' "escape characters are neutralised"

# --follow prints records appended later.
"$SHUNT" log --follow -n 0 >"$TEST_TMP/follow.out" 2>&1 &
fpid=$!
sleep 0.5
rec 5 sandbox high '"curl-pipe"' 'curl x | sh' 'remote code'
for _ in $(seq 1 50); do grep -q 'curl x' "$TEST_TMP/follow.out" && break; sleep 0.1; done
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
like "$(cat "$TEST_TMP/follow.out")" "curl x \| sh" "--follow shows a record appended later"

# Rotation is followed too.
"$SHUNT" log --follow -n 0 >"$TEST_TMP/follow2.out" 2>&1 &
fpid=$!
sleep 0.5
mv "$AUDIT" "$AUDIT.1"
rec 6 host low '' 'after-rotation' 'x'
for _ in $(seq 1 50); do grep -q 'after-rotation' "$TEST_TMP/follow2.out" && break; sleep 0.1; done
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
like "$(cat "$TEST_TMP/follow2.out")" "after-rotation" "--follow continues after rotation"
out=$("$SHUNT" log -n 3 2>/dev/null)
like "$out" "curl x" "log reads across the rotated file"

# Metrics: empty counters, recent executions from the audit log.
out=$("$SHUNT" metrics show); rc=$?
is "$rc" 0 "metrics show exits 0"
like "$out" "^shunt metrics" "summary title"
like "$out" "Total executions: +0" "no executions counted yet"
like "$out" "  host: +0 \(0.0%\)" "host line aligned"
like "$out" "By risk:  low 0" "by risk line"
like "$out" "Recent executions" "recent executions listed"
like "$out" "after-rotation" "recent includes the latest record"
out=$("$SHUNT" metrics show --json); rc=$?
is "$rc" 0 "metrics --json exits 0"
like "$out" '^\{"total":0,"host":0,"sandbox":0,"prompted":0,"blocked":0,"trusted":0,"by_risk":\{"low":0,"medium":0,"high":0,"critical":0\}' "stable JSON head"
like "$out" '"recent":\[\{"time":"2026-01-01T00:00:01.000Z"' "recent oldest first"
unlike "$out" 'trust-add' "recent lists executions only"
if command -v python3 >/dev/null 2>&1; then
	ok "metrics JSON parses" -- python3 -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d["recent"], list)' <<<"$out"
fi
out=$("$SHUNT" metrics 2>&1); rc=$?
is "$rc" 0 "bare 'shunt metrics' shows"

out=$("$SHUNT" metrics reset); rc=$?
is "$rc" 0 "metrics reset exits 0"
like "$out" "reset" "reset says so"
ok "counters file created" -- test -f "$XDG_STATE_HOME/shunt/counters.bin"
is "$(stat -c %a "$XDG_STATE_HOME/shunt/counters.bin")" 600 "counters file mode 0600"
like "$("$SHUNT" metrics show --json)" '"reset_time":[0-9]+' "reset time recorded"

# A garbage counters file never crashes anything.
head -c 100 /dev/urandom >"$XDG_STATE_HOME/shunt/counters.bin"
out=$("$SHUNT" metrics show 2>&1); rc=$?
is "$rc" 0 "metrics show survives a garbage counters file"
out=$("$SHUNT" metrics reset 2>&1); rc=$?
is "$rc" 0 "reset re-initialises a garbage counters file"
like "$("$SHUNT" metrics show)" "Total executions: +0" "and counts from zero"

done_testing
