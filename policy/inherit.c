/* The inherited decision record (see inherit.h). Runs inside the shim: no
 * malloc, no stdio, async-signal-safe. */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_views.h"
#include "inherit.h"

static bool hex_u64(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	int n = 0;
	for (; *p && *p != ':'; p++, n++) {
		unsigned d = *p >= '0' && *p <= '9'   ? (unsigned)(*p - '0')
			     : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10)
						      : 16u;
		if (d > 15 || n >= 16)
			return false;
		v = v << 4 | d;
	}
	if (n == 0)
		return false;
	*s = p;
	*out = v;
	return true;
}

bool shunt_inherit_parse(const char *s, struct shunt_inherit *out)
{
	if (!s || s[0] != '1' || s[1] != ':' || !s[2] || s[3] != ':' || s[4] < '0' || s[4] > '3' ||
	    s[5] != ':' || (s[6] != '0' && s[6] != '1') || s[7] != ':')
		return false;
	out->layer = s[2];
	out->risk = (enum shunt_risk)(s[4] - '0');
	out->remote = s[6] == '1';
	const char *p = s + 8;
	if (!hex_u64(&p, &out->dev) || *p++ != ':' || !hex_u64(&p, &out->ino) || *p)
		return false;
	return true;
}

bool shunt_inherit_find(char *const *envp, struct shunt_inherit *out)
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (shunt_inherit_is_entry(envp[i]))
			return shunt_inherit_parse(envp[i] + sizeof(SHUNT_INHERIT_ENV), out);
	return false;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

/* Programs that run whatever they are told: the same-tool rule never
 * covers them (`python3` running `python3 -m pip install` is an install,
 * not python's own work). */
static bool runs_anything(const char *prog)
{
	static const char *const shells[] = {
	    "sh",   "bash", "dash", "zsh", "ksh", "mksh", "fish", "env",   "busybox",	"xargs",
	    "sudo", "doas", "perl", "php", "lua", "deno", "bun",  "tclsh", "osascript", NULL};
	for (size_t i = 0; shells[i]; i++)
		if (strcmp(prog, shells[i]) == 0)
			return true;
	return shunt_exec_is_interpreter(prog);
}

/* A rule about credentials: their decisions are never inherited. Rule
 * tags are not in the shim's snapshot, so this goes by the built-in
 * packs' ids (policy/rules/50-secrets.yaml). */
static bool secret_rule(const char *id)
{
	size_t n = strlen(id);
	return strstr(id, "secret") != NULL || (n > 8 && strcmp(id + n - 8, "-network") == 0);
}

bool shunt_inherit_applies(const struct shunt_inherit *rec, const struct shunt_decision *d,
			   const char *child_exe, const char **why)
{
	*why = "judged alone";
	if (d->action == SHUNT_ACTION_HOST)
		return true;
	if (d->action == SHUNT_ACTION_BLOCK || d->risk >= SHUNT_RISK_CRITICAL)
		return false;
	if (d->remote_effect && !rec->remote)
		return false;
	for (size_t i = 0; i < d->nrules; i++)
		if (secret_rule(d->rules[i]))
			return false;
	/* the record names this very program, or it is someone else's */
	struct stat st;
	if (stat("/proc/self/exe", &st) < 0 || (uint64_t)st.st_dev != rec->dev ||
	    (uint64_t)st.st_ino != rec->ino)
		return false;
	if (d->risk <= rec->risk) {
		*why = "inherited: within the risk accepted for its parent";
		return true;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !child_exe)
		return false;
	self[n] = '\0';
	const char *me = base_of(self);
	if (strcmp(me, base_of(child_exe)) != 0 || runs_anything(me))
		return false;
	*why = "inherited: the program runs itself as part of what it was run for";
	return true;
}
