/* Where shunt keeps its files (XDG base directories). */
#ifndef SHUNT_PATHS_H
#define SHUNT_PATHS_H

#include "error.h"

enum shunt_dir {
	SHUNT_DIR_CONFIG,  /* $XDG_CONFIG_HOME/shunt  (~/.config/shunt) */
	SHUNT_DIR_DATA,	   /* $XDG_DATA_HOME/shunt    (~/.local/share/shunt): trust.json */
	SHUNT_DIR_STATE,   /* $XDG_STATE_HOME/shunt   (~/.local/state/shunt): audit.jsonl, metrics,
			      snapshot */
	SHUNT_DIR_CACHE,   /* $XDG_CACHE_HOME/shunt   (~/.cache/shunt) */
	SHUNT_DIR_RUNTIME, /* $XDG_RUNTIME_DIR/shunt, else $STATE/run */
};

/* Returns the malloc'd directory path (not created), or NULL on OOM or
 * when neither the XDG variable nor HOME is set (then /tmp/shunt-<uid>). */
char *shunt_paths_dir(enum shunt_dir which);

/* Returns malloc'd "<dir>/<name>", or NULL on OOM. */
char *shunt_paths_file(enum shunt_dir which, const char *name);

/* Home directory: $HOME, else the passwd entry; malloc'd or NULL. */
char *shunt_paths_home(void);

/* "~" and "~/x" become $HOME and $HOME/x (a copy of s when there is no
 * home, or s names another user's); malloc'd, NULL on OOM. */
char *shunt_paths_expand_tilde(const char *s);

/* Resolves a program name through $PATH like execvp (a name with '/' is
 * made absolute). malloc'd path of an executable regular file, or NULL. */
char *shunt_paths_which(const char *name);

/* A file in this user's machine-wide probe cache, /tmp/shunt-probe-<uid>/
 * (created 0700). Probe results (is gVisor usable, which platform) are
 * facts about the machine, not the HOME, so they survive throwaway HOMEs.
 * Returns NULL when the directory is not ours (someone else made it) or on
 * OOM: the caller then just probes again. malloc'd. */
char *shunt_paths_probe_cache(const char *name);

#endif
