# Sourced by tests/integration/editors.sh with NODE (node 24's bin folder), CS
# (the code-server package), PUP (node_modules with puppeteer-core) and
# CHROME set: a real code-server, set up by `shunt install vscode` alone,
# driven from headless Chromium. Its HOME is the test's home: the victim.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CSPORT=$(free_port)
WEBPORT=$(free_port)
CSLOG=$TEST_TMP/code-server.log
OUT=$TEST_TMP/drive
rm -rf "$XDG_CONFIG_HOME/code-server" "$HOME/cs data"
mkdir -p "$OUT" "$HOME/proj" "$HOME/victim" "$TEST_TMP/www"
echo precious >"$HOME/victim/data"
printf 'touch "$HOME/pwned-by-curl"\n' >"$TEST_TMP/www/x"
printf 'rm -rf "$HOME"\n' >"$HOME/proj/evil.sh"
: >"$HOME/.bashrc"
rm -f "$HOME/.bash_profile" "$HOME/.profile"

# the user's own code-server settings: a terminal whose text can be read
# back from the page (no WebGL), bash, no welcome page, nothing fetched
mkdir -p "$XDG_DATA_HOME/code-server/User"
cat >"$XDG_DATA_HOME/code-server/User/settings.json" <<'EOF'
{
	// mine
	"workbench.startupEditor": "none",
	"terminal.integrated.gpuAcceleration": "off",
	"terminal.integrated.defaultProfile.linux": "bash",
	"security.workspace.trust.enabled": false,
	"telemetry.telemetryLevel": "off",
	// typed lines go to the shell as typed: no suggestion widget taking the Enter
	"terminal.integrated.suggest.enabled": false,
	"extensions.autoCheckUpdates": false,
	"extensions.autoUpdate": false,
	"chat.disableAIFeatures": true,
}
EOF
"$SHUNT" install vscode --yes >"$TEST_TMP/out" 2>&1
is "$?" 0 "code-server: shunt install vscode finds it and succeeds"
like "$(cat "$TEST_TMP/out")" 'code-server/User/settings.json' "code-server: it says which file it wrote"

python3 -m http.server "$WEBPORT" --bind 127.0.0.1 --directory "$TEST_TMP/www" \
	>"$TEST_TMP/www.log" 2>&1 &
WEBPID=$!
PATH="$NODE:$PATH" SHELL=/bin/bash node "$CS/out/node/entry.js" --auth none \
	--bind-addr "127.0.0.1:$CSPORT" --disable-telemetry --disable-update-check \
	--disable-workspace-trust --disable-getting-started-override "$HOME/proj" \
	>"$CSLOG" 2>&1 &
CSPID=$!
trap 'kill $CSPID $WEBPID 2>/dev/null; wait $CSPID $WEBPID 2>/dev/null; rm -rf "$TEST_TMP" 2>/dev/null' EXIT
up=0
for _ in $(seq 360); do
	if curl -fsS "http://127.0.0.1:$CSPORT/healthz" >/dev/null 2>&1; then up=1; break; fi
	kill -0 $CSPID 2>/dev/null || break
	sleep 0.5
done
ok "code-server is up" -- test $up = 1
[ $up = 1 ] || diag "$(tail -20 "$CSLOG")"

# Known problem (why editors.sh runs this only with SHUNT_TEST_CODESERVER=1):
# in code-server's terminal a typed line is sometimes not what runs: an empty
# line shows, then an older history line (a declined curl | sh, bash
# ./evil.sh, a marker) is decided and run in its place. The hook takes the
# line from history (fc -ln -0 when HISTCMD matches); VS Code's bash shell
# integration is loaded next to it. Seen as root and as nobody, cause not
# found yet. curl | sh goes last so that fewer lines follow a prompt.
cat >"$OUT/steps.json" <<EOF
[
  "echo hello >ok.txt",
  "env >env.txt",
  "type -t __shunt_debug >hook.txt",
  "rm -rf ~",
  "bash ./evil.sh",
  "curl -s http://127.0.0.1:$WEBPORT/x | sh"
]
EOF
start=$(date +%s)
CHROME=$CHROME NODE_PATH=$PUP "$NODE/node" "$TOP/tests/tools/codeserver_drive.js" \
	"http://127.0.0.1:$CSPORT/?folder=$HOME/proj" "$OUT/steps.json" "$TEST_TMP/marks" "$OUT" \
	>"$OUT/drive.log" 2>&1
rc=$?
diag "the code-server session took $(($(date +%s) - start)) s"
is "$rc" 0 "headless Chromium typed every line into a code-server terminal"
[ $rc = 0 ] || diag "$(tail -5 "$OUT/drive.log")"
[ $rc = 0 ] || diag "screen: $(cat "$OUT/screen.txt" 2>/dev/null)"
[ $rc = 0 ] || diag "code-server: $(grep -iE 'error|fail' "$CSLOG" | tail -10)"

like "$(cat "$HOME/proj/env.txt" 2>/dev/null)" 'SHUNT_EDITOR_TERMINAL=code-server' \
	"the terminal carries SHUNT_EDITOR_TERMINAL"
like "$(cat "$HOME/proj/env.txt" 2>/dev/null)" 'LD_PRELOAD=.*libshunt-preload' "and the shim"
is "$(cat "$HOME/proj/hook.txt" 2>/dev/null)" "function" "and bash there loaded the line hook"
is "$(cat "$HOME/proj/ok.txt" 2>/dev/null)" "hello" "a harmless line runs"
is "$(cat "$HOME/victim/data" 2>/dev/null)" "precious" "rm -rf ~ did not run"
ok "curl | sh did not run on the host" -- test ! -e "$HOME/pwned-by-curl"
ok "a script's rm -rf \$HOME was stopped by the shim" -- test -e "$HOME/proj/evil.sh"
"$SHUNT" log --json -n 100 >"$TEST_TMP/audit" 2>&1
like "$(grep 'rm-rf-root-or-home' "$TEST_TMP/audit" | grep '"source":"hook"' | grep -c block)" '^[1-9]' \
	"the audit log has the hook's block of rm -rf ~"
like "$(grep 'download-pipe-shell' "$TEST_TMP/audit")" 'curl' "the audit log has curl | sh"
like "$(grep '"source":"shim"' "$TEST_TMP/audit" | grep 'rm-rf-root-or-home')" 'block' \
	"the audit log has the shim's block inside the script"
like "$(cat "$OUT/screen.txt" 2>/dev/null)" 'shunt' "the terminal showed shunt's notices"
kill $CSPID $WEBPID 2>/dev/null
wait $CSPID $WEBPID 2>/dev/null
