#!/usr/bin/env bash
# `shunt hook AGENT` fed each agent's own pre-command event (fields as the
# real CLIs send them: Claude Code 2.1.x, Codex 0.17x, Gemini CLI 0.61,
# Cursor hooks.json v1) and `shunt install AGENT`: a benign line is
# allowed, `rm -rf ~` denied with the reason, `npm install x` rewritten to
# run sandboxed under `shunt run`, malformed input never allowed, the
# installed command line blocks when shunt is missing, and a hand-written
# settings file round-trips byte for byte.
. "$(dirname "$0")/../lib.sh"
setup_home
WS=$HOME/ws
mkdir -p "$WS/.git"
cd "$WS" || exit 1
export SHUNT_AUDIT_LOG=$TEST_TMP/audit.jsonl
command -v jq >/dev/null || { skip "jq is not installed"; done_testing; exit; }

# ev AGENT COMMAND: the agent's event for COMMAND, as it sends it
ev() {
	local c
	c=$(jq -cn --arg c "$2" '$c')
	case $1 in
	claude-code) printf '{"session_id":"sess-claude-1","transcript_path":"%s/t.jsonl","cwd":"%s","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":%s,"description":"run it"},"tool_use_id":"toolu_01"}' "$HOME" "$WS" "$c" ;;
	codex) printf '{"session_id":"sess-codex-1","turn_id":"turn-1","transcript_path":null,"cwd":"%s","model":"gpt-5","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":%s},"tool_use_id":"call_1"}' "$WS" "$c" ;;
	gemini) printf '{"session_id":"sess-gemini-1","transcript_path":"%s/g.json","cwd":"%s","hook_event_name":"BeforeTool","timestamp":"2026-12-07T23:00:00Z","tool_name":"run_shell_command","tool_input":{"command":%s,"description":"run it"}}' "$HOME" "$WS" "$c" ;;
	cursor) printf '{"conversation_id":"sess-cursor-1","generation_id":"gen-1","hook_event_name":"beforeShellExecution","workspace_roots":["%s"],"command":%s,"cwd":"%s"}' "$WS" "$c" "$WS" ;;
	esac
}
# field AGENT decision|reason|rewrite JSON: that part of the agent's answer
field() {
	local p
	case $1:$2 in
	claude-code:decision | codex:decision) p=.hookSpecificOutput.permissionDecision ;;
	claude-code:reason | codex:reason) p=.hookSpecificOutput.permissionDecisionReason ;;
	claude-code:rewrite | codex:rewrite) p=.hookSpecificOutput.updatedInput.command ;;
	gemini:decision) p=.decision ;;
	gemini:reason) p=.reason ;;
	gemini:rewrite) p=.hookSpecificOutput.tool_input.command ;;
	cursor:decision) p=.permission ;;
	cursor:reason) p=.agentMessage ;;
	cursor:rewrite) p=.no_rewrite ;;
	esac
	jq -r "$p // empty" <<<"$3"
}
decision() { field "$1" decision "$2"; }
reason() { field "$1" reason "$2"; }
rewritten() { field "$1" rewrite "$2"; }

for agent in claude-code codex gemini cursor; do
	out=$(ev $agent 'ls -la' | "$SHUNT" hook $agent 2>"$TEST_TMP/err"); rc=$?
	is "$rc" 0 "$agent: benign line: exit 0"
	is "$(decision $agent "$out")" allow "$agent: benign line allowed"
	is "$(rewritten $agent "$out")" "" "$agent: benign line not rewritten"

	out=$(ev $agent 'rm -rf ~' | "$SHUNT" hook $agent 2>"$TEST_TMP/err"); rc=$?
	is "$rc" 0 "$agent: rm -rf ~: exit 0 with an answer"
	is "$(decision $agent "$out")" deny "$agent: rm -rf ~ denied"
	like "$(reason $agent "$out")" 'shunt: blocked: .*\[.+\].*shunt trust add' \
		"$agent: the reason names the rule and what a person may run"

	out=$(ev $agent 'npm install left-pad' | "$SHUNT" hook $agent 2>"$TEST_TMP/err")
	if [ $agent = cursor ]; then
		# Cursor cannot rewrite: it is told to run the sandboxed form
		is "$(decision $agent "$out")" deny "cursor: npm install: not run on the host"
		like "$(reason $agent "$out")" "run --profile [A-Z_]+ --runtime [a-z]+ -- .* -c 'npm install left-pad'" \
			"cursor: the agent is told the sandboxed command"
	else
		is "$(decision $agent "$out")" allow "$agent: npm install allowed, rewritten"
		cmd=$(rewritten $agent "$out")
		like "$cmd" "^'$SHUNT' run --profile [A-Z_]+ --runtime [a-z]+ -- /bin/(ba)?sh -c 'npm install left-pad'\$" \
			"$agent: npm install rewritten to run under shunt run with the decided profile"
	fi

	for bad in '' 'not json' '{"hook_event_name":"Other","tool_name":"Bash","tool_input":{"command":"ls"}}' \
		'{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":42}}' '[1,2]'; do
		out=$(printf '%s' "$bad" | "$SHUNT" hook $agent 2>"$TEST_TMP/err"); rc=$?
		if [ "$rc" = 2 ] && [ -z "$out" ] && grep -q 'not allowed' "$TEST_TMP/err"; then
			pass "$agent: malformed input '${bad:0:30}': exit 2, nothing allowed"
		else
			fail "$agent: malformed input '${bad:0:30}'"; diag "rc=$rc out=$out"; diag "$(cat "$TEST_TMP/err")"
		fi
	done
done

# another tool than the shell: no opinion
out=$(printf '{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/etc/passwd"}}' | "$SHUNT" hook claude-code); rc=$?
is "$rc:$out" "0:" "claude-code: another tool: exit 0, no answer (the agent's own rules apply)"

# an unknown agent name is a failure, not an allow
"$SHUNT" hook nosuchagent </dev/null >/dev/null 2>&1; is "$?" 2 "unknown agent: exit 2"

# the audit log has the agent's session id
like "$(grep -c '"session":"sess-claude-1"' "$SHUNT_AUDIT_LOG")" '^[1-9]' "the audit log carries Claude's session id"
like "$(grep '"command":"rm -rf ~"' "$SHUNT_AUDIT_LOG" | grep -c '"agent":"codex".*"session":"sess-codex-1"')" '^[1-9]' \
	"the audit log names the agent and session of a block"

# the rewritten command is one `shunt run` accepts as it stands (its plan)
out=$(ev claude-code 'npm install left-pad' | "$SHUNT" hook claude-code)
cmd=$(rewritten claude-code "$out")
plan=$(eval "${cmd/ run / run --dry-run }" 2>&1); rc=$?
is "$rc" 0 "the rewritten command's shunt run accepts the decided profile and runtime"
diag "$(printf '%s' "$plan" | head -1)"

# SHUNT_NOTICE_FORMAT=json: a refusal an agent can act on
err=$(SHUNT_NOTICE_FORMAT=json "$SHUNT" exec -c 'rm -rf ~' 2>&1 >/dev/null)
is "$(jq -r '[.notice, .rules[0], .effect, (.contained|tostring)] | join(" ")' <<<"$err" 2>/dev/null)" \
	"blocked rm-rf-root-or-home local null" "json notice: a block names the rule, the effect, nothing contained"
like "$(jq -r .instead <<<"$err" 2>/dev/null)" "shunt trust add 'rm -rf ~'" "json notice: what a person may run instead"
err=$(SHUNT_NOTICE_FORMAT=json SHUNT_DRY_RUN= "$SHUNT" exec --no-daemon -c 'npm install --version' 2>&1 >/dev/null | grep '^{')
like "$(jq -r '"\(.notice) \(.contained.profile)"' <<<"$err" 2>/dev/null)" '^sandboxed [A-Z_]+$' \
	"json notice: a sandboxed run says what contained it"

# --- shunt agent: the agent's shells carry the shim ------------------------
env_out=$("$SHUNT" agent -- env 2>&1)
like "$env_out" "LD_PRELOAD=[^ ]*libshunt-preload.so" "shunt agent: the agent runs with the exec shim"
like "$env_out" "SHUNT_AGENT=env" "shunt agent: the session is marked as an agent's"
if [ -r "$SHIM" ]; then
	touch "$HOME/sentinel"
	# what a subagent's shell would run, with no hook in the way
	out=$("$SHUNT" agent -- bash -c 'rm -rf ~; echo ran=$?' 2>&1)
	ok "shunt agent: the shim catches rm -rf ~ in the agent's shell (home intact)" -- test -e "$HOME/sentinel"
	like "$out" 'ran=126' "shunt agent: ... and the agent's shell gets a refusal (126)"
else
	skip "no shim built at $SHIM"; skip "no shim"
fi
for var in SHUNT_AGENT=x CLAUDECODE=1 GEMINI_CLI=1 CURSOR_AGENT=1; do
	err=$(env $var "$SHUNT" trust add --yes 'echo agent-was-here' 2>&1); rc=$?
	like "$rc:$err" "^[1-9].*not an agent's" "$var: shunt trust add refuses inside an agent session"
done
err=$(CLAUDECODE=1 "$SHUNT" off --hook bash 2>&1 </dev/null); rc=$?
like "$rc:$err" "^[1-9].*not an agent's" "CLAUDECODE=1: shunt off refuses inside an agent session"
unlike "$("$SHUNT" trust list 2>&1)" 'agent-was-here' "nothing was trusted from inside the agent session"

# --- an MCP server wrapped with shunt run in .mcp.json ----------------------
cat >"$WS/mcp-probe.sh" <<'SH'
#!/bin/sh
IFS= read -r req
echo '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","serverInfo":{"name":"probe","version":"1"},"capabilities":{}}}'
if touch "$1/outside-ws" 2>/dev/null; then echo wrote-outside >&2; else echo contained >&2; fi
touch ./inside-ws && echo wrote-inside >&2
SH
chmod +x "$WS/mcp-probe.sh"
cat >"$WS/.mcp.json" <<JSON
{"mcpServers":{"probe":{"command":"$SHUNT","args":["run","--profile","WORKSPACE_WRITE","--","./mcp-probe.sh","$HOME"]}}}
JSON
# start it as the agent does: command + args from .mcp.json, JSON-RPC on stdio
mapfile -t mcp < <(jq -r '.mcpServers.probe | .command, .args[]' "$WS/.mcp.json")
out=$(echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' | SHUNT_NO_DAEMON=1 "${mcp[@]}" 2>"$TEST_TMP/mcp.err"); rc=$?
if [ "$rc" = 125 ]; then
	skip "no sandbox here for the MCP server: $(tail -1 "$TEST_TMP/mcp.err")"; skip "no sandbox"; skip "no sandbox"
else
	is "$(jq -r .result.serverInfo.name <<<"$out" 2>/dev/null)" probe "MCP under shunt run: the JSON-RPC answer comes back on stdout"
	ok "MCP under shunt run: it cannot write outside the workspace" -- test ! -e "$HOME/outside-ws"
	ok "MCP under shunt run: it writes in the workspace" -- test -e "$WS/inside-ws"
fi

# --- shunt install AGENT -------------------------------------------------
export SHUNT_BIN=$SHUNT
# a hand-written Claude settings file: odd spacing, other hooks, unicode
mkdir -p "$HOME/.claude"
cat >"$HOME/.claude/settings.json" <<'JSON'
{
    "model":   "opus",
  "permissions": { "allow": ["Bash(ls:*)"] },
  "hooks": {
    "PreToolUse": [
      { "matcher": "Edit", "hooks": [ { "type": "command", "command": "echo édit" } ] }
    ],
    "Stop": []
  }
}
JSON
cp "$HOME/.claude/settings.json" "$TEST_TMP/orig.json"
"$SHUNT" install claude-code 2>"$TEST_TMP/err"; rc=$?
is "$rc" 0 "install claude-code: exit 0"
ok "install claude-code: the result is JSON" -- jq -e . "$HOME/.claude/settings.json" >/dev/null
is "$(jq -r '.hooks.PreToolUse | length' "$HOME/.claude/settings.json")" 2 "the user's Edit hook is kept beside shunt's"
is "$(jq -r '.hooks.PreToolUse[] | select(.matcher=="Bash") | .hooks[0].command' "$HOME/.claude/settings.json" | grep -c "hook claude-code")" 1 \
	"shunt's PreToolUse Bash hook runs shunt hook claude-code"
cp "$HOME/.claude/settings.json" "$TEST_TMP/once.json"
"$SHUNT" install claude-code 2>/dev/null
ok "install twice changes nothing" -- cmp -s "$HOME/.claude/settings.json" "$TEST_TMP/once.json"
"$SHUNT" install claude-code --uninstall 2>/dev/null
ok "uninstall gives back the hand-written file byte for byte" -- cmp "$HOME/.claude/settings.json" "$TEST_TMP/orig.json"

# shunt moved: install replaces its old entry, uninstall finds it whatever the path
SHUNT_BIN=/old/place/shunt "$SHUNT" install claude-code 2>/dev/null
"$SHUNT" install claude-code 2>/dev/null
is "$(jq -r '[.hooks.PreToolUse[] | select(.matcher=="Bash")] | length' "$HOME/.claude/settings.json"):$(grep -c /old/place "$HOME/.claude/settings.json")" "1:0" \
	"reinstall after shunt moved: one entry, the new path"
SHUNT_BIN=/old/place/shunt "$SHUNT" install claude-code 2>/dev/null
SHUNT_BIN=/new/place/shunt "$SHUNT" install claude-code --uninstall 2>/dev/null
ok "uninstall removes an entry written by a shunt elsewhere: byte for byte" -- cmp "$HOME/.claude/settings.json" "$TEST_TMP/orig.json"

for agent in claude-code codex gemini cursor-agent; do
	case $agent in
	claude-code) f=$WS/.claude/settings.json ;;
	codex) f=$WS/.codex/hooks.json ;;
	gemini) f=$WS/.gemini/settings.json ;;
	cursor-agent) f=$WS/.cursor/hooks.json ;;
	esac
	"$SHUNT" install $agent --project 2>"$TEST_TMP/err"; rc=$?
	is "$rc" 0 "install $agent --project: exit 0"
	ok "$agent: $f is JSON" -- jq -e . "$f" >/dev/null
	case $agent in
	claude-code | codex) cmd=$(jq -r '.hooks.PreToolUse[0].hooks[0].command' "$f"); hook=${agent} ;;
	gemini) cmd=$(jq -r '.hooks.BeforeTool[0].hooks[0].command' "$f"); hook=gemini ;;
	cursor-agent) cmd=$(jq -r '.hooks.beforeShellExecution[0].command' "$f"); hook=cursor
		is "$(jq -r .version "$f")" 1 "cursor: hooks.json version 1" ;;
	esac
	# the installed command line itself, as the agent runs it (sh -c)
	out=$(ev $hook 'rm -rf ~' | sh -c "$cmd" 2>"$TEST_TMP/err"); rc=$?
	is "$rc:$(decision $hook "$out")" "0:deny" "$agent: the installed command denies rm -rf ~"
	# shunt moved away: status 127 inside must become a block (2) with a reason
	moved=$(printf '%s' "$cmd" | sed "s#'$SHUNT'#'$TEST_TMP/gone/shunt'#")
	out=$(ev $hook 'ls' | sh -c "$moved" 2>"$TEST_TMP/err"); rc=$?
	is "$rc" 2 "$agent: shunt missing: the installed command exits 2 (a block)"
	is "$out" "" "$agent: shunt missing: nothing on stdout"
	like "$(cat "$TEST_TMP/err")" 'shunt hook failed \(status 127' "$agent: shunt missing: the reason is on stderr"
	# a crash (SIGSEGV) is a block too
	printf '#!/bin/sh\nkill -SEGV $$\n' >"$TEST_TMP/crash"; chmod +x "$TEST_TMP/crash"
	crash=$(printf '%s' "$cmd" | sed "s#'$SHUNT'#'$TEST_TMP/crash'#")
	out=$(ev $hook 'ls' | sh -c "$crash" 2>"$TEST_TMP/err"); rc=$?
	is "$rc:$out" "2:" "$agent: shunt crashing: exit 2, nothing allowed"
	"$SHUNT" install $agent --project --uninstall 2>/dev/null
	ok "$agent: uninstall removes the file shunt created" -- test ! -e "$f"
done
out=$("$SHUNT" install codex --project 2>&1 >/dev/null | tr '\n' ' ')
like "$out" 'NOT protected.*/hooks' "install codex says Codex ignores the hook until trusted with /hooks"
"$SHUNT" install codex --project --uninstall 2>/dev/null

# shunt doctor reads Codex's own record of hook reviews
export CODEX_HOME=$HOME/codexhome
mkdir -p "$CODEX_HOME"
"$SHUNT" install codex 2>/dev/null
doc=$("$SHUNT" doctor --json 2>/dev/null | jq -r '.checks[]? // .[]? | select(.name=="codex-hook") | .detail' 2>/dev/null)
[ -n "$doc" ] || doc=$("$SHUNT" doctor 2>/dev/null | grep -i codex)
like "$doc" 'cannot tell' "doctor: no review recorded by Codex: says it cannot tell"
printf '[hooks.state."/elsewhere/hooks.json:pre_tool_use:0:0"]\ntrusted_hash = "sha256:00"\n' >"$CODEX_HOME/config.toml"
doc=$("$SHUNT" doctor 2>/dev/null | grep -i codex)
like "$doc" 'NOT trusted.*/hooks' "doctor: Codex reviewed other hooks, not shunt's: NOT trusted, type /hooks"
printf '[hooks.state."%s/hooks.json:pre_tool_use:0:0"]\ntrusted_hash = "sha256:11"\n' "$CODEX_HOME" >>"$CODEX_HOME/config.toml"
doc=$("$SHUNT" doctor 2>/dev/null | grep -i codex)
like "$doc" 'trusted \(' "doctor: Codex's trust entry for shunt's hook: trusted"
unlike "$doc" 'NOT' "doctor: ... and not reported as untrusted"
unset CODEX_HOME

# a file that is not JSON is left alone
mkdir -p "$HOME/.gemini"; printf '{ "a": ' >"$HOME/.gemini/settings.json"
"$SHUNT" install gemini 2>/dev/null; rc=$?
is "$rc:$(cat "$HOME/.gemini/settings.json")" '1:{ "a": ' "a broken settings file: error, file untouched"

done_testing
