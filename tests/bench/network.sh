#!/usr/bin/env bash
# The network allowlist's filtering proxy: throughput of a 200 MB
# download through it (sandbox curl -> relay -> unix socket -> proxy ->
# loopback server) side by side with the same download directly on
# loopback (target ratio >= 0.8), and the latency a single small request
# pays for the proxy (median of N requests, each direction measured by
# curl's time_total).
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-20}
RUNS=${BENCH_NET_RUNS:-3}
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
echo "127.0.0.2 bench.test" >"$WORK/hosts"
export SHUNT_PROXY_HOSTS="$WORK/hosts"
ALLOW=(--network allowlist --allow-host "bench.test:$P" --allow-host "127.0.0.2:$P")
cd "$WORK"

best() { sort -g | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

direct=$(for _ in $(seq "$RUNS"); do
	curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.2:$P/big"
done | best)
proxied=$("$SHUNT" run --workspace "$WORK" "${ALLOW[@]}" -- sh -c "for i in \$(seq $RUNS); do
	curl -s -o /dev/null -w '%{speed_download}\n' http://bench.test:$P/big; done" | best)
if [ -z "$proxied" ] || [ "${proxied%.*}" = 0 ]; then
	echo "network: FAILED (no download through the proxy)"
	exit 1
fi
awk -v d="$direct" -v p="$proxied" 'BEGIN {
	printf "%-46s %8.0f MB/s\n", "200 MB download, direct on loopback", d / 1048576
	printf "%-46s %8.0f MB/s\n", "200 MB download, sandbox -> filtering proxy", p / 1048576
	printf "%-46s %8.2f (target >= 0.80)\n", "ratio proxied / direct", p / d
}'

lat_direct=$(for _ in $(seq "$N"); do
	curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.2:$P/hello"
done | median)
lat_proxy=$("$SHUNT" run --workspace "$WORK" "${ALLOW[@]}" -- sh -c "for i in \$(seq $N); do
	curl -s -o /dev/null -w '%{time_total}\n' http://bench.test:$P/hello; done" | median)
awk -v d="$lat_direct" -v p="$lat_proxy" -v n="$N" 'BEGIN {
	printf "%-46s %8.0f us (median of %d)\n", "one small request, direct", d * 1e6, n
	printf "%-46s %8.0f us (median of %d)\n", "one small request, through the proxy", p * 1e6, n
	printf "%-46s %8.0f us\n", "added latency", (p - d) * 1e6
}'
