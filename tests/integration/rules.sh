#!/usr/bin/env bash
# shunt rules list | lint | test: exit codes, error positions with
# suggestions, regex offsets, and a backtracking rule ending in a decision.
. "$(dirname "$0")/../lib.sh"
setup_home
FIX="$TOP/tests/fixtures/rules"
cd "$TEST_TMP"

out=$("$SHUNT" rules --help); rc=$?
is "$rc" 0 "rules --help exits 0"
like "$out" "shunt rules list" "help names list"

out=$("$SHUNT" rules list); rc=$?
is "$rc" 0 "rules list exits 0"
like "$out" "rm-rf-root-or-home +critical" "list shows a built-in rule with its risk"
like "$out" "10-destructive.yaml" "list shows the source pack"
like "$out" "pack 81-cloud.yaml: [0-9]+ rules, [0-9]+ examples" "list counts each pack's rules and examples"
n=$(printf '%s\n' "$out" | tail -1 | awk '{print $1}')
ok "list counts at least 60 rules ($n)" -- test "$n" -ge 60

out=$("$SHUNT" rules list --json); rc=$?
is "$rc" 0 "rules list --json exits 0"
if command -v python3 >/dev/null; then
	ids=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin)["rules"]; print(len(d), d[0]["id"], "pack" in d[0], "risk" in d[0], "family" in d[0], "effect" in d[0])')
	like "$ids" "^[0-9]+ [a-z0-9-]+ True True True True$" "list --json is valid JSON with id, risk, pack, family, effect"
	# issue 23: each family with its rule and example counts
	fam=$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = {x["family"]: x for x in d["families"]}
total = sum(x["rules"] for x in d["families"])
c = f.get("containers", {}); v = f.get("vcs", {})
print(total == len(d["rules"]), c.get("packs"), c.get("rules"), c.get("examples", 0) >= 20, v.get("rules", 0) >= 8, "destructive" in f)')
	is "$fam" "True ['76-containers.yaml'] 4 True True True" "list --json: families (pack family: key or file name) with rule and example counts"
	fx=$(printf '%s' "$out" | python3 -c 'import json,sys; d={r["id"]: r for r in json.load(sys.stdin)["rules"]}; r=d["forge-delete"]; print(r["pack"], r["effect"], r["examples"] > 0, d["rm-rf-root-or-home"]["effect"])')
	is "$fx" "82-forge.yaml remote True local" "list --json gives each rule's effect and example count"
else
	skip "python3 not installed: cannot validate JSON"
fi

out=$("$SHUNT" rules lint 2>&1); rc=$?
is "$rc" 0 "lint of the built-in packs exits 0"
like "$out" "0 errors" "lint reports no errors"

out=$("$SHUNT" rules lint "$FIX/good.yaml" 2>&1); rc=$?
is "$rc" 0 "lint of a good pack exits 0"

# Every bad fixture states its expected message in its first line.
for f in unknown-key bad-regex bad-enum duplicate; do
	want=$(sed -n '1s/^# expect: //p' "$FIX/$f.yaml")
	out=$("$SHUNT" rules lint "$FIX/$f.yaml" 2>&1); rc=$?
	is "$rc" 2 "lint $f.yaml exits 2"
	case "$out" in
	*"$want"*) pass "lint $f.yaml: $want" ;;
	*) fail "lint $f.yaml reports file:line:col"; diag "got:  $out"; diag "want: $want" ;;
	esac
done
out=$("$SHUNT" rules lint "$FIX/unknown-key.yaml" 2>&1)
like "$out" "did you mean 'match'" "unknown key gets a suggestion"
out=$("$SHUNT" rules lint "$FIX/bad-regex.yaml" 2>&1)
like "$out" "offset [0-9]+" "invalid regex reports its offset"

out=$("$SHUNT" rules lint /nonexistent/rules.yaml 2>&1); rc=$?
is "$rc" 2 "lint of a missing file exits 2"

out=$("$SHUNT" rules test "$FIX/good.yaml"); rc=$?
is "$rc" 0 "rules test on a good pack exits 0"
like "$out" "^2 examples, 0 failed$" "test summary"

out=$("$SHUNT" rules test "$FIX/failing-example.yaml"); rc=$?
is "$rc" 1 "rules test with a wrong example exits 1"
like "$out" "FAIL fixture-wrong-example" "the failing example is named"
like "$out" "3 examples, 1 failed" "failure summary"

out=$("$SHUNT" rules test 2>&1); rc=$?
is "$rc" 0 "every example of every built-in rule holds"
printf '%s\n' "$out" | grep -E '^FAIL' | head -20 | sed 's/^/# /'
diag "$(printf '%s\n' "$out" | tail -1)"

out=$("$SHUNT" rules bogus 2>&1); rc=$?
is "$rc" 2 "unknown rules subcommand exits 2"

# Catastrophic backtracking: (a+)+$ on "aaaa...b" must hit the PCRE2 limit
# and count as a match (fail closed), not hang.
long=$(head -c 5000 /dev/zero | tr '\0' a)b
cat >"$TEST_TMP/bt.yaml" <<YAML
rules:
  - id: fixture-backtrack
    description: catastrophic backtracking
    match: '^echo (a+)+\$'
    programs: [echo]
    risk: high
    examples:
      match: ["echo $long"]
      nomatch: ["ls"]
YAML
out=$(timeout 60 "$SHUNT" rules test "$TEST_TMP/bt.yaml" 2>&1); rc=$?
is "$rc" 0 "backtracking rule: limit hit counts as a match, no hang"
like "$out" "2 examples, 0 failed" "backtracking summary"

# The same rule as a configured extra pack (config key `rules:`) decides
# something through `shunt check`. Needs the config loader.
mkdir -p "$XDG_CONFIG_HOME/shunt"
cp "$FIX/backtrack.yaml" "$TEST_TMP/backtrack.yaml"
printf 'rules: ["%s"]\n' "$TEST_TMP/backtrack.yaml" >"$XDG_CONFIG_HOME/shunt/config.yaml"
if "$SHUNT" config validate 2>&1 | grep -q 'not implemented'; then
	for t in "check ends in a decision" "limit-hit rule reported" "not host" "list includes configured files" \
		"lint of broken configured pack" "its position" "check with broken pack"; do
		skip "config loader not implemented yet: cannot configure extra rule files ($t)"
	done
else
	out=$(timeout 60 "$SHUNT" check --json -c "echo $long" 2>&1); rc=$?
	is "$rc" 0 "check with a backtracking rule ends in a decision"
	like "$out" '"fixture-backtrack"' "the limit-hit rule is reported as matched"
	like "$out" '"action":"(sandbox|prompt|block)"' "and it is not host"
	out=$("$SHUNT" rules list 2>&1)
	like "$out" "fixture-backtrack" "rules list includes configured rule files"
	# A broken configured pack is a config error everywhere: exit 2.
	printf 'rules: ["%s"]\n' "$FIX/unknown-key.yaml" >"$XDG_CONFIG_HOME/shunt/config.yaml"
	out=$("$SHUNT" rules lint 2>&1); rc=$?
	is "$rc" 2 "lint with a broken configured pack exits 2"
	like "$out" "unknown-key.yaml:6:5: unknown key 'paternn'" "and names file:line:col"
	out=$("$SHUNT" check -c ls 2>&1); rc=$?
	is "$rc" 2 "check with a broken configured pack exits 2"
fi

done_testing
