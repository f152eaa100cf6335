#!/usr/bin/env bash
# Network policy in the process runner: the allowlist through the
# host-side filtering proxy (names, CONNECT, rebinding, audit), the
# bypasses that must fail (direct IP, DNS), `none`, gVisor failing closed
# for an allowlist, and a 200 MB download streamed with bounded memory.
# Loopback only: the servers run on 127.0.0.2/127.0.0.4, and the proxy
# resolves test names from the user's shunt hosts file, which can only map
# allowed names to addresses that are allowed as addresses.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home

if ! "$SHUNT" run --workspace "$TEST_TMP" -- true 2>"$TEST_TMP/probe.err"; then
	if grep -q "user namespace\|unprivileged_userns\|namespaces" "$TEST_TMP/probe.err"; then
		skip "the kernel does not allow user namespaces here: $(head -c 300 "$TEST_TMP/probe.err")"
		done_testing
		exit
	fi
fi
for t in curl python3 sha256sum; do
	if ! command -v $t >/dev/null; then
		skip "$t is not installed (apt-get install curl python3 coreutils)"
		done_testing
		exit
	fi
done
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

BIG=$((200 * 1024 * 1024))
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TEST_TMP" 2>/dev/null; }
trap cleanup EXIT
start_server() { # ADDR -> sets PORT
	rm -f "$TEST_TMP/port.$1"
	$PY "$TOP/tests/helpers/nethttpd.py" "$1" "$TEST_TMP/port.$1" "$BIG" &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$TEST_TMP/port.$1" ] && break; sleep 0.1; done
	PORT=$(cat "$TEST_TMP/port.$1")
}
start_server 127.0.0.2
P=$PORT
start_server 127.0.0.4
P4=$PORT

mkdir -p "$XDG_CONFIG_HOME/shunt"
cat >"$XDG_CONFIG_HOME/shunt/net-hosts" <<HOSTS
127.0.0.2 allowed.test
127.0.0.3 denied.test
10.0.0.1 rebind.test
127.0.0.4 rebind-lo.test
192.0.2.1 public.test
HOSTS
WS="$TEST_TMP/ws"
mkdir -p "$WS"
chmod -R a+rX "$TEST_TMP"
cd "$WS"
ALLOW=(--network allowlist --allow-host "allowed.test:$P" --allow-host "127.0.0.2:*")
srun() { "$SHUNT" run --workspace "$WS" "$@"; }

# --- allowed name through curl (HTTP_PROXY) and through raw CONNECT
out=$(srun "${ALLOW[@]}" -- curl -sS -f "http://allowed.test:$P/hello" 2>"$TEST_TMP/err")
is "$out" "hello from 127.0.0.2" "allowed name works through curl via HTTP_PROXY"
out=$(srun "${ALLOW[@]}" -- curl -sS -f -p "http://allowed.test:$P/hello" 2>"$TEST_TMP/err")
is "$out" "hello from 127.0.0.2" "allowed name works through CONNECT (curl --proxytunnel)"
out=$(srun "${ALLOW[@]}" -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/3128 &&
	printf "CONNECT allowed.test:'"$P"' HTTP/1.1\r\nHost: allowed.test\r\n\r\nGET /hello HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>&1)
like "$out" "^HTTP/1.1 200 Connection established" "raw CONNECT: the proxy answers 200"
like "$out" "hello from 127.0.0.2" "raw CONNECT: bytes flow through the tunnel"
like "$(srun "${ALLOW[@]}" -- env)" "HTTPS_PROXY=http://127.0.0.1:3128" "HTTPS_PROXY is set in the sandbox"
like "$(srun --network allowlist --allow-host "allowed.test:$P" -- env)" "no_proxy=localhost" \
	"no_proxy (lower case) keeps the sandbox's own loopback direct"
# an allowlisted loopback address is the host's: reached through the proxy
like "$(srun "${ALLOW[@]}" -- env)" "^no_proxy=$" \
	"no_proxy is empty when the allowlist names a loopback address"

# --- a name not on the list
out=$(srun "${ALLOW[@]}" -- curl -sS "http://denied.test:$P/hello" 2>"$TEST_TMP/err")
like "$out" "blocked connect to denied.test:$P \(not in the allowlist\)" "denied name: 403 body says why"
like "$(cat "$TEST_TMP/err")" "^shunt: network: blocked connect to denied.test:$P \(not in the allowlist\)" \
	"denied name: the user sees the reason on stderr"
out=$(srun "${ALLOW[@]}" -- curl -sS -f -p "http://denied.test:$P/hello" 2>&1)
rc=$?
ok "denied name through CONNECT fails (rc $rc)" test "$rc" -ne 0
like "$out" "403" "and curl reports the proxy's 403"
out=$(srun "${ALLOW[@]}" -- curl -sS -f "http://allowed.test:$((P + 1))/hello" 2>&1)
like "$out" "not in the allowlist" "allowed name on another port is refused"

# --- bypasses
srun "${ALLOW[@]}" -- curl -sS --noproxy '*' --max-time 5 "http://127.0.0.2:$P/hello" >/dev/null 2>&1
is "$?" "7" "direct connect to the server's IP (no proxy) has no route"
HOSTIP=$(hostname -I 2>/dev/null | awk '{print $1}')
if [ -n "$HOSTIP" ]; then
	srun "${ALLOW[@]}" -- curl -sS --noproxy '*' --max-time 5 "http://$HOSTIP:$P/" >/dev/null 2>&1
	rc=$?
	ok "direct connect to the host's address $HOSTIP fails (rc $rc)" test "$rc" = 7 -o "$rc" = 28
else
	skip "no non-loopback host address to try a direct connect to"
fi
out=$(srun "${ALLOW[@]}" -- sh -c 'getent hosts deb.debian.org; echo "rc=$?"' 2>&1)
like "$out" "rc=2" "DNS lookups from inside fail"
out=$(srun "${ALLOW[@]}" -- bash -c 'exec 3<>/dev/udp/'"${HOSTIP:-10.0.0.1}"'/53 && echo x >&3 && echo sent' 2>&1)
unlike "$out" "^sent$" "UDP to a resolver on ${HOSTIP:-10.0.0.1}:53 has no route"

# --- rebinding: allowed names that resolve to private addresses
out=$(srun --network allowlist --allow-host "rebind.test:$P" -- curl -sS "http://rebind.test:$P/hello" 2>"$TEST_TMP/err")
like "$out" "resolves to private address 10.0.0.1" "a name resolving to 10.0.0.1 is refused"
like "$(cat "$TEST_TMP/err")" "blocked connect to rebind.test:$P" "and the user sees it"
out=$(srun --network allowlist --allow-host "rebind-lo.test:$P4" -- curl -sS "http://rebind-lo.test:$P4/hello" 2>/dev/null)
like "$out" "resolves to private address 127.0.0.4" "a name resolving to loopback is refused"
out=$(srun --network allowlist --allow-host "rebind-lo.test:$P4" --allow-host "127.0.0.0/29:$P4" -- \
	curl -sS -f "http://rebind-lo.test:$P4/hello" 2>/dev/null)
is "$out" "hello from 127.0.0.4" "the same name works once its CIDR is allowed explicitly"
out=$(srun --network allowlist --allow-host "rebind-lo.test:$P4" --allow-host "127.0.0.0/30:$P4" -- \
	curl -sS "http://rebind-lo.test:$P4/hello" 2>/dev/null)
like "$out" "resolves to private address" "a CIDR that does not cover the address does not help"

# --- the hosts file cannot widen the policy: its address must be allowed too
out=$(srun --network allowlist --allow-host "public.test:$P" -- curl -sS "http://public.test:$P/hello" 2>/dev/null)
like "$out" "hosts file maps it to 192.0.2.1, which is not allowed as an address" \
	"a hosts-file address that is not allowed is refused, even a public one"
grep '"event":"net-allow"' "$XDG_STATE_HOME/shunt/audit.jsonl" | grep -q 'allowed.test.*shunt hosts file'
is "$?" "0" "the audit record says when an address came from the hosts file"

# --- audit log: both kinds of events, with the run id
grep -q '"event":"net-allow"' "$XDG_STATE_HOME/shunt/audit.jsonl" 2>/dev/null
is "$?" "0" "allowed connections are audited (net-allow)"
line=$(grep '"event":"net-deny"' "$XDG_STATE_HOME/shunt/audit.jsonl" | grep -m1 'denied.test')
like "$line" '"run_id":"[0-9a-f-]{36}"' "denied connections are audited (net-deny) with the run id"

# --- none: no route at all
out=$(srun --network none -- sh -c 'env | grep -ci _proxy; curl -sS --max-time 5 -x http://127.0.0.1:3128 "http://allowed.test:'"$P"'/hello"; echo "rc=$?"' 2>/dev/null)
like "$out" "^0" "none: no proxy variables"
like "$out" "rc=7" "none: nothing listens on the relay port, and there is no route"
srun --network none -- curl -sS --noproxy '*' --max-time 5 "http://127.0.0.2:$P/hello" >/dev/null 2>&1
is "$?" "7" "none: the server's IP is unreachable"

# --- gVisor: the same proxy, through `shunt proxy --relay` inside
if "$SHUNT" run --runtime gvisor --workspace "$WS" -- true >/dev/null 2>"$TEST_TMP/gv.err"; then
	gv() { srun --runtime gvisor "$@"; }
	out=$(gv "${ALLOW[@]}" -- curl -sS -f "http://allowed.test:$P/hello" 2>"$TEST_TMP/err")
	is "$out" "hello from 127.0.0.2" "gvisor: allowed name works through curl via HTTP_PROXY"
	out=$(gv "${ALLOW[@]}" -- curl -sS -f -p "http://allowed.test:$P/hello" 2>&1)
	is "$out" "hello from 127.0.0.2" "gvisor: allowed name works through CONNECT"
	out=$(gv "${ALLOW[@]}" -- curl -sS "http://denied.test:$P/hello" 2>"$TEST_TMP/err")
	like "$out" "not in the allowlist" "gvisor: denied name refused with the reason"
	like "$(cat "$TEST_TMP/err")" "shunt: network: blocked connect to denied.test:$P" "gvisor: the user sees it"
	out=$(gv --network allowlist --allow-host "rebind.test:$P" -- curl -sS "http://rebind.test:$P/hello" 2>/dev/null)
	like "$out" "resolves to private address 10.0.0.1" "gvisor: rebinding to a private address refused"
	gv "${ALLOW[@]}" -- curl -sS --noproxy '*' --max-time 5 "http://127.0.0.2:$P/hello" >/dev/null 2>&1
	rc=$?
	ok "gvisor: direct connect to the server's IP fails (rc $rc)" test "$rc" -ne 0
	out=$(gv "${ALLOW[@]}" -- sh -c 'getent hosts deb.debian.org; echo "rc=$?"' 2>&1)
	like "$out" "rc=2" "gvisor: DNS lookups from inside fail"
	gv --network none -- curl -sS --max-time 5 -x http://127.0.0.1:3128 "http://allowed.test:$P/hello" >/dev/null 2>&1
	rc=$?
	ok "gvisor: none has no relay and no route (rc $rc)" test "$rc" -ne 0
else
	skip "gVisor is not usable here: $(head -c 200 "$TEST_TMP/gv.err")"
fi

# --- podman: the container joins a network namespace holding only
# loopback and the relay to the same proxy (root only; docker fails closed)
if is_root && "$SHUNT" run --runtime podman --workspace "$WS" -- true >/dev/null 2>"$TEST_TMP/pm.err"; then
	pm() { srun --runtime podman "$@"; }
	out=$(pm "${ALLOW[@]}" -- curl -sS -f "http://allowed.test:$P/hello" 2>"$TEST_TMP/err")
	is "$out" "hello from 127.0.0.2" "podman: allowed name works through curl via HTTP_PROXY"
	out=$(pm "${ALLOW[@]}" -- curl -sS -f -p "http://allowed.test:$P/hello" 2>&1)
	is "$out" "hello from 127.0.0.2" "podman: allowed name works through CONNECT"
	out=$(pm "${ALLOW[@]}" -- curl -sS "http://denied.test:$P/hello" 2>"$TEST_TMP/err")
	like "$out" "not in the allowlist" "podman: denied name refused with the reason"
	like "$(cat "$TEST_TMP/err")" "shunt: network: blocked connect to denied.test:$P" "podman: the user sees it"
	out=$(pm --network allowlist --allow-host "rebind.test:$P" -- curl -sS "http://rebind.test:$P/hello" 2>/dev/null)
	like "$out" "resolves to private address 10.0.0.1" "podman: rebinding to a private address refused"
	pm "${ALLOW[@]}" -- curl -sS --noproxy '*' --max-time 5 "http://127.0.0.2:$P/hello" >/dev/null 2>&1
	is "$?" "7" "podman: direct connect to the server's IP has no route"
	out=$(pm "${ALLOW[@]}" -- sh -c 'getent hosts deb.debian.org; echo "rc=$?"' 2>&1)
	like "$out" "rc=2" "podman: DNS lookups from inside fail"
	like "$(pm "${ALLOW[@]}" -- env)" "HTTPS_PROXY=http://127.0.0.1:3128" "podman: HTTPS_PROXY is set"
	pm --network none -- curl -sS --max-time 5 -x http://127.0.0.1:3128 "http://allowed.test:$P/hello" >/dev/null 2>&1
	is "$?" "7" "podman: none has no relay and no route"
	want=$(curl -s "http://127.0.0.2:$P/big" | sha256sum | cut -d' ' -f1)
	out=$(pm "${ALLOW[@]}" -- sh -c "curl -sS -f http://allowed.test:$P/big | sha256sum" 2>&1)
	is "${out%% *}" "$want" "podman: 200 MB download through the proxy: checksum matches"
else
	skip "podman cannot run containers here$(is_root || echo ' (not root)'): $(head -c 200 "$TEST_TMP/pm.err" 2>/dev/null)"
fi
if ! is_root; then
	out=$(SHUNT_PODMAN=/bin/true srun --runtime podman "${ALLOW[@]}" -- touch "$WS/ran-podman" 2>&1)
	is "$?" "125" "podman as non-root with an allowlist fails closed (125)"
	like "$out" "needs root to create the relay's network namespace" "and says why"
	ok "and the command did not run" test ! -e "$WS/ran-podman"
fi
out=$(SHUNT_DOCKER=/bin/true srun --runtime docker "${ALLOW[@]}" -- touch "$WS/ran-docker" 2>&1)
is "$?" "125" "docker with an allowlist fails closed (125)"
like "$out" "docker cannot join the network namespace" "and says why"
ok "and the command did not run" test ! -e "$WS/ran-docker"

# --- shunt proxy (debug subcommand): the same proxy on a socket we name,
# absolute-URI HTTP, presets
ask() { # SOCK REQUEST-LINE
	$PY - "$1" "$2" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\r\nUser-Agent: t\r\n\r\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PYEOF
}
"$SHUNT" proxy --listen-unix "$TEST_TMP/px.sock" --allow @npm --allow "allowed.test:$P" \
	--allow "127.0.0.2:$P" --run-id dbg-run 2>"$TEST_TMP/px.err" &
pxpid=$!
pids+=($pxpid)
for _ in $(seq 50); do [ -S "$TEST_TMP/px.sock" ] && break; sleep 0.1; done
out=$(ask "$TEST_TMP/px.sock" "GET http://allowed.test:$P/hello HTTP/1.1")
like "$out" "hello from 127.0.0.2" "shunt proxy: absolute-URI GET to an allowed name"
out=$(ask "$TEST_TMP/px.sock" "GET http://registry.npmjs.org:8080/ HTTP/1.1")
like "$out" "403 Forbidden" "shunt proxy: @npm does not open other ports"
out=$(ask "$TEST_TMP/px.sock" "GET http://evil.test/ HTTP/1.1")
like "$out" "not in the allowlist" "shunt proxy: other names refused"
grep -q '"event":"net-deny".*"run_id":"dbg-run"' "$XDG_STATE_HOME/shunt/audit.jsonl"
is "$?" "0" "shunt proxy: --run-id goes to the audit log"
kill $pxpid 2>/dev/null

# --- 200 MB through the proxy: checksum, and the proxy's peak RSS
want=$(curl -s "http://127.0.0.2:$P/big" | sha256sum | cut -d' ' -f1)
srun "${ALLOW[@]}" -- sh -c "curl -sS -f http://allowed.test:$P/big | sha256sum; sleep 3" >"$TEST_TMP/big.out" 2>"$TEST_TMP/big.err" &
spid=$!
hwm=
for _ in $(seq 1200); do
	if [ -s "$TEST_TMP/big.out" ]; then
		for c in $(cat /proc/$spid/task/*/children 2>/dev/null); do
			# the proxy is the child in our PID namespace (init has two NSpid values)
			if [ "$(grep -c . <<<"$(grep NSpid /proc/$c/status | tr '\t' '\n' | tail -n +2)")" = 1 ]; then
				hwm=$(awk '/VmHWM/ {print $2}' /proc/$c/status)
			fi
		done
		break
	fi
	sleep 0.1
done
wait $spid
is "$(cut -d' ' -f1 "$TEST_TMP/big.out")" "$want" "200 MB download through the proxy: checksum matches"
diag "proxy VmHWM after 200 MB: ${hwm:-?} kB"
ok "the proxy's peak RSS stays under 16 MB (${hwm:-?} kB)" test -n "$hwm" -a "${hwm:-999999}" -lt 16384

done_testing
