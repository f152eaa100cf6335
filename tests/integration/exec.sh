#!/usr/bin/env bash
# shunt exec: host / sandbox / prompt / block, the terminal prompt driven in
# a real tmux pane (y, r, s, d, n, GODMODE), remembered approvals, expiry, a
# replaced binary, non-interactive behaviour and --dry-run.
. "$(dirname "$0")/../lib.sh"
setup_home

WS="$TEST_TMP/ws"
mkdir -p "$WS/bin"
cd "$WS" || exit 1
git init -q . 2>/dev/null || mkdir -p .git

# Harmless commands the test's own rule pack makes risky, so that answering
# "y" can never hurt the machine.
cat >"$TEST_TMP/test-rules.yaml" <<'EOF'
rules:
  - id: test-high
    description: test command that needs approval
    match: '^echo prompt-me'
    programs: [echo]
    risk: high
    tags: [test]
    examples: {match: ["echo prompt-me"], nomatch: ["echo hello"]}
  - id: test-god
    description: test command that wants GODMODE
    match: '^echo godmode-me'
    programs: [echo]
    risk: high
    profile: GODMODE
    tags: [test]
    examples: {match: ["echo godmode-me"], nomatch: ["echo hello"]}
  - id: test-tool
    description: test tool that needs approval
    match: '^mytool\b'
    programs: [mytool]
    risk: high
    tags: [test]
    examples: {match: ["mytool go"], nomatch: ["othertool"]}
  - id: test-medium
    description: test command for the sandbox
    match: '^echo sandbox-me'
    programs: [echo]
    risk: medium
    tags: [test]
    examples: {match: ["echo sandbox-me"], nomatch: ["echo hello"]}
  - id: test-block
    description: test command that is always refused
    match: '^echo block-me'
    programs: [echo]
    risk: critical
    action: block
    tags: [test]
    examples: {match: ["echo block-me"], nomatch: ["echo hello"]}
EOF
cat >"$TEST_TMP/config.yaml" <<EOF
rules: ["$TEST_TMP/test-rules.yaml"]
sandbox:
  runtime: process
  accept_weaker_isolation: true
EOF
export SHUNT_CONFIG="$TEST_TMP/config.yaml"
printf '#!/bin/sh\necho mytool-v1 "$@"\n' >"$WS/bin/mytool"
chmod +x "$WS/bin/mytool"
export PATH="$WS/bin:$PATH"

# --- non-interactive (no terminal: setsid detaches /dev/tty) ---------------
noterm() { setsid -w "$@" </dev/null; }

out=$(noterm "$SHUNT" exec -c 'echo host-ok' 2>&1); rc=$?
is "$out" "host-ok" "host: runs untouched with no extra output"
is "$rc" 0 "host: exit code 0"
noterm "$SHUNT" exec -c 'exit 7' 2>/dev/null
is "$?" 7 "host: exit code propagates"
noterm "$SHUNT" exec -- sh -c 'kill -TERM $$' 2>/dev/null
is "$?" 143 "host: a signal death shows as 128+N"

out=$(noterm "$SHUNT" exec -c 'echo block-me' 2>&1); rc=$?
is "$rc" 126 "block: exit 126"
like "$out" "blocked: echo block-me \[test-block\]" "block: names the command and rule"
like "$out" "shunt trust add 'echo block-me'" "block: says how to allow it"
unlike "$out" "^block-me$" "block: the command did not run"

out=$(noterm "$SHUNT" exec -c 'echo prompt-me' 2>&1); rc=$?
like "$out" "sandboxed \(process, WORKSPACE_WRITE\)" "no terminal: a prompt becomes the non_interactive sandbox"
printf 'rules: ["%s"]\nnon_interactive: block\n' "$TEST_TMP/test-rules.yaml" >"$TEST_TMP/nonint.yaml"
out=$(SHUNT_CONFIG="$TEST_TMP/nonint.yaml" noterm "$SHUNT" exec -c 'echo prompt-me' 2>&1); rc=$?
is "$rc" 126 "no terminal + non_interactive: block refuses"
like "$out" "no terminal to confirm" "refusal says why"

out=$(noterm "$SHUNT" exec -c 'rm -rf ~' 2>&1); rc=$?
is "$rc" 126 "no terminal: a critical command is blocked, not silently sandboxed"
ok "critical block left HOME alone" -- test -d "$HOME"

# --- dry run --------------------------------------------------------------
json=$(SHUNT_DRY_RUN=1 noterm "$SHUNT" exec --json -c 'echo sandbox-me' 2>/dev/null); rc=$?
is "$rc" 0 "dry run exits 0"
fields=$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["action"], d["risk"], d["profile"], d["runtime"], ",".join(d["rules"]), d["why"])' 2>&1)
is "$fields" "sandbox medium WORKSPACE_WRITE process test-medium medium risk + test command for the sandbox" "dry run JSON has the decision fields"
out=$(SHUNT_DRY_RUN=1 noterm "$SHUNT" exec -c "echo block-me > $TEST_TMP/dry-marker" 2>&1)
ok "dry run of a blocked command runs nothing" -- test ! -e "$TEST_TMP/dry-marker"
out=$(noterm "$SHUNT" exec --dry-run -c 'echo host-still-runs' 2>&1)
is "$out" "host-still-runs" "dry run: host commands still run"
# each package cache once (the built-in list and the config's default
# cache_dirs name the same directories)
out=$(SHUNT_DRY_RUN=1 noterm "$SHUNT" exec -c 'npm install left-pad' 2>&1)
like "$out" "cache +$HOME/.npm" "dry run plan: ~/.npm is a cache mount"
dups=$(printf '%s\n' "$out" | grep -E '^ +cache ' | sort | uniq -d)
is "$dups" "" "dry run plan: no cache mount listed twice"
dups=$("$SHUNT" run --dry-run --json -- true 2>&1 | python3 -c 'import json,sys,collections; m=[x["guest"] for x in json.load(sys.stdin)["mounts"]]; print(" ".join(k for k,v in collections.Counter(m).items() if v>1))' 2>&1)
is "$dups" "" "shunt run --dry-run --json: no mount twice"

# --- running an installed tool is not an install (issue 22, item 9) -------
# npx of a bin in node_modules/.bin (of the cwd or a parent up to the
# workspace root) fetches nothing: host. A fake npx stands in for npm's.
NPROJ="$TEST_TMP/nproj"
mkdir -p "$NPROJ/.git" "$NPROJ/node_modules/.bin" "$NPROJ/src" "$TEST_TMP/nother/.git" "$TEST_TMP/npxbin"
printf '#!/bin/sh\necho "tsc-local $*"\n' >"$NPROJ/node_modules/.bin/tsc"
printf '#!/bin/sh\nd=$PWD\nwhile [ ! -x "$d/node_modules/.bin/$1" ] && [ "$d" != / ]; do d=$(dirname "$d"); done\nb=$1; shift; exec "$d/node_modules/.bin/$b" "$@"\n' >"$TEST_TMP/npxbin/npx"
chmod +x "$NPROJ/node_modules/.bin/tsc" "$TEST_TMP/npxbin/npx"
out=$(cd "$NPROJ/src" && PATH="$TEST_TMP/npxbin:$PATH" noterm "$SHUNT" exec -c 'npx tsc --version' 2>&1); rc=$?
is "$out" "tsc-local --version" "npx of an installed bin runs on the host, untouched"
is "$rc" 0 "npx of an installed bin: exit code 0"
act() { (cd "$1" && shift && "$SHUNT" check --json -- "$@" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["action"])' 2>&1); }
is "$(act "$NPROJ" npx tsc --version)" host "shunt check: npx tsc with node_modules/.bin/tsc is host"
is "$(act "$NPROJ/src" npm exec -- tsc --version)" host "shunt check: npm exec -- tsc from a subdirectory is host"
is "$(act "$TEST_TMP/nother" npx tsc --version)" sandbox "shunt check: npx tsc where it is not installed is sandboxed"
is "$(act "$NPROJ" npx -y cowsay)" sandbox "shunt check: npx -y cowsay (not installed) is still sandboxed"
is "$(act "$NPROJ" npx -p typescript tsc)" sandbox "shunt check: npx -p PKG fetches PKG: sandboxed"

# --- a push acts on a remote system (issue 22, item 4) ----------------------
# prompted with a terminal, refused with a reason without one, never
# sandboxed (a sandbox has no credentials and no remote); a push to a
# repository on disk is a local effect and is decided as before.
jact() { "$SHUNT" check --json "$@" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["action"], d["why"])' 2>&1; }
like "$(jact --no-interactive -c 'git push --force-with-lease')" '^block .*acts on a remote system.*shunt trust add' \
	"check --no-interactive: git push --force-with-lease is refused with a reason"
like "$(jact --interactive -c 'git push --force-with-lease origin feat')" '^prompt ' \
	"check --interactive: git push --force-with-lease prompts"
like "$(jact --no-interactive -c 'git push -f origin main')" '^block ' "check --no-interactive: git push -f is refused"
like "$(jact --no-interactive -c 'git push --force-with-lease ../bare.git main')" '^sandbox ' \
	"check --no-interactive: a lease push to a bare repository on disk is sandboxed as before"
like "$(jact --no-interactive -c 'git push origin main')" '^host ' "check --no-interactive: a plain push stays on the host"
out=$(noterm "$SHUNT" exec -c 'git push --force-with-lease origin HEAD:refs/heads/x' 2>&1); rc=$?
is "$rc" 126 "shunt exec without a terminal: a remote push is refused (exit 126)"
like "$out" "acts on a remote system" "and says why"
unlike "$out" "sandboxed" "and is not sandboxed"

# --- the prompt in a real terminal -----------------------------------------
if ! command -v tmux >/dev/null; then
	skip "tmux is not installed: prompt tests need a real terminal"
	done_testing
	exit
fi
SOCK="shunt-exec-$$"
T() { tmux -L "$SOCK" "$@"; }
cat >"$TEST_TMP/rc" <<EOF
PS1='$ '
export HOME='$HOME' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' XDG_DATA_HOME='$XDG_DATA_HOME'
export XDG_STATE_HOME='$XDG_STATE_HOME' XDG_CACHE_HOME='$XDG_CACHE_HOME' XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR'
export SHUNT_CONFIG='$SHUNT_CONFIG' SHUNT_NO_SYSTEM_CONFIG=1 PATH='$PATH'
unset CI SHUNT_DRY_RUN LD_PRELOAD
cd '$WS'
EOF
T -f /dev/null new-session -d -x 200 -y 50 "bash --noprofile --rcfile '$TEST_TMP/rc' -i"
trap 'T kill-server 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
pane() { T capture-pane -p -S -200; }
# wait_for REGEX: poll the pane (bounded)
wait_for() {
	local i
	for i in $(seq 1 100); do
		pane | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
n=0
# run CMD: types it, followed by a marker line that prints its exit code
run() {
	n=$((n + 1))
	T send-keys -t 0 "clear; $1; echo \"rc$n=\$?\"" Enter
}
answer() { T send-keys -t 0 "$1" Enter; }
PROMPT='choose \[y/r/s/d/N\]'

run "'$SHUNT' exec -c 'echo prompt-me'"
ok "prompt appears on the terminal" -- wait_for "$PROMPT"
like "$(pane)" "command: echo prompt-me" "prompt shows the command"
like "$(pane)" "risk: +high" "prompt shows the risk"
like "$(pane)" "why: +high risk \+ test command that needs approval" "prompt shows why"
answer d
ok "d shows the details and asks again" -- wait_for "rule test-high \(high[,)]"
answer y
ok "y runs it once" -- wait_for "rc$n=0"
like "$(pane)" "^prompt-me" "y: the command's own output"

run "'$SHUNT' exec -c 'echo prompt-me'"
ok "without remembering, it asks again" -- wait_for "$PROMPT"
answer n
ok "n refuses" -- wait_for "rc$n=126"
like "$(pane)" "not run: echo prompt-me" "n says it did not run"

run "'$SHUNT' exec -c 'echo prompt-me | cat'"
wait_for "$PROMPT"
answer ""
ok "Enter alone means no" -- wait_for "rc$n=126"

run "'$SHUNT' exec -c 'echo prompt-me' | tee '$TEST_TMP/tee.log'"
ok "prompts even when stdout is a pipe (asks on /dev/tty)" -- wait_for "$PROMPT"
answer y
wait_for "rc$n="
is "$(cat "$TEST_TMP/tee.log")" "prompt-me" "the command's output went down the pipe"

run "'$SHUNT' exec -c 'echo sandbox-me > $WS/sandboxed.txt; echo prompt-me'"
wait_for "$PROMPT"
answer s
ok "s runs it in the sandbox" -- wait_for "rc$n="
like "$(pane)" "sandboxed \(process" "s prints the sandbox notice"
is "$(cat "$WS/sandboxed.txt" 2>/dev/null)" "sandbox-me" "s: the sandboxed command wrote into the workspace"

run "'$SHUNT' exec -c 'echo prompt-me'"
wait_for "$PROMPT"
answer r
ok "r runs it" -- wait_for "rc$n=0"
like "$(pane)" "approved and remembered" "r says it remembered"
run "'$SHUNT' exec -c 'echo prompt-me'"
ok "a remembered command runs without a prompt" -- wait_for "rc$n=0"
unlike "$(pane)" "$PROMPT" "no prompt the second time"
trusted=$("$SHUNT" trust list --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["entries"] if isinstance(d,dict) else d; print(sum(1 for x in e if x["command"]=="echo prompt-me"))' 2>&1)
is "$trusted" 1 "the trust store holds the approval"

# an expired entry prompts again
setsid -w "$SHUNT" trust add 'echo prompt-me 2' --expires 1s --yes </dev/null >/dev/null 2>&1
sleep 2
run "'$SHUNT' exec -c 'echo prompt-me 2'"
ok "an expired approval prompts again" -- wait_for "$PROMPT"
answer n
wait_for "rc$n="

# a replaced binary prompts again
run "'$SHUNT' exec -- mytool go"
wait_for "$PROMPT"
answer r
ok "tool approved and remembered" -- wait_for "rc$n=0"
run "'$SHUNT' exec -- mytool go"
ok "remembered tool runs without a prompt" -- wait_for "rc$n=0"
unlike "$(pane)" "$PROMPT" "no prompt for the remembered tool"
sleep 1.1
printf '#!/bin/sh\necho mytool-v2-evil "$@"\n' >"$WS/bin/mytool.new"
chmod +x "$WS/bin/mytool.new"
mv "$WS/bin/mytool.new" "$WS/bin/mytool"
run "'$SHUNT' exec -- mytool go"
ok "a replaced binary prompts again" -- wait_for "$PROMPT"
like "$(pane)" "executable changed" "the prompt says the binary changed"
answer n
wait_for "rc$n=126"

# GODMODE needs the word typed in full
run "'$SHUNT' exec -c 'echo godmode-me'"
ok "GODMODE asks for the word" -- wait_for "type GODMODE"
answer y
ok "y is not enough for GODMODE" -- wait_for "rc$n=126"
run "'$SHUNT' exec -c 'echo godmode-me'"
wait_for "type GODMODE"
answer GODMODE
ok "typing GODMODE runs it" -- wait_for "rc$n=0"
like "$(pane)" "^godmode-me" "GODMODE command output"
like "$(pane)" "sandboxed \(process, GODMODE\).*weaker isolation accepted" "GODMODE runs in the GODMODE profile, not on the host"

# every decision is in the audit log with its reason
log=$("$SHUNT" log -n 200 --json 2>/dev/null)
like "$log" '"approved_by":"prompt:r"' "audit log records the remembered approval"
like "$log" '"approved_by":"prompt:n"' "audit log records the refusal"
like "$log" '"why":"high risk \+ test command that needs approval"' "audit log records why"

T kill-server 2>/dev/null
done_testing
