# Helpers for tests/compat/run.sh: two real interactive bash shells in
# private tmux servers, one plain and one with `eval "$(shunt init bash)"`,
# driven in lockstep; the agent's `bash -c` with and without the shim; and
# the normalised output and file manifest each step is compared by.
# Source after tests/lib.sh.

MODES=(plain shunt)

# compat_begin: sets ROOT and per-mode HOME/workspace/TMPDIR, starts one
# file server per mode (the npm tarball and curl | sh steps fetch from it).
# Sets COMPAT_SKIP_ALL when the suite cannot run here.
compat_begin() {
	COMPAT_SKIP_ALL=
	command -v tmux >/dev/null || { COMPAT_SKIP_ALL="tmux not installed (apt-get install tmux)"; return; }
	command -v python3 >/dev/null || { COMPAT_SKIP_ALL="python3 not installed (serves the fixtures)"; return; }
	[ -x "$SHUNT" ] || { COMPAT_SKIP_ALL="no shunt binary at $SHUNT (build first)"; return; }
	[ -f "$SHIM" ] || { COMPAT_SKIP_ALL="no shim at $SHIM (build first)"; return; }
	# same-length mode names keep normalised paths aligned in diffs
	ROOT=$(mktemp -d /tmp/shunt-compat.XXXXXX)
	chmod 755 "$ROOT"
	unset TMUX CI LD_PRELOAD SHUNT_CONFIG SHUNT_DRY_RUN
	export SHUNT_NO_SYSTEM_CONFIG=1 SHUNT_VM_BUILD_SCRIPT="$ROOT/no-vm-build-script"
	SHELL=$(command -v bash)
	export SHELL
	trap compat_cleanup EXIT
	trap 'exit 143' TERM INT HUP
	local m
	for m in "${MODES[@]}"; do
		mkdir -p "$ROOT/$m/home/.config" "$ROOT/$m/ws" "$ROOT/$m/tmp" "$ROOT/$m/run" "$ROOT/$m/out"
		chmod 700 "$ROOT/$m/run"
		cat >"$ROOT/$m/home/.gitconfig" <<-'EOF'
			[user]
				name = Compat Suite
				email = compat@example.invalid
			[init]
				defaultBranch = main
			[advice]
				detachedHead = false
				skippedCherryPicks = false
			[core]
				pager = cat
		EOF
		compat_server "$m" || { COMPAT_SKIP_ALL="cannot start the fixture server: $(cat "$ROOT/$m/server.log")"; return; }
	done
}

compat_cleanup() {
	local m p
	for m in "${MODES[@]}"; do
		tmux -L "shunt-compat-$$-$m" kill-server >/dev/null 2>&1
		rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/shunt-compat-$$-$m"
		p=$(cat "$ROOT/$m/server.pid" 2>/dev/null) && [ -n "$p" ] && kill "$p" 2>/dev/null
	done
	# the steps' own servers and jobs are in the panes' sessions: gone with tmux
	[ -n "${COMPAT_KEEP-}" ] || rm -rf "$ROOT" 2>/dev/null
}

# compat_server MODE: python3 -m http.server on a free loopback port (port
# 0, read back from its first line: no race for the port), serving the
# mode's workspace. Sets PORT_<mode>.
compat_server() {
	local m=$1 i port=
	(cd "$ROOT/$m/ws" && exec python3 -u -m http.server --bind 127.0.0.1 0) >"$ROOT/$m/server.log" 2>&1 &
	echo $! >"$ROOT/$m/server.pid"
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$ROOT/$m/server.log" | head -1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || return 1
	printf -v "PORT_$m" '%s' "$port"
}

# the environment both shells and both agent runs get (one line per var)
compat_env() {
	local m=$1 port
	port=PORT_$m
	cat <<-EOF
		HOME=$ROOT/$m/home
		XDG_CONFIG_HOME=$ROOT/$m/home/.config
		XDG_DATA_HOME=$ROOT/$m/home/.local/share
		XDG_STATE_HOME=$ROOT/$m/home/.local/state
		XDG_CACHE_HOME=$ROOT/$m/home/.cache
		XDG_RUNTIME_DIR=$ROOT/$m/run
		TMPDIR=$ROOT/$m/tmp
		COMPAT_PORT=${!port}
		PATH=$PATH
		LANG=C.UTF-8
		LC_ALL=C.UTF-8
		TERM=screen
		NO_COLOR=1
		GIT_AUTHOR_DATE=2024-01-01T00:00:00Z
		GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
		PIP_DISABLE_PIP_VERSION_CHECK=1
		PIP_NO_COLOR=1
		PYTHONDONTWRITEBYTECODE=1
		npm_config_update_notifier=false
		npm_config_fund=false
		npm_config_audit=false
		npm_config_color=false
		npm_config_progress=false
		npm_config_loglevel=warn
		SHUNT_NO_SYSTEM_CONFIG=1
		SHUNT_VM_BUILD_SCRIPT=$ROOT/no-vm-build-script
	EOF
}

tm() { local m=$1; shift; tmux -L "shunt-compat-$$-$m" "$@"; }

# start_shells: one interactive bash per mode; the shunt one evaluates
# `shunt init bash` exactly as a user's rc file would.
start_shells() {
	local m rc
	for m in "${MODES[@]}"; do
		rc=$ROOT/$m/bashrc
		{
			compat_env "$m" | sed 's/^\([^=]*\)=\(.*\)$/export \1='"'"'\2'"'"'/'
			echo "unset LD_PRELOAD SHUNT_BIN"
			# each prompt shows the exit status of the line before, as
			# `echo $?` would (bash restores $? after PROMPT_COMMAND)
			echo "PS1='[\$?]@P@ '"
			echo "HISTFILE='$ROOT/$m/history'"
			echo "cd '$ROOT/$m/ws'"
			[ "$m" = shunt ] && echo "eval \"\$('$SHUNT' init bash)\""
		} >"$rc"
		tm "$m" -f /dev/null new-session -d -x 220 -y 50 "bash --noprofile --rcfile '$rc' -i"
		tm "$m" set-option -g history-limit 100000 >/dev/null 2>&1
	done
	for m in "${MODES[@]}"; do
		if ! wait_prompt "$m" 0 600; then
			PC[$m]=$(nprompts "$m")
			diag "$m shell: no prompt: $(pane "$m" | tail -3)"
		fi
	done
}

pane() { tm "$1" capture-pane -p -J -t 0 -S - 2>/dev/null; }

# count SUBSTRING TEXT: occurrences (no fork: this is polled)
count() {
	local t=$2 c=0
	while [[ $t == *"$1"* ]]; do
		t=${t#*"$1"}
		c=$((c + 1))
	done
	echo $c
}

nprompts() { local p; p=$(pane "$1"); count '@P@ ' "$p"; }

# wait_prompt MODE N [TENTHS]: waits until the pane shows more than N
# prompts, and sets PC[MODE] to the count. A shunt approval prompt is answered `n` (the safe answer) and
# counted in ASKED[MODE].
wait_prompt() {
	local m=$1 n=$2 t=${3:-600} i p c
	for ((i = 0; i < t * 2; i++)); do
		p=$(pane "$m")
		c=0
		while [[ $p == *'@P@ '* ]]; do
			p=${p#*'@P@ '}
			c=$((c + 1))
		done
		if [ "$c" -gt "$n" ]; then
			PC[$m]=$c
			return 0
		fi
		if [[ $p == *'needs your approval'* ]]; then
			p=$(pane "$m")
			c=$(count 'needs your approval' "$p")
			if [ "$c" -gt "${ASKED[$m]}" ]; then
				ASKED[$m]=$c
				# the prompt reads one key; give it time to set the terminal
				sleep 0.2
				tm "$m" send-keys -t 0 n
				tm "$m" send-keys -t 0 Enter
			fi
		fi
		sleep 0.05
	done
	return 1
}

send_line() {
	tm "$1" send-keys -t 0 -l -- "$2"
	tm "$1" send-keys -t 0 Enter
}

# wait_proc MODE NAME: waits (30 s) until NAME runs in the pane's session
wait_proc() {
	local sid i
	sid=$(tm "$1" display-message -p -t 0 '#{pane_pid}')
	for ((i = 0; i < 300; i++)); do
		pgrep -s "$sid" -x "$2" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_text MODE REGEX: waits (30 s) until the pane shows REGEX
wait_text() {
	local i
	for ((i = 0; i < 300; i++)); do
		pane "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# clear_panes: empty screen and history so a step's capture is its own
clear_panes() {
	local m
	for m in "${MODES[@]}"; do
		tm "$m" send-keys -t 0 -R \; clear-history -t 0 2>/dev/null
	done
}

# normalise MODE < text: paths, ports, pids and end notices of jobs, durations
normalise() {
	local m=$1 port
	port=PORT_$m
	ROOTM="$ROOT/$m" PORT="${!port}" perl -pe '
		BEGIN { $r = $ENV{ROOTM}; $p = $ENV{PORT} }
		s/\Q$r\E/\@ROOT\@/g;
		s/\b\Q$p\E\b/\@PORT\@/g;
		s/^(\[\d+\][+-]?\s+)\d+\s*$/$1PID\n/;
		# bash reports a finished background job at some prompt after it
		# ends, which one depends on timing: such notices are not compared
		$_ = "" if /^\[\d+\][+-]?\s+(Done|Terminated|Killed)\b/;
		s/\b\d+(\.\d+)?\s?(ms|s|sec|seconds?)\b/\@T\@/g;
		s/\b\d+(\.\d+)?\s?[KMG]?i?B\/s\b/\@RATE\@/g;
		s/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/\@DATE\@/g;
		# the line hook shows the rewrite of a line whose risky command
		# alone leaves the shell (issue 22 item 10): the words typed are
		# the same, the prefix is not compared
		s/__shunt_cmd \d+ //g;
		s/[ \t]+$//;
	'
}

# manifest MODE DIR: one line per file or link under DIR: path, then the
# SHA-256 of its content with the mode's root path replaced (files that
# carry timestamps by design are left out).
manifest() {
	local m=$1 dir=$2
	(cd "$dir" && find . \( -name .git -prune -o -name CMakeFiles -prune -o -name __pycache__ -prune -o -name Temporary -prune \
		-o -name '*.log' -o -name '*.pyc' -o -name configure.out \) -prune -o \( -type f -o -type l \) -print0 2>/dev/null |
		ROOTM="$ROOT/$m" perl -0 -MDigest::SHA=sha256_hex -ne '
			BEGIN { $r = $ENV{ROOTM} }
			chomp; my $f = $_;
			if (-l $f) { my $t = readlink $f; $t =~ s/\Q$r\E/\@ROOT\@/g; print "$f -> $t\n"; next }
			open my $h, "<", $f or do { print "$f unreadable\n"; next };
			local $/; my $d = <$h> // ""; close $h;
			$d =~ s/\Q$r\E/\@ROOT\@/g;
			printf "%s %s%s\n", $f, sha256_hex($d), (-x $f ? " x" : "");
		' | LC_ALL=C sort)
	# git repositories: what they hold, not their timestamped index
	local g
	while IFS= read -r g; do
		printf 'git %s: %s\n' "${g#"$dir"/}" "$(git -C "$g/.." for-each-ref --format='%(refname) %(objectname)' 2>/dev/null | tr '\n' ' ')"
	done < <(find "$dir" -name .git -prune 2>/dev/null | LC_ALL=C sort)
	while IFS= read -r g; do
		printf 'bare %s: %s\n' "${g#"$dir"/}" "$(git --git-dir="$g" for-each-ref --format='%(refname) %(objectname)' 2>/dev/null | tr '\n' ' ')"
	done < <(find "$dir" -maxdepth 2 -name '*.git' ! -name .git -type d 2>/dev/null | LC_ALL=C sort)
}
