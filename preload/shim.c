/* The shim core: every exec of the host program is decided against the
 * precompiled policy snapshot. The small interposer (interpose.c) loads
 * this object in a process's first fork, vfork, spawn or exec, so the
 * many processes that never start anything never map it. Host decisions
 * go into a cache the interposer reads by itself (fast.c), so a forked
 * child that execs a command decided before never runs code from here.
 * Host commands run untouched; anything else is re-routed to `shunt
 * gate`, which sandboxes, prompts or blocks.
 *
 * Rules the shim core lives by (it runs inside arbitrary programs, in vfork
 * children and in multi-threaded parents): no malloc, no stdio, no locks
 * on the exec path; buffers on the stack or mmap; errno saved and
 * restored; globals written only in init (once, under pthread_once) or
 * published with atomic compare-and-swap. Not a security boundary on its
 * own: static binaries, setuid programs and raw syscalls bypass it.
 *
 * This file holds the state, the set-up, the environment fix-up and the
 * wrappers the interposer calls; deciding is in shim_decide.c, paths and
 * re-routing to the gate in shim_gate.c (shared names in shim_int.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fast.h"
#include "iface.h"
#include "shim_int.h"

#define LINE_MAX_QUOTED 16384

/* ---- state set once, when the core is loaded or in init ---- */

/* (STATE: in .data, see shim_int.h) */
STATE struct shunt_shim_real shunt_shim_libc;

static STATE pthread_once_t init_once = PTHREAD_ONCE_INIT;
STATE char shunt_shim_gate_path[PATH_MAX];
STATE char shunt_shim_snap_path[PATH_MAX];
STATE char shunt_shim_counters_path[PATH_MAX];
static STATE char self_path[PATH_MAX];
/* "LD_PRELOAD=..." to put back into scrubbed environments */
static STATE char env_preload[PATH_MAX + 16];
/* SHUNT_* variables present at load time */
#define MAX_SAVED_ENV 8
static STATE char saved_env[MAX_SAVED_ENV][1024];
static STATE size_t nsaved_env;
/* HOME and XDG_* at load time: the gate needs them to find the same
 * config, trust store and audit log after a program scrubbed its env */
static STATE char saved_ctx[MAX_SAVED_ENV][1024];
static STATE size_t nsaved_ctx;
/* SHUNT_DECIDED at load time: this process's own record (inherit.h);
 * never put back into a child's environment, each exec writes its own */
STATE struct shunt_inherit shunt_shim_self_record;
STATE bool shunt_shim_have_self_record;

/* The exec path's state in the interposer (fast.h): the decision cache,
 * the counters mapping (SHUNT_FAST_NONE once mapping failed) and the
 * snapshot identity live there, where its exec path reads them. */
static STATE struct shunt_fast own_fast;
STATE struct shunt_fast *shunt_shim_fast = &own_fast;

/* ---- set-up ---- */

/* LD_PRELOAD as it was at load time ("LD_PRELOAD=..."), raw */
static STATE char env_preload_raw[PATH_MAX + 16];

/* What the interposer saw at process start (see iface.h); init() copies
 * the strings out. */
static STATE struct shunt_shim_boot boot;

/* s starts with the literal p */
#define HAS_PREFIX(s, p) (strncmp((s), (p), sizeof(p) - 1) == 0)

/* The value of NAME=value from the boot environment, or NULL. A string
 * the program has since overwritten (setproctitle-style) no longer starts
 * with its name and counts as absent. */
static const char *boot_value(const char *kv, const char *name, size_t nlen)
{
	if (!kv || strncmp(kv, name, nlen) != 0 || kv[nlen] != '=')
		return NULL;
	return kv + nlen + 1;
}

static const char *boot_lookup(const char *const *v, size_t n, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < n; i++) {
		const char *val = boot_value(v[i], name, nlen);
		if (val)
			return val;
	}
	return NULL;
}

/* init: copies the boot environment into the saved arrays. */
static void copy_boot_env(void)
{
	for (size_t i = 0; i < boot.nshunt; i++) {
		const char *e = boot.shunt[i];
		size_t n = strlen(e);
		if (shunt_inherit_is_entry(e)) {
			shunt_shim_have_self_record = shunt_inherit_parse(
			    e + sizeof(SHUNT_INHERIT_ENV), &shunt_shim_self_record);
			continue;
		}
		if (HAS_PREFIX(e, "SHUNT_") && strchr(e, '=') && n < sizeof(saved_env[0]))
			memcpy(saved_env[nsaved_env++], e, n + 1);
	}
	for (size_t i = 0; i < boot.nctx; i++) {
		const char *e = boot.ctx[i];
		size_t n = strlen(e);
		if ((HAS_PREFIX(e, "HOME=") || HAS_PREFIX(e, "XDG_")) && strchr(e, '=') &&
		    n < sizeof(saved_ctx[0]))
			memcpy(saved_ctx[nsaved_ctx++], e, n + 1);
	}
	const char *p = boot.preload;
	if (p && HAS_PREFIX(p, "LD_PRELOAD=") && strlen(p) < sizeof(env_preload_raw))
		memcpy(env_preload_raw, p, strlen(p) + 1);
}

/* Lazy init: what LD_PRELOAD to put back into scrubbed environments. */
static void choose_env_preload(void)
{
	if (env_preload_raw[0] && self_path[0] && strstr(env_preload_raw + 11, self_path))
		memcpy(env_preload, env_preload_raw, strlen(env_preload_raw) + 1);
	else if (self_path[0])
		snprintf(env_preload, sizeof(env_preload), "LD_PRELOAD=%s", self_path);
	else if (env_preload_raw[0])
		memcpy(env_preload, env_preload_raw, strlen(env_preload_raw) + 1);
}

static void find_snapshot_path(void)
{
	const char *s = boot_lookup((const char *const *)boot.shunt, boot.nshunt, "SHUNT_SNAPSHOT");
	const char *c = boot_lookup((const char *const *)boot.shunt, boot.nshunt, "SHUNT_COUNTERS");
	const char *xdg = boot_lookup((const char *const *)boot.ctx, boot.nctx, "XDG_STATE_HOME");
	const char *home = boot_value(boot.home, "HOME", 4);
	/* more variables than the interposer kept pointers for */
	if (boot.nshunt == MAX_SAVED_ENV) {
		s = s ? s : getenv("SHUNT_SNAPSHOT");
		c = c ? c : getenv("SHUNT_COUNTERS");
	}
	if (!xdg && boot.nctx == MAX_SAVED_ENV)
		xdg = getenv("XDG_STATE_HOME");
	int n;
	if (s && *s)
		n = snprintf(shunt_shim_snap_path, sizeof(shunt_shim_snap_path), "%s", s);
	else if (xdg && xdg[0] == '/')
		n = snprintf(shunt_shim_snap_path, sizeof(shunt_shim_snap_path),
			     "%s/shunt/policy.snap", xdg);
	else if (home && *home)
		n = snprintf(shunt_shim_snap_path, sizeof(shunt_shim_snap_path),
			     "%s/.local/state/shunt/policy.snap", home);
	else
		n = snprintf(shunt_shim_snap_path, sizeof(shunt_shim_snap_path),
			     "/tmp/shunt-%u/.local/state/shunt/policy.snap", (unsigned)getuid());
	if (n < 0 || (size_t)n >= sizeof(shunt_shim_snap_path))
		shunt_shim_snap_path[0] = '\0';
	if (c && *c)
		n = snprintf(shunt_shim_counters_path, sizeof(shunt_shim_counters_path), "%s", c);
	else if (xdg && xdg[0] == '/')
		n = snprintf(shunt_shim_counters_path, sizeof(shunt_shim_counters_path),
			     "%s/shunt/counters.bin", xdg);
	else if (home && *home)
		n = snprintf(shunt_shim_counters_path, sizeof(shunt_shim_counters_path),
			     "%s/.local/state/shunt/counters.bin", home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof(shunt_shim_counters_path))
		shunt_shim_counters_path[0] = '\0';
}

static void find_gate(void)
{
	/* relative to the interposer, the file named in LD_PRELOAD */
	const char *me = boot.self_path; /* self_path, copied at entry */
	if (me && me[0] == '/') {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", me);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		int n = snprintf(shunt_shim_gate_path, sizeof(shunt_shim_gate_path),
				 "%s/../bin/shunt", dir);
		if (n > 0 && (size_t)n < sizeof(shunt_shim_gate_path) &&
		    access(shunt_shim_gate_path, X_OK) == 0)
			return;
	}
	snprintf(shunt_shim_gate_path, sizeof(shunt_shim_gate_path), "%s",
		 SHUNT_PREFIX "/bin/shunt");
}

/* The set-up, once, at the first exec or fork: processes that never start
 * anything (most of an exec storm) never pay for it. */
static void init(void)
{
	copy_boot_env();
	find_snapshot_path();
	find_gate();
	choose_env_preload();
	/* Inside shunt itself the shim stands aside: the gate already decided,
	 * and its sandbox runners must not loop back into it. */
	struct stat a, b;
	if (stat("/proc/self/exe", &a) == 0 && stat(shunt_shim_gate_path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		shunt_shim_fast->inert = true; /* we are loaded into the shunt binary itself */
	/* what the interposer's exec path reads; published before the cache
	 * (shunt_shim_cache_ready, release), which that path checks first */
	shunt_shim_fast->execve = shunt_shim_libc.execve;
	shunt_shim_fast->environ = &environ;
	shunt_shim_fast->snap_path = shunt_shim_snap_path;
	shunt_shim_fast->self_path = self_path;
	shunt_shim_fast->shim = env_preload[0] ? env_preload + 11 : env_preload;
	shunt_shim_fast->saved_env = (const char(*)[1024])saved_env;
	shunt_shim_fast->nsaved_env = nsaved_env;
}

/* Shells fork and exec in the child: at its forks the parent brings the
 * snapshot up to date, maps the counters and the decision cache, so every
 * child inherits them instead of setting them up itself. Still lazy:
 * processes that never fork or exec never load anything.
 *
 * Once the cache exists the interposer calls this at every
 * SHUNT_FAST_PREFORK_EVERY-th fork only (a stat of the snapshot, moving
 * counts into the counters file): whatever the parent writes to its
 * private memory between two forks costs it a copy-on-write fault at
 * each fork, which in a storm costs more than the child's whole check.
 * Decisions do not wait for the parent: a child checks the snapshot file
 * itself before it uses anything cached (fast.c), and loads a replaced
 * snapshot on its own until the parent catches up. */
static void prefork(void)
{
	int e = errno;
	pthread_once(&init_once, init);
	if (!shunt_shim_fast->inert) {
		shunt_shim_current_slot();
		shunt_shim_counters_ready();
		shunt_shim_cache_ready();
		shunt_shim_flush_counts();
	}
	if (errno != e)
		errno = e;
}

static void ensure_init(void)
{
	pthread_once(&init_once, init);
}

/* ---- environment fix-up ---- */

static bool has_var(char *const *envp, const char *kv)
{
	size_t nl = (size_t)(strchr(kv, '=') - kv) + 1;
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], kv, nl) == 0)
			return true;
	return false;
}

/* Returns envp, or a copy in v (strings in ldbuf) with LD_PRELOAD and the
 * SHUNT_* variables present at load time put back, and record in place of
 * the record envp has (see shim_int.h). */
char *const *shunt_shim_fix_env(char *const *envp, bool for_gate, const char *record,
				struct shunt_shim_vec *v, char *ldbuf, size_t ldcap)
{
	v->map = NULL;
	/* shunt itself builds the sandbox's environment on purpose (the shim is
	 * not mounted inside a sandbox); leave its envp alone */
	if (!env_preload[0] || shunt_shim_fast->inert)
		return envp;
	const char *shim = env_preload + strlen("LD_PRELOAD=");
	int ld = -1, rec = -1;
	bool ok = false;
	size_t n = shunt_shim_count(envp);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
			ld = (int)i;
			ok = strstr(envp[i] + 11, self_path) != NULL ||
			     strstr(envp[i] + 11, shim) != NULL;
		} else if (shunt_inherit_is_entry(envp[i])) {
			rec = (int)i;
		}
	}
	bool rec_ok = !record || (rec >= 0 && strcmp(envp[rec], record) == 0);
	size_t missing = 0;
	for (size_t k = 0; k < nsaved_env; k++)
		if (!has_var(envp, saved_env[k]))
			missing++;
	for (size_t k = 0; for_gate && k < nsaved_ctx; k++)
		if (!has_var(envp, saved_ctx[k]))
			missing++;
	if (ok && rec_ok && missing == 0)
		return envp;
	if (shunt_shim_vec_init(v, n + missing + 3) < 0)
		return envp;
	for (size_t i = 0; i < n; i++) {
		if ((int)i == ld && !ok) {
			/* keep the program's own preloads after ours */
			struct shunt_shim_sbuf b = {ldbuf, ldcap, 0, false};
			shunt_shim_puts(&b, env_preload);
			shunt_shim_puts(&b, ":");
			shunt_shim_puts(&b, envp[i] + 11);
			shunt_shim_vec_push(v, b.overflow ? env_preload : ldbuf);
		} else if ((int)i != rec || !record) {
			shunt_shim_vec_push(v, envp[i]);
		}
	}
	if (ld < 0)
		shunt_shim_vec_push(v, env_preload);
	if (record)
		shunt_shim_vec_push(v, record);
	for (size_t k = 0; k < nsaved_env; k++)
		if (!has_var(envp, saved_env[k]))
			shunt_shim_vec_push(v, saved_env[k]);
	for (size_t k = 0; for_gate && k < nsaved_ctx; k++)
		if (!has_var(envp, saved_ctx[k]))
			shunt_shim_vec_push(v, saved_ctx[k]);
	shunt_shim_vec_push(v, NULL);
	return v->v;
}

/* The record a command run on the host inherits (inherit.h), for the
 * file exe names, into buf (SHUNT_INHERIT_MAX); NULL when it has none. */
static const char *host_record(const char *exe, const struct shunt_inherit *acc, char *buf)
{
	struct stat st;
	if (!exe || shunt_shim_fast->inert || stat(exe, &st) < 0)
		return NULL;
	shunt_inherit_format(buf, 's', (int)acc->risk, acc->remote, (uint64_t)st.st_dev,
			     (uint64_t)st.st_ino);
	return buf;
}

/* ---- the exec family ---- */

enum kind { K_EXECVE, K_EXECVPE, K_EXECVEAT, K_FEXECVE };

struct call {
	enum kind kind;
	const char *path;
	int fd, flags;
	char *const *argv;
};

static int call_real(const struct call *c, char *const envp[])
{
	switch (c->kind) {
	case K_EXECVE:
		if (shunt_shim_libc.execve)
			return shunt_shim_libc.execve(c->path, c->argv, envp);
		return (int)syscall(SYS_execve, c->path, c->argv, envp);
	case K_EXECVPE:
		if (shunt_shim_libc.execvpe)
			return shunt_shim_libc.execvpe(c->path, c->argv, envp);
		break;
	case K_EXECVEAT:
		if (shunt_shim_libc.execveat)
			return shunt_shim_libc.execveat(c->fd, c->path, c->argv, envp, c->flags);
		return (int)syscall(SYS_execveat, c->fd, c->path, c->argv, envp, c->flags);
	case K_FEXECVE:
		if (shunt_shim_libc.fexecve)
			return shunt_shim_libc.fexecve(c->fd, c->argv, envp);
		return (int)syscall(SYS_execveat, c->fd, "", c->argv, envp, AT_EMPTY_PATH);
	}
	errno = ENOSYS;
	return -1;
}

/* exe: resolved path, or NULL when the program does not exist. */
static int exec_family(const struct call *c, const char *exe, char *const envp_in[])
{
	int saved = errno;
	ensure_init();
	char *const *envp0 = envp_in ? envp_in : environ;
	/* the rules see both the name it was run by and the real program;
	 * the gate gets the name and resolves it the same way */
	const char *invoked = exe;
	char rbuf[PATH_MAX];
	if (exe)
		exe = shunt_shim_follow_links(exe, rbuf, sizeof(rbuf));
	struct shunt_shim_blocked bk;
	struct shunt_inherit acc = {0};
	enum shunt_shim_verdict v =
	    exe ? shunt_shim_judge(invoked, exe, c->argv, NULL, &bk, &acc) : SHUNT_SHIM_HOST;
	if (v == SHUNT_SHIM_BLOCK) {
		shunt_shim_say(bk.msg);
		shunt_shim_record_block(invoked, c->argv, NULL, &bk, envp0);
		errno = EACCES;
		return -1;
	}
	char rec[SHUNT_INHERIT_MAX];
	const char *record = v == SHUNT_SHIM_HOST ? host_record(exe, &acc, rec) : NULL;
	struct shunt_shim_vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp =
	    shunt_shim_fix_env(envp0, v != SHUNT_SHIM_HOST, record, &ev, ldbuf, sizeof(ldbuf));
	shunt_shim_flush_counts(); /* this process may be the cache's last */
	int rc;
	if (v == SHUNT_SHIM_HOST) {
		errno = saved;
		rc = call_real(c, envp);
	} else if (!shunt_shim_gate_usable()) {
		errno = EACCES;
		rc = -1;
	} else {
		struct shunt_shim_vec g;
		if (shunt_shim_gate_argv(&g, invoked, c->argv, NULL) < 0) {
			errno = E2BIG;
			rc = -1;
		} else {
			errno = saved;
			struct call gc = {K_EXECVE, shunt_shim_gate_path, -1, 0, g.v};
			rc = call_real(&gc, envp);
			int e = errno;
			shunt_shim_vec_free(&g);
			errno = e;
		}
	}
	int e = errno;
	shunt_shim_vec_free(&ev);
	errno = e;
	return rc;
}

/* Internal entry points, so one wrapper never calls another through the
 * PLT (where a different preload could sit in between). The interposer
 * has already tried the cached path (fast.c) for execve and execv. */
static int do_execve(const char *path, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];
	const char *exe = path && *path ? shunt_shim_absolute(path, buf, sizeof(buf)) : NULL;
	struct call c = {K_EXECVE, path, -1, 0, argv};
	return exec_family(&c, exe && shunt_shim_is_exec_file(exe) ? exe : NULL, envp);
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];
	const char *exe = shunt_shim_search_path(file, buf, sizeof(buf));
	struct call c = {K_EXECVPE, file, -1, 0, argv};
	return exec_family(&c, exe, envp);
}

static int core_execve(const char *path, char *const argv[], char *const envp[])
{
	return do_execve(path, argv, envp);
}

static int core_execv(const char *path, char *const argv[])
{
	return do_execve(path, argv, environ);
}

static int core_execvpe(const char *file, char *const argv[], char *const envp[])
{
	return do_execvpe(file, argv, envp);
}

static int core_execvp(const char *file, char *const argv[])
{
	return do_execvpe(file, argv, environ);
}

static int core_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	const char *exe = NULL;
	/* glibc declares path nonnull; programs still pass NULL (EFAULT), so
	 * the check goes through a copy the compiler knows nothing about */
	const char *given = path;
	__asm__("" : "+r"(given));
	path = given;
	if (given && path[0] == '/') {
		exe = path;
	} else if (given && !path[0] && (flags & AT_EMPTY_PATH)) {
		exe = shunt_shim_fd_path(dirfd, buf, sizeof(buf));
	} else if (given) {
		const char *d = dirfd == AT_FDCWD ? getcwd(dir, sizeof(dir))
						  : shunt_shim_fd_path(dirfd, dir, sizeof(dir));
		if (d) {
			struct shunt_shim_sbuf b = {buf, sizeof(buf), 0, false};
			shunt_shim_puts(&b, d);
			shunt_shim_puts(&b, "/");
			shunt_shim_puts(&b, path);
			exe = b.overflow ? NULL : buf;
		}
	}
	struct call c = {K_EXECVEAT, path, dirfd, flags, argv};
	/* an fd we cannot name is judged by its link text, never waved through */
	return exec_family(&c, exe ? exe : "/proc/self/fd/unknown", envp);
}

static int core_fexecve(int fd, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];
	const char *exe = shunt_shim_fd_path(fd, buf, sizeof(buf));
	struct call c = {K_FEXECVE, NULL, fd, 0, argv};
	return exec_family(&c, exe ? exe : "/proc/self/fd/unknown", envp);
}

/* execl and friends: the variable arguments become a stack array. */
#define COLLECT_ARGS(arg0, ap, vecname, with_envp, envp_out)                                       \
	size_t n_ = 1;                                                                             \
	va_list cp_;                                                                               \
	va_copy(cp_, ap);                                                                          \
	while (va_arg(cp_, char *))                                                                \
		n_++;                                                                              \
	va_end(cp_);                                                                               \
	struct shunt_shim_vec vecname;                                                             \
	if (shunt_shim_vec_init(&vecname, n_ + 1) < 0) {                                           \
		errno = E2BIG;                                                                     \
		return -1;                                                                         \
	}                                                                                          \
	shunt_shim_vec_push(&vecname, arg0);                                                       \
	for (size_t i_ = 1; i_ < n_; i_++)                                                         \
		shunt_shim_vec_push(&vecname, va_arg(ap, char *));                                 \
	(void)va_arg(ap, char *);                                                                  \
	if (with_envp)                                                                             \
		envp_out = va_arg(ap, char *const *);                                              \
	shunt_shim_vec_push(&vecname, NULL)

/* execl, execle, execlp: the interposer hands over the variable
 * arguments after arg. */
static int core_execl(enum shunt_shim_execl kind, const char *path, const char *arg, va_list ap)
{
	char *const *envp = environ;
	COLLECT_ARGS(arg, ap, v, kind == SHUNT_SHIM_EXECLE, envp);
	int rc =
	    kind == SHUNT_SHIM_EXECLP ? do_execvpe(path, v.v, envp) : do_execve(path, v.v, envp);
	int e = errno;
	shunt_shim_vec_free(&v);
	errno = e;
	return rc;
}

/* ---- posix_spawn ---- */

static int spawn_common(bool search, pid_t *pid, const char *file,
			const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
			char *const argv[], char *const envp_in[])
{
	int saved = errno;
	ensure_init();
	if (!shunt_shim_fast->inert)
		shunt_shim_cache_ready(); /* a spawning parent decides again and again */
	char buf[PATH_MAX];
	const char *exe;
	if (search) {
		exe = shunt_shim_search_path(file, buf, sizeof(buf));
	} else {
		exe = file && *file ? shunt_shim_absolute(file, buf, sizeof(buf)) : NULL;
		if (exe && !shunt_shim_is_exec_file(exe))
			exe = NULL;
	}
	const char *invoked = exe;
	char rbuf[PATH_MAX];
	if (exe)
		exe = shunt_shim_follow_links(exe, rbuf, sizeof(rbuf));
	struct shunt_shim_blocked bk;
	struct shunt_inherit acc = {0};
	enum shunt_shim_verdict v =
	    exe ? shunt_shim_judge(invoked, exe, argv, NULL, &bk, &acc) : SHUNT_SHIM_HOST;
	if (v == SHUNT_SHIM_BLOCK) {
		shunt_shim_say(bk.msg);
		shunt_shim_record_block(invoked, argv, NULL, &bk, envp_in);
		errno = saved;
		return EACCES;
	}
	char rec[SHUNT_INHERIT_MAX];
	const char *record = v == SHUNT_SHIM_HOST ? host_record(exe, &acc, rec) : NULL;
	struct shunt_shim_vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp = shunt_shim_fix_env(envp_in ? envp_in : environ, v != SHUNT_SHIM_HOST,
					       record, &ev, ldbuf, sizeof(ldbuf));
	int rc;
	if (v == SHUNT_SHIM_HOST) {
		if (search)
			rc = shunt_shim_libc.posix_spawnp
				 ? shunt_shim_libc.posix_spawnp(pid, file, fa, attr, argv, envp)
				 : ENOSYS;
		else
			rc = shunt_shim_libc.posix_spawn
				 ? shunt_shim_libc.posix_spawn(pid, file, fa, attr, argv, envp)
				 : ENOSYS;
	} else if (!shunt_shim_gate_usable()) {
		rc = EACCES;
	} else {
		struct shunt_shim_vec g;
		if (shunt_shim_gate_argv(&g, invoked, argv, NULL) < 0) {
			rc = E2BIG;
		} else {
			rc = shunt_shim_libc.posix_spawn
				 ? shunt_shim_libc.posix_spawn(pid, shunt_shim_gate_path, fa, attr,
							       g.v, envp)
				 : ENOSYS;
			shunt_shim_vec_free(&g);
		}
	}
	shunt_shim_vec_free(&ev);
	errno = saved;
	return rc;
}

static int core_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(false, pid, path, fa, attr, argv, envp);
}

static int core_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(true, pid, file, fa, attr, argv, envp);
}

/* ---- system and popen: judged as shell lines ---- */

static int core_system(const char *line)
{
	int saved = errno;
	ensure_init();
	if (!shunt_shim_libc.system) {
		errno = ENOSYS;
		return -1;
	}
	if (!line) /* "is there a shell?" */
		return shunt_shim_libc.system(NULL);
	struct shunt_shim_blocked bk;
	enum shunt_shim_verdict v = shunt_shim_judge(NULL, NULL, NULL, line, &bk, NULL);
	errno = saved;
	if (v == SHUNT_SHIM_HOST)
		return shunt_shim_libc.system(line);
	if (v == SHUNT_SHIM_BLOCK) {
		shunt_shim_say(bk.msg);
		shunt_shim_record_block(NULL, NULL, line, &bk, NULL);
		return W_EXITCODE(126, 0);
	}
	char q[LINE_MAX_QUOTED];
	if (!shunt_shim_gate_line(line, q, sizeof(q))) {
		shunt_shim_say(
		    "shunt: command line too long to re-route through the gate; refused\n");
		return W_EXITCODE(126, 0);
	}
	if (!shunt_shim_gate_usable())
		return W_EXITCODE(126, 0);
	return shunt_shim_libc.system(q);
}

static FILE *core_popen(const char *line, const char *type)
{
	int saved = errno;
	ensure_init();
	if (!shunt_shim_libc.popen) {
		errno = ENOSYS;
		return NULL;
	}
	if (!line)
		return shunt_shim_libc.popen(line, type);
	struct shunt_shim_blocked bk;
	enum shunt_shim_verdict v = shunt_shim_judge(NULL, NULL, NULL, line, &bk, NULL);
	errno = saved;
	if (v == SHUNT_SHIM_HOST)
		return shunt_shim_libc.popen(line, type);
	if (v == SHUNT_SHIM_BLOCK) {
		shunt_shim_say(bk.msg);
		shunt_shim_record_block(NULL, NULL, line, &bk, NULL);
		return shunt_shim_libc.popen("exit 126",
					     type); /* the caller sees a refused shell */
	}
	char q[LINE_MAX_QUOTED];
	if (!shunt_shim_gate_line(line, q, sizeof(q))) {
		shunt_shim_say(
		    "shunt: command line too long to re-route through the gate; refused\n");
		return shunt_shim_libc.popen("exit 126", type);
	}
	if (!shunt_shim_gate_usable())
		return shunt_shim_libc.popen("exit 126", type);
	return shunt_shim_libc.popen(q, type);
}

/* ---- the entry the interposer looks up ---- */

static const struct shunt_shim_ops ops = {
    .execve = core_execve,
    .execv = core_execv,
    .execvpe = core_execvpe,
    .execvp = core_execvp,
    .execveat = core_execveat,
    .fexecve = core_fexecve,
    .execl = core_execl,
    .posix_spawn = core_posix_spawn,
    .posix_spawnp = core_posix_spawnp,
    .system = core_system,
    .popen = core_popen,
    .prefork = prefork,
};

__attribute__((visibility("default"))) const struct shunt_shim_ops *
shunt_shim_core_v1(const struct shunt_shim_boot *b)
{
	boot = *b;
	/* the interposer's copy lives on its stack */
	boot.self_path = NULL;
	if (b->self_path && strlen(b->self_path) < sizeof(self_path)) {
		memcpy(self_path, b->self_path, strlen(b->self_path) + 1);
		boot.self_path = self_path;
	}
	shunt_shim_libc = b->real;
	if (b->fast)
		shunt_shim_fast = b->fast;
	return &ops;
}
