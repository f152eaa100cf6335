#!/usr/bin/env bash
# Runs every test and prints "N passed, N failed, N skipped".
# Unit tests (normal + ASan/UBSan), rule examples, the labelled corpus,
# and integration tests (as root and, when root, again as an unprivileged
# user).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
export TOP BUILD
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failures=()

# count TAP output of one test program; $1 = label, rest = command
run_tap() {
	local label=$1; shift
	local log="$LOGDIR/$(echo "$label" | tr '/ ' '__').log"
	local t0=$(date +%s) to=${TEST_TIMEOUT:-600}
	# the compatibility suite types ~100 lines into two shells and waits
	# for sandboxed installs: on a loaded machine it takes far longer
	case $label in */compat) to=${COMPAT_TIMEOUT:-2400} ;; esac
	timeout "$to" "$@" >"$log" 2>&1
	local rc=$?
	local p f s
	p=$(grep -Ec '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -Ec '^ok [0-9]+.*# SKIP' "$log" | tr -d ' ')
	f=$(grep -Ec '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed, timed out or exited non-zero without a failing assertion
		f=1
		echo "not ok - $label exited with status $rc" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-48s %4d passed %3d failed %3d skipped (%ds)\n' "$label" "$p" "$f" "$s" $(( $(date +%s) - t0 ))
	if [ "$f" -gt 0 ]; then
		failures+=("$label")
		grep -E '^not ok|^#' "$log" | head -40 | sed 's/^/    /'
	fi
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_tap "unit/$(basename "$t")" "$t"
done
echo "== unit tests under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "$BUILD"/asan/tests/test_*; do
	[ -x "$t" ] || continue
	run_tap "asan/$(basename "$t")" "$t"
done
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== integration tests (as $(id -un))"
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_tap "int/$(basename "$t" .sh)" bash "$t"
done

if [ "$(id -u)" = 0 ] && [ "${SHUNT_TEST_NO_UNPRIV:-0}" != 1 ]; then
	# Again as an unprivileged user, from a world-readable copy of the tree.
	UTOP=$(mktemp -d /tmp/shunt-unpriv.XXXXXX)
	chmod 755 "$UTOP"
	cp -a "$TOP/tests" "$TOP/policy" "$TOP/util" "$TOP/net" "$TOP/sandbox" "$TOP/shells" "$TOP/presets" "$TOP/shunt.example.yaml" "$UTOP/" 2>/dev/null
	mkdir -p "$UTOP/build"
	cp -a "$BUILD/bin" "$BUILD/lib" "$BUILD/tests" "$UTOP/build/" 2>/dev/null
	chmod -R a+rX "$UTOP"
	echo "== integration tests (as nobody)"
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		run_tap "unpriv/$(basename "$t" .sh)" \
			setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env \
			env TOP="$UTOP" BUILD="$UTOP/build" PATH=/usr/local/bin:/usr/bin:/bin SHELL=/bin/bash SHUNT_UNPRIV=1 \
			bash "$UTOP/$t"
	done
	rm -rf "$UTOP"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}  (logs in $LOGDIR)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
