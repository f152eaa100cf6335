#!/usr/bin/env bash
# Issue 22 items 2 and 5. A tool's own execs inherit the decision made for
# the tool (SHUNT_DECIDED, policy/inherit.h): `git stash` and `git stash
# pop` under the shim run exactly as without shunt, with no terminal and
# in an interactive bash (tmux), while a risky internal exec is still
# judged alone and a forged record buys nothing. One exec gets one
# decision whichever layer sees it (policy/exec_views.h): npm through its
# symlink, node running npm-cli.js, node_modules/.bin links and pyenv
# shims are decided as the tool, and `shunt explain --shim` agrees with
# the hook. Destructive cases run in a throwaway mount namespace whose
# $HOME is a tmpfs, as in shim.sh.
. "$(dirname "$0")/../lib.sh"

if [ -z "${INHERIT_TEST_IN_NS:-}" ]; then
	if [ ! -f "$SHIM" ] || [ ! -x "$SHUNT" ]; then
		fail "shim and shunt are built ($SHIM, $SHUNT)"
		done_testing
		exit 1
	fi
	if unshare -Urm true 2>/dev/null; then
		INHERIT_TEST_IN_NS=1 exec unshare -Urm bash "$0" "$@"
	fi
	INHERIT_TEST_IN_NS=none
fi

setup_home
if [ "$INHERIT_TEST_IN_NS" = 1 ]; then
	mount -t tmpfs -o mode=755 tmpfs "$HOME" || { fail "tmpfs on \$HOME"; done_testing; exit 1; }
	mkdir -p "$XDG_CONFIG_HOME"
else
	diag "no user namespaces here: running in a throwaway \$HOME without a private mount"
fi
AUDIT=$XDG_STATE_HOME/shunt/audit.jsonl
WORK=$HOME/work
mkdir -p "$WORK"
cd "$WORK" || exit 1
unset CI
# the shim writes its snapshot on the first shunt run; make it now
"$SHUNT" snapshot >/dev/null 2>&1

audit_has() { if [ -f "$AUDIT" ]; then grep -c -- "$1" "$AUDIT" || true; else echo 0; fi; }
# no controlling terminal, stdin not a terminal: an agent's bash -c
noterm() { setsid -w "$@" </dev/null; }
# commit hashes and dates differ between two repositories
nohash() { sed -E 's/[0-9a-f]{7,40}/H/g'; }

if ! command -v git >/dev/null; then
	skip "git not installed"
	done_testing
	exit
fi
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
export GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
make_repo() {
	rm -rf "$1"
	git init -q "$1" && (cd "$1" && echo one >f && git add f && git commit -qm one && echo two >f)
}

# ---- git stash / pop with no terminal: identical with and without the shim ----
STASH='git stash; echo "rc=$?"; cat f; git stash list | wc -l; git stash pop; echo "rc=$?"; cat f; git stash list | wc -l'
make_repo "$WORK/plain"
make_repo "$WORK/shim"
plain=$(cd "$WORK/plain" && noterm bash -c "$STASH" 2>&1 | nohash)
before=$(audit_has 'reset --hard')
shimmed=$(cd "$WORK/shim" && LD_PRELOAD=$SHIM noterm bash -c "$STASH" 2>&1 | nohash)
is "$shimmed" "$plain" "git stash + pop with no terminal: output and exit codes as without shunt"
is "$(cat "$WORK/shim/f")" two "git stash + pop: the change is back in the worktree"
is "$(audit_has 'reset --hard')" "$before" \
	"git stash: its internal reset --hard was not re-routed (no decision of its own)"
# the same through `git stash push -u`: git runs its own `clean` as well
make_repo "$WORK/plain"
make_repo "$WORK/shim"
touch "$WORK/plain/untracked" "$WORK/shim/untracked"
STASHU='git stash push -u -q; echo "rc=$?"; ls; git stash pop -q; echo "rc=$?"; ls'
plain=$(cd "$WORK/plain" && noterm bash -c "$STASHU" 2>&1 | nohash)
shimmed=$(cd "$WORK/shim" && LD_PRELOAD=$SHIM noterm bash -c "$STASHU" 2>&1 | nohash)
is "$shimmed" "$plain" "git stash -u + pop: as without shunt"

# ---- what is still judged alone ----
make_repo "$WORK/r"
cd "$WORK/r" || exit 1
CANARY=$HOME/canary
reset_canary() { rm -rf "$CANARY"; mkdir -p "$CANARY"; echo precious >"$CANARY/file"; }
reset_canary
before=$(audit_has canary)
out=$(LD_PRELOAD=$SHIM noterm git -c "alias.x=!rm -rf $CANARY" x 2>&1)
ok "a git alias running rm -rf is still caught inside git (canary survives)" -- test -f "$CANARY/file"
ok "... and its decision is in the audit log" -- test "$(audit_has canary)" -gt "$before"
before=$(audit_has 'git reset --hard')
out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm git -c 'alias.y=!git reset --hard' y 2>&1)
is "$(cat f)" two "a git alias running git reset --hard through sh is judged alone (dry run: nothing reset)"
ok "... and decided on its own (audit)" -- test "$(audit_has 'git reset --hard')" -gt "$before"
if command -v make >/dev/null; then
	printf 'all:\n\trm -rf %s\n' "$CANARY" >"$WORK/Makefile.rm"
	reset_canary
	out=$(LD_PRELOAD=$SHIM noterm bash -c "make -s -f '$WORK/Makefile.rm'" 2>&1)
	ok "make whose recipe does rm -rf is still caught (canary survives)" -- test -f "$CANARY/file"
	printf 'all:\n\tgit reset --hard\n' >"$WORK/Makefile.reset"
	before=$(audit_has 'git reset --hard')
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm bash -c "make -s -f '$WORK/Makefile.reset'" 2>&1)
	is "$(cat f)" two "make running git reset --hard: judged alone"
	ok "... its decision is in the audit log" -- test "$(audit_has 'git reset --hard')" -gt "$before"
else
	skip "make not installed"
	skip "make not installed"
	skip "make not installed"
	skip "make not installed"
fi
# a forged record: it names git and claims a high risk was accepted
GIT=$(command -v git)
forged="1:s:3:1:$(printf %x "$(stat -L -c %d "$GIT")"):$(printf %x "$(stat -L -c %i "$GIT")")"
before=$(audit_has 'git reset --hard')
out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm bash -c "export SHUNT_DECIDED=$forged; git reset --hard" 2>&1)
is "$(cat f)" two "a record a shell sets itself gives its own execs nothing"
ok "... the exec is decided on its own" -- test "$(audit_has 'git reset --hard')" -gt "$before"
before=$(audit_has 'git clean')
out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm env "SHUNT_DECIDED=$forged" git -c 'alias.z=!git clean -fdx' z 2>&1)
ok "a forged record handed to git is replaced at its exec: git's sh -c child is judged alone" -- \
	test "$(audit_has 'git clean')" -gt "$before"
rec=$(LD_PRELOAD=$SHIM noterm env SHUNT_DECIDED=1:s:3:1:1:1 sh -c 'echo $SHUNT_DECIDED')
like "$rec" '^1:s:0:0:[0-9a-f]+:[0-9a-f]+$' "the command gets its own record (low risk), not the one it was given"
rec=$(LD_PRELOAD=$SHIM noterm bash -c 'sh -c "echo \$SHUNT_DECIDED"; sh -c "echo \$SHUNT_DECIDED"')
is "$(printf '%s\n' "$rec" | sort -u | wc -l | tr -d ' ')" 1 \
	"the cached exec path writes the same record as the core"
like "$(printf '%s\n' "$rec" | head -1)" "^1:s:0:0:$(printf %x "$(stat -L -c %d /bin/sh)"):$(printf %x "$(stat -L -c %i /bin/sh)")\$" \
	"the record names the file that was exec'd"
cd "$WORK" || exit 1

# ---- one exec, one decision ----
decided() { # decided PATTERN: the last audit record matching it
	[ -f "$AUDIT" ] && grep -- "$1" "$AUDIT" | tail -1
}
if command -v npm >/dev/null && command -v node >/dev/null; then
	mkdir -p "$WORK/proj" && cd "$WORK/proj" || exit 1
	# exec'd straight from a shimmed process (no shell line for the lexer
	# to read); should npm run on the host after all, it fails fast
	export npm_config_registry=http://127.0.0.1:9/ npm_config_fetch_retries=0 npm_config_audit=false
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm npm install left-pad 2>&1)
	like "$(decided '"source":"shim".*npm install left-pad')" '"action":"sandbox".*"npm-install"' \
		"shim alone: npm install left-pad (a symlink to npm-cli.js) is sandboxed, as by the hook"
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm node "$(command -v npm)" install is-odd 2>&1)
	like "$(decided '"source":"shim".*install is-odd')" '"action":"sandbox".*"npm-install"' \
		"node running npm's launcher is decided as npm"
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm npx cowsay hi 2>&1)
	like "$(decided '"source":"shim".*cowsay hi')" '"action":"sandbox".*"npx-package"' \
		"npx (a symlink to npx-cli.js) is decided as npx"
	is "$(LD_PRELOAD=$SHIM noterm npm --version 2>&1)" "$(noterm npm --version 2>&1)" \
		"npm --version runs on the host exactly as without the shim"
	mkdir -p node_modules/yarn/bin node_modules/.bin
	printf '#!/bin/sh\necho yarn-ran "$@"\n' >node_modules/yarn/bin/yarn.js
	chmod +x node_modules/yarn/bin/yarn.js
	ln -sf ../yarn/bin/yarn.js node_modules/.bin/yarn
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm ./node_modules/.bin/yarn add react 2>&1)
	unlike "$out" 'yarn-ran' "a node_modules/.bin link is decided by its name: yarn add is not run on the host"
	like "$(decided '"source":"shim".*add react')" '"action":"sandbox"' "... it is sandboxed"
	# shunt explain --shim and the hook give the same action
	for line in 'npm install left-pad' 'npm run build' 'npx cowsay' 'npm --version' \
		'python3 -m pip install flask' 'git status'; do
		read -ra av <<<"$line"
		shim=$("$SHUNT" explain --shim --json -- "${av[@]}" 2>/dev/null |
			sed -n 's/.*"decision":{"action":"\([a-z]*\)".*/\1/p')
		hook=$("$SHUNT" check --json --source hook --interactive -c "$line" 2>/dev/null |
			sed -n 's/.*"action":"\([a-z]*\)".*/\1/p')
		is "$shim" "$hook" "explain --shim and the hook agree on '$line' ($hook)"
		ok "... and it has an answer" -- test -n "$shim"
	done
	txt=$("$SHUNT" explain --shim -- npm install left-pad 2>&1)
	like "$txt" "decided as: $(command -v npm) \\(invoked\\)" "explain --shim names the name it decided on"
	like "$txt" 'shim: gate' "explain --shim says the shim re-routes it"
	like "$("$SHUNT" explain --shim --json -- node "$(command -v npm)" install x 2>&1)" \
		'"view":"launcher".*"shim":"gate"' "explain --shim --json: node npm-cli.js is npm's launcher"
	cd "$WORK" || exit 1
else
	for _ in $(seq 23); do skip "npm/node not installed"; done
fi
like "$("$SHUNT" explain --shim --json -- ls -l 2>&1)" '"shim":"host"' "explain --shim: ls runs on the host"
PYSHIM=/root/.pyenv/shims/pip
if [ -x "$PYSHIM" ] && [ -r "$PYSHIM" ]; then
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 noterm "$PYSHIM" install requests 2>&1)
	like "$(decided '"source":"shim".*install requests')" '"action":"sandbox".*"pip-install"' \
		"a pyenv shim: pip install is sandboxed by the shim"
else
	skip "no readable pyenv shim at $PYSHIM"
fi

# ---- interactive: a real bash with the hook (and so the shim) in tmux ----
SH=bash
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"
if ! command -v tmux >/dev/null; then
	skip "tmux not installed (apt-get install tmux)"
else
	TMUX_SOCK="shunt-inherit-$$"
	# inside the user namespace uid 0 is not the owner of /tmp/tmux-0
	export TMUX_TMPDIR=$TEST_TMP/tmux
	mkdir -p "$TMUX_TMPDIR" && chmod 700 "$TMUX_TMPDIR"
	T=(tmux -L "$TMUX_SOCK")
	unset TMUX
	SHELL=$(command -v bash)
	export SHELL
	trap '"${T[@]}" kill-server >/dev/null 2>&1; rm -rf "$TEST_TMP" 2>/dev/null' EXIT
	WS=$WORK/tty
	make_repo "$WS"
	MARK_N=0
	start_shell
	before=$(audit_has 'reset --hard')
	step 'git stash; echo "stash-rc=$?"'
	mark
	step 'git stash pop >/dev/null; echo "pop-rc=$?"; cat f'
	mark
	p=$(pane)
	like "$p" 'stash-rc=0' "interactive: git stash succeeds"
	like "$p" 'pop-rc=0' "interactive: git stash pop succeeds"
	unlike "$p" 'shunt:|\[y/N|approve' "interactive: no prompt and no notice from shunt"
	is "$(cat "$WS/f")" two "interactive: the change is back"
	is "$(audit_has 'reset --hard')" "$before" "interactive: the internal reset was not re-routed"
	stop_shell
fi

done_testing
