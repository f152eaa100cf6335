#!/usr/bin/env bash
# shunt install vscode|editors|cursor|EDITOR: every VS Code-family editor
# found for the user (or named) gets the shim and SHUNT_EDITOR_TERMINAL in
# its own settings.json, and ~/.bashrc a block that loads the line hook in
# those terminals only. Then, where the tools are installed (install.sh puts
# them in /opt/shunt-test-tools), a real code-server driven from headless
# Chromium: `rm -rf ~`-style and `curl ... | sh` lines typed in its terminal
# are caught and logged, a harmless line runs.
. "$(dirname "$0")/../lib.sh"
setup_home
FIX=$TOP/tests/fixtures/vscode
unset SHUNT_EDITOR_TERMINAL VSCODE_AGENT_FOLDER USER_ZDOTDIR ZDOTDIR
export SHELL=/bin/bash

# --- every editor's settings file, found by its folder
mkdir -p "$XDG_CONFIG_HOME/Code" "$XDG_CONFIG_HOME/VSCodium" "$XDG_CONFIG_HOME/Cursor" \
	"$XDG_CONFIG_HOME/Windsurf" "$XDG_DATA_HOME/code-server" "$HOME/.vscode-server" \
	"$HOME/.vscodium-server" "$HOME/.cursor-server" "$HOME/.windsurf-server" \
	"$HOME/.openvscode-server"
declare -A P=(
	[vscode]=$XDG_CONFIG_HOME/Code/User/settings.json
	[vscodium]=$XDG_CONFIG_HOME/VSCodium/User/settings.json
	[cursor]=$XDG_CONFIG_HOME/Cursor/User/settings.json
	[windsurf]=$XDG_CONFIG_HOME/Windsurf/User/settings.json
	[code-server]=$XDG_DATA_HOME/code-server/User/settings.json
	[vscode-server]=$HOME/.vscode-server/data/Machine/settings.json
	[vscodium-server]=$HOME/.vscodium-server/data/Machine/settings.json
	[cursor-server]=$HOME/.cursor-server/data/Machine/settings.json
	[windsurf-server]=$HOME/.windsurf-server/data/Machine/settings.json
	[openvscode-server]=$HOME/.openvscode-server/data/Machine/settings.json
)
# one of them already has the user's settings with comments and trailing commas
mkdir -p "$(dirname "${P[vscode-server]}")"
cp "$FIX/settings-comments.json" "${P[vscode-server]}"
printf '# my bashrc\nalias ll="ls -l"\n' >"$HOME/.bashrc"
cp "$HOME/.bashrc" "$TEST_TMP/bashrc.orig"

"$SHUNT" install vscode --dry-run >"$TEST_TMP/out" 2>&1
is "$?" 0 "--dry-run succeeds"
like "$(cat "$TEST_TMP/out")" '^\+.*SHUNT_EDITOR_TERMINAL' "--dry-run shows the settings change"
like "$(cat "$TEST_TMP/out")" '^\+.*init bash' "--dry-run shows the rc change"
ok "--dry-run created no settings file" -- test ! -e "${P[vscode]}"
cmp -s "$HOME/.bashrc" "$TEST_TMP/bashrc.orig"
ok "--dry-run left ~/.bashrc alone" -- test $? -eq 0

"$SHUNT" install vscode --yes --json >"$TEST_TMP/json" 2>"$TEST_TMP/err"
is "$?" 0 "install vscode --yes --json succeeds"
for ed in "${!P[@]}"; do
	f=${P[$ed]}
	like "$(cat "$f" 2>/dev/null)" '"LD_PRELOAD": ".*libshunt-preload\.so"' "$ed: $f carries the shim"
	like "$(cat "$f" 2>/dev/null)" "\"SHUNT_EDITOR_TERMINAL\": \"$ed\"" "$ed: the terminal is marked as $ed's"
done
is "$(stat -c %a "${P[code-server]}")" 600 "a new settings.json is mode 0600"
if command -v python3 >/dev/null; then
	python3 - "$TEST_TMP/json" "$HOME" <<'EOF' >"$TEST_TMP/py" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
home = sys.argv[2]
s = sorted((f["editor"], f["result"], f["path"].replace(home, "~")) for f in d["files"] if f["kind"] == "settings")
r = [(f["shell"], f["result"], f["path"].replace(home, "~")) for f in d["files"] if f["kind"] == "rc"]
print(len(s), all(x[1] == "updated" for x in s), r, "pipeline" in " ".join(d["uncovered"]))
EOF
	is "$(cat "$TEST_TMP/py")" "10 True [('bash', 'updated', '~/.bashrc')] True" \
		"--json lists the 10 settings files and ~/.bashrc as updated, and what is left uncovered"
else
	skip "python3 not available to parse --json"
fi
like "$(cat "$TEST_TMP/err")" 'not covered: .*pipeline' "it says plainly what is left uncovered"
like "$(cat "$HOME/.bashrc")" 'SHUNT_EDITOR_TERMINAL.*init bash' "~/.bashrc loads the hook in editor terminals"
is "$(sed -n 1,2p "$HOME/.bashrc")" "$(cat "$TEST_TMP/bashrc.orig")" "~/.bashrc: the user's lines are untouched"
like "$(cat "${P[vscode-server]}")" '"editor.fontSize": 14' "the user's settings are kept"

# the gate: an editor terminal's interactive bash gets the hook, another doesn't
out=$(SHUNT_EDITOR_TERMINAL=code-server bash --noprofile --rcfile "$HOME/.bashrc" -i -c 'type -t __shunt_debug' 2>&1 </dev/null)
like "$out" 'function' "bash in an editor terminal loads the line hook"
out=$(bash --noprofile --rcfile "$HOME/.bashrc" -i -c 'type -t __shunt_debug || echo none' 2>&1 </dev/null)
like "$out" 'none' "bash elsewhere does not"

# idempotent
for ed in "${!P[@]}"; do cp "${P[$ed]}" "$TEST_TMP/after.$ed"; done
cp "$HOME/.bashrc" "$TEST_TMP/bashrc.after"
"$SHUNT" install editors --yes >/dev/null 2>&1
same=1
for ed in "${!P[@]}"; do cmp -s "${P[$ed]}" "$TEST_TMP/after.$ed" || same=0; done
cmp -s "$HOME/.bashrc" "$TEST_TMP/bashrc.after" || same=0
is "$same" 1 "a second install changes nothing (byte-identical)"

# uninstall of one editor keeps the rc gate (others still use it)
"$SHUNT" install --editor cursor-server --uninstall --yes >/dev/null 2>&1
unlike "$(cat "${P[cursor-server]}")" 'LD_PRELOAD' "--editor cursor-server --uninstall removes its block"
like "$(cat "${P[cursor]}")" 'LD_PRELOAD' "and leaves desktop Cursor's"
like "$(cat "$HOME/.bashrc")" 'SHUNT_EDITOR_TERMINAL' "the rc gate stays while other editors use it"

# uninstall: exactly the original bytes back
"$SHUNT" install vscode --uninstall --yes --json >"$TEST_TMP/json" 2>/dev/null
is "$?" 0 "uninstall succeeds"
cmp -s "${P[vscode-server]}" "$FIX/settings-comments.json"
ok "uninstall restores the user's settings.json exactly" -- test $? -eq 0
cmp -s "$HOME/.bashrc" "$TEST_TMP/bashrc.orig"
ok "uninstall restores ~/.bashrc exactly" -- test $? -eq 0
left=$(grep -l 'shunt' "${P[@]}" 2>/dev/null)
is "$left" "" "no settings file keeps a shunt block"
like "$(cat "$TEST_TMP/json")" '"result":"removed"' "--json reports the removals"

# code-server's --user-data-dir from its config.yaml
rm -rf "$XDG_DATA_HOME/code-server"
mkdir -p "$XDG_CONFIG_HOME/code-server"
printf 'bind-addr: 127.0.0.1:8080\nauth: none\nuser-data-dir: "~/cs data" # mine\n' \
	>"$XDG_CONFIG_HOME/code-server/config.yaml"
"$SHUNT" install code-server --yes >/dev/null 2>&1
like "$(cat "$HOME/cs data/User/settings.json" 2>/dev/null)" 'SHUNT_EDITOR_TERMINAL' \
	"code-server: the user-data-dir from config.yaml is honoured"
"$SHUNT" install code-server --uninstall --yes >/dev/null 2>&1

# cursor: only its family; nothing found: the desktop app, as before
rm -rf "$XDG_CONFIG_HOME/Cursor" "$HOME/.cursor-server"
"$SHUNT" install cursor --yes --json >"$TEST_TMP/json" 2>/dev/null
like "$(cat "$TEST_TMP/json")" '"editor":"cursor"' "cursor with nothing found: desktop Cursor"
unlike "$(cat "$TEST_TMP/json")" '"editor":"(vscode|code-server)"' "cursor touches only Cursor"
"$SHUNT" install cursor --uninstall --yes >/dev/null 2>&1

# zsh: a user with a ~/.zshrc gets the gate there too
if command -v zsh >/dev/null; then
	printf '# my zshrc\n' >"$HOME/.zshrc"
	"$SHUNT" install --editor vscode --yes >/dev/null 2>&1
	like "$(cat "$HOME/.zshrc")" 'SHUNT_EDITOR_TERMINAL.*init zsh' "~/.zshrc loads the hook in editor terminals"
	out=$(SHUNT_EDITOR_TERMINAL=vscode ZDOTDIR=$HOME zsh -i -c 'whence -w __shunt_decide_line' 2>&1 </dev/null)
	like "$out" 'function' "zsh in an editor terminal loads the line hook"
	"$SHUNT" install --editor vscode --uninstall --yes >/dev/null 2>&1
	is "$(cat "$HOME/.zshrc")" "# my zshrc" "uninstall restores ~/.zshrc"
	rm -f "$HOME/.zshrc"
else
	skip "zsh not installed"
fi

# the user already has `shunt install bash`: no second hook loader
"$SHUNT" install bash >/dev/null 2>&1
cp "$HOME/.bashrc" "$TEST_TMP/bashrc.withhook"
"$SHUNT" install vscode --yes >"$TEST_TMP/out" 2>&1
cmp -s "$HOME/.bashrc" "$TEST_TMP/bashrc.withhook"
ok "a ~/.bashrc that loads shunt already gets no gate" -- test $? -eq 0
like "$(cat "$TEST_TMP/out")" 'loads the hook already' "and says so"
"$SHUNT" install vscode --uninstall --yes >/dev/null 2>&1
"$SHUNT" install bash --uninstall >/dev/null 2>&1

"$SHUNT" install --editor nosuch --yes >/dev/null 2>&1
is "$?" 2 "an unknown editor name is a usage error"

# --- a real code-server in headless Chromium
TOOLS=${SHUNT_TEST_TOOLS:-/opt/shunt-test-tools}
tool() { # the newest complete install of $1 (install.sh marks it .complete)
	local d
	d=$(ls -d "$TOOLS"/"$1"-*/.complete 2>/dev/null | sort -V | tail -1)
	[ -n "$d" ] && echo "${d%/.complete}"
}
NODE=$(tool node) && NODE=$NODE/node_modules/.bin
CS=$(tool code-server) && CS=$CS/node_modules/code-server
PUP=$(tool puppeteer-core) && PUP=$PUP/node_modules
CHROME=$(command -v chromium || command -v chromium-browser)
if [ "${SHUNT_TEST_CODESERVER:-}" != 1 ]; then
	# Opt-in for now: in code-server's terminal (VS Code's shell integration
	# loaded next to the hook) a typed line is sometimes replaced by an older
	# history line, so a session does not finish every time. See the report
	# in tests/tools/editors_codeserver.sh.
	skip "the code-server session runs with SHUNT_TEST_CODESERVER=1 (typed lines replaced by history lines: not reliable yet)"
	done_testing
	exit 0
fi
if [ -z "$NODE" ] || [ -z "$CS" ] || [ -z "$PUP" ] || [ -z "$CHROME" ]; then
	skip "code-server, node 24, puppeteer-core or chromium missing (./install.sh as root puts them in $TOOLS)"
	done_testing
	exit 0
fi
if [ "${SHUNT_UNPRIV:-}" = 1 ] && [ ! -w /dev/shm ]; then
	skip "no writable /dev/shm for chromium as this user"
	done_testing
	exit 0
fi
. "$TOP/tests/tools/editors_codeserver.sh"
done_testing
