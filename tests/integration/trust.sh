#!/usr/bin/env bash
# shunt trust list|add|remove|clean: store format, modes, the human rule,
# expiry, corruption, concurrency and a full disk.
. "$(dirname "$0")/../lib.sh"
setup_home
STORE="$XDG_DATA_HOME/shunt/trust.json"
AUDIT="$XDG_STATE_HOME/shunt/audit.jsonl"
WS="$TEST_TMP/ws"
mkdir -p "$WS"
cd "$WS"

# Runs shunt with no controlling terminal and stdin not a tty.
notty() { setsid -w "$SHUNT" "$@" </dev/null; }

out=$("$SHUNT" trust --help 2>&1); rc=$?
is "$rc" 0 "trust --help exits 0"
like "$out" "shunt trust add CMD" "help shows add usage"
for sub in list add remove clean; do
	out=$("$SHUNT" trust $sub --help 2>&1); rc=$?
	is "$rc" 0 "trust $sub --help exits 0"
done

out=$(notty trust list 2>&1); rc=$?
is "$rc" 0 "list on a missing store succeeds"
like "$out" "no trusted commands" "empty store says so"

# Only a human can add trust.
out=$(notty trust add 'ls -la' 2>&1); rc=$?
is "$rc" 2 "add without a terminal and without --yes is refused"
like "$out" "only a human|--yes" "refusal explains --yes"
ok "nothing was written" -- test ! -e "$STORE"

out=$(notty trust add 'ls    -la' --note 'listing' --yes 2>&1); rc=$?
is "$rc" 0 "add --yes without a terminal works"
like "$out" "trusted \(exact" "add reports the scope"
ok "store exists" -- test -f "$STORE"
is "$(stat -c %a "$STORE")" 600 "store is mode 0600"
is "$(stat -c %a "$(dirname "$STORE")")" 700 "store directory is mode 0700"
json=$(cat "$STORE")
like "$json" '"version":1' "store has version 1"
like "$json" '"command":"ls -la"' "command stored normalised"
like "$json" '"exe":"[^"]*/ls"' "exe resolved through PATH"
like "$json" '"exe_sha256":"[0-9a-f]{64}"' "exe content hash stored"
like "$json" '"scope":"exact"' "default scope exact"
like "$json" "\"workspace\":\"$WS\"" "workspace recorded"
like "$json" '"tty":"no-tty"' "added_by records no-tty"
like "$json" '"how":"cli"' "added_by records how"
like "$json" "\"uid\":$(id -u)" "added_by records uid"
like "$(cat "$AUDIT")" '"event":"trust-add"' "audit log has a trust-add record"
like "$(grep trust-add "$AUDIT")" "no-tty" "audit record says where (no-tty)"
like "$(grep trust-add "$AUDIT")" "\"cwd\":\"$WS\"" "audit record has cwd"

out=$(notty trust list); rc=$?
is "$rc" 0 "list exits 0"
like "$out" "ls -la" "list shows the command"
like "$out" "note: listing" "list shows the note"
out=$(notty trust list --json)
like "$out" '^\{"version":1,"entries":\[' "list --json prints the store document"

# Same command again replaces (same key).
notty trust add 'ls -la' --yes >/dev/null 2>&1
is "$(grep -o '"key"' "$STORE" | wc -l)" 1 "re-adding the same command keeps one entry"

# Usage errors.
out=$(notty trust add 'x' --scope nope --yes 2>&1); rc=$?
is "$rc" 2 "bad --scope is a usage error"
out=$(notty trust add 'x' --expires 5years --yes 2>&1); rc=$?
is "$rc" 2 "bad --expires is a usage error"
out=$(notty trust add ls -la --yes 2>&1); rc=$?
is "$rc" 2 "CMD split over several arguments is refused"
like "$out" "one argument" "and the message says to quote it"

# Critical-risk commands cannot be trusted globally.
out=$(notty trust add 'rm -rf /' --scope global --yes 2>&1); rc=$?
ok "global trust of a critical command is refused (rc=$rc)" -- test "$rc" -ne 0
like "$out" "critical" "refusal names the critical risk"
unlike "$(cat "$STORE")" '"command":"rm -rf /"' "refused entry not stored"
out=$(notty trust add 'rm -rf ./build' --scope exact --yes 2>&1); rc=$?
is "$rc" 0 "exact scope of a risky command is allowed"

# Remove by command and by key prefix.
out=$(notty trust remove 'rm -rf ./build' 2>&1); rc=$?
is "$rc" 0 "remove by command"
like "$(cat "$AUDIT")" '"event":"trust-remove"' "audit log has a trust-remove record"
key=$(grep -o '"key":"[0-9a-f]*"' "$STORE" | head -1 | cut -d'"' -f4)
out=$(notty trust remove "${key:0:10}" 2>&1); rc=$?
is "$rc" 0 "remove by key prefix"
like "$out" "removed 1 trust entry" "remove reports the count"
out=$(notty trust remove 'never added' 2>&1); rc=$?
is "$rc" 1 "removing an unknown command fails"
like "$out" "no trust entry matches" "with a clear message"

# Expiry and clean.
notty trust add 'make test' --expires 1s --yes >/dev/null 2>&1
notty trust add 'make lint' --expires 30d --yes >/dev/null 2>&1
sleep 2
out=$(notty trust list)
like "$out" "expired" "list marks the expired entry"
out=$(notty trust clean); rc=$?
is "$rc" 0 "clean exits 0"
like "$out" "removed 1 expired" "clean removes exactly the expired entry"
like "$(cat "$STORE")" "make lint" "unexpired entry kept"

# Corrupt store: reported with its path, moved aside, next load empty.
printf '{"version":1,"entries":[{"key":"ab' >"$STORE"
cp "$STORE" "$TEST_TMP/corrupt.copy"
out=$(notty trust list 2>&1); rc=$?
is "$rc" 1 "corrupt store: exit code 1"
like "$out" "$STORE" "message names the store path"
like "$out" "corrupt" "message says corrupt"
aside=$(ls "$STORE".corrupt-* 2>/dev/null | head -1)
ok "moved aside as trust.json.corrupt-<time>" -- test -n "$aside"
ok "moved-aside file keeps the original bytes" -- cmp -s "$aside" "$TEST_TMP/corrupt.copy"
out=$(notty trust list 2>&1); rc=$?
is "$rc" 0 "next load starts empty"
like "$out" "no trusted commands" "and says the store is empty"

# 20 concurrent adders lose nothing.
rm -f "$STORE"
pids=()
for i in $(seq 1 20); do
	notty trust add "echo parallel $i" --yes >/dev/null 2>"$TEST_TMP/par.$i.err" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "20 parallel adds all succeed"
is "$(grep -o '"command":"echo parallel [0-9]*"' "$STORE" | sort -u | wc -l)" 20 "20 parallel adds: 20 entries"

# Full disk: the old store stays byte-identical.
full_disk_test() {
	local mnt=$1
	export SHUNT_TRUST_STORE="$mnt/trust.json"
	notty trust add 'echo before' --yes >/dev/null 2>&1 || { echo "FAIL setup"; return; }
	cp "$SHUNT_TRUST_STORE" "$mnt/../before.json"
	dd if=/dev/zero of="$mnt/fill" bs=1k count=200 >/dev/null 2>&1
	local note
	note=$(head -c 3000 /dev/zero | tr '\0' x)
	out=$(notty trust add 'echo after' --note "$note" --yes 2>&1)
	echo "RC=$?"
	echo "OUT=$out"
	cmp -s "$SHUNT_TRUST_STORE" "$mnt/../before.json" && echo "SAME" || echo "DIFFERENT"
	ls "$mnt" | grep -c '\.tmp\.' | sed 's/^/TMPS=/'
}
mkdir -p "$TEST_TMP/full/mnt"
res=""
if is_root && mount -t tmpfs -o size=64k tmpfs "$TEST_TMP/full/mnt" 2>/dev/null; then
	res=$(full_disk_test "$TEST_TMP/full/mnt")
	umount "$TEST_TMP/full/mnt"
elif unshare -Urm true 2>/dev/null; then
	export -f full_disk_test notty
	export SHUNT TEST_TMP
	res=$(unshare -Urm bash -c 'mount -t tmpfs -o size=64k tmpfs "$TEST_TMP/full/mnt" && full_disk_test "$TEST_TMP/full/mnt"')
fi
if [ -z "$res" ]; then
	skip "full disk: cannot mount a tmpfs (not root and no user namespaces)"
else
	unlike "$res" "FAIL setup" "full disk: setup store written"
	like "$res" "RC=1" "full disk: add fails with exit 1"
	like "$res" "No space left on device" "full disk: error says the disk is full"
	like "$res" "previous file is unchanged" "full disk: error says the store is unchanged"
	like "$res" "SAME" "full disk: old store byte-identical"
	like "$res" "TMPS=0" "full disk: no temp file left behind"
fi
unset SHUNT_TRUST_STORE

done_testing
