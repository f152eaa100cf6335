#!/usr/bin/env bash
# shunt audit flush: audit records spooled and shipped to a loopback
# collector (tests/helpers/collector.py) that fails its first 3 requests;
# every record arrives exactly once, in order, across retries, appends,
# a half-written line, a log rotation, a wrong token and a collector
# that is down; then the loki, elasticsearch (bulk) and splunk-hec
# formats, each against a collector that checks its auth scheme; and the
# spool cap: a collector away too long costs the oldest records, counted
# (shunt audit flush, shuntd's /metrics), never the newest.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home
command -v python3 >/dev/null || { skip "python3 is not installed (apt-get install python3)"; done_testing; exit; }
cd "$TEST_TMP"
AUDIT="$XDG_STATE_HOME/shunt/audit.jsonl"
SPOOL="$XDG_STATE_HOME/shunt/spool"
OUT="$TEST_TMP/received.jsonl"
CFG="$XDG_CONFIG_HOME/shunt/config.yaml"
mkdir -p "$(dirname "$AUDIT")" "$(dirname "$CFG")"
TOKEN=collector-token-$$
printf '%s\n' "$TOKEN" >"$TEST_TMP/token"
chmod 600 "$TEST_TMP/token"

start_collector() { # FAIL
	rm -f "$TEST_TMP/port"
	python3 "$TOP/tests/helpers/collector.py" "$OUT" "$TEST_TMP/port" "$1" "$TOKEN" &
	COL_PID=$!
	for _ in $(seq 1 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
	PORT=$(cat "$TEST_TMP/port")
}
trap '"$SHUNT" daemon stop >/dev/null 2>&1; kill ${COL_PID:-} 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
write_cfg() { # token_file
	printf 'audit:\n  forward:\n    url: http://127.0.0.1:%s/ingest\n    format: jsonl\n    insecure: true\n    batch: 4\n    token_file: %s\n' "$PORT" "$1" >"$CFG"
}
rec() { printf '{"event":"test","seq":%d}\n' "$1" >>"$AUDIT"; }
received_ok() { # N: exactly seq 1..N, once each, in order
	[ "$(grep -c . "$OUT" 2>/dev/null)" = "$1" ] &&
		[ "$(sed 's/.*"seq":\([0-9]*\).*/\1/' "$OUT" | tr '\n' ' ')" = "$(seq -s ' ' 1 "$1") " ]
}

out=$("$SHUNT" audit --help); rc=$?
is "$rc" 0 "audit --help exits 0"
like "$out" "usage: shunt audit flush" "audit help"
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 2 "flush without audit.forward is a config error"

start_collector 3
write_cfg "$TEST_TMP/token"
for i in $(seq 1 25); do rec "$i"; done

for attempt in 1 2 3; do
	out=$("$SHUNT" audit flush 2>&1); rc=$?
	is "$rc" 1 "flush $attempt against a failing collector exits 1"
done
like "$out" "HTTP 500" "and names the collector's answer"
like "$out" "7 batches pending" "all 7 batches (25 records / 4) stay in the spool"
ok "nothing was accepted yet" -- test ! -s "$OUT"
is "$(stat -c %a "$SPOOL")" 700 "spool directory is mode 0700"
is "$(stat -c %a "$(ls "$SPOOL"/*.jsonl | head -n 1)")" 600 "spool files are mode 0600"
out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc" 0 "flush 4 (collector recovered) exits 0"
like "$out" "sent 25 records in 7 batches, 0 batches pending" "all records sent"
ok "every record arrived exactly once, in order" -- received_ok 25
is "$(ls "$SPOOL"/*.jsonl 2>/dev/null | wc -l)" 0 "the spool is empty"

out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc:$(grep -c . "$OUT")" "0:25" "a flush with nothing new sends nothing"

# appends, and a half-written last line
for i in $(seq 26 30); do rec "$i"; done
printf '{"event":"test","seq":31' >>"$AUDIT"
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 0 "flush of appended records exits 0"
ok "the appended records arrived once; the half line waits" -- received_ok 30
printf '}\n' >>"$AUDIT"
"$SHUNT" audit flush >/dev/null 2>&1
ok "the completed line arrives whole, once" -- received_ok 31

# rotation between flushes
rec 32; rec 33
mv "$AUDIT" "$AUDIT.1"
rec 34
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 0 "flush across a rotation exits 0"
ok "the rotated file's tail and the new file both arrived once" -- received_ok 34

# a wrong token: 401, kept
printf 'wrong\n' >"$TEST_TMP/bad-token"
write_cfg "$TEST_TMP/bad-token"
rec 35
out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc" 1 "a wrong token exits 1"
like "$out" "HTTP 401" "the collector's 401 is reported"
write_cfg "$TEST_TMP/token"

# the collector down
kill "$COL_PID"; wait "$COL_PID" 2>/dev/null
rec 36
out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc" 1 "collector down: exits 1"
like "$out" "unreachable.*kept in" "and says the records are kept"
start_collector 0
write_cfg "$TEST_TMP/token"
out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc" 0 "collector back: exits 0"
ok "records 35 and 36 arrived once after the outages" -- received_ok 36

# a real record written by shunt itself
setsid -w "$SHUNT" trust add 'echo forwarded' --yes </dev/null >/dev/null 2>&1
"$SHUNT" audit flush >/dev/null 2>&1
like "$(tail -n 1 "$OUT")" '"event":"trust-add".*echo forwarded' "a record shunt wrote is forwarded"
is "$(grep -c . "$OUT")" 37 "and only it"

# shuntd forwards on its own every audit.forward.interval seconds
printf '    interval: 1\n' >>"$CFG"
"$SHUNT" daemon start >/dev/null 2>&1; rc=$?
is "$rc" 0 "shuntd starts with audit.forward configured"
rec 38
for _ in $(seq 1 200); do [ "$(grep -c . "$OUT")" -ge 38 ] && break; sleep 0.1; done
"$SHUNT" daemon stop >/dev/null 2>&1
like "$(tail -n 1 "$OUT")" '"seq":38' "the daemon forwarded the new record without a manual flush"
is "$(grep -c . "$OUT")" 38 "exactly once"

# the other formats: three records each, a fresh state directory per format
kill "$COL_PID" 2>/dev/null; wait "$COL_PID" 2>/dev/null
fmt_setup() { # FORMAT SCHEME BULKFAIL
	export XDG_STATE_HOME="$TEST_TMP/state-$1"
	AUDIT="$XDG_STATE_HOME/shunt/audit.jsonl"
	OUT="$TEST_TMP/out-$1"
	mkdir -p "$XDG_STATE_HOME/shunt"
	rm -f "$TEST_TMP/port"
	python3 "$TOP/tests/helpers/collector.py" "$OUT" "$TEST_TMP/port" 0 "$TOKEN" "$2" "$3" &
	COL_PID=$!
	for _ in $(seq 1 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
	PORT=$(cat "$TEST_TMP/port")
	printf 'audit:\n  forward:\n    url: http://127.0.0.1:%s/in\n    format: %s\n    insecure: true\n    token_file: %s\n' \
		"$PORT" "$1" "$TEST_TMP/token" >"$CFG"
	for i in 1 2 3; do rec "$i"; done
}
fmt_done() { kill "$COL_PID" 2>/dev/null; wait "$COL_PID" 2>/dev/null; }

fmt_setup loki Bearer 0
like "$("$SHUNT" config show)" "format: loki" "config show: format loki"
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 0 "loki: flush exits 0"
got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); s=d["streams"][0]; v=s["values"]
ts=[int(t) for t,_ in v]
print(s["stream"]["job"], len(v), ts == sorted(set(ts)), " ".join(str(json.loads(l)["seq"]) for _,l in v))' "$OUT" 2>&1)
is "$got" "shunt 3 True 1 2 3" "loki: one push, stream job=shunt, 3 lines in order with increasing timestamps"
fmt_done

fmt_setup elasticsearch Bearer 1
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 1 "elasticsearch: a bulk answer with errors:true keeps the batch (exit 1)"
ok "elasticsearch: nothing taken yet" -- test ! -s "$OUT"
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 0 "elasticsearch: the retry is accepted"
got=$(python3 -c 'import json,sys
ls=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
acts=ls[0::2]; docs=ls[1::2]
print(len(acts), all("_id" in a["index"] for a in acts), " ".join(str(d["seq"]) for d in docs))' "$OUT" 2>&1)
is "$got" "3 True 1 2 3" "elasticsearch: _bulk NDJSON, an index action with an _id per record, in order"
fmt_done

fmt_setup splunk-hec Splunk 0
"$SHUNT" audit flush >/dev/null 2>&1; rc=$?
is "$rc" 0 "splunk-hec: flush exits 0 (Authorization: Splunk <token>)"
got=$(python3 -c 'import json,sys
ls=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(len(ls), {e["sourcetype"] for e in ls}, " ".join(str(e["event"]["seq"]) for e in ls))' "$OUT" 2>&1)
is "$got" "3 {'shunt:audit'} 1 2 3" "splunk-hec: one event object per record, in order"
fmt_done

printf 'audit:\n  forward:\n    url: https://x.invalid/\n    format: syslog\n' >"$CFG"
out=$("$SHUNT" config show 2>&1); rc=$?
is "$rc" 2 "an unknown format is a config error"
like "$out" "jsonl, loki, elasticsearch or splunk-hec" "naming the formats"

# the spool cap (2K) with the collector away
export XDG_STATE_HOME="$TEST_TMP/state-cap"
AUDIT="$XDG_STATE_HOME/shunt/audit.jsonl"
SPOOL="$XDG_STATE_HOME/shunt/spool"
OUT="$TEST_TMP/out-cap"
mkdir -p "$XDG_STATE_HOME/shunt"
cap_cfg() {
	printf 'audit:\n  forward:\n    url: http://127.0.0.1:%s/in\n    insecure: true\n    batch: 10\n    spool_max: 2K\n    token_file: %s\n' \
		"$PORT" "$TEST_TMP/token" >"$CFG"
}
start_collector 0
kill "$COL_PID"; wait "$COL_PID" 2>/dev/null # its port: nobody listens there now
cap_cfg
for i in $(seq 1 200); do rec "$i"; done
out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc" 1 "collector away: exits 1"
like "$out" "dropped [0-9]+ records now, [0-9]+ in all" "the flush reports dropped records"
bytes=$(cat "$SPOOL"/*.jsonl | wc -c)
ok "the spool is under its cap ($bytes bytes)" -- test "$bytes" -le 2048
D=$(cat "$SPOOL/dropped")
ok "the dropped count ($D) is kept in the spool" -- test "$D" -gt 0
start_collector 0
cap_cfg
out=$("$SHUNT" audit flush 2>&1); rc=$?
is "$rc" 0 "collector back: exits 0"
R=$(grep -c . "$OUT")
is "$((R + D))" 200 "received ($R) + dropped ($D) = all 200 records"
is "$(sed 's/.*"seq":\([0-9]*\).*/\1/' "$OUT" | tr '\n' ' ')" "$(seq -s ' ' $((201 - R)) 200) " \
	"the newest records arrived, once each, in order"
"$SHUNT" daemon start >/dev/null 2>&1
like "$(curl -s --max-time 10 --unix-socket "$XDG_RUNTIME_DIR/shunt/shuntd.sock" http://x/metrics)" \
	"shuntd_audit_dropped_total $D" "shuntd's /metrics reports the dropped records"
"$SHUNT" daemon stop >/dev/null 2>&1

done_testing
