#!/usr/bin/env bash
# Rules that match a parsed command (issue 23) and effects (issue 18),
# end to end: `shunt check`/`explain --json` through the CLI, and the shim
# deciding real git commands from its snapshot: a quoted message that
# names a force push runs, a stash drop is guarded.
. "$(dirname "$0")/../lib.sh"
setup_home
WS="$TEST_TMP/ws"
mkdir -p "$WS"
cd "$WS" || exit 1

act() { "$SHUNT" check --no-interactive --json -c "$1" 2>&1 | sed -n 's/.*"action":"\([a-z]*\)".*/\1/p'; }

while IFS='|' read -r want line; do
	[ -n "$line" ] || continue
	is "$(act "$line")" "$want" "$line -> $want"
done <<'LINES'
host|git commit -m "Fix git push --force detection"
host|git add reset --hard
host|$(echo hello)
host|`echo pwd`
host|sudo ls -la
host|sudo git status
host|git rm notes.txt
sandbox|git stash drop
sandbox|git checkout -- .
sandbox|docker rm --force web
sandbox|docker rm -fv web
sandbox|docker image prune
sandbox|pip uninstall -y boto3
sandbox|rsync -a --delete src/ dst/
block|rm -rf /tmp/../etc
block|rm -rf "$TMPDIR/../etc"
block|rm -rf ./../../..
block|sudo rm -rf /etc
block|heroku apps:destroy myapp
block|git push --force origin main
LINES

# explain names the generic fallback and the pack family that would be precise
# (rancher: no pack names it; heroku has its own pack now)
out=$("$SHUNT" explain --no-interactive --json -c 'rancher cluster delete prod' 2>&1)
like "$out" '"rule":"generic-destroy-verb","effect":"remote","generic":true' "explain --json: the generic rule fired"
like "$out" '"effects":\["remote"\]' "explain --json: the effect"
out=$("$SHUNT" explain --no-interactive --json -c 'heroku apps:destroy myapp' 2>&1)
like "$out" '"rule":"heroku-destroy","effect":"remote","generic":false' "explain --json: a pack's rule, not the fallback, for a CLI with a pack"
out=$("$SHUNT" explain --no-interactive -c 'rancher cluster delete prod' 2>&1)
like "$out" "generic fallback: no rule pack covers 'rancher'" "explain says the generic rule fired"
like "$out" "effect: remote: acts on remote state" "explain says why the action fits the effect"
out=$("$SHUNT" explain --no-interactive -c 'docker rm -vf web' 2>&1)
like "$out" "matched on the parsed command" "explain marks a parsed-rule match"

# through the shim, deciding from its snapshot
if [ ! -f "$SHIM" ] || ! command -v git >/dev/null; then
	skip "shim or git missing: no end-to-end run"
else
	git init -q repo && cd repo || exit 1
	git config user.email t@example.com && git config user.name t
	echo a >f && git add f && git commit -qm init
	# bash execs git under the shim: the shim decides it (the trailing
	# true keeps bash from exec'ing git in its own place)
	LD_PRELOAD=$SHIM bash -c 'git commit -q --allow-empty -m "Fix git push --force detection"; true' </dev/null
	is "$(git log -1 --format=%s)" "Fix git push --force detection" \
		"shim: a commit whose message names a force push runs on the host"
	echo b >f && git stash -q
	LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 bash -c 'git stash drop; true' </dev/null >/dev/null 2>&1
	is "$(git stash list | wc -l)" 1 "shim: git stash drop is not run on the host"
	like "$(cat "$XDG_STATE_HOME/shunt/audit.jsonl" 2>/dev/null)" "git-stash-drop" \
		"shim: the decision names git-stash-drop"
fi

done_testing
