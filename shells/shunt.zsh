# shunt line hook for zsh. Loaded by: eval "$(shunt init zsh)"
# (init prints SHUNT_BIN, the LD_PRELOAD export, then this file).
#
# How it works
# - A ZLE accept-line wrapper sees the whole buffer when Enter is pressed
#   and asks `shunt check`. host: the line is accepted untouched. A plain
#   list whose risky simple commands can run alone comes back rewritten:
#   each risky command prefixed by `__shunt_cmd K`, which runs it through
#   `shunt exec --decided` with the decision made here, and the rest runs
#   in this shell (exports, cd, && || and $? as without shunt). Otherwise
#   the buffer is rewritten to `__shunt_run`, which hands the original line
#   to `shunt exec --source hook --shell <this zsh>`; the original line is
#   kept for it in a variable.
# - zshaddhistory stores the original line in history instead of the
#   rewritten one.
# - The previous accept-line widget (oh-my-zsh, powerlevel10k, VS Code's
#   integration, zsh-autosuggestions...) is kept and called, so their
#   behaviour is unchanged; preexec/precmd hooks are not touched.
# - Continuation lines (PS2) are decided as one line with what came before
#   once the input is complete: a partial buffer is accepted as typed and
#   the whole text is checked when the last piece arrives; if it is not
#   host, the shim still decides each exec.
# - `shunt off` (confirmed on the terminal) disables this line hook for this
#   shell only; the LD_PRELOAD shim stays.
if [[ -o interactive && -n ${ZSH_VERSION-} && -z ${__shunt_loaded-} ]]; then
	typeset -g __shunt_loaded=1 __shunt_enabled=1 __shunt_orig= __shunt_pending=
	zmodload zsh/zle 2>/dev/null

	# The checker: one `shunt check --serve` per shell (protocol in
	# hook/serve.h), so a line costs a pipe round trip instead of a
	# fork+exec. Started lazily at the first line through a process
	# substitution (not a job: nothing in `jobs`, the user's coproc is left
	# alone). Its stdin is a pipe we hold read-write (no SIGPIPE even when
	# it died); its stdout is the substitution's pipe. zsh gives it its own
	# process group and it ignores SIGINT/SIGQUIT/SIGTSTP, so Ctrl-C does
	# not reach it. It exits with this shell (pidfd on $$) or on EOF. Each request carries a fresh id the
	# reply must echo; before each request our pipe ends are compared
	# (-ef) with the server's /proc fds (alive, and still ours). Any
	# failure falls back to the fork path for that line (its errors mean
	# "not host", as before) and restarts the server at the next line;
	# after 3 failures in a row it is given up for this shell.
	typeset -g __shunt_srv_w= __shunt_srv_r= __shunt_srv_pid= __shunt_srv_key= __shunt_srv_act=
	typeset -g __shunt_srv_newkey= __shunt_srv_seq=0 __shunt_srv_fails=0 __shunt_srv_new=
	typeset -ga __shunt_dec_spec=() __shunt_dec_why=()
	typeset -g __shunt_srv_timeout=${SHUNT_HOOK_TIMEOUT:-5}

	__shunt_srv_ours() {
		[[ -n $__shunt_srv_pid && /dev/fd/$__shunt_srv_w -ef /proc/$__shunt_srv_pid/fd/0 &&
			/dev/fd/$__shunt_srv_r -ef /proc/$__shunt_srv_pid/fd/1 ]]
	}

	__shunt_srv_stop() {
		# Forgets the server; kills it when it is alive and ours. Our pipe
		# ends are closed unless something else took their numbers.
		__shunt_srv_ours && builtin kill -KILL "$__shunt_srv_pid" 2>/dev/null
		[[ -n $__shunt_srv_w && -p /dev/fd/$__shunt_srv_w ]] && exec {__shunt_srv_w}>&-
		[[ -n $__shunt_srv_r && -p /dev/fd/$__shunt_srv_r ]] && exec {__shunt_srv_r}<&-
		__shunt_srv_w= __shunt_srv_r= __shunt_srv_pid=
		return 0
	}

	__shunt_srv_start() {
		local t= w= r= tag= ver= pid=
		{
			exec {t}< <(:) && exec {w}<>/dev/fd/$t &&
				exec {r}< <(exec "$SHUNT_BIN" check --serve --split --source hook \
					--interactive --parent $$ <"/dev/fd/$w" 2>/dev/null)
		} 2>/dev/null
		[[ -n $t ]] && exec {t}<&-
		__shunt_srv_w=$w __shunt_srv_r=$r __shunt_srv_pid=
		if [[ -n $w && -n $r ]] &&
			IFS=' ' builtin read -r -t "$__shunt_srv_timeout" -u "$r" tag ver pid &&
			[[ $tag == shunt-serve && $ver == 1 && -n $pid && $pid != *[^0-9]* ]]; then
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
		# $1: the line. Sets __shunt_srv_act to the server's answer; returns
		# 1 when it could not answer.
		emulate -L zsh
		((__shunt_srv_fails < 3 && ${#1} <= 200000)) || return 1
		# what the server took from our environment when it started
		__shunt_srv_newkey="$SHUNT_BIN|$HOME|$PATH|${XDG_CONFIG_HOME-}|${XDG_STATE_HOME-}|${XDG_DATA_HOME-}|${XDG_CACHE_HOME-}|${XDG_RUNTIME_DIR-}|${SHUNT_CONFIG-}|${SHUNT_NO_SYSTEM_CONFIG-}|${SHUNT_TRUST_STORE-}|${SHUNT_SNAPSHOT-}|${CI-}"
		if [[ -n $__shunt_srv_r ]] && ! { [[ $__shunt_srv_key == "$__shunt_srv_newkey" ]] && __shunt_srv_ours; }; then
			__shunt_srv_stop
		fi
		if [[ -z $__shunt_srv_r ]]; then
			__shunt_srv_start || { ((++__shunt_srv_fails)); return 1; }
		fi
		local id=$((++__shunt_srv_seq)).$RANDOM$RANDOM$RANDOM rid= act= k=
		if builtin printf '%s\0%s\0%s\0' "$id" "" "$1" >&$__shunt_srv_w 2>/dev/null &&
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
		# Reads the rest of a split answer ($1 commands; hook/serve.h): each
		# one's decision, then the rewritten line.
		emulate -L zsh
		[[ $1 == <1-16> ]] || return 1
		local i s w
		__shunt_dec_spec=() __shunt_dec_why=()
		for ((i = 1; i <= $1; i++)); do
			IFS= builtin read -r -d $'\0' -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" s &&
				IFS= builtin read -r -d $'\0' -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" w || return 1
			__shunt_dec_spec[i]=$s __shunt_dec_why[i]=$w
		done
		IFS= builtin read -r -d $'\0' -t "$__shunt_srv_timeout" -u "$__shunt_srv_r" __shunt_srv_new
	}

	# One risky simple command of a split line: the decision made at
	# Enter goes along, so shunt acts on it without deciding again.
	__shunt_cmd() {
		local k=$1 d=()
		[[ -z ${__shunt_dec_spec[k]-} ]] || d=(--decided "${__shunt_dec_spec[k]}" --why "${__shunt_dec_why[k]}")
		"$SHUNT_BIN" exec --source hook "${d[@]}" -- "${@:2}"
	}

	__shunt_decide_line() {
		if __shunt_srv_ask "$1"; then
			[[ $__shunt_srv_act == host ]]
			return
		fi
		local out
		# one argument may not exceed 128 KiB: a long line goes on a descriptor
		if ((${#1} > 30000)); then
			out=$("$SHUNT_BIN" check --json --source hook --interactive --line-fd 3 3<<<"$1" 2>/dev/null) || return 1
		else
			out=$("$SHUNT_BIN" check --json --source hook --interactive -c "$1" 2>/dev/null) || return 1
		fi
		[[ $out == *'"action":"host"'* ]]
	}

	__shunt_run() {
		local line=$__shunt_pending
		__shunt_pending=
		if ((${#line} > 30000)); then
			"$SHUNT_BIN" exec --source hook --shell "${__shunt_zsh}" --line-fd 3 3<<<"$line"
		else
			"$SHUNT_BIN" exec --source hook --shell "${__shunt_zsh}" -c "$line"
		fi
	}

	__shunt_accept_line() {
		if ((__shunt_enabled)) && [[ -z $PREBUFFER && -n ${BUFFER//[[:space:]]/} ]]; then
			__shunt_srv_act=
			if ! __shunt_decide_line "$BUFFER"; then
				__shunt_orig=$BUFFER
				if [[ $__shunt_srv_act == split ]]; then
					# only the risky simple commands leave this shell
					BUFFER=$__shunt_srv_new
				else
					__shunt_pending=$BUFFER
					BUFFER=__shunt_run
				fi
				CURSOR=${#BUFFER}
			fi
		fi
		zle __shunt_prev_accept_line -- "$@"
	}

	__shunt_addhistory() {
		if [[ -n $__shunt_orig ]]; then
			print -sr -- "$__shunt_orig"
			__shunt_orig=
			return 1
		fi
		return 0
	}

	__shunt_install() {
		# (Re)wraps accept-line when someone replaced it after us.
		if [[ ${widgets[accept-line]-} != user:__shunt_accept_line ]]; then
			zle -A accept-line __shunt_prev_accept_line 2>/dev/null || zle -A .accept-line __shunt_prev_accept_line
			zle -N accept-line __shunt_accept_line
		fi
	}

	__shunt_precmd() {
		__shunt_dec_spec=() __shunt_dec_why=()
		((__shunt_enabled)) && __shunt_install
		return 0
	}

	shunt() {
		case ${1-} in
		off)
			command "$SHUNT_BIN" off --hook zsh || return
			__shunt_enabled=0
			;;
		on)
			command "$SHUNT_BIN" on --hook zsh || return
			__shunt_enabled=1
			__shunt_install
			;;
		*) command "$SHUNT_BIN" "$@" ;;
		esac
	}

	# this very zsh, resolved without a fork
	typeset -g __shunt_zsh=${${:-/proc/$$/exe}:A}
	[[ -x $__shunt_zsh ]] || __shunt_zsh=${commands[zsh]:-zsh}
	# what add-zsh-hook does, without looking it up along $fpath at start-up
	typeset -ga zshaddhistory_functions precmd_functions
	((${zshaddhistory_functions[(Ie)__shunt_addhistory]})) || zshaddhistory_functions+=(__shunt_addhistory)
	((${precmd_functions[(Ie)__shunt_precmd]})) || precmd_functions+=(__shunt_precmd)
	__shunt_install
fi
