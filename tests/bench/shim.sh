#!/usr/bin/env bash
# LD_PRELOAD shim overhead (issue 5): exec storm three ways (shim, an
# empty preloaded library, nothing), split into the cost of loading the
# library and of the exec wrapper, a real build with and without the
# shim, decision latency, and the per-process cost of loading the
# snapshot. Figures and ratios side by side; no pass/fail on timing.
# BENCH_STORM sets the rounds of the storm (5000, as the issue says).
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }

# lockstep N SPEC...: one bash per SPEC ("LIB|CMD": LIB preloaded into the
# bash, "" for none; CMD the command it runs), each blocked on a pipe. The
# driver steps them in turn, one command each, N rounds; each bash times
# its own command with EPOCHREALTIME (a builtin: nothing else forks).
# Slow phases of a shared VM, which move whole runs by 5-10 % here, then
# hit every configuration alike. Prints "median p25" in us per SPEC.
lockstep() {
	local n=$1 d i k spec lib cmd
	shift
	d=$(mktemp -d "$WORK/lockstep.XXXXXX")
	i=0
	for spec in "$@"; do
		lib=${spec%%|*} cmd=${spec#*|}
		mkfifo "$d/in$i" "$d/out$i"
		LD_PRELOAD=$lib bash -c 'exec 3<"$1" 4>"$2"
			while read -r _ <&3; do
				t0=$EPOCHREALTIME; eval "$3"; t1=$EPOCHREALTIME
				echo "${t0/./} ${t1/./}" >&4
			done' lockstep "$d/in$i" "$d/out$i" "$cmd" &
		i=$((i + 1))
	done
	local nspec=$i w r a b
	local -a W R
	for ((k = 0; k < nspec; k++)); do
		exec {w}>"$d/in$k" {r}<"$d/out$k"
		W[k]=$w R[k]=$r
	done
	for ((j = 0; j < n; j++)); do
		for ((k = 0; k < nspec; k++)); do
			echo >&"${W[k]}"
			read -r a b <&"${R[k]}"
			echo "$((b - a))" >>"$d/t$k"
		done
	done
	for ((k = 0; k < nspec; k++)); do
		exec {W[k]}>&- {R[k]}<&-
	done
	wait
	for ((k = 0; k < nspec; k++)); do
		sort -n "$d/t$k" | awk '{ v[NR] = $1 } END { printf "%d %d\n", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)] }'
	done
	rm -rf "$d"
}

# the shim counts host execs: give it the counters file a user has
"$SHUNT" metrics reset >/dev/null 2>&1 || echo "  (no counters file: host execs are not counted in this run)"
BUSYBOX=$(command -v busybox || true)
if [ -n "$BUSYBOX" ] && ldd "$BUSYBOX" >/dev/null 2>&1; then # dynamic: loads the library
	BUSYBOX=
fi
# one CPU for the driver, the shells and their children: the storm is
# serial anyway, and it keeps the scheduler from moving them around
PIN=
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ]; then
	PIN="taskset -c $(($(nproc) - 1))"
fi
export -f lockstep
export WORK

echo "-- exec storm: bash running $STORM /bin/true, three ways in lockstep${PIN:+ (pinned to one CPU)}"
read -r n_med n_p25 e_med e_p25 s_med s_p25 < <($PIN bash -c 'lockstep "$@" | tr "\n" " "' lockstep "$STORM" \
	"|/bin/true" "$WORK/empty.so|/bin/true" "$SHIM|/bin/true")
printf '  per /bin/true (median, p25): nothing %d, %d us; empty preload .so %d, %d us; shunt shim %d, %d us\n' \
	"$n_med" "$n_p25" "$e_med" "$e_p25" "$s_med" "$s_p25"
echo "  shim/empty = $(ratio "$s_med" "$e_med")   (target <= 1.02; p25 $(ratio "$s_p25" "$e_p25"))   empty/none = $(ratio "$e_med" "$n_med")   (p25 $(ratio "$e_p25" "$n_p25"))"

SPLIT=$((STORM / 2))
echo "-- split, $SPLIT rounds in lockstep: loading the library vs the exec wrapper"
# load: plain bash runs LD_PRELOAD=LIB /bin/true (only the loading)
# wrap: bash with LIB preloaded runs static busybox true (only the wrapper
#       in the forked child and the parent's share; nothing loads after exec)
read -r le _ ls _ < <($PIN bash -c 'lockstep "$@" | tr "\n" " "' lockstep "$SPLIT" \
	"|LD_PRELOAD=$WORK/empty.so /bin/true" "|LD_PRELOAD=$SHIM /bin/true")
line="  loading the library: shim/empty $(ratio "$ls" "$le") ($ls vs $le us)"
if [ -n "$BUSYBOX" ]; then
	read -r xe _ xs _ < <($PIN bash -c 'lockstep "$@" | tr "\n" " "' lockstep "$SPLIT" \
		"$WORK/empty.so|$BUSYBOX true" "$SHIM|$BUSYBOX true")
	line="$line;  exec wrapper and fork: shim/empty $(ratio "$xs" "$xe") ($xs vs $xe us)"
else
	line="$line;  exec wrapper: n/a (no static busybox)"
fi
echo "$line"

# Counts that do not depend on the machine's speed: per /bin/true of a
# bash storm, system calls and page faults of the shell and its children.
if command -v perf >/dev/null 2>&1 &&
	perf stat -x, -e page-faults true >/dev/null 2>&1; then
	echo "-- per /bin/true, counted (perf stat over bash running 2000)"
	for spec in "|nothing" "$WORK/empty.so|empty .so" "$SHIM|shunt shim"; do
		lib=${spec%%|*}
		out=$(LD_PRELOAD=$lib perf stat -x, -e page-faults,raw_syscalls:sys_enter \
			bash -c 'for ((i = 0; i < 2000; i++)); do /bin/true; done' 2>&1 >/dev/null)
		printf '  %-12s %s\n' "${spec#*|}" "$(awk -F, '
			/page-faults/ { f = $1 } /sys_enter/ { s = $1 }
			END { if (f == "" || s == "") print "(perf gave no counts)"; else printf "%.1f page faults, %.1f system calls", f / 2000, s / 2000 }' <<<"$out")"
	done
fi

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
if cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$TOP/policy" -I"$TOP/util" -I"$BUILD/gen" -o "$WORK/shim_decide" \
	"$TOP/tests/bench/shim_decide.c" "$BUILD/lib/libshunt-policy.a" "$BUILD/lib/libshunt-util.a" \
	$(pkg-config --libs libpcre2-8 yaml-0.1) -lpthread 2>"$WORK/cc.log"; then
	"$WORK/shim_decide" "$WORK/policy.snap" | sed 's/^/  /'
else
	sed 's/^/  /' "$WORK/cc.log"
fi

BROUNDS=${BENCH_BUILD_ROUNDS:-3}
echo "-- real build: make clean; make -j2 bin/shunt unit (this project), $BROUNDS rounds, with and without the shim in turn"
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
	echo "  skipped (BENCH_SKIP_BUILD=1)"
	exit 0
fi
# build PRELOAD: ms for one clean build (0 when it failed)
build() {
	local pre=$1 t0 t1
	t0=$(ms)
	# clean and all as two runs: "make -j2 clean all" races with itself;
	# the shim library itself is left out: linking a file named
	# libshunt-preload.so trips rule shunt-shim-removal under the shim
	if ! LD_PRELOAD=$pre sh -c 'make -C "$1" -s BUILD="$2" clean && make -C "$1" -s -j2 BUILD="$2" "$2/bin/shunt" unit' \
		sh "$TOP" "$WORK/b" >"$WORK/make.log" 2>&1; then
		tail -3 "$WORK/make.log" | sed 's/^/  make: /' >&2
		echo 0
		return
	fi
	t1=$(ms)
	echo $((t1 - t0))
}
: >"$WORK/br"
for ((r = 0; r < BROUNDS; r++)); do
	bn=$(build "")
	bs=$(build "$SHIM")
	if [ "$bn" = 0 ] || [ "$bs" = 0 ]; then
		echo "  the build failed (see above); no ratio"
		exit 0
	fi
	echo "$bn $bs" >>"$WORK/br"
	printf '  round %d: without shim %d ms, with shim %d ms (%s)\n' $((r + 1)) "$bn" "$bs" "$(ratio "$bs" "$bn")"
done
awk '{ printf "%.4f\n", $2 / $1 }' "$WORK/br" | sort -n |
	awk '{ r[NR] = $1 } END { printf "  with/without = %.3f   (median of %d rounds; target <= 1.02)\n", (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2), NR }'
