/* What the interposer (preload/interpose.c, the small library every
 * process loads) and the shim core (preload/shim.c, loaded on demand by
 * the first process that forks or execs) hand each other. Both come from
 * the same build; the entry symbol carries a version in its name. */
#ifndef SHUNT_PRELOAD_IFACE_H
#define SHUNT_PRELOAD_IFACE_H

#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct shunt_fast;

#define SHUNT_SHIM_MAX_SAVED_ENV 8
#define SHUNT_SHIM_CORE_ENTRY	 "shunt_shim_core_v1"
#define SHUNT_SHIM_CORE_FILE	 "libshunt-shim-core.so"

/* the libc functions the wrappers stand in front of */
struct shunt_shim_real {
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);
};

/* What the interposer saw when the process started: pointers into the
 * initial environment block (the strings stay where they are, whatever
 * the program does to environ later), its own file, and libc. */
struct shunt_shim_boot {
	unsigned char nshunt, nctx;
	const char *shunt[SHUNT_SHIM_MAX_SAVED_ENV]; /* SHUNT_* */
	const char *ctx[SHUNT_SHIM_MAX_SAVED_ENV];   /* HOME, XDG_* */
	const char *preload, *home;		     /* "LD_PRELOAD=...", "HOME=..." */
	const char *self_path;			     /* the interposer's file */
	struct shunt_shim_real real;
	struct shunt_fast *fast; /* the interposer's exec path state (fast.h) */
};

enum shunt_shim_execl { SHUNT_SHIM_EXECL, SHUNT_SHIM_EXECLE, SHUNT_SHIM_EXECLP };

/* The core's wrappers: same contracts as the libc functions they stand
 * for (errno preserved on success paths, EACCES for refused execs). */
struct shunt_shim_ops {
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*fexecve)(int, char *const[], char *const[]);
	/* execl, execle, execlp: ap holds the arguments after arg */
	int (*execl)(enum shunt_shim_execl kind, const char *path, const char *arg, va_list ap);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);
	/* the parent's half of fork: snapshot, counters, decision cache */
	void (*prefork)(void);
};

/* The core's one exported symbol (SHUNT_SHIM_CORE_ENTRY): copies *boot
 * and returns its wrappers. Called once per process, in the parent. */
typedef const struct shunt_shim_ops *(*shunt_shim_core_entry_fn)(const struct shunt_shim_boot *);

/* "LD_PRELOAD=..." as character compares: no string constant for a
 * forked child to fault in. */
static inline bool shunt_shim_is_ld_preload(const char *v)
{
	return v[0] == 'L' && v[1] == 'D' && v[2] == '_' && v[3] == 'P' && v[4] == 'R' &&
	       v[5] == 'E' && v[6] == 'L' && v[7] == 'O' && v[8] == 'A' && v[9] == 'D' &&
	       v[10] == '=';
}

/* One message to stderr with write(2): no stdio in the host program.
 * Async-signal-safe; errno may change. */
static inline void shunt_shim_say(const char *msg)
{
	size_t n = strlen(msg), off = 0;
	while (off < n) {
		ssize_t w = write(STDERR_FILENO, msg + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

#endif
