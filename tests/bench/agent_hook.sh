#!/usr/bin/env bash
# Round trip of an AI agent's pre-command hook: `shunt hook claude-code`
# fed a real PreToolUse event on stdin, answer read back, against `cat`
# (the cost of spawning any hook at all) run side by side, interleaved so
# machine noise hits both alike. Reports medians over N runs and the
# added latency (hook - cat); also the command `shunt install` writes
# (/bin/sh + timeout(1) around shunt hook). Target: hook <= 3 ms median.
N=${N:-200}
. "$(dirname "$0")/../lib.sh" # $SHUNT, setup_home (a private HOME, removed at exit)
setup_home
TMP=$TEST_TMP
mkdir -p "$HOME/ws/.git"
cd "$HOME/ws" || exit 1

EV=$TMP/event.json
printf '{"session_id":"bench","transcript_path":"%s/t.jsonl","cwd":"%s","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git status --short","description":"status"},"tool_use_id":"toolu_1"}' \
	"$HOME" "$HOME/ws" >"$EV"
command -v jq >/dev/null || { echo "agent_hook bench: jq not installed"; exit 0; }
INSTALLED=$(SHUNT_BIN=$SHUNT "$SHUNT" install claude-code --dry-run 2>/dev/null |
	jq -r '.hooks.PreToolUse[0].hooks[0].command')
"$SHUNT" hook claude-code <"$EV" >/dev/null || { echo "agent_hook bench: shunt hook failed"; exit 1; }
sh -c "$INSTALLED" <"$EV" >/dev/null || { echo "agent_hook bench: installed command failed"; exit 1; }

# one timing in microseconds: $1 = cat | hook | installed
one() {
	local t0=${EPOCHREALTIME/./}
	case $1 in
	cat) cat <"$EV" >/dev/null ;;
	hook) "$SHUNT" hook claude-code <"$EV" >/dev/null ;;
	installed) sh -c "$INSTALLED" <"$EV" >/dev/null ;;
	esac
	echo $((${EPOCHREALTIME/./} - t0)) >>"$TMP/t-$1"
}
for ((i = 0; i < 5; i++)); do one hook; one cat; done # warm the caches
rm -f "$TMP"/t-*
for ((i = 0; i < N; i++)); do
	one cat
	one hook
	one installed
done
med() { sort -n "$TMP/t-$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(med cat) h=$(med hook) s=$(med installed)
awk -v c="$c" -v h="$h" -v s="$s" -v n="$N" 'BEGIN {
	printf "agent hook round trip, median of %d (ms): cat %.2f  shunt hook %.2f  installed command %.2f\n", n, c/1000, h/1000, s/1000
	printf "added by shunt hook: %.2f ms (target <= 3 ms)  hook/cat %.1fx  installed/cat %.1fx\n", (h-c)/1000, h/c, s/c
}'
