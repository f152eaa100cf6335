#!/usr/bin/env bash
# LD_PRELOAD shim overhead (issue 5): exec storm three ways (shim, an
# empty preloaded library, nothing), split into the cost of loading the
# library and of the exec wrapper, a real build with and without the
# shim, decision latency, and the per-process cost of loading the
# snapshot. Figures and ratios side by side; no pass/fail on timing.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=$BUILD/bin/shunt
SHIM=$BUILD/lib/libshunt-preload.so
STORM=${BENCH_STORM:-5000}
ROUNDS=${BENCH_ROUNDS:-5}
WORK=$(mktemp -d /tmp/shunt-bench-shim.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
[ -f "$SHIM" ] && [ -x "$SHUNT" ] || { echo "build first: make BUILD=$BUILD"; exit 1; }

# a private HOME: no user config, the shim uses its embedded default
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_STATE_HOME=$WORK/home/.local/state \
	XDG_DATA_HOME=$WORK/home/.local/share XDG_CACHE_HOME=$WORK/home/.cache SHUNT_NO_SYSTEM_CONFIG=1
mkdir -p "$HOME"
unset LD_PRELOAD SHUNT_DRY_RUN

cc -O2 -shared -fPIC -o "$WORK/empty.so" "$TOP/tests/bench/empty.c" || exit 1
"$SHUNT" snapshot --output "$WORK/policy.snap" >/dev/null || exit 1

ms() { echo $(($(date +%s%N) / 1000000)); }
# storm_once MODE LIB: "wall cpu" in ms for bash running STORM programs.
#   storm: bash with LIB preloaded runs /bin/true (the issue's storm)
#   load:  plain bash runs LD_PRELOAD=LIB /bin/true (only the loading)
#   wrap:  bash with LIB preloaded runs static busybox true (only the exec
#          wrapper in the forked child: nothing is loaded after exec)
# cpu = user+sys of the shell and its children (bash's times builtin):
# other helpers' load on this machine moves wall time far more than it
# moves the CPU time the storm itself burns.
storm_once() {
	local mode=$1 lib=$2 t0 t1 cpu pre=$2 cmd=/bin/true
	case "$mode" in
	load) pre= cmd="LD_PRELOAD=$lib /bin/true" ;;
	wrap) cmd="$BUSYBOX true" ;;
	esac
	t0=$(ms)
	cpu=$(LD_PRELOAD=$pre bash -c "for ((i = 0; i < $STORM; i++)); do $cmd; done; times" |
		awk '{ for (i = 1; i <= NF; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } } END { printf "%d", t * 1000 }')
	t1=$(ms)
	echo "$((t1 - t0)) $cpu"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# the shim counts host execs: give it the counters file a user has
"$SHUNT" metrics reset >/dev/null 2>&1 || echo "  (no counters file: host execs are not counted in this run)"
BUSYBOX=$(command -v busybox || true)
if [ -n "$BUSYBOX" ] && ldd "$BUSYBOX" >/dev/null 2>&1; then # dynamic: loads the library
	BUSYBOX=
fi

echo "-- exec storm: bash running $STORM /bin/true ($ROUNDS rounds, interleaved)"
none=999999999 empty=999999999 shim=999999999
for f in r_se r_en c_se c_en c_load c_wrap; do : >"$WORK/$f"; done
for ((r = 0; r < ROUNDS; r++)); do
	read -r wn cn <<<"$(storm_once storm "")"
	read -r we ce <<<"$(storm_once storm "$WORK/empty.so")"
	read -r ws cs <<<"$(storm_once storm "$SHIM")"
	none=$(min "$none" "$wn") empty=$(min "$empty" "$we") shim=$(min "$shim" "$ws")
	echo "$(ratio "$ws" "$we")" >>"$WORK/r_se"
	echo "$(ratio "$we" "$wn")" >>"$WORK/r_en"
	echo "$(ratio "$cs" "$ce")" >>"$WORK/c_se"
	echo "$(ratio "$ce" "$cn")" >>"$WORK/c_en"
	read -r _ le <<<"$(storm_once load "$WORK/empty.so")"
	read -r _ ls <<<"$(storm_once load "$SHIM")"
	echo "$(ratio "$ls" "$le")" >>"$WORK/c_load"
	if [ -n "$BUSYBOX" ]; then
		read -r _ xe <<<"$(storm_once wrap "$WORK/empty.so")"
		read -r _ xs <<<"$(storm_once wrap "$SHIM")"
		echo "$(ratio "$xs" "$xe")" >>"$WORK/c_wrap"
	fi
done
printf '  nothing preloaded   %6d ms\n  empty preload .so   %6d ms\n  shunt shim          %6d ms   (wall, best of %d)\n' \
	"$none" "$empty" "$shim" "$ROUNDS"
echo "  shim/empty = $(median <"$WORK/r_se")   (target <= 1.02)   empty/none = $(median <"$WORK/r_en")   (wall, median of per-round ratios)"
echo "  shim/empty = $(median <"$WORK/c_se")   (target <= 1.02)   empty/none = $(median <"$WORK/c_en")   (cpu user+sys, median of per-round ratios)"
echo "  split (cpu, shim/empty): loading the library $(median <"$WORK/c_load"),  exec wrapper in the forked child $(
	[ -n "$BUSYBOX" ] && median <"$WORK/c_wrap" || echo "n/a (no static busybox)")"

echo "-- per-process cost: a process doing one exec (spawner execve /bin/true), best of $ROUNDS x200"
SPAWNER=$BUILD/tests/helpers/spawner
if [ -x "$SPAWNER" ]; then
	one() {
		local pre=$1 t0 t1
		t0=$(date +%s%N)
		for ((i = 0; i < 200; i++)); do LD_PRELOAD=$pre "$SPAWNER" execve /bin/true >/dev/null; done
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 200000))
	}
	e1=999999999 s1=999999999
	for ((r = 0; r < ROUNDS; r++)); do
		e1=$(min "$e1" "$(one "$WORK/empty.so")")
		s1=$(min "$s1" "$(one "$SHIM")")
	done
	printf '  empty .so %d us, shim %d us per process: +%d us (loading the shim core + snapshot + one decision)\n' \
		"$e1" "$s1" $((s1 - e1))
else
	echo "  (spawner not built)"
fi

echo "-- decision latency and snapshot load (in-process)"
if cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$TOP/policy" -I"$BUILD/gen" -o "$WORK/shim_decide" \
	"$TOP/tests/bench/shim_decide.c" "$BUILD/lib/libshunt-policy.a" \
	$(pkg-config --libs libpcre2-8 yaml-0.1) -lpthread 2>"$WORK/cc.log"; then
	"$WORK/shim_decide" "$WORK/policy.snap" | sed 's/^/  /'
else
	sed 's/^/  /' "$WORK/cc.log"
fi

echo "-- real build: make clean; make -j2 bin/shunt unit (this project, best of 2)"
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
	echo "  skipped (BENCH_SKIP_BUILD=1)"
	exit 0
fi
build() {
	local pre=$1 best=999999999 r t0 t1
	for ((r = 0; r < 2; r++)); do
		t0=$(ms)
		# clean and all as two runs: "make -j2 clean all" races with itself
		# the shim library itself is left out: linking a file named
		# libshunt-preload.so trips rule shunt-shim-removal under the shim
		if ! LD_PRELOAD=$pre sh -c 'make -C "$1" -s BUILD="$2" clean && make -C "$1" -s -j2 BUILD="$2" "$2/bin/shunt" unit' \
			sh "$TOP" "$WORK/b" >"$WORK/make.log" 2>&1; then
			tail -3 "$WORK/make.log" | sed 's/^/  make: /' >&2
			echo 0
			return
		fi
		t1=$(ms)
		(( t1 - t0 < best )) && best=$((t1 - t0))
	done
	echo "$best"
}
bnone=$(build "")
bshim=$(build "$SHIM")
if [ "$bnone" = 0 ] || [ "$bshim" = 0 ]; then
	echo "  the build failed (see above); no ratio"
	exit 0
fi
printf '  without shim %d ms, with shim %d ms: ratio %s   (target <= 1.02)\n' "$bnone" "$bshim" "$(ratio "$bshim" "$bnone")"
