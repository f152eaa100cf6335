# shunt line hook for bash >= 4.4. Loaded by: eval "$(shunt init bash)"
# (init prints SHUNT_BIN, the LD_PRELOAD export, then this file).
#
# How it works
# - PS0 (expanded in this shell once a line has been read) sets
#   __shunt_phase=1 through an arithmetic side effect: no fork.
# - Enter is bound (bind -x, then accept-line) to __shunt_rl_enter, which
#   asks the checker about the line before bash parses it. A plain list
#   whose risky simple commands can run alone comes back rewritten: each
#   risky command prefixed by `__shunt_cmd K`, which runs it through
#   `shunt exec --decided` with the decision made here; the rest of the
#   line runs in this shell (exports, cd, && || and $? as without shunt).
#   The DEBUG trap puts the typed line back in history. Any other answer
#   is kept for the trap, which then acts on it without asking again.
# - The DEBUG trap (with extdebug, a non-zero return skips the command)
#   decides at the first simple command of the line, using the whole line
#   from history (fc -ln -0). host: the line runs as typed and the trap
#   lets every later command of the line through without work. Otherwise
#   the whole line goes to `shunt exec --source hook`, and the original is
#   skipped: the trap returns 1 and sends SIGINT to this shell, which
#   abandons the rest of the line (loops included) like Ctrl-C would.
# - PROMPT_COMMAND's first entry __shunt_precmd ends the line: it reports
#   the exit status of a line shunt ran, re-installs the trap, PS0 and
#   itself if something removed them, and wraps a DEBUG trap installed
#   after us (VS Code, bash-preexec) so both keep working.
# - When history did not record the line (HISTCONTROL=ignorespace,
#   ignoredups, HISTIGNORE, set +o history) each simple command is decided
#   on its own from $BASH_COMMAND.
# - Exit status of a whole line shunt ran: PROMPT_COMMAND entries after
#   ours (prompt themes) see it; bash itself restores $? after
#   PROMPT_COMMAND, so the next line sees 130 (like Ctrl-C) and the real
#   status is in $SHUNT_LAST_STATUS. A split line keeps its real $?.
# - Start-up forks nothing but `shunt init` (the scratch file is made with
#   builtins); the Enter binding comes with the first prompt.
# - `shunt off` (confirmed on the terminal) disables this line hook for
#   this shell only. The LD_PRELOAD shim stays: an agent that unsets
#   LD_PRELOAD, runs `trap - DEBUG` or sets a variable still has its execs
#   checked by the shim of its parent's environment and by shunt's gate.
if [[ $- == *i* && -n ${BASH_VERSION-} && -z ${__shunt_loaded-} ]]; then
	if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
		printf 'shunt: bash %s is too old for the line hook (needs 4.4); only the exec shim is active\n' \
			"$BASH_VERSION" >&2
	else
		__shunt_loaded=1
		__shunt_enabled=1
		__shunt_phase=0      # 0 prompt, 1 line read, 2 line runs, 3 line handed to shunt
		__shunt_status=      # exit status of the line shunt ran
		__shunt_histnext=    # HISTCMD at the prompt: the number the next line gets
		__shunt_prev_trap=   # the DEBUG trap we chain to
		__shunt_trap_cmd='__shunt_debug "$_"'
		__shunt_ps0='${__shunt_nul[__shunt_phase=1]}'
		__shunt_tmp=
		declare -a __shunt_nul=()
		# a longer line goes to shunt on a descriptor: one argument may not
		# exceed 128 KiB (bytes; a character may take 4)
		__shunt_arg_max=30000

		# A private scratch file: builtins write into it so reading their
		# output costs no fork. Written in place (1<>, no O_TRUNC: freeing
		# blocks costs ~0.3 ms on a disk-backed /tmp), each output ended by
		# a NUL that `read -d ''` stops at.
		# Made without a fork (start-up time): an unguessable name, created
		# exclusively (noclobber) under umask 077; the user's umask, which
		# `shunt init` printed, is put back.
		__shunt_mktemp() {
			local d=${XDG_RUNTIME_DIR:-} f c=
			[[ -n $d && -d $d && -w $d ]] || d=${TMPDIR:-/tmp}
			f=$d/shunt-hook.$$.${SRANDOM-}$RANDOM$RANDOM$RANDOM
			[[ $- == *C* ]] && c=1
			builtin umask 077
			builtin set -C
			if { : >"$f"; } 2>/dev/null; then __shunt_tmp=$f; else __shunt_tmp=; fi
			[[ -n $c ]] || builtin set +C
			builtin umask "${__shunt_umask:-022}"
		}

		# The checker: one `shunt check --serve` per shell (protocol in
		# hook/serve.h), so a line costs a pipe round trip instead of a
		# fork+exec. It is started lazily at the first line, through a
		# process substitution (not a job: nothing in `jobs`, no job
		# notices, no clash with the user's coproc) whose subshell exits at
		# once: $! names that gone subshell, so `wait` never waits for the
		# checker (a line that reads $! is not the one to start it on).
		# Its stdin is a pipe we hold
		# read-write (writes never raise SIGPIPE, even when it died); its
		# stdout is the substitution's pipe, so its death reads as EOF.
		# It leaves the terminal's session (Ctrl-C does not reach it) and
		# exits when this shell does (pidfd on $$) or on EOF.
		# Each request carries a fresh id the reply must echo: a stale,
		# stray or forged reply is a desync. Before each request the pipe
		# ends are compared (-ef) with the server's own /proc fds, which also
		# tells whether it is alive and still ours. Any failure falls back to
		# the fork path for that line, whose errors mean "not host" as
		# before; the server is then killed and restarted at the next line
		# (given up after 3 failures in a row).
		__shunt_srv_w= __shunt_srv_r= __shunt_srv_pid= __shunt_srv_key= __shunt_srv_act=
		__shunt_srv_seq=0 __shunt_srv_fails=0
		__shunt_srv_timeout=${SHUNT_HOOK_TIMEOUT:-5}

		__shunt_srv_mkkey() {
			# what the server took from our environment when it started
			__shunt_srv_newkey="$SHUNT_BIN|$HOME|$PATH|${XDG_CONFIG_HOME-}|${XDG_STATE_HOME-}|${XDG_DATA_HOME-}|${XDG_CACHE_HOME-}|${XDG_RUNTIME_DIR-}|${SHUNT_CONFIG-}|${SHUNT_NO_SYSTEM_CONFIG-}|${SHUNT_TRUST_STORE-}|${SHUNT_SNAPSHOT-}|${CI-}"
		}

		__shunt_srv_ours() {
			[[ -n $__shunt_srv_pid && /dev/fd/$__shunt_srv_w -ef /proc/$__shunt_srv_pid/fd/0 &&
				/dev/fd/$__shunt_srv_r -ef /proc/$__shunt_srv_pid/fd/1 ]]
		}

		__shunt_srv_stop() {
			# Forgets the server; kills it when it is alive and ours. Our
			# pipe ends are closed unless something else took their numbers.
			if __shunt_srv_ours; then
				builtin kill -KILL "$__shunt_srv_pid" 2>/dev/null
			fi
			[[ -n $__shunt_srv_w && -p /dev/fd/$__shunt_srv_w ]] && exec {__shunt_srv_w}>&-
			[[ -n $__shunt_srv_r && -p /dev/fd/$__shunt_srv_r ]] && exec {__shunt_srv_r}<&-
			__shunt_srv_w= __shunt_srv_r= __shunt_srv_pid=
		}

		__shunt_srv_start() {
			local t= w= r= tag= ver= pid=
			{
				exec {t}< <(:) && exec {w}<>"/dev/fd/$t" &&
					exec {r}< <("$SHUNT_BIN" check --serve --split --source hook \
						--interactive --parent $$ <"/dev/fd/$w" 2>/dev/null &)
			} 2>/dev/null
			[[ -n $t ]] && exec {t}<&-
			__shunt_srv_w=$w __shunt_srv_r=$r __shunt_srv_pid=
			if [[ -n $w && -n $r ]] &&
				IFS=' ' builtin read -r -t "$__shunt_srv_timeout" -u "$r" tag ver pid &&
				[[ $tag == shunt-serve && $ver == 1 && -n $pid && $pid != *[!0-9]* ]]; then
				__shunt_srv_pid=$pid
				if __shunt_srv_ours; then
					__shunt_srv_key=$__shunt_srv_newkey
					return 0
				fi
			fi
			__shunt_srv_stop
			return 1
		}

		__shunt_srv_ask() {
			# $1: the line. Sets __shunt_srv_act to the server's answer;
			# returns 1 when it could not answer.
			((BASHPID == $$ && __shunt_srv_fails < 3 && ${#1} <= 200000)) || return 1
			__shunt_srv_mkkey
			if [[ -n $__shunt_srv_r ]] && ! { [[ $__shunt_srv_key == "$__shunt_srv_newkey" ]] && __shunt_srv_ours; }; then
				__shunt_srv_stop
			fi
			if [[ -z $__shunt_srv_r ]]; then
				# starting sets $!: leave a line that reads it to the fork path
				[[ $1 != *'$!'* && $1 != *'${!}'* ]] || return 1
				__shunt_srv_start || { ((++__shunt_srv_fails)); return 1; }
			fi
			local id=$((++__shunt_srv_seq)).${SRANDOM-}$RANDOM$RANDOM rid= act= k=
			if builtin printf '%s\0%s\0%s\0' "$id" "" "$1" >&"$__shunt_srv_w" 2>/dev/null &&
				IFS=' ' builtin read -r -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" rid act k &&
				[[ $rid == "$id" ]] && { [[ $act != split ]] || __shunt_srv_split "$k"; }; then
				__shunt_srv_fails=0
				__shunt_srv_act=$act
				# a refusal to decide (e.g. a config error) is the fork path's to report
				[[ $act != error* ]]
				return
			fi
			__shunt_srv_stop
			((++__shunt_srv_fails))
			return 1
		}

		__shunt_srv_split() {
			# Reads the rest of a split answer ($1 commands; hook/serve.h):
			# each one's decision, then the rewritten line.
			[[ $1 == [1-9] || $1 == 1[0-6] ]] || return 1
			local i s w
			__shunt_dec_spec=() __shunt_dec_why=()
			for ((i = 1; i <= $1; i++)); do
				IFS= builtin read -r -d '' -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" s &&
					IFS= builtin read -r -d '' -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" w || return 1
				__shunt_dec_spec[i]=$s __shunt_dec_why[i]=$w
			done
			IFS= builtin read -r -d '' -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" __shunt_srv_new
		}

		__shunt_decide_line() {
			# $1: the line. Returns 0 when it may run here as typed.
			if __shunt_srv_ask "$1"; then
				[[ $__shunt_srv_act == host ]]
				return
			fi
			[[ -n $__shunt_tmp ]] || __shunt_mktemp
			local out=
			if ((${#1} > __shunt_arg_max)); then
				out=$("$SHUNT_BIN" check --json --source hook --interactive --line-fd 3 3<<<"$1" 2>/dev/null)
			elif [[ -n $__shunt_tmp ]]; then
				"$SHUNT_BIN" check --json --source hook --interactive -c "$1" >|"$__shunt_tmp" 2>/dev/null &&
					IFS= read -r out <"$__shunt_tmp"
			else
				out=$("$SHUNT_BIN" check --json --source hook --interactive -c "$1" 2>/dev/null)
			fi
			[[ $out == *'"action":"host"'* ]]
		}

		__shunt_hand_over() {
			# Runs the line through shunt, then abandons the original.
			if ((${#1} > __shunt_arg_max)); then
				"$SHUNT_BIN" exec --source hook --shell "$BASH" --line-fd 3 3<<<"$1"
			else
				"$SHUNT_BIN" exec --source hook --shell "$BASH" -c "$1"
			fi
			__shunt_status=$?
			__shunt_phase=3
			# a ( ... ) subshell dies with it; the interactive shell drops the
			# rest of the line
			((BASH_SUBSHELL > 0)) && builtin kill -s INT "$BASHPID"
			builtin kill -s INT "$$"
		}

		__shunt_line() {
			# The whole line when history has it as entry $__shunt_histnext.
			[[ $HISTCMD == "$__shunt_histnext" && -n $__shunt_tmp ]] || return 1
			{ builtin fc -ln -0 2>/dev/null && builtin printf '\0'; } 1<>"$__shunt_tmp" || return 1
			local l=
			IFS= read -r -d '' l <"$__shunt_tmp"
			l=${l#$'\t'}
			l=${l# }
			l=${l%$'\n'}
			[[ -n $l ]] || return 1
			__shunt_cur=$l
		}

		# Enter (readline): the line is decided here, once, before bash
		# parses it. A line whose risky simple commands can run alone comes
		# back rewritten, each of them prefixed by `__shunt_cmd K`; the
		# rest of the line then runs in this shell (cd, export, source,
		# functions keep their effect; &&, || and $? are real). Other
		# answers are kept for the DEBUG trap, which acts on them without
		# asking again. A continuation line (PS2) is left to the trap,
		# which sees the whole text.
		__shunt_rl_enter() {
			((__shunt_enabled && __shunt_rl_n++ == 0)) || { __shunt_rl_act=; return 0; }
			local l=$READLINE_LINE
			[[ $l == *[![:space:]]* && $l != *$'\n'* ]] || return 0
			__shunt_srv_ask "$l" || return 0
			__shunt_rl_act=$__shunt_srv_act __shunt_rl_line=$l
			if [[ $__shunt_srv_act == split ]]; then
				READLINE_LINE=$__shunt_srv_new
				READLINE_POINT=${#READLINE_LINE}
			fi
		}

		# One risky simple command of a split line: the decision made at
		# Enter goes along, so shunt acts on it without deciding again.
		__shunt_cmd() {
			local k=$1 d=()
			[[ -z ${__shunt_dec_spec[k]-} ]] || d=(--decided "${__shunt_dec_spec[k]}" --why "${__shunt_dec_why[k]}")
			"$SHUNT_BIN" exec --source hook "${d[@]}" -- "${@:2}"
		}

		__shunt_trim() {
			__shunt_trimmed=${1#"${1%%[![:space:]]*}"}
			__shunt_trimmed=${__shunt_trimmed%"${__shunt_trimmed##*[![:space:]]}"}
		}

		__shunt_debug() {
			# a chained trap that calls us back (it captured our trap as its
			# own predecessor) must not recurse
			[[ -n ${__shunt_in_debug-} ]] && return 0
			local __shunt_last=$1 __shunt_rc=0 __shunt_in_debug=1
			if ((BASHPID != $$)); then
				# a subshell ( ... ) or a job: its commands belong to the
				# line decided in the shell itself, and a check here could
				# only ask from the background (and stop the job)
				:
			elif [[ $BASH_COMMAND == __shunt_precmd* ]]; then
				__shunt_phase=0
			elif ((__shunt_phase == 3)); then
				return 1
			elif ((__shunt_phase == 1 && __shunt_enabled)); then
				local __shunt_cur= __shunt_trimmed= __shunt_seen=
				if [[ $__shunt_rl_act == split ]]; then
					# the rewrite of the line typed runs; history keeps it as
					# typed (in a trap, history -s does not drop the last entry)
					if __shunt_line; then
						if ((BASH_VERSINFO[0] >= 5)); then
							builtin history -d -1
						else
							builtin history -d "$HISTCMD"
						fi
						builtin history -s -- "$__shunt_rl_line"
					fi
					__shunt_phase=2
				elif __shunt_line; then
					__shunt_phase=2
					__shunt_trim "$__shunt_cur"
					__shunt_seen=$__shunt_trimmed
					__shunt_trim "$__shunt_rl_line"
					# decided at Enter (history expansion may have changed it)
					if [[ -n $__shunt_rl_act && $__shunt_seen == "$__shunt_trimmed" ]]; then
						if [[ $__shunt_rl_act != host ]]; then
							__shunt_hand_over "$__shunt_cur"
							return 1
						fi
					elif ! __shunt_decide_line "$__shunt_cur"; then
						__shunt_hand_over "$__shunt_cur"
						return 1
					fi
				else
					__shunt_cur=$BASH_COMMAND # per simple command; stay in phase 1
					if ! __shunt_decide_line "$__shunt_cur"; then
						__shunt_hand_over "$__shunt_cur"
						return 1
					fi
				fi
			fi
			if [[ -n $__shunt_prev_trap ]]; then
				: "$__shunt_last"
				builtin eval "$__shunt_prev_trap"
				__shunt_rc=$?
			fi
			return $__shunt_rc
		}

		__shunt_install() {
			# Puts the trap, PS0 and PROMPT_COMMAND entry back, chaining
			# whatever took their place. Cheap: no fork.
			builtin shopt -s extdebug
			if [[ -z ${__shunt_bound-x} ]]; then
				__shunt_bound=1
				# Enter runs __shunt_rl_enter, then accept-line (a macro
				# of two private key sequences)
				local m
				for m in emacs vi-insert vi-command; do
					builtin bind -m "$m" -x '"\C-x\C-_\C-e": __shunt_rl_enter' 2>/dev/null
					builtin bind -m "$m" '"\C-x\C-_\C-a": accept-line' 2>/dev/null
					builtin bind -m "$m" '"\C-m": "\C-x\C-_\C-e\C-x\C-_\C-a"' 2>/dev/null
					builtin bind -m "$m" '"\C-j": "\C-x\C-_\C-e\C-x\C-_\C-a"' 2>/dev/null
				done
			fi
			local t=
			if [[ -n $__shunt_tmp ]]; then
				{ builtin trap -p DEBUG && builtin printf '\0'; } 1<>"$__shunt_tmp" &&
					IFS= read -r -d '' t <"$__shunt_tmp"
			else
				t=$(builtin trap -p DEBUG)
			fi
			t=${t%$'\n'}
			if [[ $t != "trap -- '__shunt_debug \"\$_\"' DEBUG" ]]; then
				if [[ -n $t ]]; then
					t=${t#trap -- }
					t=${t% DEBUG}
					builtin eval "__shunt_prev_trap=$t"
				fi
				builtin trap "$__shunt_trap_cmd" DEBUG
			fi
			[[ $PS0 == *"$__shunt_ps0"* ]] || PS0=$__shunt_ps0${PS0-}
			__shunt_pc_install
		}

		__shunt_pc_install() {
			if [[ ${PROMPT_COMMAND[0]-} != __shunt_precmd* ]]; then
				if ((${#PROMPT_COMMAND[@]} > 1)); then
					PROMPT_COMMAND=(__shunt_precmd "${PROMPT_COMMAND[@]}")
				else
					local pc=${PROMPT_COMMAND-}
					pc=${pc//__shunt_precmd; /}
					pc=${pc//__shunt_precmd/}
					PROMPT_COMMAND="__shunt_precmd${pc:+; $pc}"
				fi
			fi
		}

		__shunt_precmd() {
			local s=$?
			__shunt_phase=0
			__shunt_rl_n=0 __shunt_rl_act= __shunt_rl_line=
			__shunt_dec_spec=() __shunt_dec_why=()
			if [[ -n $__shunt_status ]]; then
				s=$__shunt_status
				SHUNT_LAST_STATUS=$s
				__shunt_status=
			fi
			__shunt_histnext=$HISTCMD
			((__shunt_enabled)) && __shunt_install
			return $s
		}

		shunt() {
			case ${1-} in
			off)
				command "$SHUNT_BIN" off --hook bash || return
				__shunt_enabled=0
				;;
			on)
				command "$SHUNT_BIN" on --hook bash || return
				__shunt_enabled=1
				__shunt_install
				;;
			*) command "$SHUNT_BIN" "$@" ;;
			esac
		}

		__shunt_rl_n=0 __shunt_rl_act= __shunt_rl_line= __shunt_srv_new=
		declare -a __shunt_dec_spec=() __shunt_dec_why=()
		__shunt_mktemp
		# the trap goes in now, so that an integration loaded after us
		# (VS Code's) sees and chains it; extdebug (which also makes our
		# functions see a trap set after us) is on from here. The Enter
		# binding waits for the first prompt.
		__shunt_install
		__shunt_bound=
		__shunt_histnext=$HISTCMD
	fi
fi
