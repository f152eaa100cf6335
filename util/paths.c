#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

char *shunt_paths_home(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return strdup(h);
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_dir)
		return strdup(pw->pw_dir);
	return NULL;
}

char *shunt_paths_dir(enum shunt_dir which)
{
	static const struct {
		const char *env;
		const char *fallback;
	} map[] = {
	    [SHUNT_DIR_CONFIG] = {"XDG_CONFIG_HOME", ".config"},
	    [SHUNT_DIR_DATA] = {"XDG_DATA_HOME", ".local/share"},
	    [SHUNT_DIR_STATE] = {"XDG_STATE_HOME", ".local/state"},
	    [SHUNT_DIR_CACHE] = {"XDG_CACHE_HOME", ".cache"},
	    [SHUNT_DIR_RUNTIME] = {"XDG_RUNTIME_DIR", NULL},
	};
	char *out = NULL;
	const char *v = getenv(map[which].env);
	if (v && v[0] == '/') {
		if (asprintf(&out, "%s/shunt", v) < 0)
			return NULL;
		return out;
	}
	if (which == SHUNT_DIR_RUNTIME) {
		char *state = shunt_paths_dir(SHUNT_DIR_STATE);
		if (!state)
			return NULL;
		int r = asprintf(&out, "%s/run", state);
		free(state);
		return r < 0 ? NULL : out;
	}
	char *home = shunt_paths_home();
	int r;
	if (home)
		r = asprintf(&out, "%s/%s/shunt", home, map[which].fallback);
	else
		r = asprintf(&out, "/tmp/shunt-%u/%s", (unsigned)getuid(), map[which].fallback);
	free(home);
	return r < 0 ? NULL : out;
}

char *shunt_paths_file(enum shunt_dir which, const char *name)
{
	char *dir = shunt_paths_dir(which);
	if (!dir)
		return NULL;
	char *out = NULL;
	int r = asprintf(&out, "%s/%s", dir, name);
	free(dir);
	return r < 0 ? NULL : out;
}

char *shunt_paths_which(const char *name)
{
	if (!name || !*name)
		return NULL;
	if (strchr(name, '/')) {
		char buf[PATH_MAX];
		if (realpath(name, buf))
			return strdup(buf);
		return strdup(name);
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	const char *p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char cand[PATH_MAX];
		int len = snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, n ? p : ".", name);
		if (len > 0 && (size_t)len < sizeof(cand)) {
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
				return strdup(cand);
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	return NULL;
}

char *shunt_paths_probe_cache(const char *name)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/shunt-probe-%u", (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return NULL;
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 0077) != 0)
		return NULL;
	char *out = NULL;
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		return NULL;
	return out;
}

/* "~" and "~/x" become $HOME and $HOME/x; NULL on OOM. */
char *shunt_paths_expand_tilde(const char *s)
{
	if (s[0] != '~' || (s[1] != '\0' && s[1] != '/'))
		return strdup(s);
	_cleanup_free_ char *home = shunt_paths_home();
	if (!home)
		return strdup(s);
	char *out = NULL;
	if (asprintf(&out, "%s%s", home, s + 1) < 0)
		return NULL;
	return out;
}
