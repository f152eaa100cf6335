#!/usr/bin/env bash
# Issue 22 item 10: only the risky simple command of a line leaves the
# user's shell. In a real interactive bash and zsh (tmux), with harmless
# stand-ins that a test rule pack sandboxes (fakeinst) or prompts for
# (fakeask): the rest of the line runs in the shell itself (export and cd
# take effect, a host-only cp works), && / || follow the real exit
# status, $? is the real status, history keeps the line as typed, and a
# line that cannot be split safely (a loop) still goes through shunt as a
# whole, as before.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"

SH=bash
hook_begin
if [ -n "${HOOK_SKIP_ALL:-}" ]; then
	skip "$HOOK_SKIP_ALL"
	done_testing
	exit
fi

mkdir -p "$WS/bin" "$XDG_CONFIG_HOME/shunt"
printf '#!/bin/sh\necho "fakeinst ran rc=$1"\nexit "$1"\n' >"$WS/bin/fakeinst"
printf '#!/bin/sh\necho "fakeask ran rc=$1"\nexit "$1"\n' >"$WS/bin/fakeask"
chmod +x "$WS/bin/fakeinst" "$WS/bin/fakeask"
cat >"$TEST_TMP/standin.yaml" <<'EOF'
rules:
  - id: test-standin
    description: a harmless stand-in for a risky install
    match: '^fakeinst\b'
    programs: [fakeinst]
    risk: medium
    examples:
      match: ["fakeinst 0"]
      nomatch: ["ls"]
  - id: test-standin-ask
    description: a harmless stand-in that asks
    match: '^fakeask\b'
    programs: [fakeask]
    risk: high
    examples:
      match: ["fakeask 0"]
      nomatch: ["ls"]
EOF
printf 'rules: ["%s"]\n' "$TEST_TMP/standin.yaml" >"$XDG_CONFIG_HOME/shunt/config.yaml"
export PATH="$WS/bin:$PATH"
echo host-only >"$TEST_TMP/src.txt" # under /tmp: a sandbox has its own

# the sandbox must work here for the stand-in to run in it
probe=$(cd "$WS" && "$SHUNT" exec --no-daemon -- fakeinst 0 2>&1)
if [ "$(decision 'fakeinst 0')" != sandbox ] || [ "$(decision 'fakeask 0')" != prompt ]; then
	skip "the stand-in rules do not decide sandbox/prompt here ($(decision 'fakeinst 0'), $(decision 'fakeask 0'))"
	done_testing
	exit
fi
if ! printf '%s' "$probe" | grep -q 'fakeinst ran rc=0'; then
	skip "no sandbox runner here: $(printf '%s' "$probe" | head -2 | tr '\n' ' ')"
	done_testing
	exit
fi

# the checker's split answer (hook/serve.h), and the carried decision
out=$(printf 'p1\0\0fakeinst 0 && export A=1\0p2\0\0fakeinst 0 | cat\0' |
	(cd "$WS" && timeout 20 "$SHUNT" check --serve --split) | tr '\0\n' '|~')
like "$out" '~p1 split 1~sandbox:[a-z]+:[A-Z_]+:[0-9]:[0-9]+:test-standin\|[^|]+\|__shunt_cmd 1 fakeinst 0 && export A=1\|p2 sandbox~' \
	"check --serve --split: a list is answered with its split, a pipeline with its action"
out=$(cd "$WS" && "$SHUNT" exec --decided 'host:-:-:0:0:' -- true 2>&1)
rc=$?
is "$rc" 2 "exec --decided never takes host"
like "$out" "action 'host'" "... and says so"
out=$(cd "$WS" && "$SHUNT" exec --source hook --decided 'block:-:-:3:90:test-standin' --why 'carried' -- fakeinst 0 2>&1)
rc=$?
is "$rc" 126 "exec --decided block refuses without deciding again (fakeinst alone is sandbox)"
like "$out" 'blocked: fakeinst 0 \[test-standin\]: carried' "... with the carried reason"

# status N: the value the shell printed for a `echo "st=$?"` typed next
status_after() {
	clear_pane
	step "$1"
	wait_idle
	step 'echo "st=$?"'
	wait_for '^st=[0-9]+$' || diag "no status for '$1': $(pane | tail -5)"
	pane | sed -n 's/^st=\([0-9]*\)$/\1/p' | tail -1
}

line_tests() {
	start_shell "PATH='$WS/bin':\$PATH"

	clear_pane
	step 'fakeinst 0 && export AFTER=yes'
	mark
	like "$(pane)" 'shunt: sandboxed' "$SH: the risky command of a line is sandboxed"
	like "$(pane)" '^fakeinst ran rc=0$' "$SH: ... and runs"
	step 'echo "after=${AFTER-unset}"'
	mark
	like "$(pane)" '^after=yes$' "$SH: an export after it on the same line is seen by the shell"

	mkdir -p "$WS/sub"
	step 'fakeinst 0 && cd sub'
	mark
	step 'echo "pwd=$PWD"'
	mark
	like "$(pane)" "^pwd=$WS/sub\$" "$SH: a cd on the same line takes effect"
	step 'cd "$HOME/ws"'
	mark

	rm -f "$WS/copied.txt"
	step "fakeinst 0 && cp '$TEST_TMP/src.txt' '$WS/copied.txt'"
	mark
	ok "$SH: a host-only cp (from /tmp) on the line runs on the host" -- \
		grep -qx host-only "$WS/copied.txt"

	is "$(status_after 'fakeinst 0')" 0 "$SH: \$? after a sandboxed command that succeeded is 0"
	is "$(status_after 'fakeinst 3')" 3 "$SH: \$? after one that failed is its real status"
	is "$(status_after 'false || fakeinst 4')" 4 "$SH: false || risky runs the risky command, \$? is its status"
	like "$(pane)" '^fakeinst ran rc=4$' "$SH: ... and it ran"

	clear_pane
	step 'fakeinst 0 && echo "ok-after-$((6 * 7))"'
	mark
	like "$(pane)" '^ok-after-42$' "$SH: risky && echo ok: the echo runs after a success"
	is "$(status_after 'fakeinst 5 && echo not-"shown"')" 5 "$SH: risky && x: a failure is the line's status"
	unlike "$(pane)" '^not-shown$' "$SH: ... and stops the line"

	# history keeps the line as typed
	step 'fakeinst 0 && export HIST=1 # as typed'
	mark
	if [ "$SH" = bash ]; then
		step "HISTTIMEFORMAT= history >\"\$HOME/hist-$SH\""
	else
		step "fc -ln 1 >\"\$HOME/hist-$SH\""
	fi
	mark
	like "$(cat "$HOME/hist-$SH")" 'fakeinst 0 && export HIST=1 # as typed' "$SH: history has the line as typed"
	unlike "$(cat "$HOME/hist-$SH")" '__shunt_cmd' "$SH: ... never the rewrite"

	# a prompt: declined stops the line with 126; accepted runs on the
	# host and the rest of the line still runs in the shell
	clear_pane
	step 'fakeask 0 && export ASKED=yes; echo "st=$?"'
	if wait_for 'choose \[y/r/s/d/N\]'; then
		step n
		wait_for '^st=[0-9]+$'
		like "$(pane)" '^st=126$' "$SH: a declined command's status is 126"
		unlike "$(pane)" 'fakeask ran' "$SH: ... it did not run"
	else
		fail "$SH: fakeask prompts"
		diag "$(pane | tail -5)"
		skip "$SH: (same)"
	fi
	mark
	clear_pane
	step 'fakeask 0 && export ASKED=yes'
	if wait_for 'choose \[y/r/s/d/N\]'; then
		step y
		mark
		step 'echo "asked=${ASKED-unset}"'
		mark
		like "$(pane)" '^asked=yes$' "$SH: an approved command's line goes on in the shell"
	else
		fail "$SH: fakeask prompts (y)"
	fi

	# what cannot be split safely goes as a whole, as before: a loop runs
	# in the sandbox with its export
	clear_pane
	step 'for i in 1; do fakeinst 0; done; export LOOPV=1'
	mark
	like "$(pane)" 'shunt: sandboxed' "$SH: a loop with a risky command still goes through shunt (whole line)"
	like "$(pane)" '^fakeinst ran rc=0$' "$SH: ... and runs"
	step 'echo "loopv=${LOOPV-unset}"'
	mark
	like "$(pane)" '^loopv=unset$' "$SH: ... as a whole, in the sandbox (the fallback keeps its effects there)"
	stop_shell
}

line_tests

# a DEBUG trap an rc file sets after the hook is chained at the first
# prompt; bash -ic runs its command
out=$(cd "$WS" && timeout 20 bash --noprofile --rcfile "$RC" -i -c 'echo ic-ran' 2>&1 </dev/null)
like "$out" '^ic-ran$' "bash -ic with the hook runs the command"
start_shell "" "__t_dbg() { [[ \$BASH_COMMAND != 'echo dbg-probe' ]] || echo chained-trap-ran; }; trap __t_dbg DEBUG"
clear_pane
step 'echo dbg-probe'
mark
like "$(pane)" '^chained-trap-ran$' "bash: a DEBUG trap set after the hook in the rc file still runs"
stop_shell

if command -v zsh >/dev/null; then
	SH=zsh
	line_tests
else
	skip "zsh not installed: the zsh half of the line tests"
fi
hook_end
done_testing
