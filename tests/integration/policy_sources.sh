#!/usr/bin/env bash
# shunt policy update: policy.sources fetched from a loopback policy
# server (tests/helpers/policyd.py): a first fetch applied, an ETag hit
# (304), a changed pack applied, If-Modified-Since against a server with
# Last-Modified only (304, then a newer pack), a sha256 pin mismatch and an invalid pack
# rejected with the last good copy kept, the server down (last good kept),
# and plain http refused unless insecure: true.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home
command -v python3 >/dev/null || { skip "python3 is not installed (apt-get install python3)"; done_testing; exit; }
SRV="$TEST_TMP/srv"
mkdir -p "$SRV" "$XDG_CONFIG_HOME/shunt"
cd "$TEST_TMP"
python3 "$TOP/tests/helpers/policyd.py" "$SRV" "$TEST_TMP/port" &
SRV_PID=$!
trap 'kill $SRV_PID 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
for _ in $(seq 1 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TEST_TMP/port")
URL="http://127.0.0.1:$PORT/pack.yaml"
CFG="$XDG_CONFIG_HOME/shunt/config.yaml"

pack() { # action description
	cat >"$SRV/pack.yaml" <<P
rules:
  - id: org-frobnicate
    description: $2
    match: '^frobnicate\b'
    programs: [frobnicate]
    risk: critical
    action: $1
P
}
decision() { "$SHUNT" check --json -- frobnicate --all 2>&1; }

out=$("$SHUNT" policy --help); rc=$?
is "$rc" 0 "policy --help exits 0"
like "$out" "usage: shunt policy update" "policy help"

printf 'policy:\n  sources:\n    - url: %s\n' "$URL" >"$CFG"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 2 "plain http without insecure: true is a config error"
like "$out" "https:// URL is required" "and says https is required"

printf 'policy:\n  sources:\n    - url: %s\n      pin: x\n' "$URL" >"$CFG"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 2 "an unknown key in a source is a config error"
like "$out" "unknown key 'pin' in policy.sources" "and names it"
rm -f "$CFG"
mkdir -p "$TEST_TMP/repo/.git"
printf 'policy:\n  sources:\n    - url: https://example.invalid/p.yaml\n' >"$TEST_TMP/repo/.shunt.yaml"
out=$(cd "$TEST_TMP/repo" && "$SHUNT" config show 2>&1)
like "$out" "policy.sources ignored: a workspace file may only tighten" "a workspace file cannot add policy sources"
printf 'policy:\n  sources:\n    - url: %s\n      insecure: true\n' "$URL" >"$CFG"
out=$("$SHUNT" config show 2>&1)
like "$out" "sources:" "config show lists policy.sources"
unlike "$(decision)" '"action":"block"' "before an update the org rule is not in force"

pack block "org says no (v1)"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 0 "first update exits 0"
like "$out" "updated \(1 rules" "first update: updated"
like "$out" "insecure" "insecure: true is warned about"
like "$(decision)" '"action":"block".*org says no \(v1\)' "the fetched pack is in force"
CACHE=$(ls "$XDG_CACHE_HOME"/shunt/policy/*.yaml)
is "$(stat -c %a "$CACHE")" 600 "cached pack is mode 0600"

out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 0 "second update exits 0"
like "$out" "unchanged" "second update: unchanged"
is "$(tail -n 1 "$SRV/requests.log")" "GET /pack.yaml 304" "the server answered 304 (ETag hit)"

pack block "org says no (v2)"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 0 "changed pack: exits 0"
like "$out" "updated" "changed pack: updated"
is "$(tail -n 1 "$SRV/requests.log")" "GET /pack.yaml 200" "the server sent the new pack"
like "$(decision)" 'org says no \(v2\)' "the changed pack is in force"

# a server that sends Last-Modified and no ETag: If-Modified-Since
touch "$SRV/pack.yaml.lastmod-only"
pack block "org says no (v2, dated)"
touch -d "@$(($(date +%s) - 100))" "$SRV/pack.yaml"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 0 "Last-Modified server: first fetch exits 0"
like "$out" "updated" "Last-Modified server: updated"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 0 "If-Modified-Since: exits 0"
like "$out" "unchanged \(not modified since .*GMT\)" "If-Modified-Since: unchanged, says since when"
is "$(tail -n 1 "$SRV/requests.log")" "GET /pack.yaml 304" "the server answered 304 (not modified)"
pack block "org says no (v2)"
touch -d "@$(($(date +%s) - 10))" "$SRV/pack.yaml"
out=$("$SHUNT" policy update 2>&1); rc=$?
like "$out" "updated" "a newer Last-Modified: updated"
is "$(tail -n 1 "$SRV/requests.log")" "GET /pack.yaml 200" "the server sent the newer pack"
like "$(decision)" 'org says no \(v2\)' "the newer pack is in force"
rm -f "$SRV/pack.yaml.lastmod-only"
GOOD=$(sha256sum "$CACHE" | cut -d' ' -f1)

# a pin that does not match
pack sandbox "tampered (v3)"
printf 'policy:\n  sources:\n    - url: %s\n      insecure: true\n      sha256: %s\n' "$URL" "$(printf '%064d' 0)" >"$CFG"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 1 "pin mismatch: exits 1"
like "$out" "does not match the pin.*keeping the last good copy" "pin mismatch: rejected, last good kept"
is "$(sha256sum "$CACHE" | cut -d' ' -f1)" "$GOOD" "the cached pack is unchanged"
like "$(decision)" 'org says no \(v2\)' "the last good pack stays in force"

# the right pin
printf 'policy:\n  sources:\n    - url: %s\n      insecure: true\n      sha256: %s\n' "$URL" "$(sha256sum "$SRV/pack.yaml" | cut -d' ' -f1)" >"$CFG"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 0 "matching pin: accepted"
like "$(decision)" 'tampered \(v3\)' "the pinned pack is in force"
GOOD=$(sha256sum "$CACHE" | cut -d' ' -f1)

# an invalid pack
printf 'policy:\n  sources:\n    - url: %s\n      insecure: true\n' "$URL" >"$CFG"
printf 'rules:\n  - id: broken\n    match: "(unclosed"\n    risk: high\n' >"$SRV/pack.yaml"
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 1 "invalid pack: exits 1"
like "$out" "not a valid rule pack.*keeping the last good copy" "invalid pack rejected, last good kept"
is "$(sha256sum "$CACHE" | cut -d' ' -f1)" "$GOOD" "the cached pack is unchanged"

# the server down
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 1 "server down: exits 1"
like "$out" "fetch failed.*keeping the last good copy" "server down: last good kept, and says so"
like "$(decision)" 'tampered \(v3\)' "the last good pack stays in force"

# 404 with no cache yet
rm -f "$XDG_CACHE_HOME"/shunt/policy/*
out=$("$SHUNT" policy update 2>&1); rc=$?
is "$rc" 1 "no server and no cache: exits 1"
like "$out" "no cached copy yet" "and says there is no copy"

done_testing
