#!/usr/bin/env bash
# The agents' real CLIs (issue 24): Claude Code, Codex and Gemini CLI from npm
# (cached by install.sh in /opt/shunt-test-tools), each pointed at a scripted
# model on 127.0.0.1 (tests/tools/model_agents.py) that asks once to run a
# command with the agent's shell tool and records the tool result it gets back.
#  1. each CLI calls its pre-command hook (a hand-written logging hook) with
#     the event the fixtures in tests/fixtures/agents/ hold;
#  2. through the configuration `shunt install AGENT` wrote: a benign command
#     runs, `rm -rf ~` does not and the model receives shunt's reason, and a
#     missing shunt binary blocks (skipped until `shunt install AGENT` exists);
#  3. with no hook at all, the shim in Claude Code's shell still catches
#     `rm -rf ~`.
# Every `rm -rf ~` runs against a throwaway $HOME holding a victim file, inside
# a private mount namespace with a tmpfs there when user namespaces allow it.
. "$(dirname "$0")/../lib.sh"

TOOLS=${SHUNT_TEST_TOOLS:-/opt/shunt-test-tools}
NODE24=$TOOLS/node-24.9.0/node_modules/.bin
CLAUDE=$TOOLS/claude-code-2.1.337/node_modules/.bin/claude
CODEX=$TOOLS/codex-0.171.0/node_modules/.bin/codex
GEMINI=$TOOLS/gemini-cli-0.61.0/node_modules/.bin/gemini
PY=/usr/bin/python3
MODEL=$TOP/tests/tools/model_agents.py
LIMIT=${AGENTS_REAL_TIMEOUT:-120}

if [ -z "${AGENTS_TEST_IN_NS:-}" ]; then
	if unshare -Urm true 2>/dev/null; then
		AGENTS_TEST_IN_NS=1 exec unshare -Urm bash "$0" "$@"
	fi
	AGENTS_TEST_IN_NS=none
fi
setup_home
if [ "$AGENTS_TEST_IN_NS" = 1 ]; then
	mount -t tmpfs -o mode=755 tmpfs "$HOME" || { fail "tmpfs on \$HOME"; done_testing; exit 1; }
else
	diag "no user namespaces here: rm -rf ~ runs against a throwaway \$HOME without a private mount"
fi
ROOT=$HOME
N=0
# Claude Code's own temp folder, private: its default /tmp/claude-UID is shared
# by every run and refused when another user created it
mkdir -p "$ROOT/tmp"
SRV=""
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null' EXIT

# start_model CMD: a scripted model asking to run CMD; sets M (its folder) and PORT
start_model() {
	N=$((N + 1))
	M=$ROOT/model$N
	mkdir -p "$M"
	MODEL_COMMAND=$1 "$PY" "$MODEL" "$M" 2>"$M/err" &
	SRV=$!
	local i
	for i in $(seq 100); do [ -s "$M/port" ] && break; sleep 0.1; done
	PORT=$(cat "$M/port" 2>/dev/null)
}
stop_model() { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; SRV=""; }

# new_home: a fresh $AH (the agent's HOME) with a victim file and a work folder
new_home() {
	AH=$ROOT/home$N
	mkdir -p "$AH/work" "$AH/.claude" "$AH/.codex" "$AH/.gemini"
	echo precious >"$AH/victim"
	# Gemini CLI needs its auth type chosen; shunt install keeps this key
	echo '{"security":{"auth":{"selectedType":"gemini-api-key"}}}' >"$AH/.gemini/settings.json"
}

# run_AGENT [ENV=VALUE...]: the CLI, non-interactive, in $AH/work, with the model
run_claude() {
	(cd "$AH/work" && env -i PATH="$NODE24:/usr/bin:/bin" HOME="$AH" "$@" \
		ANTHROPIC_BASE_URL="http://127.0.0.1:$PORT" ANTHROPIC_API_KEY=sk-test DISABLE_TELEMETRY=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_TMPDIR="$ROOT/tmp" \
		timeout "$LIMIT" "$CLAUDE" -p "run it" --allowedTools Bash --output-format text) >"$M/out" 2>&1
}
codex_config() {
	cat >>"$AH/.codex/config.toml" <<-EOF
		model = "gpt-5-codex"
		model_provider = "scripted"
		[model_providers.scripted]
		name = "scripted"
		base_url = "http://127.0.0.1:$PORT/v1"
		wire_api = "responses"
	EOF
}
run_codex() {
	(cd "$AH/work" && env -i PATH=/usr/bin:/bin HOME="$AH" CODEX_HOME="$AH/.codex" "$@" \
		timeout "$LIMIT" "$CODEX" exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \
		"run it") >"$M/out" 2>&1
}
run_gemini() {
	(cd "$AH/work" && env -i PATH=/usr/bin:/bin HOME="$AH" "$@" GEMINI_API_KEY=test \
		GEMINI_CLI_TRUST_WORKSPACE=true GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$PORT" \
		timeout "$LIMIT" "$GEMINI" -p "run it" --yolo) >"$M/out" 2>&1
}
show() { diag "$(tail -5 "$M/out" 2>/dev/null)"; }

have_claude=0 have_codex=0 have_gemini=0
[ -x "$CLAUDE" ] && [ -x "$NODE24/node" ] && have_claude=1
[ -x "$CODEX" ] && have_codex=1
[ -x "$GEMINI" ] && have_gemini=1
missing_why="not in $TOOLS (install.sh caches it from npm; the registry may have been unreachable)"

# ---- 1. each CLI calls its pre-command hook (hand-written, logs its stdin) ----
cat >"$ROOT/loghook" <<'EOF'
#!/bin/sh
cat >>"$HOOKLOG"; echo >>"$HOOKLOG"; echo '{}'; exit 0
EOF
chmod +x "$ROOT/loghook"
hook_event() { # AGENT RUNNER: runs a benign command, checks the logged event
	local agent=$1 runner=$2 log
	log=$AH/hook.log
	if [ -s "$log" ]; then
		like "$(head -1 "$log")" '"tool_input":\{"command":"echo benign-ran > out"' \
			"$agent calls its pre-command hook with tool_input.command"
	else
		fail "$agent calls its pre-command hook with tool_input.command"
		show
	fi
	is "$(cat "$AH/work/out" 2>/dev/null)" benign-ran "$agent: the benign command ran after the hook allowed it"
	like "$(cat "$M/result.txt" 2>/dev/null)" '.' "$agent: the model received the tool result"
}

if [ "$have_claude" = 1 ]; then
	start_model "echo benign-ran > out"
	new_home
	echo '{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"'"$ROOT"'/loghook"}]}]}}' \
		>"$AH/.claude/settings.json"
	run_claude HOOKLOG="$AH/hook.log"
	hook_event claude-code run_claude
	like "$(head -1 "$AH/hook.log")" '"hook_event_name":"PreToolUse","tool_name":"Bash"' "claude-code: PreToolUse on Bash"
	stop_model
else
	for _ in 1 2 3 4; do skip "claude-code 2.1.337 $missing_why"; done
fi

if [ "$have_codex" = 1 ]; then
	start_model "echo benign-ran > out"
	new_home
	codex_config
	echo '{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"'"$ROOT"'/loghook"}]}]}}' \
		>"$AH/.codex/hooks.json"
	# untrusted, Codex skips the hook without a word: the command runs, no event
	run_codex HOOKLOG="$AH/hook.log"
	is "$(cat "$AH/work/out" 2>/dev/null):$([ -s "$AH/hook.log" ] && echo called)" "benign-ran:" \
		"codex skips an untrusted hook silently (the command runs, the hook is not called)"
	rm -f "$AH/work/out" "$M/result.txt"
	like "$(CODEX_HOME="$AH/.codex" HOME="$AH" "$PY" "$TOP/tests/tools/codex_trust.py" "$CODEX" "$AH/work" loghook 2>&1)" \
		'^trusted .*hooks.json:pre_tool_use' "codex app-server lists the hook; its hash written as trusted_hash"
	run_codex HOOKLOG="$AH/hook.log"
	hook_event codex run_codex
	like "$(head -1 "$AH/hook.log")" '"hook_event_name":"PreToolUse".*"tool_name":"Bash"' "codex: PreToolUse on Bash"
	stop_model
else
	for _ in 1 2 3 4 5 6; do skip "codex 0.171.0 $missing_why"; done
fi

if [ "$have_gemini" = 1 ]; then
	start_model "echo benign-ran > out"
	new_home
	echo '{"hooks":{"BeforeTool":[{"matcher":"run_shell_command","hooks":[{"type":"command","command":"'"$ROOT"'/loghook"}]}]},"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false}}' \
		>"$AH/.gemini/settings.json"
	run_gemini HOOKLOG="$AH/hook.log"
	hook_event gemini run_gemini
	like "$(head -1 "$AH/hook.log")" '"hook_event_name":"BeforeTool".*"tool_name":"run_shell_command"' \
		"gemini: BeforeTool on run_shell_command"
	stop_model
else
	for _ in 1 2 3 4; do skip "gemini-cli 0.61.0 $missing_why"; done
fi

# ---- 2. through the configuration `shunt install AGENT` wrote ----
# shunt install AGENT --yes writes the hook into $AH; Codex's copy is then
# trusted the way a person would with /hooks (tests/tools/codex_trust.py).
XENV=(XDG_CONFIG_HOME="$XDG_CONFIG_HOME" XDG_STATE_HOME="$XDG_STATE_HOME")
install_hook() { # AGENT SHUNT-BINARY
	env HOME="$AH" CODEX_HOME="$AH/.codex" "${XENV[@]}" "$2" install "$1" >"$AH/install.out" 2>&1 || return 1
	[ "$1" != codex ] || CODEX_HOME="$AH/.codex" HOME="$AH" "$PY" "$TOP/tests/tools/codex_trust.py" \
		"$CODEX" "$AH/work" shunt >>"$AH/install.out" 2>&1
}
installed_steps() { # AGENT RUNNER
	local agent=$1 run=$2
	start_model "echo benign-ran > out"
	new_home
	[ "$agent" != codex ] || codex_config
	if ! install_hook "$agent" "$SHUNT"; then
		fail "shunt install $agent"
		diag "$(cat "$AH/install.out")"
		stop_model
		return
	fi
	"$run" "${XENV[@]}"
	is "$(cat "$AH/work/out" 2>/dev/null)" benign-ran "$agent, shunt's hook: a benign command runs" || show
	stop_model

	start_model 'rm -rf ~'
	[ ! -f "$AH/.codex/config.toml" ] || sed -i "s|127.0.0.1:[0-9]*/|127.0.0.1:$PORT/|" "$AH/.codex/config.toml"
	"$run" "${XENV[@]}"
	if [ -f "$AH/victim" ]; then pass "$agent, shunt's hook: rm -rf ~ does not run"; else
		fail "$agent, shunt's hook: rm -rf ~ does not run"
		show
		echo precious >"$AH/victim"
	fi
	like "$(cat "$M/result.txt" 2>/dev/null)" 'rm-rf-root-or-home' "$agent, shunt's hook: the model receives shunt's reason"
	stop_model

	start_model 'npm install left-pad'
	rm -f "$XDG_STATE_HOME/shunt/audit.jsonl" # this agent's decision only
	[ ! -f "$AH/.codex/config.toml" ] || sed -i "s|127.0.0.1:[0-9]*/|127.0.0.1:$PORT/|" "$AH/.codex/config.toml"
	"$run" "${XENV[@]}"
	like "$(cat "$XDG_STATE_HOME/shunt/audit.jsonl" 2>/dev/null | grep left-pad)" 'sandbox' \
		"$agent, shunt's hook: npm install left-pad is decided sandbox (the rewrite)"
	stop_model

	# a shunt binary that is gone after install: the hook must block, not allow
	start_model 'rm -rf ~'
	new_home
	[ "$agent" != codex ] || codex_config
	mkdir -p "$ROOT/gone$N"
	cp "$SHUNT" "$ROOT/gone$N/shunt"
	install_hook "$agent" "$ROOT/gone$N/shunt"
	rm -f "$ROOT/gone$N/shunt"
	"$run" "${XENV[@]}"
	if [ -f "$AH/victim" ]; then pass "$agent, shunt binary missing: rm -rf ~ is blocked, not allowed"; else
		fail "$agent, shunt binary missing: rm -rf ~ is blocked, not allowed"
		show
	fi
	stop_model
}
for a in claude-code:claude codex:codex gemini:gemini; do
	agent=${a%%:*} cli=${a#*:}
	eval "have=\$have_$cli"
	if [ "$have" != 1 ]; then
		for _ in 1 2 3 4 5; do skip "$agent: the CLI $missing_why"; done
	elif ! mkdir -p "$ROOT/probe" || ! env HOME="$ROOT/probe" CODEX_HOME="$ROOT/probe/.codex" "${XENV[@]}" \
		"$SHUNT" install "$agent" --dry-run >/dev/null 2>&1; then
		for _ in 1 2 3 4 5; do skip "$agent: 'shunt install $agent' does not exist yet (issue 19, branch i19-hooks)"; done
	else
		installed_steps "$agent" "run_$cli"
	fi
done

# ---- 3. no hook: the shim in Claude Code's shell catches rm -rf ~ ----
# Claude Code 2.1.337 refuses a literal `rm -rf ~` itself ("Dangerous rm
# operation detected"), so the model asks for one its own check lets through.
RM_HOME='eval "rm -rf \$HOME"'
if [ "$have_claude" = 1 ] && [ -f "$SHIM" ] && [ -x "$SHUNT" ]; then
	# the control: neither hook nor shim, and the scripted rm -rf ~ does run
	start_model "$RM_HOME"
	new_home
	run_claude
	ok "control, no hook and no shim: Claude Code's shell runs rm -rf ~ (the victim is gone)" test ! -e "$AH/victim"
	stop_model
	start_model "$RM_HOME"
	new_home
	run_claude LD_PRELOAD="$SHIM" PATH="$(dirname "$SHUNT"):$NODE24:/usr/bin:/bin" \
		XDG_CONFIG_HOME="$XDG_CONFIG_HOME" XDG_STATE_HOME="$XDG_STATE_HOME"
	if [ -f "$AH/victim" ]; then pass "shim, no hook: rm -rf ~ in Claude Code's shell did not run"; else
		fail "shim, no hook: rm -rf ~ in Claude Code's shell did not run"
		show
	fi
	like "$(cat "$M/result.txt" 2>/dev/null)" 'shunt: blocked.*rm-rf-root-or-home' "shim, no hook: the model received shunt's refusal"
	diag "the model got: $(head -c 300 "$M/result.txt" 2>/dev/null | tr '\n' ' ')"
	stop_model
else
	for _ in 1 2 3; do skip "claude-code or the shim ($SHIM) missing"; done
fi

done_testing
