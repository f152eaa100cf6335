/* Reading the agents' pre-command hook events (see agentevent.h). */
#include <stdlib.h>
#include <string.h>

#include "agentevent.h"
#include "json.h"

static const char *const agent_names[] = {"claude-code", "codex", "gemini", "cursor"};

int shunt_agentevent_agent(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "cursor-agent") == 0)
		return SHUNT_AGENT_CURSOR;
	for (size_t i = 0; i < sizeof(agent_names) / sizeof(agent_names[0]); i++)
		if (strcmp(name, agent_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *shunt_agentevent_name(enum shunt_agent a)
{
	return agent_names[a];
}

/* A copy of the string member key of j, or NULL when missing or not a
 * string. Strings with NULs are cut there; the command is checked apart. */
static char *dup_member(const struct shunt_json *j, const char *key)
{
	const struct shunt_json *v = shunt_json_get(j, key);
	return v && v->type == SHUNT_JSON_STRING ? strdup(v->str) : NULL;
}

static int take_command(const struct shunt_json *holder, struct shunt_agent_event *ev,
			struct shunt_error **err)
{
	const struct shunt_json *c = shunt_json_get(holder, "command");
	if (!c || c->type != SHUNT_JSON_STRING)
		return shunt_error_set(err, 0, "the event has no command string");
	if (strlen(c->str) != c->len)
		return shunt_error_set(err, 0, "the command holds a NUL byte");
	ev->command = strdup(c->str);
	return ev->command ? 0 : shunt_error_set(err, 0, "out of memory");
}

int shunt_agentevent_parse(enum shunt_agent a, const char *buf, size_t len,
			   struct shunt_agent_event *ev, struct shunt_error **err)
{
	memset(ev, 0, sizeof(*ev));
	ev->agent = a;
	struct shunt_json *j = shunt_json_parse("event", buf, len, err);
	if (!j)
		return -1;
	int rc = -1;
	if (j->type != SHUNT_JSON_OBJECT) {
		shunt_error_set(err, 0, "the event is not a JSON object");
		goto out;
	}
	ev->event = dup_member(j, "hook_event_name");
	ev->cwd = dup_member(j, "cwd");
	ev->session = dup_member(j, a == SHUNT_AGENT_CURSOR ? "conversation_id" : "session_id");
	const char *want = a == SHUNT_AGENT_GEMINI   ? "BeforeTool"
			   : a == SHUNT_AGENT_CURSOR ? "beforeShellExecution"
						     : "PreToolUse";
	if (!ev->event || strcmp(ev->event, want) != 0) {
		shunt_error_set(err, 0, "expected hook_event_name \"%s\", got %s%s%s", want,
				ev->event ? "\"" : "", ev->event ? ev->event : "none",
				ev->event ? "\"" : "");
		goto out;
	}
	if (a == SHUNT_AGENT_CURSOR) {
		ev->shell = true;
		rc = take_command(j, ev, err);
		goto out;
	}
	const char *tool = shunt_json_str(j, "tool_name", NULL);
	if (!tool) {
		shunt_error_set(err, 0, "the event has no tool_name");
		goto out;
	}
	ev->shell = strcmp(tool, a == SHUNT_AGENT_GEMINI ? "run_shell_command" : "Bash") == 0;
	if (!ev->shell) {
		rc = 0;
		goto out;
	}
	const struct shunt_json *in = shunt_json_get(j, "tool_input");
	if (!in || in->type != SHUNT_JSON_OBJECT) {
		shunt_error_set(err, 0, "the event has no tool_input object");
		goto out;
	}
	rc = take_command(in, ev, err);
out:
	shunt_json_free(j);
	return rc;
}

void shunt_agentevent_free(struct shunt_agent_event *ev)
{
	free(ev->command);
	free(ev->session);
	free(ev->cwd);
	free(ev->event);
	memset(ev, 0, sizeof(*ev));
}
