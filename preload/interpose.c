/* The LD_PRELOAD interposer: the only shunt code every process loads.
 *
 * It stays small on purpose. Most processes in an exec storm (every
 * `/bin/true` a shell runs) never start anything, so all they pay for is
 * mapping this library and one pass over the environment. The decision
 * code (rules, PCRE2, the snapshot) sits in the shim core (shim.c,
 * SHUNT_SHIM_CORE_FILE next to this file), which a process maps in the
 * parent at its first fork, vfork, spawn, system or popen; its children
 * inherit it. execve and execv first look for a cached host decision
 * with the code in fast.c, linked into this library so that a forked
 * child does not fault in the core's pages; every other case, and every
 * other wrapper, forwards to the core.
 *
 * Fail closed: when the core cannot be loaded, nothing is decided, so no
 * program is started (EACCES) and one line on stderr says why. Not a
 * security boundary on its own: static binaries, setuid programs and raw
 * syscalls bypass it. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fast.h"
#include "iface.h"

#define EXPORT __attribute__((visibility("default")))
#define DATA   __attribute__((section(".data")))

/* The exec path's state, which the core fills in (fast.h). */
static DATA struct shunt_fast fast = {.inert = false};
/* Written by the constructor, before any thread or fork, and read when
 * the core is loaded. In .data: the loader dirties that page anyway, and
 * a process that never starts anything faults in no .bss page for it. */
static DATA struct shunt_shim_boot boot = {.fast = &fast};
static DATA _Atomic(const struct shunt_shim_ops *) core;
static DATA pthread_once_t core_once = PTHREAD_ONCE_INIT;
/* Set when loading the core failed: why, for the one line we print. A
 * page mapped then, so that every process does not carry the buffer. */
static DATA char *core_why;
static DATA atomic_int warned;

/* Our own functions by hidden names: comparing with them costs the loader
 * no symbol lookup at start, unlike taking the exported names' address. */
#if defined(__GNUC__) && !defined(__clang__)
#define SELF(f)                                                                                    \
	extern __typeof(f) self_##f __attribute__((alias(#f), copy(f), visibility("hidden")))
#else
#define SELF(f) extern __typeof(f) self_##f __attribute__((alias(#f), visibility("hidden")))
#endif
SELF(execve);
SELF(execvpe);
SELF(execveat);
SELF(fexecve);
SELF(posix_spawn);
SELF(posix_spawnp);
SELF(system);
SELF(popen);

/* ---- the constructor: one pass over the initial environment ---- */

/* Only pointers are kept: setenv/unsetenv move array slots, never the
 * strings of the initial block. */
static void capture_env(char **envp)
{
	for (char **e = envp; e && *e; e++) {
		const char *v = *e;
		switch (v[0]) {
		case 'S':
			if (v[1] != 'H' || v[2] != 'U' || v[3] != 'N' || v[4] != 'T' || v[5] != '_')
				break;
			if (boot.nshunt < SHUNT_SHIM_MAX_SAVED_ENV)
				boot.shunt[boot.nshunt++] = v;
			break;
		case 'H':
			if (v[1] == 'O' && v[2] == 'M' && v[3] == 'E' && v[4] == '=') {
				boot.home = v;
				if (boot.nctx < SHUNT_SHIM_MAX_SAVED_ENV)
					boot.ctx[boot.nctx++] = v;
			}
			break;
		case 'X':
			if (v[1] == 'D' && v[2] == 'G' && v[3] == '_' &&
			    boot.nctx < SHUNT_SHIM_MAX_SAVED_ENV)
				boot.ctx[boot.nctx++] = v;
			break;
		case 'L':
			if (shunt_shim_is_ld_preload(v))
				boot.preload = v;
			break;
		}
	}
}

static void prefork(void);

#ifdef __GLIBC__
/* What glibc's pthread_atfork (a static stub in the caller) calls. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
			     void *dso_handle);
extern void *__dso_handle;
#define REGISTER_PREFORK() __register_atfork(prefork, NULL, NULL, __dso_handle)
#else
#define REGISTER_PREFORK() pthread_atfork(prefork, NULL, NULL)
#endif

/* glibc passes (argc, argv, envp) to constructors; envp is the initial
 * environment, before the program could change it. */
__attribute__((constructor)) static void interpose_ctor(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	int e = errno;
#ifdef __GLIBC__
	capture_env(envp);
#else
	extern char **environ;
	(void)envp;
	capture_env(environ);
#endif
	REGISTER_PREFORK();
	errno = e;
}

/* ---- loading the core, once per process ---- */

static void append(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst);
	while (s && *s && n + 1 < cap)
		dst[n++] = *s++;
	dst[n] = '\0';
}

static void *page_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void *resolve(const char *name, void *self)
{
	void *f = dlsym(RTLD_NEXT, name);
	return f == self ? NULL : f; /* our own symbol back: treat as missing */
}

/* The core is the one built with this file: next to it (the path
 * LD_PRELOAD named), never through a search path. Only when that path is
 * unknown does the install prefix stand in. */
static void load_core(void)
{
	char path[PATH_MAX], abs[PATH_MAX];
	Dl_info info;
	const char *self = NULL;
	if (dladdr((void *)load_core, &info) && info.dli_fname && info.dli_fname[0])
		self = info.dli_fname[0] == '/' ? info.dli_fname : realpath(info.dli_fname, abs);
	/* the core copies it when it is entered, below */
	boot.self_path = self;
	size_t dlen = self ? (size_t)(strrchr(self, '/') - self) : 0;
	if (self && dlen + sizeof("/" SHUNT_SHIM_CORE_FILE) <= sizeof(path)) {
		memcpy(path, self, dlen);
		memcpy(path + dlen, "/" SHUNT_SHIM_CORE_FILE, sizeof("/" SHUNT_SHIM_CORE_FILE));
	} else {
		memcpy(path, SHUNT_PREFIX "/lib/" SHUNT_SHIM_CORE_FILE,
		       sizeof(SHUNT_PREFIX "/lib/" SHUNT_SHIM_CORE_FILE));
	}
	boot.real.execve = resolve("execve", (void *)self_execve);
	boot.real.execvpe = resolve("execvpe", (void *)self_execvpe);
	boot.real.execveat = resolve("execveat", (void *)self_execveat);
	boot.real.fexecve = resolve("fexecve", (void *)self_fexecve);
	boot.real.posix_spawn = resolve("posix_spawn", (void *)self_posix_spawn);
	boot.real.posix_spawnp = resolve("posix_spawnp", (void *)self_posix_spawnp);
	boot.real.system = resolve("system", (void *)self_system);
	boot.real.popen = resolve("popen", (void *)self_popen);
	/* RTLD_NOW: every symbol is bound here, once, in the parent, and
	 * its forked children inherit the bound table. RTLD_LOCAL: none of
	 * the core's symbols can be seen by the host program. */
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	shunt_shim_core_entry_fn entry =
	    h ? (shunt_shim_core_entry_fn)dlsym(h, SHUNT_SHIM_CORE_ENTRY) : NULL;
	if (!entry) {
		const char *err = dlerror();
		size_t cap = PATH_MAX + 512;
		char *why = page_alloc(cap);
		if (!why)
			return;
		append(why, cap, "shunt: cannot load the shim core ");
		append(why, cap, path);
		append(why, cap, " (");
		append(why, cap, err ? err : "no entry point");
		append(why, cap,
		       "); refusing to start programs. Reinstall shunt (make install), or leave "
		       "the shim out: unset LD_PRELOAD\n");
		core_why = why;
		return;
	}
	const struct shunt_shim_ops *ops = entry(&boot);
	boot.self_path = NULL; /* abs is about to go */
	atomic_store_explicit(&core, ops, memory_order_release);
}

static const struct shunt_shim_ops *core_get(void)
{
	const struct shunt_shim_ops *c = atomic_load_explicit(&core, memory_order_acquire);
	if (__builtin_expect(c != NULL, 1))
		return c;
	int e = errno;
	pthread_once(&core_once, load_core);
	errno = e;
	return atomic_load_explicit(&core, memory_order_acquire);
}

/* No core, no decision: nothing starts. One line per process. */
static void refuse(void)
{
	if (!atomic_exchange(&warned, 1))
		shunt_shim_say(core_why ? core_why
					: "shunt: the shim core is not loaded; refusing\n");
	errno = EACCES;
}

/* Runs before every fork. Once the core has set up the cache, only every
 * SHUNT_FAST_PREFORK_EVERY-th fork goes into it (see the core's prefork);
 * the others cost one add in shared memory, here, in a leaf: each page
 * the parent writes between two forks, a deeper stack page included,
 * costs it a copy-on-write fault at the next fork. */
static void prefork(void)
{
	struct shunt_fast_cache *cache = atomic_load_explicit(&fast.cache, memory_order_acquire);
	if (cache && cache != SHUNT_FAST_NONE && !fast.inert &&
	    atomic_fetch_add_explicit(&cache->forks, 1, memory_order_relaxed) %
		SHUNT_FAST_PREFORK_EVERY)
		return;
	const struct shunt_shim_ops *c = core_get();
	if (c) {
		int e = errno;
		c->prefork();
		if (errno != e)
			errno = e;
	}
}

/* ---- vfork: load the core in the parent, then the real vfork ----
 * The child of vfork shares the parent's memory and runs until exec, so
 * it must find the core already there. This entry cannot be C: it jumps
 * to libc's vfork with the caller's stack exactly as it was. */
#if defined(__x86_64__)
__attribute__((visibility("hidden"))) void *shunt_shim_real_vfork;

/* Called through the PLT only if it ever runs: naming fork's address
 * would make the loader look it up in every process at start. */
static pid_t fork_instead(void)
{
	return fork();
}

__attribute__((visibility("hidden"), used)) void shunt_shim_vfork_prepare(void)
{
	int e = errno;
	prefork();
	if (!shunt_shim_real_vfork) {
		void *f = dlsym(RTLD_NEXT, "vfork");
		/* fork is always a valid vfork */
		shunt_shim_real_vfork = f ? f : (void *)fork_instead;
	}
	errno = e;
}

__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"\t.cfi_startproc\n"
	"\tsubq $8, %rsp\n"
	"\t.cfi_adjust_cfa_offset 8\n"
	"\tcall shunt_shim_vfork_prepare\n"
	"\taddq $8, %rsp\n"
	"\t.cfi_adjust_cfa_offset -8\n"
	"\tjmp *shunt_shim_real_vfork(%rip)\n"
	"\t.cfi_endproc\n"
	".size vfork, .-vfork\n");
#endif

/* ---- the interposed functions ---- */

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int rc;
	if (shunt_fast_exec(&fast, path, argv, envp, &rc))
		return rc;
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->execve(path, argv, envp);
	refuse();
	return -1;
}

EXPORT int execv(const char *path, char *const argv[])
{
	int rc;
	if (shunt_fast_exec(&fast, path, argv, NULL, &rc))
		return rc;
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->execv(path, argv);
	refuse();
	return -1;
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->execvpe(file, argv, envp);
	refuse();
	return -1;
}

EXPORT int execvp(const char *file, char *const argv[])
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->execvp(file, argv);
	refuse();
	return -1;
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->execveat(dirfd, path, argv, envp, flags);
	refuse();
	return -1;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->fexecve(fd, argv, envp);
	refuse();
	return -1;
}

static int execl_common(enum shunt_shim_execl kind, const char *path, const char *arg, va_list ap)
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->execl(kind, path, arg, ap);
	refuse();
	return -1;
}

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int rc = execl_common(SHUNT_SHIM_EXECL, path, arg, ap);
	va_end(ap);
	return rc;
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int rc = execl_common(SHUNT_SHIM_EXECLE, path, arg, ap);
	va_end(ap);
	return rc;
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int rc = execl_common(SHUNT_SHIM_EXECLP, file, arg, ap);
	va_end(ap);
	return rc;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->posix_spawn(pid, path, fa, attr, argv, envp);
	int e = errno;
	refuse();
	errno = e;
	return EACCES;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->posix_spawnp(pid, file, fa, attr, argv, envp);
	int e = errno;
	refuse();
	errno = e;
	return EACCES;
}

EXPORT int system(const char *line)
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->system(line);
	refuse();
	return line ? W_EXITCODE(126, 0) : 0; /* no shell we may start */
}

EXPORT FILE *popen(const char *line, const char *type)
{
	const struct shunt_shim_ops *c = core_get();
	if (c)
		return c->popen(line, type);
	refuse();
	return NULL;
}
