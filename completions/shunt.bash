# bash completion for shunt. The subcommands come from the program
# (`shunt --list-commands`), a subcommand's options from its --help, so
# nothing here needs updating when a command or option is added.

_shunt()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} words i
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		if [[ $cur == -* ]]; then
			words="--help --version"
		else
			words=$("$prog" --list-commands 2>/dev/null | cut -f1)
		fi
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return 0
	fi
	# after "--" comes the command to check or run
	for ((i = 2; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -- ]]; then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			return 0
		fi
	done
	if [[ $cur == -* ]]; then
		words=$("$prog" "${COMP_WORDS[1]}" --help 2>&1 </dev/null |
			grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
		mapfile -t COMPREPLY < <(compgen -W "$words --help" -- "$cur")
		return 0
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	return 0
}

complete -o bashdefault -o default -F _shunt shunt
