# shunt line hook for zsh. Loaded by: eval "$(shunt init zsh)"
# (init prints SHUNT_BIN, the LD_PRELOAD export, then this file).
#
# How it works
# - A ZLE accept-line wrapper sees the whole buffer when Enter is pressed
#   and asks `shunt check`. host: the line is accepted untouched. Otherwise
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
	autoload -Uz add-zsh-hook

	__shunt_decide_line() {
		local out
		out=$("$SHUNT_BIN" check --json --source hook --interactive -c "$1" 2>/dev/null) || return 1
		[[ $out == *'"action":"host"'* ]]
	}

	__shunt_run() {
		local line=$__shunt_pending
		__shunt_pending=
		"$SHUNT_BIN" exec --source hook --shell "${__shunt_zsh}" -c "$line"
	}

	__shunt_accept_line() {
		if ((__shunt_enabled)) && [[ -z $PREBUFFER && -n ${BUFFER//[[:space:]]/} ]]; then
			if ! __shunt_decide_line "$BUFFER"; then
				__shunt_orig=$BUFFER
				__shunt_pending=$BUFFER
				BUFFER=__shunt_run
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
	add-zsh-hook zshaddhistory __shunt_addhistory
	add-zsh-hook precmd __shunt_precmd
	__shunt_install
fi
