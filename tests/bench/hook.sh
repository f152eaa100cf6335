#!/usr/bin/env bash
# Added latency of the line hook per interactive command, and shell
# start-up time, with and without eval "$(shunt init bash)".
#
# Latency: an interactive bash (on a pty, via script(1)) reads N lines of
# `true`; each line's Enter-to-start time is measured inside the shell as
# the gap between PS0 expansion (right after the line is read) and the
# command starting (a DEBUG trap installed last, so it runs after shunt's
# hook). The same is done without the hook. Prints per-command ms.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${N:-200}
RUNS=${RUNS:-20}
command -v script >/dev/null || { echo "hook bench: script(1) missing (util-linux)"; exit 0; }

TMP=$(mktemp -d /tmp/shunt-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_STATE_HOME=$TMP/home/.local/state \
	XDG_DATA_HOME=$TMP/home/.local/share XDG_CACHE_HOME=$TMP/home/.cache XDG_RUNTIME_DIR=$TMP/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unset LD_PRELOAD SHUNT_DRY_RUN

# $1 = "hook" or "none"; prints the mean Enter-to-start latency in ms
measure() {
	local mode=$1
	local rc=$TMP/rc-$mode log=$TMP/lat-$mode
	{
		echo "PS1='\$ '"
		echo "HISTFILE=$TMP/hist-$mode"
		[ "$mode" = hook ] && echo "eval \"\$('$SHUNT' init bash)\""
		# measuring probe: PS0 stamps the read time, a DEBUG trap installed
		# after shunt's (so shunt chains it and runs first) stamps the start
		cat <<'EOF'
__b_t0=
PS0="${PS0-}"'${__b_nul[__b_t0=${EPOCHREALTIME/./}]}'
__b_probe() {
	if [[ -n $__b_t0 && $BASH_COMMAND == true ]]; then
		echo $(( ${EPOCHREALTIME/./} - __b_t0 )) >>"$__b_log"
		__b_t0=
	fi
}
trap '__b_probe' DEBUG
EOF
		echo "__b_log=$log"
	} >"$rc"
	: >"$log"
	{
		sleep 0.5
		for ((i = 0; i < N; i++)); do echo true; done
		echo exit
	} | script -qefc "bash --noprofile --rcfile $rc -i" /dev/null >/dev/null 2>&1
	awk '{ s += $1; n++ } END { if (n) printf "%.3f %d\n", s / n / 1000, n; else print "nan 0" }' "$log"
}

startup() {
	local mode=$1
	local rc=$TMP/src-$mode t0 t1
	: >"$rc"
	[ "$mode" = hook ] && echo "eval \"\$('$SHUNT' init bash)\"" >"$rc"
	t0=${EPOCHREALTIME/./}
	for ((i = 0; i < RUNS; i++)); do
		bash --noprofile --rcfile "$rc" -i -c exit </dev/null >/dev/null 2>&1
	done
	t1=${EPOCHREALTIME/./}
	awk -v d=$((t1 - t0)) -v n="$RUNS" 'BEGIN { printf "%.2f", d / n / 1000 }'
}

read -r none nn <<<"$(measure none)"
read -r hook nh <<<"$(measure hook)"
printf 'hook latency (Enter to command start, low-risk `true`, N=%s):\n' "$N"
printf '  without hook: %8.3f ms/command (%s samples)\n' "$none" "$nn"
printf '  with hook:    %8.3f ms/command (%s samples)\n' "$hook" "$nh"
awk -v a="$hook" -v b="$none" 'BEGIN { printf "  added:        %8.3f ms/command (target < 2 ms)\n", a - b }'
s0=$(startup none)
s1=$(startup hook)
printf 'bash -i start-up (%s runs): without %s ms, with eval "$(shunt init bash)" %s ms\n' "$RUNS" "$s0" "$s1"
