#!/usr/bin/env bash
# Policy core: load+compile time, one decision's latency, and `shunt check`
# throughput over the labelled corpus. Figures only; no asserts.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKG_LIBS=$(pkg-config --libs libpcre2-8 yaml-0.1 libseccomp libcurl)
cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$TOP/policy" -I"$TOP/util" -o "$WORK/bench_policy" "$TOP/tests/bench/bench_policy.c" \
	"$BUILD/lib/libshunt-policy.a" "$BUILD/lib/libshunt-util.a" $PKG_LIBS -lpthread || exit 1
"$WORK/bench_policy"

cat "$TOP"/tests/fixtures/corpus/*.txt $(ls "$TOP"/tests/fixtures/corpus/*.d/*.txt 2>/dev/null) | grep -v '^\s*#' | grep -v '^\s*$' >"$WORK/corpus.txt"
lines=$(wc -l <"$WORK/corpus.txt")
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_STATE_HOME="$WORK/home/.state" \
	XDG_DATA_HOME="$WORK/home/.data" SHUNT_NO_SYSTEM_CONFIG=1
mkdir -p "$HOME"
best=""
for i in 1 2 3; do
	out=$(SHUNT_BATCH_STATS=1 "$BUILD/bin/shunt" check --batch "$WORK/corpus.txt" --json 2>&1 >/dev/null | tail -1)
	best="$best $(echo "$out" | sed -n 's/.*(\([0-9]*\) lines\/s).*/\1/p')"
done
echo "shunt check --batch over the corpus ($lines lines): lines/s per run:$best"
t0=$(date +%s%N)
for i in $(seq 1 20); do "$BUILD/bin/shunt" check -c 'gcc -O2 -c foo.c -o foo.o' >/dev/null; done
t1=$(date +%s%N)
echo "one-shot 'shunt check -c ...' process: $(( (t1 - t0) / 20000 )) us each (mean of 20, incl. fork+exec)"
