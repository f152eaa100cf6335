#!/usr/bin/env bash
# The bash line hook in a real interactive bash inside tmux: host lines run
# silently, risky lines are sandboxed/prompted/blocked, the line stays in
# history as typed, the shim still catches what the hook cannot see, and
# the hook coexists with a VS Code-style shell integration.
. "$(dirname "$0")/../lib.sh"
SH=${HOOK_SHELL:-bash}
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"
. "$TOP/tests/fixtures/shell/tmux-prompt-tests.sh"

hook_begin
if [ -n "${HOOK_SKIP_ALL:-}" ]; then
	skip "$HOOK_SKIP_ALL"
	done_testing
	exit
fi
hook_common_tests

# --- bash specifics -------------------------------------------------------
start_shell
# history keeps the line as typed even when shunt ran it
if [ "$(decision 'rm -rf ~/hist-victim')" != host ]; then
	step 'SHUNT_DRY_RUN=1; export SHUNT_DRY_RUN'
	step 'rm -rf ~/hist-victim  # as typed'
	mark
	step 'HISTTIMEFORMAT= history >"$HOME/last-hist"'
	mark
	like "$(cat "$HOME/last-hist" 2>/dev/null)" 'rm -rf ~/hist-victim  # as typed' \
		"bash: a line shunt handled stays in history as typed"
	step 'unset SHUNT_DRY_RUN'
	mark
else
	skip "bash: history check needs a non-host decision for rm -rf outside the workspace"
fi

# multi-line input and functions: a host function's body is not re-decided
step 'f() { echo "in-f-$((1+1))"; }'
step 'f; echo after-f'
mark
like "$(pane)" 'in-f-2' "bash: functions run"
like "$(pane)" 'after-f' "bash: the rest of the line runs"
step 'for i in 1 2; do'
step 'echo "loop-$i"'
step 'done'
mark
like "$(pane)" 'loop-2' "bash: multi-line input runs (as one line)"

# PROMPT_COMMAND array form (bash 5.1+) keeps working and shunt stays first
if ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))); then
	step 'PROMPT_COMMAND=("${PROMPT_COMMAND[@]}" "echo pc-array-ran >>\"\$HOME/pc.log\"")'
	step 'true'
	mark
	ok "bash: array PROMPT_COMMAND entries still run" -- grep -q pc-array-ran "$HOME/pc.log"
else
	skip "bash: PROMPT_COMMAND arrays need bash 5.1"
fi
stop_shell

hook_serve_tests
hook_vscode_tests
hook_prompt_end_tests
hook_long_line_tests
hook_end
done_testing
