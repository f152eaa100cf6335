#!/usr/bin/env bash
# Sandboxed installs succeed where the plain ones do (issue 22 items 3 and
# 8, issue 18 item 2): a venv's pip whose interpreter lives outside every
# mounted tree (pyenv under another HOME) installs a wheel built in /tmp;
# npm reaches the registry it is configured for and a loopback tarball
# server the config allows; a refused name is named at once with the
# allowlist entry that would allow it; the allowlist holds the registries
# the tools' own configuration names (.npmrc, pip.conf, PIP_INDEX_URL,
# cargo's config.toml, GOPROXY), never a private address from them.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home
export SHUNT_NO_DAEMON=1
unset npm_config_registry NPM_CONFIG_REGISTRY PIP_INDEX_URL PIP_EXTRA_INDEX_URL GOPROXY

if ! "$SHUNT" run --profile READ_ONLY --workspace "$TEST_TMP" -- true 2>"$TEST_TMP/probe.err"; then
	skip "the process sandbox cannot run here: $(head -c 300 "$TEST_TMP/probe.err")"
	done_testing
	exit
fi

WS=$TEST_TMP/ws
mkdir -p "$WS/.git" "$TEST_TMP/dist"
chmod -R a+rX "$TEST_TMP"
cd "$WS" || exit 1
sx() { "$SHUNT" exec "$@" </dev/null; }
plan() { "$SHUNT" exec --dry-run --json "$@" </dev/null 2>/dev/null; }

# --- the allowlist an install gets, from presets and the tools' config ----
out=$(plan -- npm install left-pad)
like "$out" '"allow_hosts":\["registry.npmjs.org","registry.yarnpkg.com"' \
	"npm install: the npm preset is on the allowlist"
like "$out" '"network":"restricted"' "npm install: the allowlist proxy, not no network"
printf 'registry=https://npm.corp.example:4873/\n@acme:registry = "https://acme.example/npm/"\n' >"$WS/.npmrc"
out=$(plan -- npm install left-pad)
like "$out" '"npm.corp.example:4873"' "the project .npmrc registry (with its port) is allowed"
like "$out" '"acme.example"' "a scoped registry is allowed"
printf 'registry=http://127.0.0.1:4873/\n' >"$WS/.npmrc"
out=$(plan -- npm install left-pad)
unlike "$out" '"127.0.0.1' "a loopback registry from .npmrc is not allowed by itself"
like "$out" 'names registry 127.0.0.1:4873 on a private address' "and the plan says why"
rm -f "$WS/.npmrc"
out=$(npm_config_registry=https://env-registry.example/ plan -- npm install left-pad)
like "$out" '"env-registry.example"' "npm_config_registry is allowed"
mkdir -p "$HOME/.config/pip"
printf '[global]\nindex-url = https://pypi.corp.example/simple\nextra-index-url =\n    https://extra.example/simple\n' \
	>"$HOME/.config/pip/pip.conf"
out=$(plan -c 'pip install requests')
like "$out" '"pypi.org","files.pythonhosted.org"' "pip install: the pypi preset"
like "$out" '"pypi.corp.example"' "pip.conf index-url is allowed"
like "$out" '"extra.example"' "pip.conf extra-index-url (continuation line) is allowed"
out=$(PIP_INDEX_URL=https://user:pw@idx.example:8443/simple plan -c 'pip install requests')
like "$out" '"idx.example:8443"' "PIP_INDEX_URL is allowed (credentials dropped)"
mkdir -p "$HOME/.cargo"
printf '[source.crates-io]\nreplace-with = "mirror"\n[source.mirror]\nregistry = "sparse+https://crates.mirror.example/index/"\n' \
	>"$HOME/.cargo/config.toml"
out=$(plan -- cargo install ripgrep)
like "$out" '"crates.mirror.example"' "cargo source replacement is allowed"
out=$(GOPROXY=https://goproxy.example,direct plan -- go install example.com/x@latest)
like "$out" '"goproxy.example"' "GOPROXY is allowed"
out=$(plan -- ls -la)
unlike "$out" 'registry.npmjs.org' "a command that is no install gets no registry"

# --- named local paths: shown exactly, never past the hidden credentials --
mkdir -p "$HOME/.ssh" "$TEST_TMP/named"
echo "SECRET-KEY-MATERIAL" >"$HOME/.ssh/id_rsa"
echo "named-file-content" >"$TEST_TMP/named/data.txt"
ln -s "$HOME/.ssh/id_rsa" "$TEST_TMP/named/key-link"
chmod -R a+rX "$TEST_TMP/named"
out=$("$SHUNT" run -- cat "$TEST_TMP/named/data.txt" </dev/null 2>&1)
is "$out" "named-file-content" "a file named on the command line under /tmp is readable inside"
out=$("$SHUNT" run -- cat "$TEST_TMP/named/key-link" </dev/null 2>&1)
unlike "$out" 'SECRET-KEY-MATERIAL' "a named link to a hidden credential does not show it"
out=$("$SHUNT" run -- sh -c "cat \$(echo $TEST_TMP/nam)ed/data.txt" </dev/null 2>&1)
unlike "$out" 'named-file-content' "a path that is not named stays out of the sandbox's /tmp"

# --- pip into a venv whose interpreter is outside every mounted tree ------
# (pyenv under /root while HOME is elsewhere, as in containers); the
# wheel is built in /tmp, which the sandbox replaces with its own
PY=$(command -v python3)
if ! "$PY" -m venv "$WS/.venv" >/dev/null 2>&1; then
	skip "python3 -m venv does not work here (python3-venv missing)"
else
	python3 - "$TEST_TMP/dist/tinypkg-0.1-py3-none-any.whl" <<'EOF'
import base64, hashlib, sys, zipfile
files = {
    "tinypkg/__init__.py": "def hello():\n    return 'hello from tinypkg'\n",
    "tinypkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
    "tinypkg-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
rec = []
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        data = text.encode()
        z.writestr(name, data)
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rec.append(f"{name},sha256={h},{len(data)}")
    rec.append("tinypkg-0.1.dist-info/RECORD,,")
    z.writestr("tinypkg-0.1.dist-info/RECORD", "\n".join(rec) + "\n")
EOF
	chmod -R a+rX "$TEST_TMP"
	diag "venv interpreter: $(readlink -f "$WS/.venv/bin/python")"
	line=".venv/bin/pip install --no-index $TEST_TMP/dist/tinypkg-0.1-py3-none-any.whl"
	is "$("$SHUNT" check --json -c "$line" | sed -n 's/.*"action":"\([a-z]*\)".*/\1/p')" sandbox \
		"the venv's pip install is sandboxed"
	sx -c "$line" >"$TEST_TMP/pip.out" 2>&1
	rc=$?
	is "$rc" 0 "sandboxed .venv/bin/pip install of a wheel in /tmp succeeds"
	[ "$rc" = 0 ] || diag "$(tail -5 "$TEST_TMP/pip.out")"
	ls "$WS"/.venv/lib/python3*/site-packages/tinypkg/__init__.py >/dev/null 2>&1
	is "$?" 0 "the package is in the workspace's venv"
	is "$("$WS/.venv/bin/python" -c 'import tinypkg; print(tinypkg.hello())' 2>&1)" \
		"hello from tinypkg" "it imports on the host"
	printf 'import tinypkg, unittest\nclass T(unittest.TestCase):\n    def test_hello(self):\n        self.assertEqual(tinypkg.hello(), "hello from tinypkg")\nunittest.main()\n' \
		>"$WS/test_tiny.py"
	out=$("$SHUNT" run --profile WORKSPACE_WRITE -- .venv/bin/python test_tiny.py </dev/null 2>&1)
	is "$?" 0 "a test run with the venv's python works inside the sandbox"
	like "$out" 'OK' "and its tests pass"
fi

# --- npm against the registry it is configured for ------------------------
if ! command -v npm >/dev/null; then
	skip "npm not installed"
elif ! timeout 20 npm ping >/dev/null 2>&1; then
	skip "npm's registry ($(npm config get registry 2>/dev/null)) is not reachable: npm ping fails"
else
	echo '{"name":"ws","version":"1.0.0"}' >"$WS/package.json"
	sx -- npm install left-pad >"$TEST_TMP/npm.out" 2>&1
	rc=$?
	is "$rc" 0 "sandboxed npm install left-pad succeeds"
	[ "$rc" = 0 ] || diag "$(tail -5 "$TEST_TMP/npm.out")"
	ok "node_modules/left-pad is in the workspace" -- test -f "$WS/node_modules/left-pad/package.json"
	like "$(cat "$TEST_TMP/npm.out")" 'shunt: sandboxed .*\(network: registry\.npmjs\.org' \
		"the notice says what the sandbox may reach"
fi

# --- a loopback tarball server the config names ---------------------------
if ! command -v npm >/dev/null; then
	skip "npm not installed"
else
	mkdir -p "$TEST_TMP/srv/package"
	echo '{"name":"tinynpm","version":"1.0.0","main":"index.js"}' >"$TEST_TMP/srv/package/package.json"
	echo 'module.exports = () => "tiny";' >"$TEST_TMP/srv/package/index.js"
	tar czf "$TEST_TMP/srv/tinynpm-1.0.0.tgz" -C "$TEST_TMP/srv" package
	python3 - "$TEST_TMP/srv" "$TEST_TMP/port" >/dev/null 2>&1 <<'EOF' &
import functools, http.server, os, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
EOF
	SRV=$!
	trap 'kill $SRV 2>/dev/null; rm -rf "$TEST_TMP" 2>/dev/null' EXIT
	for _ in $(seq 50); do [ -s "$TEST_TMP/port" ] && break; sleep 0.1; done
	P=$(cat "$TEST_TMP/port" 2>/dev/null)
	URL="http://127.0.0.1:$P/tinynpm-1.0.0.tgz"
	# not allowed: refused by the proxy at once, with the way to allow it
	sx -- npm install --no-save "$URL" >"$TEST_TMP/deny.out" 2>&1
	isnt=$?
	ok "a loopback server the config does not name is refused" -- test "$isnt" != 0
	like "$(cat "$TEST_TMP/deny.out")" \
		"shunt: network: blocked connect to 127\.0\.0\.1:$P .*sandbox\.allow_hosts: \[\"127\.0\.0\.1:$P\"\]" \
		"the refusal names the host and the allowlist entry that allows it"
	is "$(grep -c 'blocked connect to' "$TEST_TMP/deny.out")" 1 "the refusal is shown once, however often npm retries"
	unlike "$(cat "$TEST_TMP/deny.out")" 'ECONNREFUSED' \
		"npm met the proxy's refusal, not the sandbox's empty loopback"
	mkdir -p "$XDG_CONFIG_HOME/shunt"
	printf 'sandbox:\n  allow_hosts: ["127.0.0.1:%s"]\n' "$P" >"$XDG_CONFIG_HOME/shunt/config.yaml"
	sx -- npm install --no-save "$URL" >"$TEST_TMP/srv.out" 2>&1
	rc=$?
	is "$rc" 0 "npm install from a loopback server the config allows succeeds"
	[ "$rc" = 0 ] || diag "$(tail -5 "$TEST_TMP/srv.out")"
	ok "and writes node_modules/tinynpm in the workspace" -- \
		test -f "$WS/node_modules/tinynpm/index.js"
	rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
	kill "$SRV" 2>/dev/null
fi

# --- a refused registry name ---------------------------------------------
if command -v npm >/dev/null; then
	sx -- npm install --no-save https://refused.example/x.tgz >"$TEST_TMP/ref.out" 2>&1
	ok "an install from a name off the allowlist fails" -- test $? != 0
	like "$(cat "$TEST_TMP/ref.out")" \
		'blocked connect to refused\.example:443 \(not in the allowlist\); to allow it: sandbox\.allow_hosts: \["refused\.example"\]' \
		"the user sees the refused name and how to allow it"
else
	skip "npm not installed"
fi

# --- the same install typed into a real interactive bash with the hook ---
SH=bash
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"
if ! command -v npm >/dev/null || ! timeout 20 npm ping >/dev/null 2>&1; then
	skip "hook: npm or its registry is not available"
else
	cd /
	hook_begin
	if [ -n "${HOOK_SKIP_ALL:-}" ]; then
		skip "hook: $HOOK_SKIP_ALL"
	else
		export SHUNT_NO_DAEMON=1
		echo '{"name":"ws","version":"1.0.0"}' >"$WS/package.json"
		chmod -R a+rX "$TEST_TMP"
		start_shell
		step 'npm install --no-save left-pad; echo "npm-rc=$?"'
		wait_for '^npm-rc=[0-9]' 1200 || diag "pane: $(pane | tail -8)"
		like "$(pane)" '^npm-rc=0' "hook: npm install left-pad typed at the prompt succeeds"
		like "$(pane)" 'shunt: sandboxed .*\(network: registry\.npmjs\.org' \
			"hook: it ran sandboxed, on the npm allowlist"
		ok "hook: node_modules/left-pad is in the workspace" -- \
			test -f "$WS/node_modules/left-pad/package.json"
		stop_shell
	fi
fi

done_testing
