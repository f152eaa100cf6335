#!/usr/bin/env bash
# The compatibility suite (issue 22): ordinary developer workflows run the
# same with and without shunt. Each step in tests/compat/steps/*.step is
# typed line by line into two real interactive bash shells (tmux), a plain
# one and one with `eval "$(shunt init bash)"` and the default configuration,
# each with its own fresh HOME and workspace; agent steps run as `bash -c`
# with no terminal, with and without the LD_PRELOAD shim. A step is
# identical when every line's exit status, the normalised screen and the
# manifest of the files it leaves are the same.
#
# A step file: a comment line (what it does), `#% key: value` headers, then
# the lines typed (agent steps: the script). Headers:
#   needs: TOOL...      skipped, with a message, when one is missing
#   fixture: DIR        tests/compat/fixture/DIR is copied into the workspace
#   effect: local|risky really risky steps must prompt (interactive) or be
#                       refused with a reason (agent, no terminal)
#   mode: tty|agent     default tty
#   timeout: SECONDS    per line, default 90
# Directives between typed lines: `@until-proc NAME` (the line before runs
# in the foreground: wait until NAME runs instead of waiting for the prompt)
# and `@key KEY` (send a key, e.g. C-z, then wait for the prompt).
#
# A differing step fails unless tests/compat/known.txt lists it (step name,
# then the issue item and the observed difference). Prints `N of M steps
# identical`. COMPAT_STEPS=regex runs only matching steps.
. "$(dirname "$0")/../lib.sh"
C=$TOP/tests/compat
. "$C/lib.sh"

compat_begin
if [ -n "$COMPAT_SKIP_ALL" ]; then
	skip "compat: $COMPAT_SKIP_ALL"
	done_testing
	exit
fi
declare -A ASKED=([plain]=0 [shunt]=0) N=([plain]=0 [shunt]=0) PC=([plain]=0 [shunt]=0)
T0=$(date +%s)

# header VALUE of a step file (empty when absent)
hdr() { sed -n "s/^#% $2: *//p" "$1" | head -1; }

# the reason a step is a known difference, or nothing
known() { awk -v s="$1" '$1 == s { $1 = ""; sub(/^ +/, ""); print; exit }' "$C/known.txt" 2>/dev/null; }

# note MODE STEP TEXT: something the driver saw, compared with the screen
note() { echo "@@ $1: $3" | sed "s/^@@ $1: /@@ /" >>"$ROOT/$1/out/$2.notes"; }

# run_tty STEP-FILE NAME: types the step's lines into both shells in lockstep
run_tty() {
	local f=$1 name=$2 to m line next n i
	to=$(hdr "$f" timeout)
	to=$((${to:-90} * 10))
	for m in "${MODES[@]}"; do
		send_line "$m" "cd '$ROOT/$m/ws/$name'"
	done
	for m in "${MODES[@]}"; do
		wait_prompt "$m" "${PC[$m]}" 50
	done
	clear_panes
	# the screen is empty now; Ctrl-L has readline draw the prompt again at
	# the top in both shells, so each step starts from one prompt on screen
	# (a hook whose Enter runs a bind -x function redraws the prompt with
	# the line, which after a bare reset would count as a second prompt)
	for m in "${MODES[@]}"; do
		tm "$m" send-keys -t 0 C-l
	done
	for m in "${MODES[@]}"; do
		wait_prompt "$m" 0 50 || note "$m" "$name" "no prompt after Ctrl-L"
	done
	mapfile -t lines < <(grep -v '^#' "$f")
	for ((i = 0; i < ${#lines[@]}; i++)); do
		line=${lines[i]}
		next=${lines[i + 1]-}
		case $line in
		@until-proc\ *)
			for m in "${MODES[@]}"; do
				wait_proc "$m" "${line#@until-proc }" || note "$m" "$name" "${line#@until-proc } never ran"
			done
			;;
		@wait-text\ *)
			for m in "${MODES[@]}"; do
				wait_text "$m" "${line#@wait-text }" || note "$m" "$name" "never showed ${line#@wait-text }"
			done
			;;
		@feed\ *)
			set -- ${line#@feed }
			local pids=()
			for m in "${MODES[@]}"; do
				timeout 10 sh -c 'printf "%s\n" "$2" >"$1"' sh "$ROOT/$m/ws/$name/$1" "$2" &
				pids+=($!)
			done
			wait "${pids[@]}"
			;;
		@key\ *)
			for m in "${MODES[@]}"; do
				N[$m]=${PC[$m]}
				tm "$m" send-keys -t 0 "${line#@key }"
			done
			;;
		*)
			for m in "${MODES[@]}"; do
				N[$m]=${PC[$m]}
				send_line "$m" "$line"
			done
			;;
		esac
		# a directive next: the line runs on in the foreground meanwhile
		case $next in @until-proc\ * | @wait-text\ * | @feed\ *) continue ;; esac
		case $line in @until-proc\ * | @wait-text\ *) continue ;; esac
		for m in "${MODES[@]}"; do
			[ -n "${COMPAT_TRACE-}" ] && echo "# $(date +%s.%N | cut -c7-14) $m wait: $line" >&2
			if ! wait_prompt "$m" "${N[$m]}" "$to"; then
				note "$m" "$name" "hung on: $line"
				tm "$m" send-keys -t 0 C-c
				wait_prompt "$m" "${N[$m]}" 100 || PC[$m]=$(nprompts "$m")
			fi
		done
	done
	for m in "${MODES[@]}"; do
		pane "$m" | normalise "$m" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$ROOT/$m/out/$name.screen"
	done
}

# run_agent STEP-FILE NAME: the step's body as `bash -c`, no terminal, in
# parallel; the shunt side has the shim in LD_PRELOAD (and SHUNT_BIN, as
# an editor terminal or an agent started from a hooked shell would)
run_agent() {
	local f=$1 name=$2 to m script pids=()
	to=$(hdr "$f" timeout)
	script=$(grep -v '^#' "$f")
	for m in "${MODES[@]}"; do
		(
			cd "$ROOT/$m/ws/$name" || exit
			mapfile -t envv < <(compat_env "$m")
			[ "$m" = shunt ] && envv+=("LD_PRELOAD=$SHIM" "SHUNT_BIN=$SHUNT")
			setsid -w env -i "${envv[@]}" timeout "${to:-90}" bash -c "$script" </dev/null >"$ROOT/$m/out/$name.raw" 2>&1
			echo "@S=$?" >>"$ROOT/$m/out/$name.raw"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for m in "${MODES[@]}"; do
		normalise "$m" <"$ROOT/$m/out/$name.raw" >"$ROOT/$m/out/$name.screen"
	done
}

# setup STEP-FILE NAME: the fixture and the `setup:` command (run by the
# driver, not typed: what the project already had) in both workspaces
setup_step() {
	local f=$1 name=$2 fix cmd m envv
	fix=$(hdr "$f" fixture)
	cmd=$(hdr "$f" setup)
	for m in "${MODES[@]}"; do
		mkdir -p "$ROOT/$m/ws/$name"
		[ -n "$fix" ] && cp -a "$C/fixture/$fix/." "$ROOT/$m/ws/$name/"
		if [ -n "$cmd" ]; then
			mapfile -t envv < <(compat_env "$m")
			(cd "$ROOT/$m/ws/$name" && env -i "${envv[@]}" bash -c "$cmd") >>"$ROOT/$m/out/$name.notes" 2>&1 ||
				note "$m" "$name" "setup failed: $cmd"
		fi
	done
}

# judge NAME FILE: one TAP assertion for a step that ran
judge() {
	local name=$1 f=$2 what mode why dur P S ns
	what=$(head -1 "$f" | sed 's/^# *//')
	mode=$(hdr "$f" mode)
	dur=$(cat "$ROOT/shunt/out/$name.time" 2>/dev/null)
	P=$ROOT/plain/out/$name S=$ROOT/shunt/out/$name
	for m in "${MODES[@]}"; do
		manifest "$m" "$ROOT/$m/ws/$name" >"$ROOT/$m/out/$name.files"
		cat "$ROOT/$m/out/$name.notes" 2>/dev/null >>"$ROOT/$m/out/$name.screen"
	done
	# a command run in a sandbox with its one-line notice, and otherwise the
	# same result, is not a break (issue 22): the notice is counted, not compared
	ns=$(grep -c '^shunt: sandboxed' "$S.screen")
	grep -v '^shunt: sandboxed' "$S.screen" >"$S.cmp"
	cp "$P.screen" "$P.cmp"
	if [ "$(hdr "$f" effect)" = risky ]; then
		risky=$((risky + 1))
		# stated for each: prompted at a terminal, refused with a reason without one
		if [ "${mode:-tty}" = agent ]; then
			if ! grep -q '^@S=0$' "$S.screen" && grep -Eq '^shunt: .*(block|refus|denied)' "$S.screen"; then
				risky_ok=$((risky_ok + 1))
				pass "compat $name: really risky, refused with a reason without a terminal (${dur}s)"
			else
				fail "compat $name: really risky, must be refused with a reason without a terminal"
				sed 's/^/#   /' "$S.screen" | head -20
			fi
		elif grep -q 'needs your approval' "$S.screen" && ! diff -q "$P.files" "$S.files" >/dev/null; then
			risky_ok=$((risky_ok + 1))
			pass "compat $name: really risky, prompted (answered n: nothing ran) (${dur}s)"
		else
			fail "compat $name: really risky, must prompt at a terminal and not run when declined"
			sed 's/^/#   /' "$S.screen" | head -20
		fi
		return
	fi
	total=$((total + 1))
	why=$(known "$name")
	if diff -q "$P.cmp" "$S.cmp" >/dev/null && diff -q "$P.files" "$S.files" >/dev/null; then
		same=$((same + 1))
		pass "compat $name: identical with and without shunt$([ "$ns" -gt 0 ] && echo " ($ns sandboxed, with the notice)") (${dur}s): $what"
		[ -n "$why" ] && diag "$name is listed in known.txt but is identical now: delete its line"
	else
		if [ -n "$why" ]; then
			pass "compat $name: differs, known: $why (${dur}s)"
		else
			fail "compat $name: differs with shunt (${dur}s): $what"
		fi
		{
			diff -u --label plain --label shunt "$P.cmp" "$S.cmp" | head -"${COMPAT_DIFF_LINES:-30}"
			diff -u --label plain-files --label shunt-files "$P.files" "$S.files" | head -10
		} | sed 's/^/#   /'
	fi
}

same=0 total=0 risky_ok=0 risky=0
steps=() agents=()
for f in "$C"/steps/*.step; do
	name=$(basename "$f" .step)
	[[ $name =~ ${COMPAT_STEPS:-.} ]] || continue
	missing=
	for tool in $(hdr "$f" needs); do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	if [ -n "$missing" ]; then
		steps+=("skip:$name:$missing")
		continue
	fi
	steps+=("$name")
	setup_step "$f" "$name"
	# agent steps need no shell: they run meanwhile, in the background
	if [ "$(hdr "$f" mode)" = agent ]; then
		(
			t0=$(date +%s)
			run_agent "$f" "$name"
			echo $(($(date +%s) - t0)) >"$ROOT/shunt/out/$name.time"
		) &
		agents+=($!)
	fi
done
for s in "${steps[@]}"; do
	f=$C/steps/$s.step
	[[ $s == skip:* ]] && continue
	[ "$(hdr "$f" mode)" = agent ] && continue
	[ -n "${SHELLS_UP-}" ] || { start_shells; SHELLS_UP=1; }
	ASKED[plain]=0 ASKED[shunt]=0
	t0=$(date +%s)
	run_tty "$f" "$s"
	echo $(($(date +%s) - t0)) >"$ROOT/shunt/out/$s.time"
done
[ ${#agents[@]} -gt 0 ] && wait "${agents[@]}"
for s in "${steps[@]}"; do
	if [[ $s == skip:* ]]; then
		s=${s#skip:}
		skip "compat ${s%%:*}: needs${s#*:} (not installed)"
		continue
	fi
	judge "$s" "$C/steps/$s.step"
done
diag "$same of $total steps identical with and without shunt; $risky_ok of $risky really risky steps prompted or refused as stated ($(($(date +%s) - T0))s)"
[ -n "${COMPAT_KEEP-}" ] && diag "kept $ROOT"
done_testing
