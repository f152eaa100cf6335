#!/usr/bin/env bash
# shunt install: editor settings keep every other byte, a second run changes
# nothing, --uninstall restores the original exactly; same for rc files.
. "$(dirname "$0")/../lib.sh"
setup_home
FIX=$TOP/tests/fixtures/vscode

# --- VS Code settings with comments and trailing commas
S=$XDG_CONFIG_HOME/Code/User/settings.json
mkdir -p "$(dirname "$S")"
cp "$FIX/settings-comments.json" "$S"
chmod 640 "$S"
"$SHUNT" install vscode --yes >"$TEST_TMP/out" 2>&1
is "$?" 0 "install vscode --yes succeeds"
like "$(cat "$S")" '"LD_PRELOAD": ".*libshunt-preload\.so"' "settings carry the shim in LD_PRELOAD"
like "$(cat "$S")" '"SHUNT_BIN": ".*/shunt"' "settings carry SHUNT_BIN"
# the diff against the original only adds lines: one contiguous block
d=$(diff "$FIX/settings-comments.json" "$S")
unlike "$(printf '%s\n' "$d" | grep '^[<>-]' | grep -v '^>')" '.' "diff shows only added lines"
is "$(printf '%s\n' "$d" | grep -c '^[0-9]*a[0-9,]*$')" 1 "the added lines are one block"
like "$d" 'terminal\.integrated\.env\.linux' "the block sets terminal.integrated.env.linux"
is "$(stat -c %a "$S")" 640 "file mode kept"
ls "$S".shunt-backup-* >/dev/null 2>&1
ok "a backup was written" -- test $? -eq 0
cmp -s "$(ls "$S".shunt-backup-* | head -1)" "$FIX/settings-comments.json"
ok "the backup holds the original bytes" -- test $? -eq 0
if command -v python3 >/dev/null; then
	# strip comments and trailing commas, then it must be plain JSON with the values
	python3 - "$S" <<'EOF' >"$TEST_TMP/py" 2>&1
import json, re, sys
t = open(sys.argv[1]).read()
out, i, n = [], 0, len(t)
while i < n:
    c = t[i]
    if c == '"':
        j = i + 1
        while t[j] != '"':
            j += 2 if t[j] == '\\' else 1
        out.append(t[i:j + 1]); i = j + 1
    elif t.startswith('//', i):
        while i < n and t[i] != '\n': i += 1
    elif t.startswith('/*', i):
        i = t.index('*/', i) + 2
    else:
        out.append(c); i += 1
s = re.sub(r',(\s*[}\]])', r'\1', ''.join(out))
d = json.loads(s)
print(d["terminal.integrated.env.linux"]["LD_PRELOAD"], d["editor.fontSize"], d["url"])
EOF
	like "$(cat "$TEST_TMP/py")" 'libshunt-preload\.so 14 http://example\.com/\*not a comment\*/' \
		"result parses as JSONC with the old settings intact"
else
	skip "python3 not available to parse the result"
fi
cp "$S" "$TEST_TMP/after1"
"$SHUNT" install vscode --yes >/dev/null 2>&1
cmp -s "$S" "$TEST_TMP/after1"
ok "a second install changes nothing (byte-identical)" -- test $? -eq 0
"$SHUNT" install vscode --uninstall --yes >/dev/null 2>&1
cmp -s "$S" "$FIX/settings-comments.json"
ok "--uninstall restores the original exactly" -- test $? -eq 0

# without a terminal and without --yes: refuse, file untouched
cp "$FIX/settings-comments.json" "$S"
setsid "$SHUNT" install vscode </dev/null >"$TEST_TMP/out" 2>&1
rc=$?
ok "no terminal and no --yes: refused" -- test $rc -ne 0
like "$(cat "$TEST_TMP/out")" '\-\-yes' "the refusal says to use --yes"
like "$(cat "$TEST_TMP/out")" '^\+.*LD_PRELOAD' "the diff was shown first"
cmp -s "$S" "$FIX/settings-comments.json"
ok "refused install left the file alone" -- test $? -eq 0

# --dry-run shows the diff and writes nothing
"$SHUNT" install vscode --dry-run >"$TEST_TMP/out" 2>&1
like "$(cat "$TEST_TMP/out")" '^\+.*SHUNT_BIN' "--dry-run shows the change"
cmp -s "$S" "$FIX/settings-comments.json"
ok "--dry-run writes nothing" -- test $? -eq 0

# the user's own env entries stay; a conflicting LD_PRELOAD is refused
cp "$FIX/settings-env.json" "$S"
"$SHUNT" install vscode --yes >/dev/null 2>&1
like "$(cat "$S")" '"FOO": "bar", // the user' "existing env entries kept"
is "$(grep -c 'terminal.integrated.env.linux' "$S")" 1 "one env object, not a duplicate key"
"$SHUNT" install vscode --uninstall --yes >/dev/null 2>&1
cmp -s "$S" "$FIX/settings-env.json"
ok "uninstall restores the env fixture" -- test $? -eq 0
cp "$FIX/settings-conflict.json" "$S"
"$SHUNT" install vscode --yes >"$TEST_TMP/out" 2>&1
ok "the user's own LD_PRELOAD: refused" -- test $? -ne 0
cmp -s "$S" "$FIX/settings-conflict.json"
ok "refused: file untouched" -- test $? -eq 0
cp "$FIX/settings-broken.json" "$S"
"$SHUNT" install vscode --yes >"$TEST_TMP/out" 2>&1
ok "invalid settings.json: refused" -- test $? -ne 0
like "$(cat "$TEST_TMP/out")" 'line [0-9]+, column [0-9]+' "the error gives line and column"

# cursor and a missing file
C=$XDG_CONFIG_HOME/Cursor/User/settings.json
"$SHUNT" install cursor --yes >/dev/null 2>&1
ok "cursor: settings.json created" -- test -f "$C"
like "$(cat "$C" 2>/dev/null)" 'LD_PRELOAD' "cursor: env set"

# --- bash rc
RC=$HOME/.bashrc
printf '# my bashrc\nalias ll="ls -l"\n' >"$RC"
cp "$RC" "$TEST_TMP/rc.orig"
"$SHUNT" install bash >/dev/null 2>&1
is "$?" 0 "install bash succeeds"
like "$(cat "$RC")" "eval \"\\\$\\('.*/shunt' init bash\\)\"" "rc has the eval line"
is "$(sed -n 1,2p "$RC")" "$(cat "$TEST_TMP/rc.orig")" "rc: original lines untouched"
is "$(grep -c '^# >>> shunt >>>$' "$RC")" 1 "rc: one marker block"
ls "$RC".shunt-backup-* >/dev/null 2>&1
ok "rc: backup written" -- test $? -eq 0
cp "$RC" "$TEST_TMP/rc.after1"
"$SHUNT" install bash >/dev/null 2>&1
cmp -s "$RC" "$TEST_TMP/rc.after1"
ok "rc: second install changes nothing" -- test $? -eq 0
out=$(bash --noprofile --rcfile "$RC" -i -c 'type -t __shunt_debug; echo "$SHUNT_BIN"' 2>&1 </dev/null)
like "$out" 'function' "rc: an interactive bash gets the hook from the installed line"
"$SHUNT" install bash --uninstall >/dev/null 2>&1
cmp -s "$RC" "$TEST_TMP/rc.orig"
ok "rc: --uninstall removes exactly the block" -- test $? -eq 0

# zsh rc honours ZDOTDIR
mkdir -p "$TEST_TMP/zd"
ZDOTDIR=$TEST_TMP/zd "$SHUNT" install zsh >/dev/null 2>&1
like "$(cat "$TEST_TMP/zd/.zshrc" 2>/dev/null)" 'init zsh' "zsh: block written to \$ZDOTDIR/.zshrc"
ZDOTDIR=$TEST_TMP/zd "$SHUNT" install zsh --uninstall >/dev/null 2>&1
is "$(cat "$TEST_TMP/zd/.zshrc")" "" "zsh: --uninstall leaves the (new) file empty"

"$SHUNT" install fish >/dev/null 2>&1
is "$?" 2 "unknown target is a usage error"
# --- make install: the man page and the shell completions
if [ -f "$TOP/Makefile" ] && [ -f "$TOP/doc/gen-man.sh" ] && [ -w "$BUILD" ] && command -v make >/dev/null; then
	D=$TEST_TMP/dest
	P=/usr/local # the build's default prefix: a stale object rebuilt here stays the same
	make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$D" PREFIX="$P" install >"$TEST_TMP/mk" 2>&1
	is "$?" 0 "make install DESTDIR=... succeeds"
	MAN=$D$P/share/man/man1/shunt.1
	ok "the man page is installed in share/man/man1" -- test -s "$MAN"
	like "$(head -3 "$MAN")" '^\.TH SHUNT 1 ' "the man page has a title line"
	missing=
	for c in $("$SHUNT" --list-commands | cut -f1); do
		grep -q "^\.SS shunt $c\$" "$MAN" || missing="$missing $c"
	done
	is "$missing" "" "the man page has a section for every subcommand"
	if command -v man >/dev/null; then
		page=$(MANWIDTH=100 MAN_KEEP_FORMATTING= man -l "$MAN" 2>"$TEST_TMP/manerr" | col -b 2>/dev/null)
		like "$page" 'usage: shunt run \[options\] -- ARGV' "man -l renders the page with run's --help text"
		is "$(grep -v '^$' "$TEST_TMP/manerr")" "" "man -l renders without warnings"
	elif command -v groff >/dev/null; then
		page=$(groff -man -Tutf8 "$MAN" 2>"$TEST_TMP/manerr" | col -b 2>/dev/null)
		like "$page" 'usage: shunt run \[options\] -- ARGV' "groff renders the page with run's --help text"
		is "$(grep -v '^$' "$TEST_TMP/manerr")" "" "groff renders without warnings"
	else
		skip "neither man nor groff installed: the page is not rendered"
		skip "neither man nor groff installed: no render warnings checked"
	fi

	BC=$D$P/share/bash-completion/completions/shunt
	ok "bash completion installed for bash-completion's loader" -- test -s "$BC"
	# drive the completion function the way readline would
	comp() {
		PATH="$D$P/bin:$PATH" bash --norc --noprofile -c '. "$1"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _shunt
			printf "%s\n" "${COMPREPLY[@]}"; complete -p shunt' _ "$BC" "$@" 2>&1
	}
	out=$(comp shunt ch)
	like "$out" '^check$' "bash: 'shunt ch<TAB>' offers check"
	unlike "$out" '^(gate|run)$' "bash: only commands starting with ch"
	like "$out" 'complete .*-F _shunt shunt' "bash: the function is registered for shunt"
	like "$(comp shunt run --prof)" '^--profile$' "bash: 'shunt run --prof<TAB>' offers --profile"

	ZF=$D$P/share/zsh/site-functions/_shunt
	ok "zsh completion installed in site-functions" -- test -s "$ZF"
	if command -v zsh >/dev/null; then
		out=$(HOME=$TEST_TMP zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit
			compinit -u -d "$2"; print -r -- "comp=${_comps[shunt]}"
			autoload +X _shunt && whence -v _shunt' _ "$(dirname "$ZF")" "$TEST_TMP/zcompdump" 2>&1)
		like "$out" 'comp=_shunt' "zsh: compinit binds shunt to _shunt from fpath"
		like "$out" "_shunt is a shell function from $ZF" "zsh: the installed _shunt is the one loaded"
	else
		skip "zsh not installed"
		skip "zsh not installed"
	fi

	make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$D" PREFIX="$P" uninstall >"$TEST_TMP/mk" 2>&1
	is "$?" 0 "make uninstall succeeds"
	left=$(cd "$D" && find . -name 'shunt.1' -o -name '_shunt' -o -path '*completions/shunt')
	is "$left" "" "make uninstall removes the man page and both completions"
else
	skip "no source tree with a writable build here (make install not tested)"
fi

done_testing
