/* The cached exec path (see fast.h): built into the interposer, which
 * runs it between fork and exec, and into the core, which fills the
 * cache with the same keys. Raw syscalls, no errno, no libc calls, no
 * string constants; the Makefile builds it without jump tables or vector
 * constants, so nothing here reads .rodata. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fast.h"
#include "iface.h"
#include "inherit.h"

/* environment entries the exec path copies on its stack; more go to the
 * core */
#define FAST_ENV_MAX 192

#if defined(__x86_64__)
static long rsys4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

int shunt_fast_stat(const char *path, struct stat *st, bool nofollow)
{
	return (int)rsys4(SYS_newfstatat, AT_FDCWD, (long)path, (long)st,
			  nofollow ? AT_SYMLINK_NOFOLLOW : 0);
}

bool shunt_fast_getcwd(char *buf, size_t cap)
{
	return rsys4(SYS_getcwd, (long)buf, (long)cap, 0, 0) > 0 && buf[0] == '/';
}
#else
int shunt_fast_stat(const char *path, struct stat *st, bool nofollow)
{
	int e = errno, rc = nofollow ? lstat(path, st) : stat(path, st);
	if (rc < 0)
		rc = -errno;
	errno = e;
	return rc;
}

bool shunt_fast_getcwd(char *buf, size_t cap)
{
	int e = errno;
	bool ok = getcwd(buf, cap) && buf[0] == '/';
	errno = e;
	return ok;
}
#endif

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void scopy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *p = src;
	for (size_t i = 0; i < n; i++)
		d[i] = p[i];
}

static bool sequal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

static bool scontains(const char *hay, const char *needle)
{
	size_t n = slen(needle);
	for (; *hay; hay++)
		if (*hay == *needle && sequal(hay, needle, n))
			return true;
	return !*needle;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

bool shunt_fast_id_current(const struct shunt_fast_id *id, int rc, const struct stat *st)
{
	if (rc < 0)
		return !id->have_id && id->status == rc;
	return id->have_id && id->dev == (uint64_t)st->st_dev && id->ino == (uint64_t)st->st_ino &&
	       id->size == (uint64_t)st->st_size && id->mtime_ns == mtime_ns(st);
}

bool shunt_fast_path_free(char *const argv[])
{
	for (size_t i = 1; argv && argv[0] && argv[i]; i++)
		for (const char *p = argv[i]; *p; p++)
			if (*p == '/' || (p[0] == 'H' && p[1] == 'O' && p[2] == 'M' && p[3] == 'E'))
				return false;
	return true;
}

size_t shunt_fast_workspace_len(char *cwd, size_t cap)
{
	size_t len = slen(cwd), n = len;
	if (n + 6 > cap)
		return len;
	for (;;) {
		char keep[6];
		struct stat st;
		scopy(keep, cwd + n, 6);
		cwd[n] = '/';
		cwd[n + 1] = '.';
		cwd[n + 2] = 'g';
		cwd[n + 3] = 'i';
		cwd[n + 4] = 't';
		cwd[n + 5] = '\0';
		int rc = shunt_fast_stat(cwd, &st, false);
		scopy(cwd + n, keep, 6);
		if (rc == 0)
			return n ? n : 1;
		while (n > 0 && cwd[n - 1] != '/')
			n--;
		if (n <= 1)
			return len;
		n--; /* drop the slash */
	}
}

static void key_put(struct shunt_fast_key *k, const void *p, size_t n)
{
	if (k->overflow || n > sizeof(k->b) - k->n) {
		k->overflow = true;
		return;
	}
	scopy(k->b + k->n, p, n);
	k->n += n;
}

static void key_str(struct shunt_fast_key *k, const char *s)
{
	key_put(k, s, slen(s) + 1);
}

void shunt_fast_key(struct shunt_fast_key *k, const struct shunt_fast_id *id, const char *exe,
		    const char *invoked, char *const argv[], const char *cwd, size_t wslen,
		    const char *home)
{
	k->n = 0;
	k->overflow = false;
	struct {
		struct shunt_fast_id id;
		uint32_t argc, wslen;
		uint8_t have_cwd, have_home, have_invoked;
	} head;
	/* byte-compared: padding must be zero, and memset would be a libc call */
	unsigned char *z = (unsigned char *)&head;
	for (size_t i = 0; i < sizeof(head); i++)
		z[i] = 0;
	head.id.dev = id->dev;
	head.id.ino = id->ino;
	head.id.size = id->size;
	head.id.mtime_ns = id->mtime_ns;
	head.id.status = id->status;
	head.id.have_id = id->have_id;
	uint32_t argc = 0;
	while (argv && argv[argc])
		argc++;
	head.argc = argc;
	head.wslen = (uint32_t)wslen;
	head.have_cwd = cwd != NULL;
	head.have_home = home != NULL;
	head.have_invoked = invoked != NULL;
	key_put(k, &head, sizeof(head));
	key_str(k, exe);
	if (invoked)
		key_str(k, invoked);
	for (uint32_t i = 0; i < argc; i++)
		key_str(k, argv[i]);
	if (cwd)
		key_str(k, cwd);
	if (home)
		key_str(k, home);
}

uint64_t shunt_fast_hash(const struct shunt_fast_key *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < k->n; i++)
		h = (h ^ k->b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

int shunt_fast_lookup(struct shunt_fast_cache *c, const struct shunt_fast_key *k, uint64_t h)
{
	struct shunt_fast_entry *e = &c->e[h % SHUNT_FAST_ENTRIES];
	unsigned s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
	if (s1 == 0 || (s1 & 1))
		return -1;
	bool same = e->hash == h && e->len == k->n && sequal(e->key, k->b, k->n);
	int risk = e->risk;
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1 || !same)
		return -1;
	return risk;
}

void shunt_fast_store(struct shunt_fast_cache *c, const struct shunt_fast_key *k, uint64_t h,
		      int risk)
{
	struct shunt_fast_entry *e = &c->e[h % SHUNT_FAST_ENTRIES];
	unsigned s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	if ((s & 1) || !atomic_compare_exchange_strong_explicit(
			   &e->seq, &s, s + 1, memory_order_acq_rel, memory_order_relaxed))
		return; /* someone else is writing it: skip, never wait */
	e->hash = h;
	e->len = (uint16_t)k->n;
	e->risk = (uint8_t)risk;
	scopy(e->key, k->b, k->n);
	atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}

bool shunt_fast_flush(struct shunt_fast_cache *c, struct shunt_counters *counters)
{
	bool none = !counters || counters == SHUNT_FAST_NONE, moved = false;
	for (int r = 0; r < 4; r++) {
		/* a load first: most of the time nothing is pending, and the
		 * line stays shared instead of bouncing between processes */
		if (!atomic_load_explicit(&c->pending[r], memory_order_relaxed))
			continue;
		uint64_t n = atomic_exchange_explicit(&c->pending[r], 0, memory_order_relaxed);
		if (!none)
			shunt_counters_record_host(counters, (enum shunt_risk)r, n);
		moved |= n != 0;
	}
	return moved;
}

const char *shunt_fast_env_home(char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *v = envp[i];
		if (v[0] == 'H' && v[1] == 'O' && v[2] == 'M' && v[3] == 'E' && v[4] == '=')
			return v + 5;
	}
	return NULL;
}

bool shunt_fast_env_intact(const struct shunt_fast *f, char *const *envp)
{
	if (!f->shim || !f->shim[0] || f->inert)
		return true;
	bool ok = false;
	for (size_t i = 0; envp && envp[i]; i++)
		if (shunt_shim_is_ld_preload(envp[i]))
			ok = scontains(envp[i] + 11, f->self_path) ||
			     scontains(envp[i] + 11, f->shim);
	for (size_t k = 0; ok && k < f->nsaved_env; k++) {
		const char *kv = f->saved_env[k];
		size_t nl = 0;
		while (kv[nl] && kv[nl] != '=')
			nl++;
		bool found = false;
		for (size_t i = 0; !found && envp[i]; i++)
			found = sequal(envp[i], kv, nl + 1);
		ok = found;
	}
	return ok;
}

bool shunt_fast_exec(const struct shunt_fast *f, const char *path, char *const argv[],
		     char *const envp[], int *rc)
{
	struct shunt_fast_cache *cache = atomic_load_explicit(&f->cache, memory_order_acquire);
	const struct shunt_fast_id *id = atomic_load_explicit(&f->id, memory_order_acquire);
	struct shunt_counters *counters = atomic_load_explicit(&f->counters, memory_order_acquire);
	if (!cache || cache == SHUNT_FAST_NONE || !id || !counters || f->inert || !f->execve ||
	    !f->environ || !path || path[0] != '/')
		return false;
	/* a symlink goes to the core, which decides by the program it names;
	 * no access(X_OK): a cached host decision stays host, and the kernel
	 * refuses a file that is not executable with the same EACCES */
	struct stat st;
	if (shunt_fast_stat(path, &st, true) != 0 || !S_ISREG(st.st_mode))
		return false;
	uint64_t dev = (uint64_t)st.st_dev, ino = (uint64_t)st.st_ino;
	int src = f->snap_path[0] ? shunt_fast_stat(f->snap_path, &st, false) : -ENOENT;
	if (!shunt_fast_id_current(id, src, &st))
		return false;
	/* a forked child faults in every stack page it touches: a small cwd
	 * buffer, and none at all for a path-free argv */
	char cwd[512];
	const char *c = NULL;
	size_t wslen = 0;
	if (!shunt_fast_path_free(argv)) {
		if (!shunt_fast_getcwd(cwd, sizeof(cwd)) || slen(cwd) + 6 > sizeof(cwd))
			return false;
		wslen = shunt_fast_workspace_len(cwd, sizeof(cwd));
		c = cwd;
	}
	char *const *env = envp ? envp : *f->environ;
	struct shunt_fast_key k;
	shunt_fast_key(&k, id, path, NULL, argv, c, wslen, shunt_fast_env_home(*f->environ));
	int risk = k.overflow ? -1 : shunt_fast_lookup(cache, &k, shunt_fast_hash(&k));
	if (risk < 0 || !shunt_fast_env_intact(f, env))
		return false;
	/* the command's own record replaces whatever record env has */
	char rec[SHUNT_INHERIT_MAX];
	size_t rlen = shunt_inherit_format(rec, 's', risk, false, dev, ino);
	char *nenv[FAST_ENV_MAX];
	size_t n = 0;
	bool have = false;
	for (size_t i = 0; env[i]; i++) {
		if (shunt_inherit_is_entry(env[i])) {
			have = sequal(env[i], rec, rlen + 1);
			continue;
		}
		if (n + 2 >= FAST_ENV_MAX)
			return false; /* a large environment: the core copies it */
		nenv[n++] = env[i];
	}
	if (!have) {
		nenv[n++] = rec;
		nenv[n] = NULL;
		env = nenv;
	}
	if (counters != SHUNT_FAST_NONE) {
		/* counts left by others: this exec may be the last of the
		 * processes sharing the cache (a shell's own final exec), so it
		 * moves them, and its own, into the file */
		if (shunt_fast_flush(cache, counters))
			shunt_counters_record_host(counters, (enum shunt_risk)risk, 1);
		else
			atomic_fetch_add_explicit(&cache->pending[risk & 3], 1,
						  memory_order_relaxed);
	}
	*rc = f->execve(path, argv, env);
	return true;
}
