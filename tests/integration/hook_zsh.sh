#!/usr/bin/env bash
# The zsh line hook in a real interactive zsh inside tmux: the same
# scenarios as hook_bash.sh, plus history keeping the typed line and
# chaining with an existing accept-line widget and preexec/precmd hooks
# (what oh-my-zsh, powerlevel10k and VS Code's zsh integration use).
. "$(dirname "$0")/../lib.sh"
SH=zsh
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"
. "$TOP/tests/fixtures/shell/tmux-prompt-tests.sh"

hook_begin
if [ -n "${HOOK_SKIP_ALL:-}" ]; then
	skip "$HOOK_SKIP_ALL"
	done_testing
	exit
fi
hook_common_tests

# --- zsh specifics ----------------------------------------------------------
# a user accept-line wrapper and preexec/precmd hooks defined before shunt,
# plus a VS Code-like preexec/precmd pair added after it
before='
__test_accept() { print -r -- accept >>"$HOME/zle.log"; zle .accept-line; }
zle -N accept-line __test_accept
autoload -Uz add-zsh-hook
__test_preexec() { print -r -- "preexec $1" >>"$HOME/zle.log"; }
add-zsh-hook preexec __test_preexec'
after='
__vsc_like_precmd() { print -r -- precmd >>"$HOME/zle.log"; }
add-zsh-hook precmd __vsc_like_precmd'
start_shell "$before" "$after"
clear_pane
step 'echo "zsh-$((20 + 1))"'
mark
like "$(pane)" '^zsh-21$' "zsh: lines run with other accept-line/preexec/precmd users"
like "$(cat "$HOME/zle.log" 2>/dev/null)" 'accept' "zsh: the previous accept-line widget still runs"
like "$(cat "$HOME/zle.log" 2>/dev/null)" 'preexec echo "zsh-' "zsh: preexec hooks see the typed line"
like "$(cat "$HOME/zle.log" 2>/dev/null)" 'precmd' "zsh: precmd hooks still run"

if [ "$(decision 'rm -rf ~/hist-victim')" != host ]; then
	mkdir -p "$HOME/hist-victim"
	step 'export SHUNT_DRY_RUN=1'
	step 'rm -rf ~/hist-victim'
	mark
	ok "zsh: dry run left the directory" -- test -d "$HOME/hist-victim"
	like "$(cat "$TEST_TMP/zsh_history" 2>/dev/null)" 'rm -rf ~/hist-victim' \
		"zsh: a line shunt handled stays in history as typed"
	unlike "$(cat "$TEST_TMP/zsh_history" 2>/dev/null)" '__shunt_run' \
		"zsh: the rewritten buffer is not in history"
	like "$(cat "$HOME/zle.log" 2>/dev/null)" 'preexec' "zsh: preexec still runs for a handled line"
	step 'unset SHUNT_DRY_RUN'
	mark
else
	skip "zsh: history test needs a non-host decision for rm -rf ~/x"
fi
stop_shell
hook_serve_tests
hook_prompt_end_tests
hook_long_line_tests
hook_end
done_testing
