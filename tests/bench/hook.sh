#!/usr/bin/env bash
# Added latency of the line hook per interactive command, and shell
# start-up time, with and without eval "$(shunt init bash|zsh)".
#
# Latency: an interactive shell (on a pty, via script(1)) reads N lines of
# `true`; each line's Enter-to-start time is measured inside the shell.
#   bash: from Enter (the start of the hook's Enter function; without the
#         hook, PS0's expansion right after the line is read) to a DEBUG
#         trap installed last (shunt's hook chains it, so it runs after).
#   zsh:  from a widget bound to Enter that calls accept-line (which shunt
#         wraps) to a preexec hook (just before the command runs).
# Modes, interleaved in every round so machine noise hits them alike:
#   none  no hook;  hook  the hook as shipped (the long-lived checker);
#   fork  the hook forced onto its fallback path (a `shunt check` per line).
# Each run gives the per-line median (and mean); the report shows medians
# over ROUNDS rounds, the added latency (hook - none) and the hook/fork
# ratio of added latencies.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${N:-100}
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-10}
command -v script >/dev/null || { echo "hook bench: script(1) missing (util-linux)"; exit 0; }
SHELLS=(bash)
if command -v zsh >/dev/null; then SHELLS+=(zsh); else echo "hook bench: zsh not installed, bash only"; fi

TMP=$(mktemp -d /tmp/shunt-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_STATE_HOME=$TMP/home/.local/state \
	XDG_DATA_HOME=$TMP/home/.local/share XDG_CACHE_HOME=$TMP/home/.cache XDG_RUNTIME_DIR=$TMP/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unset LD_PRELOAD SHUNT_DRY_RUN CI

# rc files: $1 shell, $2 mode; prints the rc path (zsh: its ZDOTDIR)
write_rc() {
	local sh=$1 mode=$2 log=$TMP/lat-$1-$2
	if [ "$sh" = bash ]; then
		local rc=$TMP/rc-bash-$mode
		{
			echo "PS1='\$ '"
			echo "HISTFILE=$TMP/hist-bash-$mode"
			[ "$mode" != none ] && echo "eval \"\$('$SHUNT' init bash)\""
			[ "$mode" = fork ] && echo "__shunt_srv_fails=99"
			cat <<'EOF'
__b_t0=
PS0="${PS0-}"'${__b_nul[__b_t0 ? 0 : (__b_t0=${EPOCHREALTIME/./})]}'
# the hook decides at Enter (before PS0): start there when it does
if declare -F __shunt_rl_enter >/dev/null; then
	eval "__b_rl_orig() $(declare -f __shunt_rl_enter | tail -n +2)"
	__shunt_rl_enter() { __b_t0=${EPOCHREALTIME/./}; __b_rl_orig; }
fi
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
		echo "$rc"
	else
		local d=$TMP/zdot-$mode
		mkdir -p "$d"
		{
			echo "PS1='\$ '"
			echo "HISTFILE=$TMP/hist-zsh-$mode"
			echo "zmodload zsh/datetime"
			[ "$mode" != none ] && echo "eval \"\$('$SHUNT' init zsh)\""
			[ "$mode" = fork ] && echo "__shunt_srv_fails=99"
			cat <<'EOF'
typeset -g __b_t0=
__b_enter() { __b_t0=$EPOCHREALTIME; zle accept-line; }
zle -N __b_enter
bindkey '^M' __b_enter
bindkey '^J' __b_enter
__b_probe() {
	if [[ -n $__b_t0 && $1 == true ]]; then
		print -r -- $(( (EPOCHREALTIME - __b_t0) * 1000000 )) >>"$__b_log"
		__b_t0=
	fi
}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __b_probe
EOF
			echo "__b_log=$log"
		} >"$d/.zshrc"
		echo "$d"
	fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure SHELL MODE: mean Enter-to-start latency of one run, in ms
measure() {
	local sh=$1 mode=$2 rc cmd log=$TMP/lat-$1-$2
	rc=$(write_rc "$sh" "$mode")
	if [ "$sh" = bash ]; then
		cmd="bash --noprofile --rcfile $rc -i"
	else
		cmd="env ZDOTDIR=$rc zsh -i"
	fi
	: >"$log"
	{
		sleep 0.5
		for ((i = 0; i < N; i++)); do echo true; done
		echo exit
	} | script -qefc "$cmd" /dev/null >/dev/null 2>&1
	# per-line median (a shared machine's hiccups are outliers), and the mean
	sort -g "$log" | awk '{ v[NR] = $1; s += $1 } END {
		if (NR) printf "%.4f %.4f\n", v[int((NR + 1) / 2)] / 1000, s / NR / 1000; else print "nan nan" }'
	# the first line also starts the checker
	awk 'NR == 1 { printf "%.4f\n", $1 / 1000 }' "$log" >>"$TMP/first-$sh-$mode"
}

# start1 SHELL MODE: µs of one interactive shell that exits at once
start1() {
	local sh=$1 mode=$2 t0 t1 rc
	if [ "$sh" = bash ]; then
		rc=$TMP/src-bash-$mode
		[ -f "$rc" ] || {
			: >"$rc"
			[ "$mode" = hook ] && echo "eval \"\$('$SHUNT' init bash)\"" >"$rc"
		}
		t0=${EPOCHREALTIME/./}
		bash --noprofile --rcfile "$rc" -i -c exit </dev/null >/dev/null 2>&1
	else
		rc=$TMP/szdot-$mode
		[ -f "$rc/.zshrc" ] || {
			mkdir -p "$rc"
			: >"$rc/.zshrc"
			[ "$mode" = hook ] && echo "eval \"\$('$SHUNT' init zsh)\"" >"$rc/.zshrc"
		}
		t0=${EPOCHREALTIME/./}
		ZDOTDIR=$rc zsh -i -c exit </dev/null >/dev/null 2>&1
	fi
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0))
}

# startup SHELL: RUNS pairs, a plain shell and one with the hook side by
# side (A B A B: drift hits both alike); appends the medians of the plain
# runs, of the hooked ones and of the per-pair differences, in ms
startup() {
	local sh=$1 i a b
	: >"$TMP/pair-none" && : >"$TMP/pair-hook" && : >"$TMP/pair-diff"
	for ((i = 0; i < RUNS; i++)); do
		a=$(start1 "$sh" none)
		b=$(start1 "$sh" hook)
		echo "$a" >>"$TMP/pair-none"
		echo "$b" >>"$TMP/pair-hook"
		echo $((b - a)) >>"$TMP/pair-diff"
	done
	awk '{ printf "%.3f\n", $1 / 1000 }' "$TMP/pair-none" | median >>"$TMP/st-$sh-none"
	awk '{ printf "%.3f\n", $1 / 1000 }' "$TMP/pair-hook" | median >>"$TMP/st-$sh-hook"
	awk '{ printf "%.3f\n", $1 / 1000 }' "$TMP/pair-diff" | median >>"$TMP/st-$sh-diff"
}


for ((r = 0; r < ROUNDS; r++)); do
	for sh in "${SHELLS[@]}"; do
		startup "$sh"
		[ -n "${STARTUP_ONLY:-}" ] && continue
		for mode in none hook fork; do
			read -r med mean <<<"$(measure "$sh" "$mode")"
			echo "$med" >>"$TMP/res-$sh-$mode"
			echo "$mean" >>"$TMP/mean-$sh-$mode"
		done
		awk -v h="$(tail -n 1 "$TMP/res-$sh-hook")" -v n="$(tail -n 1 "$TMP/res-$sh-none")" \
			'BEGIN { printf "%.4f\n", h - n }' >>"$TMP/res-$sh-added"
		awk -v h="$(tail -n 1 "$TMP/res-$sh-fork")" -v n="$(tail -n 1 "$TMP/res-$sh-none")" \
			'BEGIN { printf "%.4f\n", h - n }' >>"$TMP/res-$sh-forkadded"
		awk -v h="$(tail -n 1 "$TMP/res-$sh-hook")" -v f="$(tail -n 1 "$TMP/res-$sh-fork")" \
			-v n="$(tail -n 1 "$TMP/res-$sh-none")" \
			'BEGIN { printf "%.4f\n", ((f - n) > 0 ? (h - n) / (f - n) : 0) }' >>"$TMP/res-$sh-ratio"
		awk -v h="$(tail -n 1 "$TMP/mean-$sh-hook")" -v n="$(tail -n 1 "$TMP/mean-$sh-none")" \
			'BEGIN { printf "%.4f\n", h - n }' >>"$TMP/mean-$sh-added"
	done
done

if [ -z "${STARTUP_ONLY:-}" ]; then
	printf 'hook latency, Enter to command start of a low-risk `true` (median over %s rounds of the\n' "$ROUNDS"
	printf 'per-line median of %s lines; modes interleaved in each round):\n' "$N"
	printf '  %-5s %10s %10s %12s %10s %13s %11s %13s\n' shell none hook "added" fork "fork added" "hook/fork" "added (mean)"
	for sh in "${SHELLS[@]}"; do
		printf '  %-5s %7.3f ms %7.3f ms %9.3f ms %7.3f ms %10.3f ms %11.2f %10.3f ms\n' "$sh" \
			"$(median <"$TMP/res-$sh-none")" "$(median <"$TMP/res-$sh-hook")" \
			"$(median <"$TMP/res-$sh-added")" "$(median <"$TMP/res-$sh-fork")" \
			"$(median <"$TMP/res-$sh-forkadded")" "$(median <"$TMP/res-$sh-ratio")" \
			"$(median <"$TMP/mean-$sh-added")"
	done
	echo "  added = hook - none, per round (target < 2 ms); fork = the fallback path, a shunt check"
	echo "  per line; hook/fork = ratio of their added latencies; added (mean) = the same from"
	echo "  per-line means, first line and outliers included"
	for sh in "${SHELLS[@]}"; do
		printf '  %-5s first line, which starts the checker: %.3f ms (median; fork path %.3f ms)\n' "$sh" \
			"$(median <"$TMP/first-$sh-hook")" "$(median <"$TMP/first-$sh-fork")"
	done
fi
printf 'start-up of an interactive shell that exits at once, `SHELL -i -c exit`, plain and with\n'
printf 'eval "$(shunt init SHELL)" side by side (%s rounds of %s pairs; medians of the round medians):\n' \
	"$ROUNDS" "$RUNS"
for sh in "${SHELLS[@]}"; do
	a=$(median <"$TMP/st-$sh-none")
	b=$(median <"$TMP/st-$sh-hook")
	d=$(median <"$TMP/st-$sh-diff")
	awk -v s="$sh" -v a="$a" -v b="$b" -v d="$d" \
		'BEGIN { printf "  %-5s plain %7.3f ms, with the hook %7.3f ms: +%.3f ms per pair (x%.2f)\n", s, a, b, d, b / a }'
done
echo "  target: within 10 ms of the plain shell (issue 22); STARTUP_ONLY=1 measures only this"
