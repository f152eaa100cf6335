#!/usr/bin/env bash
# runtime: remote: `shunt run` sends the command to the shuntd at
# remote.url (here a loopback TCP listener with a bearer token; plain
# http://127.0.0.1 is allowed only with insecure: true): output, exit code,
# the remote re-deciding (blocked: 126), a wrong token (401: not run), a
# token file readable by others, the remote down (fail closed: nothing
# runs locally), options the remote cannot take, --runtime remote on the
# command line, and a workspace file that cannot switch it on.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home
WS="$TEST_TMP/ws"
mkdir -p "$WS"
chmod -R a+rwX "$TEST_TMP"
cd "$WS"
if ! "$SHUNT" run --profile READ_ONLY --workspace "$WS" -- true 2>"$TEST_TMP/probe.err"; then
	skip "the process sandbox cannot run here: $(head -c 300 "$TEST_TMP/probe.err")"
	done_testing
	exit
fi
command -v python3 >/dev/null || { skip "python3 is not installed (apt-get install python3)"; done_testing; exit; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TOKEN=tok-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$TEST_TMP/token"
chmod 600 "$TEST_TMP/token"
"$SHUNT" daemon run --socket "$TEST_TMP/r.sock" --listen 127.0.0.1:$PORT --auth-token-file "$TEST_TMP/token" 2>"$TEST_TMP/tcp.err" &
TCP_PID=$!
trap 'kill $TCP_PID 2>/dev/null; rm -rf "$TEST_TMP" 2>/dev/null' EXIT
for _ in $(seq 1 100); do "$SHUNT" daemon status --socket "$TEST_TMP/r.sock" >/dev/null 2>&1 && break; sleep 0.05; done

CFG="$XDG_CONFIG_HOME/shunt/config.yaml"
mkdir -p "$(dirname "$CFG")"
remote_cfg() { # URL TOKENFILE [insecure]
	printf 'sandbox:\n  runtime: remote\nremote:\n  url: %s\n  token_file: %s\n  insecure: %s\n' "$1" "$2" "${3:-true}" >"$CFG"
}

remote_cfg "http://127.0.0.1:$PORT" "$TEST_TMP/token" false
out=$("$SHUNT" config show 2>&1); rc=$?
is "$rc" 2 "plain http without insecure: true is a config error"
like "$out" "https:// URL is required" "and says so"

remote_cfg "http://127.0.0.1:$PORT" "$TEST_TMP/token"
like "$("$SHUNT" config show)" "runtime: remote" "config show: runtime remote"
like "$("$SHUNT" doctor 2>&1)" "tls: .*insecure: true.*127\.0\.0\.1:$PORT" "shunt doctor warns about remote.insecure"
out=$("$SHUNT" run -- sh -c 'echo remote-out; echo remote-err >&2; exit 5' 2>"$TEST_TMP/err"); rc=$?
is "$rc" 5 "runtime: remote: the command's exit code"
is "$out" remote-out "its stdout"
is "$(cat "$TEST_TMP/err")" remote-err "its stderr"
m=$(curl -s --unix-socket "$TEST_TMP/r.sock" http://x/metrics | sed -n 's/^shuntd_requests_total //p')
ok "the remote daemon served it ($m requests)" -- test "${m:-0}" -ge 1

out=$("$SHUNT" run -- rm -rf / 2>&1); rc=$?
is "$rc" 126 "the remote re-decides: a blocked command is refused"
like "$out" "blocked by policy" "and says why"

out=$("$SHUNT" run --workspace "$WS" -- true 2>&1); rc=$?
is "$rc" 2 "options only a local plan has are refused"
like "$out" "only --profile" "naming what it takes"

printf 'wrong-token-0123456789\n' >"$TEST_TMP/bad"
chmod 600 "$TEST_TMP/bad"
remote_cfg "http://127.0.0.1:$PORT" "$TEST_TMP/bad"
out=$("$SHUNT" run -- touch "$WS/ran-401" 2>&1); rc=$?
is "$rc" 125 "a wrong token: 125"
like "$out" "401.*not accepted" "the 401 is reported"
ok "and nothing ran" -- test ! -e "$WS/ran-401"

chmod 644 "$TEST_TMP/bad"
out=$("$SHUNT" run -- true 2>&1); rc=$?
is "$rc" 125 "a token file readable by others: 125"
like "$out" "chmod 600" "with the fix"

# HTTPS for real: a TLS terminator (socat) in front of the daemon's TCP
# port with a throwaway self-signed certificate. Verified against
# remote.ca_file it works; against the system CAs it is refused and
# nothing runs.
if command -v socat >/dev/null && command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-keyout "$TEST_TMP/tls.key" -out "$TEST_TMP/tls.crt" >/dev/null 2>&1
	TLSPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	socat "OPENSSL-LISTEN:$TLSPORT,bind=127.0.0.1,reuseaddr,fork,cert=$TEST_TMP/tls.crt,key=$TEST_TMP/tls.key,verify=0" \
		"TCP:127.0.0.1:$PORT" 2>"$TEST_TMP/socat.err" &
	SOCAT_PID=$!
	trap 'kill $TCP_PID $SOCAT_PID 2>/dev/null; rm -rf "$TEST_TMP" 2>/dev/null' EXIT
	for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$TLSPORT") 2>/dev/null && break; sleep 0.05; done
	printf 'sandbox:\n  runtime: remote\nremote:\n  url: https://127.0.0.1:%s\n  token_file: %s\n  ca_file: %s\n' \
		"$TLSPORT" "$TEST_TMP/token" "$TEST_TMP/tls.crt" >"$CFG"
	like "$("$SHUNT" config show)" "ca_file: \"$TEST_TMP/tls.crt\"" "config show: remote.ca_file"
	out=$("$SHUNT" run -- sh -c 'echo over-https; exit 7' 2>"$TEST_TMP/err"); rc=$?
	is "$rc:$out" "7:over-https" "https:// verified against remote.ca_file: output and exit code"
	printf 'sandbox:\n  runtime: remote\nremote:\n  url: https://127.0.0.1:%s\n  token_file: %s\n' \
		"$TLSPORT" "$TEST_TMP/token" >"$CFG"
	out=$("$SHUNT" run -- touch "$WS/ran-untrusted" 2>&1); rc=$?
	is "$rc" 125 "an untrusted certificate (system CAs only): 125"
	like "$out" "could not be reached .*(certificate|SSL)" "the TLS failure is the reason given"
	ok "and nothing ran" -- test ! -e "$WS/ran-untrusted"
	printf 'sandbox:\n  runtime: remote\nremote:\n  url: https://127.0.0.1:%s\n  token_file: %s\n  ca_file: %s\n' \
		"$TLSPORT" "$TEST_TMP/token" "$TEST_TMP/missing.crt" >"$CFG"
	out=$("$SHUNT" run -- true 2>&1); rc=$?
	is "$rc" 125 "a missing remote.ca_file: 125"
	like "$out" "remote.ca_file .*missing.crt" "naming the file"
else
	skip "socat or openssl is not installed (apt-get install socat openssl): no HTTPS test"
fi

remote_cfg "http://127.0.0.1:$PORT" "$TEST_TMP/token"
out=$("$SHUNT" run --runtime process -- sh -c 'echo local-by-name'); rc=$?
is "$rc:$out" "0:local-by-name" "--runtime <local runner> runs locally"

kill "$TCP_PID"; wait "$TCP_PID" 2>/dev/null
out=$("$SHUNT" run -- touch "$WS/ran-down" 2>&1); rc=$?
is "$rc" 125 "the remote down: 125"
like "$out" "could not be reached .*the command was not run" "fail closed, and says so"
ok "nothing ran locally" -- test ! -e "$WS/ran-down"

rm -f "$CFG"
printf 'remote:\n  url: http://127.0.0.1:%s\n  insecure: true\n' "$PORT" >"$CFG"
out=$("$SHUNT" run --runtime remote -- true 2>&1); rc=$?
is "$rc" 125 "--runtime remote on the command line uses remote.url (down: 125)"
mkdir -p "$TEST_TMP/repo/.git"
printf 'sandbox:\n  runtime: remote\n' >"$TEST_TMP/repo/.shunt.yaml"
out=$(cd "$TEST_TMP/repo" && "$SHUNT" run -- sh -c 'echo still-local' 2>&1); rc=$?
is "$rc" 0 "a workspace file cannot switch runtime: remote on"
like "$out" "still-local" "the command ran locally"
done_testing
