#!/usr/bin/env bash
# The network allowlist's filtering proxy: throughput of a 200 MB
# download through it (sandbox curl -> relay -> unix socket -> proxy ->
# loopback server) against the same download directly on loopback
# (target ratio >= 0.8), and the latency a single small request pays for
# the proxy. Direct and proxied runs alternate in one loop so that load
# from elsewhere hits both alike; the figures are medians of the rounds
# and the ratio is the median of the per-round ratios.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-20}
ROUNDS=${BENCH_NET_RUNS:-7}
SIZE=$((200 * 1024 * 1024))
WORK=$(mktemp -d /tmp/shunt-bench-net.XXXXXX)
chmod 755 "$WORK"
SRV=
trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; rm -rf "$WORK"' EXIT
export SHUNT_NO_SYSTEM_CONFIG=1 HOME="$WORK" XDG_STATE_HOME="$WORK/state" XDG_CONFIG_HOME="$WORK/cfg"
command -v curl >/dev/null || { echo "network: SKIP (curl not installed)"; exit 0; }
python3 "$TOP/tests/helpers/nethttpd.py" 127.0.0.2 "$WORK/port" "$SIZE" &
SRV=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
P=$(cat "$WORK/port")
mkdir -p "$WORK/cfg/shunt"
echo "127.0.0.2 bench.test" >"$WORK/cfg/shunt/net-hosts"
ALLOW=(--network allowlist --allow-host "bench.test:$P" --allow-host "127.0.0.2:$P")
cd "$WORK"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
proxied() { # CURL-ARGS... (run N times in one sandbox)
	"$SHUNT" run --workspace "$WORK" "${ALLOW[@]}" -- sh -c 'n=$1; shift; for i in $(seq $n); do curl "$@"; done' sh "$@"
}

# a reference middlebox: a plain userspace TCP relay (socat) with no
# policy at all, to show what any proxy hop costs on this machine
RELAY=
if command -v socat >/dev/null; then
	RP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	socat "TCP-LISTEN:$RP,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.2:$P" 2>/dev/null &
	RELAY=$!
	trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; [ -n "$RELAY" ] && kill $RELAY 2>/dev/null; rm -rf "$WORK"' EXIT
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$RP") 2>/dev/null && break; sleep 0.05; done
fi
: >"$WORK/tp"
for _ in $(seq "$ROUNDS"); do
	d=$(curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.2:$P/big")
	p=$(proxied 1 -s -o /dev/null -w '%{speed_download}\n' "http://bench.test:$P/big")
	s=0
	[ -n "$RELAY" ] && s=$(curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$RP/big")
	echo "$d ${p:-0} ${s:-0}" >>"$WORK/tp"
done
if awk '$2 == 0 {bad = 1} END {exit !bad}' "$WORK/tp"; then
	echo "network: FAILED (no download through the proxy)"
	exit 1
fi
d=$(awk '{print $1}' "$WORK/tp" | median)
p=$(awk '{print $2}' "$WORK/tp" | median)
r=$(awk '{print $2 / $1}' "$WORK/tp" | median)
awk -v d="$d" -v p="$p" -v r="$r" -v n="$ROUNDS" 'BEGIN {
	printf "%-46s %8.0f MB/s (median of %d)\n", "200 MB download, direct on loopback", d / 1048576, n
	printf "%-46s %8.0f MB/s\n", "200 MB download, sandbox -> filtering proxy", p / 1048576
	printf "%-46s %8.2f (median of per-round ratios; target >= 0.80)\n", "ratio proxied / direct", r
}'
if [ -n "$RELAY" ]; then
	sr=$(awk '{print $3 / $1}' "$WORK/tp" | median)
	awk -v s="$(awk '{print $3}' "$WORK/tp" | median)" -v r="$sr" 'BEGIN {
	printf "%-46s %8.0f MB/s, ratio %.2f to direct\n", "reference: plain relay (socat), no policy", s / 1048576, r
}'
fi

: >"$WORK/lat"
for _ in $(seq "$ROUNDS"); do
	d=$(for _ in $(seq "$N"); do
		curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.2:$P/hello"
	done | median)
	p=$(proxied "$N" -s -o /dev/null -w '%{time_total}\n' "http://bench.test:$P/hello" | median)
	echo "$d ${p:-0}" >>"$WORK/lat"
done
d=$(awk '{print $1}' "$WORK/lat" | median)
p=$(awk '{print $2}' "$WORK/lat" | median)
a=$(awk '{print $2 - $1}' "$WORK/lat" | median)
awk -v d="$d" -v p="$p" -v a="$a" -v n="$N" -v r="$ROUNDS" 'BEGIN {
	printf "%-46s %8.0f us (median of %d rounds of %d)\n", "one small request, direct", d * 1e6, r, n
	printf "%-46s %8.0f us\n", "one small request, through the proxy", p * 1e6
	printf "%-46s %8.0f us (median of per-round differences)\n", "added latency", a * 1e6
}'
