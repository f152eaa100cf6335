#!/usr/bin/env bash
# Inline code and script files are read (issue 18 item 3): python3 -c
# with shutil.rmtree, a python3 here-document and `busybox sh s.sh` (whose
# rm is an applet, never exec'd) no longer delete on the host, through the
# shim (real programs started with the shim preloaded, dry run) and through
# the bash line hook in a real interactive bash in tmux (sandboxed for
# real). Harmless code runs on the host, and a script's new content is
# read again (the shim never caches a decision that read a script).
. "$(dirname "$0")/../lib.sh"
SH=bash
. "$TOP/tests/fixtures/shell/tmux-hook-lib.sh"

SPAWNER=$BUILD/tests/helpers/spawner
setup_home
AUDIT=$XDG_STATE_HOME/shunt/audit.jsonl
WORK=$HOME/work
mkdir -p "$WORK"
cd "$WORK" || exit 1

audit_count() { if [ -f "$AUDIT" ]; then grep -c -- "$1" "$AUDIT"; else echo 0; fi; }

# guarded DESC VICTIM PAT CMD...: CMD, started through the shim (dry run),
# must leave VICTIM alone and write a decision (matching PAT) to the audit log.
guarded() {
	local desc=$1 victim=$2 pat=$3 before out
	shift 3
	rm -rf "$victim"
	mkdir -p "$victim"
	echo precious >"$victim/file"
	before=$(audit_count "$pat")
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 "$@" 2>&1 </dev/null)
	ok "shim: $desc: the directory survives" -- test -f "$victim/file" || diag "$out"
	ok "shim: $desc: the decision is in the audit log" -- \
		test "$(audit_count "$pat")" -gt "$before" || diag "$out"
}

if [ ! -f "$SHIM" ] || [ ! -x "$SHUNT" ] || [ ! -x "$SPAWNER" ]; then
	fail "shim, shunt and spawner are built ($SHIM, $SHUNT, $SPAWNER)"
	done_testing
	exit 1
fi

# ---- the decisions themselves ----------------------------------------------
printf 'rm -rf %s/victim-bb\n' "$HOME" >"$WORK/s.sh"
printf 'echo harmless\n' >"$WORK/ok.sh"
printf 'import shutil\nshutil.rmtree("/srv/data")\n' >"$WORK/del.py"
printf 'print("hello from a script")\n' >"$WORK/ok.py"
act() { "$SHUNT" check --json --no-interactive -c "$1" 2>/dev/null | sed -n 's/.*"action":"\([a-z]*\)".*/\1/p'; }
is "$(act "python3 -c \"import shutil; shutil.rmtree('/some/dir')\"")" sandbox "python3 -c shutil.rmtree is sandboxed"
is "$(act "perl -e 'system(\"rm -rf ~\")'")" block "perl system(\"rm -rf ~\") is judged as the shell line it runs"
is "$(act "node -e \"require('child_process').execSync('rm -rf /')\"")" block "node execSync('rm -rf /') likewise"
is "$(act "busybox sh s.sh")" sandbox "busybox sh s.sh: the script is read and its rm -rf judged"
is "$(act "bash s.sh")" sandbox "bash s.sh likewise"
is "$(act "python3 del.py")" sandbox "python3 del.py: the script's rmtree outside the workspace is seen"
is "$(act "$(printf "python3 - <<'EOF'\nimport shutil\nshutil.rmtree('/srv/data')\nEOF")")" sandbox \
	"python3 - <<EOF: the here-document is read"
is "$(act "$(printf "bash <<'EOF'\nrm -rf /etc\nEOF")")" block "bash <<EOF: the here-document is lexed as shell"
for l in "python3 -c 'print(1)'" "node -e 'console.log(process.version)'" "grep -r 'rm -rf' ." \
	"git commit -m 'rm -rf'" "busybox sh ok.sh" "python3 ok.py" "python3 missing.py"; do
	is "$(act "$l")" host "stays on the host: $l"
done
# the size limit: a script is read up to scripts.max_bytes
mkdir -p "$XDG_CONFIG_HOME/shunt"
{ head -c 70000 /dev/zero | tr '\0' '#'; printf '\nrm -rf %s/late\n' "$HOME"; } >"$WORK/big.sh"
is "$(act "bash big.sh")" host "a script is read up to scripts.max_bytes (64 KiB by default)"
printf 'scripts:\n  max_bytes: 131072\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
is "$(act "bash big.sh")" sandbox "scripts.max_bytes: 131072 reads further"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
like "$("$SHUNT" explain -c "python3 -c \"import shutil; shutil.rmtree('/some/dir')\"" 2>&1)" \
	'in the code it runs: .*shutil\.rmtree' "explain shows the code a rule matched"

# ---- through the shim --------------------------------------------------------
guarded "python3 -c shutil.rmtree" "$HOME/victim-py" victim-py \
	"$SPAWNER" execvp python3 -c "import shutil; shutil.rmtree('$HOME/victim-py')"
guarded "busybox sh s.sh" "$HOME/victim-bb" 'busybox sh [^"]*/s\.sh' "$SPAWNER" execvp busybox sh "$WORK/s.sh"
guarded "bash -c with a python3 here-document" "$HOME/victim-hd" victim-hd \
	"$SPAWNER" execvp bash -c "$(printf "python3 - <<'EOF'\nimport shutil\nshutil.rmtree('%s/victim-hd')\nEOF" "$HOME")"
is "$(LD_PRELOAD=$SHIM "$SPAWNER" execvp python3 -c 'print(40 + 2)' 2>&1 </dev/null | grep -v '^status')" 42 \
	"shim: harmless inline code runs on the host"
is "$(LD_PRELOAD=$SHIM "$SPAWNER" execvp busybox sh "$WORK/ok.sh" 2>&1 </dev/null | grep -v '^status')" harmless \
	"shim: a harmless script runs on the host"
# the same argv again, now that the script deletes: read again, not cached
printf 'rm -rf %s/victim-bb\n' "$HOME" >"$WORK/ok.sh"
guarded "a script that changed after a host run" "$HOME/victim-bb" 'busybox sh [^"]*/ok\.sh' "$SPAWNER" execvp busybox sh "$WORK/ok.sh"
printf 'echo harmless\n' >"$WORK/ok.sh"

# ---- through the bash line hook ------------------------------------------------
hook_begin
if [ -n "${HOOK_SKIP_ALL:-}" ]; then
	skip "$HOOK_SKIP_ALL"
	done_testing
	exit
fi
printf 'rm -rf %s/victim-hbb\n' "$HOME" >"$WS/s.sh"
start_shell
sandboxed() { # DESC VICTIM: after the line ran
	if pane | grep -Eq 'cannot sandbox|sandbox setup failed'; then
		skip "hook: $1: sandbox runner unavailable here: $(pane | grep -E 'cannot sandbox|setup failed' | head -1)"
		skip "hook: $1: (same)"
	else
		like "$(pane)" 'shunt: sandboxed' "hook: $1: sandboxed, with the notice"
		ok "hook: $1: the directory survives on the host" -- test -f "$2/file"
	fi
}
for v in victim-h1 victim-hbb victim-h3; do
	mkdir -p "$HOME/$v"
	echo precious >"$HOME/$v/file"
done
clear_pane
step "python3 -c \"import shutil; shutil.rmtree('$HOME/victim-h1')\""
mark
sandboxed "python3 -c shutil.rmtree" "$HOME/victim-h1"
clear_pane
step 'busybox sh s.sh'
mark
sandboxed "busybox sh s.sh" "$HOME/victim-hbb"
clear_pane
step "python3 - <<'EOF'"
step 'import shutil'
step "shutil.rmtree('$HOME/victim-h3')"
step 'EOF'
mark
sandboxed "python3 - <<EOF (the body reaches the decision)" "$HOME/victim-h3"
clear_pane
step "python3 -c 'print(40 + 2)'"
mark
like "$(pane)" '^42$' "hook: harmless inline code runs"
unlike "$(pane)" 'shunt' "hook: harmless inline code shows nothing from shunt"
stop_shell
hook_end
done_testing
