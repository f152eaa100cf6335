#!/usr/bin/env bash
# shunt config validate / show: exit codes, messages, layering and the
# workspace file that may only tighten.
. "$(dirname "$0")/../lib.sh"
setup_home
cd "$TEST_TMP"

if [ -f "$TOP/shunt.example.yaml" ]; then
	out=$("$SHUNT" config validate "$TOP/shunt.example.yaml" 2>&1); rc=$?
	is "$rc" 0 "reference config validates"
	is "$out" "ok: $TOP/shunt.example.yaml" "prints ok: FILE"
else
	skip "shunt.example.yaml is not in this copy of the tree ($TOP)"
fi

for p in developer ci-cd production; do
	out=$("$SHUNT" config validate "$TOP/presets/$p.yaml" 2>&1); rc=$?
	is "$rc" 0 "shipped preset $p.yaml validates"
done

printf 'mode: auto\nmdoe: never\n' > bad.yaml
out=$("$SHUNT" config validate bad.yaml 2>&1); rc=$?
is "$rc" 2 "unknown key exits 2"
like "$out" "bad.yaml:2:1: unknown key 'mdoe' in the configuration, did you mean 'mode'\?" "typo named with file:line:col and a suggestion"

printf 'sandbox:\n  timeout: yes\n' > type.yaml
out=$("$SHUNT" config validate type.yaml 2>&1); rc=$?
is "$rc" 2 "wrong type exits 2"
like "$out" "type.yaml:2:12: sandbox.timeout: expected an integer" "wrong type names the expected type"

printf 'sandbox:\n\truntime: process\n' > tab.yaml
out=$("$SHUNT" config validate tab.yaml 2>&1); rc=$?
is "$rc" 2 "malformed YAML exits 2"
like "$out" "tab.yaml:2:1: YAML syntax error" "syntax error has file:line:col"

out=$("$SHUNT" config validate "$TOP/presets/developer.yaml" bad.yaml 2>&1); rc=$?
is "$rc" 2 "one bad file among several exits 2"
like "$out" "ok: .*developer.yaml" "the good file is still reported ok"

out=$("$SHUNT" config validate missing.yaml 2>&1); rc=$?
is "$rc" 2 "a missing file given explicitly exits 2"

# Layers from the environment: user config, then $SHUNT_CONFIG.
mkdir -p "$XDG_CONFIG_HOME/shunt"
printf 'mode: risky\npolicies:\n  allowlist: ["make *"]\n  denylist: ["from-user"]\n' > "$XDG_CONFIG_HOME/shunt/config.yaml"
printf 'security_level: strict\npolicies:\n  allowlist: ["npm test"]\n  denylist: ["from-env"]\n' > env.yaml
export SHUNT_CONFIG="$TEST_TMP/env.yaml"
json=$("$SHUNT" config show --json); rc=$?
is "$rc" 0 "config show --json exits 0"
like "$json" '"mode":"risky"' "user layer applied"
like "$json" '"security_level":"strict"' "SHUNT_CONFIG layer applied"
like "$json" '"allowlist":\["npm test"\]' "later allowlist replaces the earlier one"
like "$json" '"denylist":\["from-user","from-env"\]' "denylists accumulate"
out=$("$SHUNT" config validate 2>&1); rc=$?
is "$rc" 0 "validate with no FILE checks all layers"
like "$out" "ok: $XDG_CONFIG_HOME/shunt/config.yaml" "user layer reported"
like "$out" "ok: $TEST_TMP/env.yaml" "SHUNT_CONFIG layer reported"

# The workspace file tries to loosen and to tighten.
mkdir -p repo/.git repo/sub
printf 'mode: never\npolicies:\n  allowlist: ["rm -rf ~"]\n  denylist: ["make deploy*"]\n' > repo/.shunt.yaml
cd repo/sub
json=$("$SHUNT" config show --json 2>err.txt); rc=$?
is "$rc" 0 "show with a loosening workspace file still exits 0"
like "$json" '"allowlist":\["npm test"\]' "workspace cannot add rm -rf ~ to the allowlist"
like "$json" '"mode":"risky"' "workspace cannot set mode never"
like "$json" '"make deploy\*"' "workspace denylist entry is added"
like "$(cat err.txt)" "shunt: warning: .*repo/.shunt.yaml:3:14: policies.allowlist ignored: a workspace file may only tighten policy" "warning on stderr with file:line:col"
yaml=$("$SHUNT" config show 2>/dev/null)
like "$yaml" "mode: risky" "YAML show works"
like "$yaml" "# warning: .*policies.allowlist ignored" "YAML show lists the warning"
if "$SHUNT" check --help >/dev/null 2>&1; then
	d=$("$SHUNT" check --json -c 'rm -rf ~' 2>/dev/null)
	unlike "$d" '"action":"host"' "rm -rf ~ is not run on the host despite the workspace allowlist attempt"
fi
printf 'mode: never\npolicy: {}\n' > ../.shunt.yaml
out=$("$SHUNT" config show 2>&1); rc=$?
is "$rc" 2 "bad key in the workspace file exits 2"
like "$out" "\.shunt\.yaml:2:1: unknown key 'policy' in the configuration, did you mean 'policies'\?" "workspace typo reported"
cd "$TEST_TMP"

unset SHUNT_CONFIG
export SHUNT_CONFIG="$TEST_TMP/nope.yaml"
out=$("$SHUNT" config show 2>&1); rc=$?
is "$rc" 2 "missing \$SHUNT_CONFIG file exits 2"
unset SHUNT_CONFIG

out=$("$SHUNT" config --help); rc=$?
is "$rc" 0 "config --help exits 0"
like "$out" "shunt config validate" "config --help shows usage"
out=$("$SHUNT" config validate --help); is "$?" 0 "config validate --help"
out=$("$SHUNT" config show --help); is "$?" 0 "config show --help"
"$SHUNT" config frob >/dev/null 2>&1; is "$?" 2 "unknown subcommand exits 2"
# The per-user snapshot serves one set of config layers: another
# XDG_CONFIG_HOME (or SHUNT_CONFIG) over the same state directory must not
# reuse it, even when its files are older than the snapshot.
CFG_A=$TEST_TMP/cfg-a CFG_B=$TEST_TMP/cfg-b
mkdir -p "$CFG_A/shunt" "$CFG_B/shunt"
printf 'policies:\n  denylist: ["echo layer-a-only*"]\n' >"$CFG_A/shunt/config.yaml"
touch -d '2 hours ago' "$CFG_B/shunt" "$CFG_B" # B: no config, nothing newer than the snapshot
mkdir -p ws-snap && cd ws-snap || exit 1
act() { XDG_CONFIG_HOME=$1 "$SHUNT" check -c 'echo layer-a-only x' 2>&1 | head -1 | cut -d: -f1; }
is "$(act "$CFG_A")" block "config A denylists the line (and writes the snapshot)"
ok "the snapshot exists" test -f "$XDG_STATE_HOME/shunt/policy.snap"
is "$(act "$CFG_B")" host "config B (older files, same state dir) does not inherit A's snapshot"
is "$(act "$CFG_A")" block "back to config A: denied again"
XDG_CONFIG_HOME=$CFG_B "$SHUNT" snapshot >/dev/null 2>&1
is "$(act "$CFG_A")" block "after 'shunt snapshot' under config B, A's decision still holds"
is "$(act "$CFG_B")" host "and B's too"
cd "$TEST_TMP" || exit 1

done_testing
