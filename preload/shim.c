/* The shim core: every exec of the host program is decided against the
 * precompiled policy snapshot. The small interposer (interpose.c) loads
 * this object in a process's first fork, vfork, spawn or exec, so the
 * many processes that never start anything never map it. Host commands run untouched; anything else
 * is re-routed to `shunt gate`, which sandboxes, prompts or blocks.
 *
 * Rules this file lives by (it runs inside arbitrary programs, in vfork
 * children and in multi-threaded parents): no malloc, no stdio, no locks
 * on the exec path; buffers on the stack or mmap; errno saved and
 * restored; globals written only in init (once, under pthread_once) or
 * published with atomic compare-and-swap. Not a security boundary on its
 * own: static binaries, setuid programs and raw syscalls bypass it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "iface.h"
#include "approval.h"
#include "policy.h"
#include "snapshot.h"

#define ARENA_SIZE	(64 * 1024)
#define STACK_VEC	512
#define LINE_MAX_QUOTED 16384

extern char **environ;

/* The default snapshot (shunt snapshot --default), embedded at build. */
extern const unsigned char shunt_default_snap[] __attribute__((visibility("hidden")));
extern const unsigned char shunt_default_snap_end[] __attribute__((visibility("hidden")));

/* ---- state set once, when the core is loaded or in init ---- */

/* Small state read on every exec lives in .data, on the page the loader
 * dirties anyway: a forked child would fault in a .bss page just to read
 * a zero there. */
#define STATE __attribute__((section(".data")))
/* Code a forked child runs between fork and exec, kept together
 * (.text.hot) so it faults in as one chunk of text. */
#define HOT __attribute__((hot))

static STATE struct shunt_shim_real real;

static STATE pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char gate_path[PATH_MAX];
static char snap_path[PATH_MAX];
static char counters_path[PATH_MAX];
static char self_path[PATH_MAX];
/* "LD_PRELOAD=..." to put back into scrubbed environments */
static char env_preload[PATH_MAX + 16];
/* SHUNT_* variables present at load time */
#define MAX_SAVED_ENV 8
static char saved_env[MAX_SAVED_ENV][1024];
static STATE size_t nsaved_env;
/* HOME and XDG_* at load time: the gate needs them to find the same
 * config, trust store and audit log after a program scrubbed its env */
static char saved_ctx[MAX_SAVED_ENV][1024];
static STATE size_t nsaved_ctx;
static STATE bool inert; /* we are loaded into the shunt binary itself */

/* ---- state published with atomics ---- */

struct slot {
	struct shunt_snapshot snap;	   /* file snapshot when status == 0 */
	const struct shunt_policy *policy; /* what to decide with */
	int status;			   /* 0 file, -ENOENT none (default), else unusable */
	bool have_id;
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

static STATE _Atomic(struct slot *) g_slot;
/* counters mapping; COUNTERS_NONE once mapping failed (not retried) */
#define COUNTERS_NONE ((struct shunt_counters *)1)
static STATE _Atomic(struct shunt_counters *) g_counters;
static _Atomic(struct shunt_snapshot *) g_embedded;
static atomic_int g_warned;

/* ---- small async-signal-safe helpers ---- */

struct sbuf {
	char *p;
	size_t cap, n;
	bool overflow;
};

static void sb_puts(struct sbuf *b, const char *s)
{
	while (s && *s) {
		if (b->n + 1 >= b->cap) {
			b->overflow = true;
			break;
		}
		b->p[b->n++] = *s++;
	}
	if (b->cap)
		b->p[b->n < b->cap ? b->n : b->cap - 1] = '\0';
}

/* ---- the cached exec path's own primitives ----
 * A forked child faults in every page of libc text it runs before exec
 * (fork copies no page tables of file mappings), so the cached path uses
 * raw syscalls, which also leave errno alone, and these small loops
 * instead of libc's string functions. */

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LIBCALLS
#endif

#if defined(__x86_64__)
static HOT long rsys4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

/* 0, or -errno */
static HOT int fs_stat(const char *p, struct stat *st, bool nofollow)
{
	return (int)rsys4(SYS_newfstatat, AT_FDCWD, (long)p, (long)st,
			  nofollow ? AT_SYMLINK_NOFOLLOW : 0);
}

/* The kernel's getcwd: the path only when it is absolute (not
 * "(unreachable)..."), like glibc's. */
static HOT bool fs_getcwd(char *buf, size_t cap)
{
	return rsys4(SYS_getcwd, (long)buf, (long)cap, 0, 0) > 0 && buf[0] == '/';
}
#else
static int fs_stat(const char *p, struct stat *st, bool nofollow)
{
	int e = errno, rc = nofollow ? lstat(p, st) : stat(p, st);
	if (rc < 0)
		rc = -errno;
	errno = e;
	return rc;
}

static bool fs_getcwd(char *buf, size_t cap)
{
	int e = errno;
	bool ok = getcwd(buf, cap) && buf[0] == '/';
	errno = e;
	return ok;
}
#endif

static HOT NO_LIBCALLS size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static HOT NO_LIBCALLS void scopy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *p = src;
	for (size_t i = 0; i < n; i++)
		d[i] = p[i];
}

static HOT NO_LIBCALLS bool sequal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* s starts with the first n bytes of p */
static HOT bool sprefix(const char *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != p[i])
			return false;
	return true;
}

static HOT bool scontains(const char *hay, const char *needle)
{
	size_t n = slen(needle);
	for (; *hay; hay++)
		if (*hay == *needle && sprefix(hay, needle, n))
			return true;
	return !*needle;
}

/* Literal prefixes as character compares: no string constant to fault in. */
static HOT bool is_home(const char *v)
{
	return v[0] == 'H' && v[1] == 'O' && v[2] == 'M' && v[3] == 'E' && v[4] == '=';
}

/* getenv("HOME") over an explicit environment */
static HOT const char *env_home(char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (is_home(envp[i]))
			return envp[i] + 5;
	return NULL;
}

/* Pointer vector on the stack, spilling to mmap for huge argv/envp. */
struct vec {
	char **v;
	size_t n, cap;
	void *map;
	size_t maplen;
	char *stack[STACK_VEC];
};

static int vec_init(struct vec *v, size_t need)
{
	v->n = 0;
	v->map = NULL;
	if (need <= STACK_VEC) {
		v->v = v->stack;
		v->cap = STACK_VEC;
		return 0;
	}
	v->maplen = need * sizeof(char *);
	v->map = mmap(NULL, v->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->map == MAP_FAILED) {
		v->map = NULL;
		return -1;
	}
	v->v = v->map;
	v->cap = need;
	return 0;
}

static void vec_push(struct vec *v, const char *s)
{
	if (v->n < v->cap)
		v->v[v->n++] = (char *)s;
}

static void vec_free(struct vec *v)
{
	if (v->map)
		munmap(v->map, v->maplen);
	v->map = NULL;
}

static size_t count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* ---- set-up ---- */

/* LD_PRELOAD as it was at load time ("LD_PRELOAD=..."), raw */
static char env_preload_raw[PATH_MAX + 16];

/* What the interposer saw at process start (see iface.h); init() copies
 * the strings out. */
static struct shunt_shim_boot boot;

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
		n = snprintf(snap_path, sizeof(snap_path), "%s", s);
	else if (xdg && xdg[0] == '/')
		n = snprintf(snap_path, sizeof(snap_path), "%s/shunt/policy.snap", xdg);
	else if (home && *home)
		n = snprintf(snap_path, sizeof(snap_path), "%s/.local/state/shunt/policy.snap",
			     home);
	else
		n = snprintf(snap_path, sizeof(snap_path),
			     "/tmp/shunt-%u/.local/state/shunt/policy.snap", (unsigned)getuid());
	if (n < 0 || (size_t)n >= sizeof(snap_path))
		snap_path[0] = '\0';
	if (c && *c)
		n = snprintf(counters_path, sizeof(counters_path), "%s", c);
	else if (xdg && xdg[0] == '/')
		n = snprintf(counters_path, sizeof(counters_path), "%s/shunt/counters.bin", xdg);
	else if (home && *home)
		n = snprintf(counters_path, sizeof(counters_path),
			     "%s/.local/state/shunt/counters.bin", home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof(counters_path))
		counters_path[0] = '\0';
}

static void find_gate(void)
{
	/* relative to the interposer, the file named in LD_PRELOAD */
	const char *me = boot.self_path;
	if (me && me[0] == '/') {
		snprintf(self_path, sizeof(self_path), "%s", me);
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", me);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		int n = snprintf(gate_path, sizeof(gate_path), "%s/../bin/shunt", dir);
		if (n > 0 && (size_t)n < sizeof(gate_path) && access(gate_path, X_OK) == 0)
			return;
	}
	snprintf(gate_path, sizeof(gate_path), "%s", SHUNT_PREFIX "/bin/shunt");
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
	if (stat("/proc/self/exe", &a) == 0 && stat(gate_path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		inert = true;
}

static struct slot *current_slot(void);
static void counters_ready(void);
static void cache_ready(void);

/* Shells fork and exec in the child: at each fork the parent brings the
 * snapshot up to date (one stat), maps the counters and the decision
 * cache, so every child inherits them instead of setting them up itself.
 * Still lazy: processes that never fork or exec never load anything. */
static void prefork(void)
{
	int e = errno;
	pthread_once(&init_once, init);
	if (!inert) {
		current_slot();
		counters_ready();
		cache_ready();
	}
	errno = e;
}

static void ensure_init(void)
{
	pthread_once(&init_once, init);
}

/* ---- snapshot handling ---- */

static void *page_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static const struct shunt_policy *embedded_policy(void)
{
	struct shunt_snapshot *e = atomic_load_explicit(&g_embedded, memory_order_acquire);
	if (e)
		return &e->policy;
	struct shunt_snapshot *n = page_alloc(sizeof(*n));
	if (!n)
		return NULL;
	size_t len = (size_t)(shunt_default_snap_end - shunt_default_snap);
	if (shunt_snapshot_load_mem(shunt_default_snap, len, false, n) < 0) {
		munmap(n, sizeof(*n));
		return NULL;
	}
	struct shunt_snapshot *expected = NULL;
	if (atomic_compare_exchange_strong_explicit(&g_embedded, &expected, n, memory_order_acq_rel,
						    memory_order_acquire))
		return &n->policy;
	shunt_snapshot_unload(n); /* another thread won; ours was never shared */
	munmap(n, sizeof(*n));
	return &expected->policy;
}

static HOT int64_t st_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static HOT bool slot_current(const struct slot *s, int src, int src_errno, const struct stat *st)
{
	if (src < 0)
		return !s->have_id && s->status == (src_errno == ENOENT ? -ENOENT : -src_errno);
	return s->have_id && s->dev == (uint64_t)st->st_dev && s->ino == (uint64_t)st->st_ino &&
	       s->size == (uint64_t)st->st_size && s->mtime_ns == st_mtime_ns(st);
}

/* The slot to decide with; NULL only when not even the embedded default
 * can be loaded (then everything goes to the gate). Old slots are never
 * unmapped: another thread may still be deciding with one. */
static HOT struct slot *current_slot(void)
{
	struct stat st;
	int src = -1, src_errno = ENOENT;
	if (snap_path[0]) {
		int r = fs_stat(snap_path, &st, false); /* errno untouched */
		src = r < 0 ? -1 : 0;
		src_errno = r < 0 ? -r : 0;
	}
	struct slot *cur = atomic_load_explicit(&g_slot, memory_order_acquire);
	if (cur && slot_current(cur, src, src_errno, &st))
		return cur;
	struct slot *n = page_alloc(sizeof(*n));
	if (!n)
		return cur;
	if (src < 0) {
		n->status = src_errno == ENOENT ? -ENOENT : -src_errno;
	} else {
		n->have_id = true;
		n->dev = st.st_dev;
		n->ino = st.st_ino;
		n->size = (uint64_t)st.st_size;
		n->mtime_ns = st_mtime_ns(&st);
		n->status = shunt_snapshot_load(snap_path, &n->snap);
		if (n->status == 0)
			n->policy = &n->snap.policy;
	}
	if (!n->policy)
		n->policy = embedded_policy();
	if (!n->policy) {
		shunt_snapshot_unload(&n->snap);
		munmap(n, sizeof(*n));
		return cur;
	}
	if (atomic_compare_exchange_strong_explicit(&g_slot, &cur, n, memory_order_acq_rel,
						    memory_order_acquire))
		return n;
	shunt_snapshot_unload(&n->snap);
	munmap(n, sizeof(*n));
	return cur;
}

static void warn_unusable(int status)
{
	if (atomic_exchange(&g_warned, 1))
		return;
	char buf[PATH_MAX + 256];
	struct sbuf b = {buf, sizeof(buf), 0, false};
	sb_puts(&b, "shunt: policy snapshot ");
	sb_puts(&b, snap_path);
	sb_puts(&b, " is unusable (");
	sb_puts(&b, shunt_snapshot_strerror(status));
	sb_puts(&b, "); using built-in defaults, risky commands go through the gate; fix with: "
		    "shunt snapshot\n");
	shunt_shim_say(buf);
}

/* Maps the shared counters once per process (never creates the file).
 * A parent calls this at each fork, so its children inherit the mapping;
 * a missing file is looked for again at most once a second. */
static void counters_ready(void)
{
	static _Atomic int64_t next_try;
	struct shunt_counters *c = atomic_load_explicit(&g_counters, memory_order_acquire);
	if (c && c != COUNTERS_NONE)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	int64_t t = now.tv_sec, due = atomic_load_explicit(&next_try, memory_order_relaxed);
	if (c && t < due)
		return;
	atomic_store_explicit(&next_try, t + 1, memory_order_relaxed);
	struct shunt_counters *m =
	    counters_path[0] ? shunt_counters_map(counters_path, false) : NULL;
	if (!m)
		m = COUNTERS_NONE;
	if (atomic_compare_exchange_strong_explicit(&g_counters, &c, m, memory_order_acq_rel,
						    memory_order_acquire))
		return;
	if (m != COUNTERS_NONE)
		shunt_counters_unmap(m);
}

/* Counts a host exec in the shared counters (the gate counts the rest).
 * A process that did not inherit a mapping tries once to map it. */
static HOT void count_host(enum shunt_risk risk, bool trusted)
{
	struct shunt_counters *c = atomic_load_explicit(&g_counters, memory_order_acquire);
	if (!c) {
		counters_ready();
		c = atomic_load_explicit(&g_counters, memory_order_acquire);
	}
	if (c && c != COUNTERS_NONE)
		shunt_counters_record(c, SHUNT_ACTION_HOST, risk, SHUNT_RUNTIME_NONE,
				      SHUNT_SOURCE_SHIM, trusted, -1, false);
}

/* ---- decision cache ----
 *
 * Host decisions, shared by a process and every child it forks: one
 * anonymous MAP_SHARED region made by the parent before its first fork
 * (prefork) or spawn. A shell's children exec the same few commands over
 * and over; a hit skips the lexer and every regex. Exec drops the mapping,
 * so the cache never outlives the program that made it.
 *
 * The key is every input of the decision, byte for byte (policy identity,
 * exe, argv, cwd, workspace, HOME), compared in full: a hash collision is
 * a miss, never a wrong answer. Only untrusted host decisions are kept:
 * they depend on nothing else (trust entries also depend on the clock and
 * on the executable's inode, so they are decided afresh every time).
 *
 * Each entry is a seqlock that never waits: a writer that finds it busy
 * skips caching, a reader that sees it change treats it as a miss. No
 * malloc, no locks: safe between fork/vfork and exec.
 *
 * Whoever shares the region can write it: a forked child that drops
 * privileges without exec could plant host decisions for its parent's
 * later execs. Such a child runs the parent's own code and can already
 * exec anything with a raw syscall; the shim is no boundary against it. */

#define CACHE_ENTRIES 256
#define CACHE_KEY_MAX 496

struct centry {
	atomic_uint seq; /* odd while written; 0 never written */
	uint16_t len;
	uint8_t risk;
	uint8_t pad;
	uint64_t hash;
	unsigned char key[CACHE_KEY_MAX];
};

_Static_assert(sizeof(struct centry) == 512, "cache entries tile pages");

#define CACHE_NONE ((struct centry *)1)
static STATE _Atomic(struct centry *) g_cache;

static void cache_ready(void)
{
	if (atomic_load_explicit(&g_cache, memory_order_acquire))
		return;
	size_t len = CACHE_ENTRIES * sizeof(struct centry);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct centry *c = p == MAP_FAILED ? CACHE_NONE : p;
	struct centry *expected = NULL;
	if (!atomic_compare_exchange_strong_explicit(&g_cache, &expected, c, memory_order_acq_rel,
						     memory_order_acquire) &&
	    c != CACHE_NONE)
		munmap(c, len);
}

struct ckey {
	unsigned char b[CACHE_KEY_MAX];
	size_t n;
	bool overflow;
};

static HOT void ck_put(struct ckey *k, const void *p, size_t n)
{
	if (k->overflow || n > sizeof(k->b) - k->n) {
		k->overflow = true;
		return;
	}
	scopy(k->b + k->n, p, n);
	k->n += n;
}

static HOT void ck_str(struct ckey *k, const char *s)
{
	ck_put(k, s, slen(s) + 1);
}

static HOT uint64_t ck_hash(const struct ckey *k)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (size_t i = 0; i < k->n; i++)
		h = (h ^ k->b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static HOT struct centry *cache_entry(uint64_t h)
{
	struct centry *c = atomic_load_explicit(&g_cache, memory_order_acquire);
	if (!c || c == CACHE_NONE)
		return NULL;
	return &c[h % CACHE_ENTRIES];
}

/* The cached risk of a host decision for k, or -1. */
static HOT int cache_get(const struct ckey *k, uint64_t h)
{
	struct centry *e = cache_entry(h);
	if (!e)
		return -1;
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

static void cache_put(const struct ckey *k, uint64_t h, enum shunt_risk risk)
{
	struct centry *e = cache_entry(h);
	if (!e)
		return;
	unsigned s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	if ((s & 1) || !atomic_compare_exchange_strong_explicit(
			   &e->seq, &s, s + 1, memory_order_acq_rel, memory_order_relaxed))
		return; /* someone else is writing it: skip, never wait */
	e->hash = h;
	e->len = (uint16_t)k->n;
	e->risk = (uint8_t)risk;
	memcpy(e->key, k->b, k->n);
	atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}

/* ---- deciding ---- */

enum verdict { V_HOST, V_GATE, V_BLOCK };

/* Length of the workspace prefix of cwd: the nearest ancestor holding
 * .git, else cwd itself. cwd (capacity cap) is used as scratch for the
 * probes and given back unchanged: no second path buffer to fault in. */
static HOT size_t workspace_len(char *cwd, size_t cap)
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
		int rc = fs_stat(cwd, &st, false);
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

static void block_message(const struct shunt_decision *d, const char *fallback, char *msg,
			  size_t cap)
{
	struct sbuf b = {msg, cap, 0, false};
	const char *cmd = d->cmdline.line && *d->cmdline.line ? d->cmdline.line : fallback;
	sb_puts(&b, "shunt: blocked: ");
	sb_puts(&b, cmd);
	sb_puts(&b, " [");
	sb_puts(&b, d->nrules ? d->rules[0] : "policy");
	sb_puts(&b, "]: ");
	sb_puts(&b, d->why);
	sb_puts(&b, "; allow with: shunt trust add '");
	sb_puts(&b, cmd);
	sb_puts(&b, "'");
	if (b.overflow && cap > 2)
		b.n = cap - 2;
	msg[b.n] = '\n';
	msg[b.n + 1] = '\0';
}

/* The full decision (lexer, rules) and what follows from it. noinline
 * keeps its large frame off the stack of a cache hit. */
__attribute__((noinline)) static enum verdict
judge_slow(struct slot *s, const char *exe, char *const argv[], const char *line, const char *cwd,
	   size_t wslen, const struct ckey *key, char *msg, size_t cap)
{
	bool unusable = s->status != 0 && s->status != -ENOENT;
	char ws[PATH_MAX];
	memcpy(ws, cwd, wslen);
	ws[wslen] = '\0';
	struct timespec now = {0};
	clock_gettime(CLOCK_REALTIME, &now);

	static const char *const empty[] = {NULL};
	struct shunt_request req = {0};
	if (line) {
		req.line = line;
		req.line_len = strlen(line);
	} else {
		req.argv = argv ? (const char *const *)argv : empty;
		req.argc = count(argv);
	}
	req.exe = exe;
	req.cwd = cwd;
	req.workspace = ws;
	req.home = getenv("HOME");
	req.interactive = true; /* prompts are the gate's business, never blocks here */
	req.source = SHUNT_SOURCE_SHIM;
	req.now = now.tv_sec;

	_Alignas(16) char abuf[ARENA_SIZE];
	struct shunt_arena a;
	shunt_arena_init_fixed(&a, abuf, sizeof(abuf));
	struct shunt_decision d;
	if (shunt_decide(s->policy, &req, &a, &d) < 0)
		return V_GATE; /* too big for the fast path */
	if (d.action == SHUNT_ACTION_HOST) {
		if (key && !d.trusted)
			cache_put(key, ck_hash(key), d.risk);
		count_host(d.risk, d.trusted);
		return V_HOST;
	}
	/* A command of a line a human just approved (shunt exec serves the
	 * approval over an inherited socket; see policy/approval.h): no
	 * second prompt. Forged variables or sockets fail the check. */
	if (getenv(SHUNT_APPROVAL_ENV)) {
		uint8_t k[32];
		shunt_approval_key(d.cmdline.line ? d.cmdline.line : "", k);
		if (shunt_approval_check(gate_path, k) == 1)
			return V_HOST;
	}
	/* only said when it changes what happens: low-risk commands behave
	 * the same under the built-in defaults */
	if (unusable)
		warn_unusable(s->status);
	if (d.action == SHUNT_ACTION_BLOCK && !unusable) {
		block_message(&d, line ? line : exe, msg, cap);
		return V_BLOCK;
	}
	return V_GATE;
}

/* The cache key of an argv decision: every input shunt_decide reads. */
static HOT void make_key(struct ckey *k, const struct slot *s, const char *exe, char *const argv[],
			 const char *cwd, size_t wslen, const char *home)
{
	k->n = 0;
	k->overflow = false;
	struct {
		uint64_t dev, ino, size;
		int64_t mtime_ns;
		int32_t status;
		uint32_t argc, wslen;
		uint8_t have_id, have_home;
	} id;
	memset(&id, 0, sizeof(id));
	id.dev = s->dev;
	id.ino = s->ino;
	id.size = s->size;
	id.mtime_ns = s->mtime_ns;
	id.status = s->status;
	id.argc = (uint32_t)count(argv);
	id.wslen = (uint32_t)wslen;
	id.have_id = s->have_id;
	id.have_home = home != NULL;
	ck_put(k, &id, sizeof(id));
	ck_str(k, exe);
	for (size_t i = 0; argv && argv[i]; i++)
		ck_str(k, argv[i]);
	ck_str(k, cwd);
	if (home)
		ck_str(k, home);
}

/* Decides an argv (exe resolved) or a shell line. Fills msg for V_BLOCK. */
static enum verdict judge(const char *exe, char *const argv[], const char *line, char *msg,
			  size_t cap)
{
	if (inert)
		return V_HOST;
	struct slot *s = current_slot();
	if (!s)
		return V_GATE;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		memcpy(cwd, "/", 2);
	size_t wslen = workspace_len(cwd, sizeof(cwd));
	if (line || !atomic_load_explicit(&g_cache, memory_order_relaxed))
		return judge_slow(s, exe, argv, line, cwd, wslen, NULL, msg, cap);
	struct ckey k;
	make_key(&k, s, exe, argv, cwd, wslen, env_home(environ));
	if (k.overflow)
		return judge_slow(s, exe, argv, line, cwd, wslen, NULL, msg, cap);
	int risk = cache_get(&k, ck_hash(&k));
	if (risk >= 0) {
		count_host((enum shunt_risk)risk, false);
		return V_HOST;
	}
	return judge_slow(s, exe, argv, line, cwd, wslen, &k, msg, cap);
}

/* ---- paths ---- */

static bool is_exec_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Follows symlinks in the last component so rules see the real program
 * (a link named "del" to rm is still rm). No malloc: readlink into buf. */
static const char *follow_links(const char *p, char *buf, size_t cap)
{
	char tmp[PATH_MAX];
	const char *cur = p;
	for (int hops = 0; hops < 40; hops++) {
		struct stat st;
		if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
			return cur;
		ssize_t n = readlink(cur, tmp, sizeof(tmp) - 1);
		if (n <= 0)
			return cur;
		tmp[n] = '\0';
		struct sbuf b = {buf, cap, 0, false};
		if (tmp[0] == '/') {
			sb_puts(&b, tmp);
		} else {
			/* relative to the link's directory */
			const char *slash = strrchr(cur, '/');
			size_t dl = slash ? (size_t)(slash - cur) + 1 : 0;
			char dir[PATH_MAX];
			if (dl >= sizeof(dir))
				return cur;
			memcpy(dir, cur, dl);
			dir[dl] = '\0';
			sb_puts(&b, dir);
			sb_puts(&b, tmp);
		}
		if (b.overflow)
			return cur;
		memcpy(tmp, buf, b.n + 1);
		memcpy(buf, tmp, b.n + 1);
		cur = buf;
	}
	return cur;
}

/* Makes p absolute against cwd (no normalisation). */
static const char *absolute(const char *p, char *buf, size_t cap)
{
	if (p[0] == '/')
		return p;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return p;
	struct sbuf b = {buf, cap, 0, false};
	sb_puts(&b, cwd);
	sb_puts(&b, "/");
	sb_puts(&b, p);
	return b.overflow ? p : buf;
}

/* execvp's search: names with '/' as they are, else the first executable
 * regular file along PATH (default /bin:/usr/bin). NULL when none. */
static const char *search_path(const char *file, char *buf, size_t cap)
{
	if (!file || !*file)
		return NULL;
	if (strchr(file, '/'))
		return absolute(file, buf, cap);
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	size_t flen = strlen(file);
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char cand[PATH_MAX];
		if (dlen + flen + 2 < sizeof(cand)) {
			if (dlen == 0) {
				memcpy(cand, file, flen + 1);
			} else {
				memcpy(cand, p, dlen);
				cand[dlen] = '/';
				memcpy(cand + dlen + 1, file, flen + 1);
			}
			if (is_exec_file(cand)) {
				const char *abs = absolute(cand, buf, cap);
				if (abs == cand) {
					if (strlen(cand) >= cap)
						return NULL;
					memcpy(buf, cand, strlen(cand) + 1);
				}
				return buf;
			}
		}
		if (!*end)
			return NULL;
		p = end;
	}
}

static const char *fd_path(int fd, char *buf, size_t cap)
{
	char link[64];
	struct sbuf b = {link, sizeof(link), 0, false};
	sb_puts(&b, "/proc/self/fd/");
	char num[24];
	int i = (int)sizeof(num) - 1;
	num[i] = '\0';
	unsigned v = (unsigned)fd;
	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	sb_puts(&b, num + i);
	ssize_t n = readlink(link, buf, cap - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return buf;
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

/* envp already carries the shim and the SHUNT_* variables it had at load
 * time, so a host exec can pass it on untouched (what fix_env checks,
 * without building anything). */
static HOT bool env_intact(char *const *envp)
{
	if (!env_preload[0] || inert)
		return true;
	const char *shim = env_preload + 11; /* after "LD_PRELOAD=" */
	bool ok = false;
	for (size_t i = 0; envp && envp[i]; i++)
		if (shunt_shim_is_ld_preload(envp[i]))
			ok = scontains(envp[i] + 11, self_path) || scontains(envp[i] + 11, shim);
	for (size_t k = 0; ok && k < nsaved_env; k++) {
		const char *kv = saved_env[k];
		size_t nl = 0;
		while (kv[nl] && kv[nl] != '=')
			nl++;
		bool found = false;
		for (size_t i = 0; !found && envp[i]; i++)
			found = sprefix(envp[i], kv, nl + 1);
		ok = found;
	}
	return ok;
}

/* Returns envp, or a copy in v (strings in ldbuf) with LD_PRELOAD and the
 * SHUNT_* variables present at load time put back. */
static char *const *fix_env(char *const *envp, bool for_gate, struct vec *v, char *ldbuf,
			    size_t ldcap)
{
	v->map = NULL;
	/* shunt itself builds the sandbox's environment on purpose (the shim is
	 * not mounted inside a sandbox); leave its envp alone */
	if (!env_preload[0] || inert)
		return envp;
	const char *shim = env_preload + strlen("LD_PRELOAD=");
	int ld = -1;
	bool ok = false;
	size_t n = count(envp);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
			ld = (int)i;
			ok = strstr(envp[i] + 11, self_path) != NULL ||
			     strstr(envp[i] + 11, shim) != NULL;
		}
	}
	size_t missing = 0;
	for (size_t k = 0; k < nsaved_env; k++)
		if (!has_var(envp, saved_env[k]))
			missing++;
	for (size_t k = 0; for_gate && k < nsaved_ctx; k++)
		if (!has_var(envp, saved_ctx[k]))
			missing++;
	if (ok && missing == 0)
		return envp;
	if (vec_init(v, n + missing + 2) < 0)
		return envp;
	for (size_t i = 0; i < n; i++) {
		if ((int)i == ld) {
			/* keep the program's own preloads after ours */
			struct sbuf b = {ldbuf, ldcap, 0, false};
			sb_puts(&b, env_preload);
			sb_puts(&b, ":");
			sb_puts(&b, envp[i] + 11);
			vec_push(v, b.overflow ? env_preload : ldbuf);
		} else {
			vec_push(v, envp[i]);
		}
	}
	if (ld < 0)
		vec_push(v, env_preload);
	for (size_t k = 0; k < nsaved_env; k++)
		if (!has_var(envp, saved_env[k]))
			vec_push(v, saved_env[k]);
	for (size_t k = 0; for_gate && k < nsaved_ctx; k++)
		if (!has_var(envp, saved_ctx[k]))
			vec_push(v, saved_ctx[k]);
	vec_push(v, NULL);
	return v->v;
}

/* ---- re-routing to the gate ---- */

static bool gate_usable(void)
{
	if (access(gate_path, X_OK) == 0)
		return true;
	char msg[PATH_MAX + 128];
	struct sbuf b = {msg, sizeof(msg), 0, false};
	sb_puts(&b, "shunt: cannot run the gate ");
	sb_puts(&b, gate_path);
	sb_puts(&b, ": refusing a command that needs it (reinstall shunt)\n");
	shunt_shim_say(msg);
	return false;
}

/* argv for: shunt gate --exe EXE --source shim -- ARGV... */
static int gate_argv(struct vec *g, const char *exe, char *const argv[])
{
	size_t n = count(argv);
	if (vec_init(g, n + 9) < 0)
		return -1;
	vec_push(g, "shunt");
	vec_push(g, "gate");
	vec_push(g, "--exe");
	vec_push(g, exe);
	vec_push(g, "--source");
	vec_push(g, "shim");
	vec_push(g, "--");
	if (n == 0)
		vec_push(g, exe); /* an empty argv still names the program */
	for (size_t i = 0; i < n; i++)
		vec_push(g, argv[i]);
	vec_push(g, NULL);
	return 0;
}

/* exec '<GATE>' gate --source shim -c '<line>' with single-quote escaping. */
static bool gate_line(const char *line, char *out, size_t cap)
{
	struct sbuf b = {out, cap, 0, false};
	sb_puts(&b, "exec '");
	sb_puts(&b, gate_path);
	sb_puts(&b, "' gate --source shim -c '");
	for (const char *p = line; *p && !b.overflow; p++) {
		if (*p == '\'') {
			sb_puts(&b, "'\\''");
		} else {
			char c[2] = {*p, '\0'};
			sb_puts(&b, c);
		}
	}
	sb_puts(&b, "'");
	return !b.overflow && strchr(gate_path, '\'') == NULL;
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
		if (real.execve)
			return real.execve(c->path, c->argv, envp);
		return (int)syscall(SYS_execve, c->path, c->argv, envp);
	case K_EXECVPE:
		if (real.execvpe)
			return real.execvpe(c->path, c->argv, envp);
		break;
	case K_EXECVEAT:
		if (real.execveat)
			return real.execveat(c->fd, c->path, c->argv, envp, c->flags);
		return (int)syscall(SYS_execveat, c->fd, c->path, c->argv, envp, c->flags);
	case K_FEXECVE:
		if (real.fexecve)
			return real.fexecve(c->fd, c->argv, envp);
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
	char rbuf[PATH_MAX];
	if (exe) /* the gate and the rules both see the real program */
		exe = follow_links(exe, rbuf, sizeof(rbuf));
	char msg[1024];
	enum verdict v = exe ? judge(exe, c->argv, NULL, msg, sizeof(msg)) : V_HOST;
	if (v == V_BLOCK) {
		shunt_shim_say(msg);
		errno = EACCES;
		return -1;
	}
	struct vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp = fix_env(envp0, v != V_HOST, &ev, ldbuf, sizeof(ldbuf));
	int rc;
	if (v == V_HOST) {
		errno = saved;
		rc = call_real(c, envp);
	} else if (!gate_usable()) {
		errno = EACCES;
		rc = -1;
	} else {
		struct vec g;
		if (gate_argv(&g, exe, c->argv) < 0) {
			errno = E2BIG;
			rc = -1;
		} else {
			errno = saved;
			struct call gc = {K_EXECVE, gate_path, -1, 0, g.v};
			rc = call_real(&gc, envp);
			int e = errno;
			vec_free(&g);
			errno = e;
		}
	}
	int e = errno;
	vec_free(&ev);
	errno = e;
	return rc;
}

/* The common case, execve of an absolute path, decided from the cache in
 * a small stack frame: a forked child faults in every stack page it
 * touches, so the buffers of the full path would cost more than the
 * decision. False (errno as it was) when the full path has to decide. */
static HOT bool exec_fast(const char *path, char *const argv[], char *const envp[], int *rc)
{
	/* the cache exists only after init ran (prefork, spawn) */
	struct centry *cache = atomic_load_explicit(&g_cache, memory_order_acquire);
	if (!path || path[0] != '/' || !cache || cache == CACHE_NONE || inert)
		return false;
	struct stat st;
	struct slot *s;
	char cwd[512];
	/* no access(X_OK): a cached host decision stays host, and the
	 * kernel refuses a file that is not executable with the same EACCES
	 * the full path would get */
	if (fs_stat(path, &st, true) != 0 || !S_ISREG(st.st_mode) || !(s = current_slot()) ||
	    !fs_getcwd(cwd, sizeof(cwd)) || slen(cwd) + 6 > sizeof(cwd))
		return false;
	size_t wslen = workspace_len(cwd, sizeof(cwd));
	struct ckey k;
	make_key(&k, s, path, argv, cwd, wslen, env_home(environ));
	int risk = k.overflow ? -1 : cache_get(&k, ck_hash(&k));
	char *const *env = envp ? envp : environ;
	if (risk < 0 || !env_intact(env))
		return false;
	count_host((enum shunt_risk)risk, false);
	*rc =
	    real.execve ? real.execve(path, argv, env) : (int)syscall(SYS_execve, path, argv, env);
	return true;
}

/* Internal entry points, so one wrapper never calls another through the
 * PLT (where a different preload could sit in between). noinline: their
 * path buffers stay out of exec_fast's way. */
__attribute__((noinline)) static int do_execve(const char *path, char *const argv[],
					       char *const envp[])
{
	char buf[PATH_MAX];
	const char *exe = path && *path ? absolute(path, buf, sizeof(buf)) : NULL;
	struct call c = {K_EXECVE, path, -1, 0, argv};
	return exec_family(&c, exe && is_exec_file(exe) ? exe : NULL, envp);
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];
	const char *exe = search_path(file, buf, sizeof(buf));
	struct call c = {K_EXECVPE, file, -1, 0, argv};
	return exec_family(&c, exe, envp);
}

static HOT int core_execve(const char *path, char *const argv[], char *const envp[])
{
	int rc;
	if (exec_fast(path, argv, envp, &rc))
		return rc;
	return do_execve(path, argv, envp);
}

static HOT int core_execv(const char *path, char *const argv[])
{
	int rc;
	if (exec_fast(path, argv, environ, &rc))
		return rc;
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
		exe = fd_path(dirfd, buf, sizeof(buf));
	} else if (given) {
		const char *d =
		    dirfd == AT_FDCWD ? getcwd(dir, sizeof(dir)) : fd_path(dirfd, dir, sizeof(dir));
		if (d) {
			struct sbuf b = {buf, sizeof(buf), 0, false};
			sb_puts(&b, d);
			sb_puts(&b, "/");
			sb_puts(&b, path);
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
	const char *exe = fd_path(fd, buf, sizeof(buf));
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
	struct vec vecname;                                                                        \
	if (vec_init(&vecname, n_ + 1) < 0) {                                                      \
		errno = E2BIG;                                                                     \
		return -1;                                                                         \
	}                                                                                          \
	vec_push(&vecname, arg0);                                                                  \
	for (size_t i_ = 1; i_ < n_; i_++)                                                         \
		vec_push(&vecname, va_arg(ap, char *));                                            \
	(void)va_arg(ap, char *);                                                                  \
	if (with_envp)                                                                             \
		envp_out = va_arg(ap, char *const *);                                              \
	vec_push(&vecname, NULL)

/* execl, execle, execlp: the interposer hands over the variable
 * arguments after arg. */
static int core_execl(enum shunt_shim_execl kind, const char *path, const char *arg, va_list ap)
{
	char *const *envp = environ;
	COLLECT_ARGS(arg, ap, v, kind == SHUNT_SHIM_EXECLE, envp);
	int rc =
	    kind == SHUNT_SHIM_EXECLP ? do_execvpe(path, v.v, envp) : do_execve(path, v.v, envp);
	int e = errno;
	vec_free(&v);
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
	if (!inert)
		cache_ready(); /* a spawning parent decides again and again */
	char buf[PATH_MAX];
	const char *exe;
	if (search) {
		exe = search_path(file, buf, sizeof(buf));
	} else {
		exe = file && *file ? absolute(file, buf, sizeof(buf)) : NULL;
		if (exe && !is_exec_file(exe))
			exe = NULL;
	}
	char rbuf[PATH_MAX];
	if (exe)
		exe = follow_links(exe, rbuf, sizeof(rbuf));
	char msg[1024];
	enum verdict v = exe ? judge(exe, argv, NULL, msg, sizeof(msg)) : V_HOST;
	if (v == V_BLOCK) {
		shunt_shim_say(msg);
		errno = saved;
		return EACCES;
	}
	struct vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp =
	    fix_env(envp_in ? envp_in : environ, v != V_HOST, &ev, ldbuf, sizeof(ldbuf));
	int rc;
	if (v == V_HOST) {
		if (search)
			rc = real.posix_spawnp ? real.posix_spawnp(pid, file, fa, attr, argv, envp)
					       : ENOSYS;
		else
			rc = real.posix_spawn ? real.posix_spawn(pid, file, fa, attr, argv, envp)
					      : ENOSYS;
	} else if (!gate_usable()) {
		rc = EACCES;
	} else {
		struct vec g;
		if (gate_argv(&g, exe, argv) < 0) {
			rc = E2BIG;
		} else {
			rc = real.posix_spawn
				 ? real.posix_spawn(pid, gate_path, fa, attr, g.v, envp)
				 : ENOSYS;
			vec_free(&g);
		}
	}
	vec_free(&ev);
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
	if (!real.system) {
		errno = ENOSYS;
		return -1;
	}
	if (!line) /* "is there a shell?" */
		return real.system(NULL);
	char msg[1024];
	enum verdict v = judge(NULL, NULL, line, msg, sizeof(msg));
	errno = saved;
	if (v == V_HOST)
		return real.system(line);
	if (v == V_BLOCK) {
		shunt_shim_say(msg);
		return W_EXITCODE(126, 0);
	}
	char q[LINE_MAX_QUOTED];
	if (!gate_line(line, q, sizeof(q))) {
		shunt_shim_say(
		    "shunt: command line too long to re-route through the gate; refused\n");
		return W_EXITCODE(126, 0);
	}
	if (!gate_usable())
		return W_EXITCODE(126, 0);
	return real.system(q);
}

static FILE *core_popen(const char *line, const char *type)
{
	int saved = errno;
	ensure_init();
	if (!real.popen) {
		errno = ENOSYS;
		return NULL;
	}
	if (!line)
		return real.popen(line, type);
	char msg[1024];
	enum verdict v = judge(NULL, NULL, line, msg, sizeof(msg));
	errno = saved;
	if (v == V_HOST)
		return real.popen(line, type);
	if (v == V_BLOCK) {
		shunt_shim_say(msg);
		return real.popen("exit 126", type); /* the caller sees a refused shell */
	}
	char q[LINE_MAX_QUOTED];
	if (!gate_line(line, q, sizeof(q))) {
		shunt_shim_say(
		    "shunt: command line too long to re-route through the gate; refused\n");
		return real.popen("exit 126", type);
	}
	if (!gate_usable())
		return real.popen("exit 126", type);
	return real.popen(q, type);
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
	real = b->real;
	return &ops;
}
