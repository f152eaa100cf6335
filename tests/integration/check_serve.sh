#!/usr/bin/env bash
# `shunt check --serve`, the long-lived checker behind the shell hooks,
# driven over real pipes: framing (NUL-terminated id, cwd, line; any bytes;
# huge lines refused without losing the frame), replies matching
# `check --json`, following the shell's directory into another workspace,
# reloading when config or trust change, and exiting on EOF or when the
# parent dies.
. "$(dirname "$0")/../lib.sh"
setup_home
WS=$HOME/ws
mkdir -p "$WS/.git" "$XDG_CONFIG_HOME/shunt"
cd "$HOME" || exit 1

# serve_start [ARGS...]: a server on a coproc; its hello line in HELLO
serve_start() {
	coproc SRV { exec "$SHUNT" check --serve "$@" 2>"$TEST_TMP/serve.err"; }
	SRV_PID=$SRV_PID
	SRV_IN=${SRV[1]} SRV_OUT=${SRV[0]}
	HELLO=
	IFS= read -r -t 20 -u "$SRV_OUT" HELLO
}
# ask ID CWD LINE: one request, prints the reply line (empty on timeout)
ask() {
	local reply=
	printf '%s\0%s\0%s\0' "$1" "$2" "$3" >&"$SRV_IN"
	IFS= read -r -t 20 -u "$SRV_OUT" reply
	printf '%s' "$reply"
}
serve_stop() {
	exec {SRV_IN}>&-
	wait "$SRV_PID" 2>/dev/null
}
# gone PID: waits (bounded, 10 s) for PID to exit
gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

serve_start --source hook --interactive
like "$HELLO" '^shunt-serve 1 [0-9]+$' "serve: says hello with its pid"
is "$(ask a1 "$HOME" 'echo low-risk')" 'a1 host' "serve: a low-risk line is host, id echoed"
is "$(ask a2 "" 'echo low-risk')" 'a2 host' "serve: an empty cwd keeps the last one"
want=$("$SHUNT" check --source hook --interactive -c 'curl -fsSL http://example.invalid/x | sh' |
	head -1 | sed 's/:.*//; s/ .*//')
is "$(ask a3 "$HOME" 'curl -fsSL http://example.invalid/x | sh')" "a3 $want" \
	"serve: same decision as check -c for curl | sh ($want)"
like "$(ask a4 "$HOME" $'echo "tab\there"\necho \x01\xff second line')" '^a4 (host|sandbox|prompt|block)$' \
	"serve: newlines, tabs and raw bytes in a line get one reply line"
is "$(ask 'bad id' "$HOME" 'echo x')" '- error bad request id' "serve: a malformed id is refused as '-'"
is "$(ask '' "$HOME" 'echo x')" '- error bad request id' "serve: an empty id is refused"
long=$(printf '%0300000d' 0)
like "$(ask big "$HOME" "echo $long")" '^big error line too long' "serve: a 300 kB line is refused cleanly"
is "$(ask after-big "$HOME" 'echo low-risk')" 'after-big host' "serve: framing survives the huge line"
like "$(ask nodir /nonexistent/dir 'echo x')" '^nodir error cannot enter /nonexistent/dir' \
	"serve: a cwd it cannot enter is an error reply, not a decision"
# the workspace's .shunt.yaml (tighten-only) applies when the shell is in it
printf 'policies:\n  denylist:\n    - "echo ws-marker*"\n' >"$WS/.shunt.yaml"
is "$(ask w1 "$WS" 'echo ws-marker')" 'w1 block' "serve: follows the shell into a workspace with a .shunt.yaml"
is "$(ask w2 "$HOME" 'echo ws-marker')" 'w2 host' "serve: and back out of it"
# config edits are picked up by the next request
is "$(ask c1 "$HOME" 'echo cfg-marker')" 'c1 host' "serve: before a config change"
printf 'policies:\n  denylist:\n    - "echo cfg-marker*"\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
is "$(ask c2 "$HOME" 'echo cfg-marker')" 'c2 block' "serve: a new user config is picked up"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
is "$(ask c3 "$HOME" 'echo cfg-marker')" 'c3 host' "serve: a removed user config is picked up"
printf 'policies:\n  denylist: [oops\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
like "$(ask c4 "$HOME" 'echo cfg-marker')" '^c4 error .*config.yaml:[0-9]+:[0-9]+' \
	"serve: a broken config is an error reply with file:line:col (fails closed)"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
is "$(ask c5 "$HOME" 'echo cfg-marker')" 'c5 host' "serve: recovers once the config is fixed"
# trust: a remembered approval applies without a restart, and its removal too
touch "$WS/t1"
tl="chmod u+s $WS/t1"
before=$(ask t0 "$WS" "$tl")
if [ "$before" = "t0 prompt" ]; then
	(cd "$WS" && "$SHUNT" trust add "$tl" --yes >/dev/null 2>&1)
	is "$(ask t1 "$WS" "$tl")" 't1 host' "serve: a trust entry added meanwhile applies"
	(cd "$WS" && "$SHUNT" trust remove "$tl" >/dev/null 2>&1)
	is "$(ask t2 "$WS" "$tl")" 't2 prompt' "serve: a removed trust entry no longer applies"
else
	skip "serve: trust reload needs a prompt decision for '$tl' (got '$before')"
	skip "serve: (same)"
fi
# a request split across reads, and two requests in one write
printf 'sp1\0%s\0echo sp' "$HOME" >&"$SRV_IN"
sleep 0.2
printf 'lit\0' >&"$SRV_IN"
IFS= read -r -t 20 -u "$SRV_OUT" r1
is "$r1" 'sp1 host' "serve: a request split across reads gets one reply"
printf 'two1\0\0echo a\0two2\0\0echo b\0' >&"$SRV_IN"
IFS= read -r -t 20 -u "$SRV_OUT" r1
IFS= read -r -t 20 -u "$SRV_OUT" r2
is "$r1 / $r2" 'two1 host / two2 host' "serve: two requests in one write get two replies, in order"
# terminal signals do not stop it (the hook's Ctrl-C at the prompt)
kill -INT "$SRV_PID" 2>/dev/null
kill -QUIT "$SRV_PID" 2>/dev/null
is "$(ask s1 "$HOME" 'echo low-risk')" 's1 host' "serve: SIGINT and SIGQUIT are ignored"
# it holds only its stdio (and a pidfd): the shell's other fds are not kept
nfd=$(find "/proc/$SRV_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
ok "serve: holds no inherited descriptors ($nfd open)" -- test "$nfd" -le 4
pid=$SRV_PID
serve_stop
ok "serve: exits on EOF" -- gone "$pid"

# --json replies carry the same object as check --json
serve_start --json --source hook --interactive
want=$("$SHUNT" check --json --source hook --interactive -c 'ls -l')
is "$(ask j1 "$HOME" 'ls -l')" "j1 $want" "serve --json: the check --json object after the id"
serve_stop

# a partial request at EOF gets no reply and no hang
out=$(printf 'p1\0%s\0partial' "$HOME" | timeout 10 "$SHUNT" check --serve 2>&1)
is "$?" 0 "serve: EOF inside a request exits 0"
is "$(printf '%s\n' "$out" | sed 1d)" "" "serve: no reply for the partial request"

# with --parent and no CWD it decides in the parent's real directory
(cd "$WS" && exec sleep 300) &
sl=$!
serve_start --source hook --interactive --parent "$sl"
is "$(ask d1 "" 'echo ws-marker')" 'd1 block' "serve --parent: an empty cwd is the parent's directory (a workspace)"
is "$(ask d2 "$HOME" 'echo ws-marker')" 'd2 host' "serve --parent: an explicit cwd still wins"
is "$(ask d3 "" 'echo ws-marker')" 'd3 block' "serve --parent: and back to the parent's directory"
serve_stop
kill "$sl"
wait "$sl" 2>/dev/null

# exits when the parent it follows dies, even with its stdin still open
sleep 300 &
sl=$!
exec {hold}<> <(:)
"$SHUNT" check --serve --parent "$sl" <"/dev/fd/$hold" >/dev/null 2>&1 &
sp=$!
sleep 0.3
ok "serve --parent: runs while the parent lives" -- kill -0 "$sp"
kill "$sl"
wait "$sl" 2>/dev/null
ok "serve --parent: exits when the parent dies" -- gone "$sp"
wait "$sp" 2>/dev/null
exec {hold}>&-
# the fork path's snapshot notices a deleted layer: an allowlist that is
# gone must not stay in force (the checker reloads from the same files)
line='rm -rf ~/snap-victim'
printf 'policies:\n  allowlist:\n    - "rm -rf ~/snap-victim*"\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
like "$("$SHUNT" check --source hook -c "$line")" '^host' "check: a config allowlist applies"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
unlike "$("$SHUNT" check --source hook -c "$line")" 'allowlisted' "check: deleting that config drops the allowlist"

like "$("$SHUNT" check --serve --parent nope 2>&1)" 'expected a process id' "serve --parent: checks its argument"
like "$("$SHUNT" check --serve -c x 2>&1)" 'stdin' "serve: refuses -c"
like "$("$SHUNT" check --parent 1 -c x 2>&1)" 'goes with --serve' "check: --parent only with --serve"
done_testing
