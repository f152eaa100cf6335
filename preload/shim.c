/* The shim core: every exec of the host program is decided against the
 * precompiled policy snapshot. The small interposer (interpose.c) loads
 * this object in a process's first fork, vfork, spawn or exec, so the
 * many processes that never start anything never map it. Host decisions
 * go into a cache the interposer reads by itself (fast.c), so a forked
 * child that execs a command decided before never runs code from here.
 * Host commands run untouched; anything else is re-routed to `shunt
 * gate`, which sandboxes, prompts or blocks.
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "fast.h"
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

/* State lives in .data, not .bss: a .bss larger than the last page of
 * the file needs an anonymous mapping of its own, and every mapping costs
 * each fork and exec of this process (see the Makefile). */
#define STATE __attribute__((section(".data")))

static STATE struct shunt_shim_real real;

static STATE pthread_once_t init_once = PTHREAD_ONCE_INIT;
static STATE char gate_path[PATH_MAX];
static STATE char snap_path[PATH_MAX];
static STATE char counters_path[PATH_MAX];
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

/* ---- state published with atomics ---- */

struct slot {
	struct shunt_fast_id id;	   /* which file, and id.status */
	struct shunt_snapshot snap;	   /* file snapshot when id.status == 0 */
	const struct shunt_policy *policy; /* what to decide with */
};

static STATE _Atomic(struct slot *) g_slot;
/* The exec path's state in the interposer (fast.h): the decision cache,
 * the counters mapping (SHUNT_FAST_NONE once mapping failed) and the
 * snapshot identity live there, where its exec path reads them. */
static STATE struct shunt_fast own_fast;
static STATE struct shunt_fast *fast = &own_fast;
static _Atomic(struct shunt_snapshot *) g_embedded;
/* Slots and the embedded snapshot in .data, not in mappings of their own
 * (see STATE); a process that sees its snapshot replaced more often than
 * this maps further slots. */
#define STATIC_SLOTS 4
static STATE struct slot slot_pool[STATIC_SLOTS];
static STATE atomic_uint slot_pool_used;
static STATE struct shunt_snapshot embedded_snap;
static STATE atomic_flag embedded_taken = ATOMIC_FLAG_INIT;
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
	const char *me = boot.self_path; /* self_path, copied at entry */
	if (me && me[0] == '/') {
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
		fast->inert = true; /* we are loaded into the shunt binary itself */
	/* what the interposer's exec path reads; published before the cache
	 * (cache_ready, release), which that path checks first */
	fast->execve = real.execve;
	fast->environ = &environ;
	fast->snap_path = snap_path;
	fast->self_path = self_path;
	fast->shim = env_preload[0] ? env_preload + 11 : env_preload;
	fast->saved_env = (const char(*)[1024])saved_env;
	fast->nsaved_env = nsaved_env;
}

static struct slot *current_slot(void);
static void counters_ready(void);
static void cache_ready(void);
static void flush_counts(void);
static struct shunt_fast_cache *cache_get(void);

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
	if (!fast->inert) {
		current_slot();
		counters_ready();
		cache_ready();
		flush_counts();
	}
	if (errno != e)
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

/* A zeroed slot: from the pool while it lasts. */
static struct slot *slot_new(void)
{
	unsigned i = atomic_fetch_add_explicit(&slot_pool_used, 1, memory_order_relaxed);
	if (i < STATIC_SLOTS)
		return &slot_pool[i];
	return page_alloc(sizeof(struct slot));
}

/* A slot that was never published (a pool slot just stays unused). */
static void slot_drop(struct slot *n)
{
	if (n < slot_pool || n >= slot_pool + STATIC_SLOTS)
		munmap(n, sizeof(*n));
}

static const struct shunt_policy *embedded_policy(void)
{
	struct shunt_snapshot *e = atomic_load_explicit(&g_embedded, memory_order_acquire);
	if (e)
		return &e->policy;
	bool own = !atomic_flag_test_and_set(&embedded_taken);
	struct shunt_snapshot *n = own ? &embedded_snap : page_alloc(sizeof(*n));
	if (!n)
		return NULL;
	size_t len = (size_t)(shunt_default_snap_end - shunt_default_snap);
	if (shunt_snapshot_load_mem(shunt_default_snap, len, false, n) < 0) {
		if (!own)
			munmap(n, sizeof(*n));
		return NULL;
	}
	struct shunt_snapshot *expected = NULL;
	if (atomic_compare_exchange_strong_explicit(&g_embedded, &expected, n, memory_order_acq_rel,
						    memory_order_acquire))
		return &n->policy;
	shunt_snapshot_unload(n); /* another thread won; ours was never shared */
	if (!own)
		munmap(n, sizeof(*n));
	return &expected->policy;
}

/* The slot to decide with; NULL only when not even the embedded default
 * can be loaded (then everything goes to the gate). Old slots are never
 * unmapped: another thread may still be deciding with one. */
static struct slot *current_slot(void)
{
	struct stat st;
	int src = snap_path[0] ? shunt_fast_stat(snap_path, &st, false) : -ENOENT;
	struct slot *cur = atomic_load_explicit(&g_slot, memory_order_acquire);
	if (cur && shunt_fast_id_current(&cur->id, src, &st))
		return cur;
	struct slot *n = slot_new();
	if (!n)
		return cur;
	if (src < 0) {
		n->id.status = src;
	} else {
		n->id.have_id = 1;
		n->id.dev = st.st_dev;
		n->id.ino = st.st_ino;
		n->id.size = (uint64_t)st.st_size;
		n->id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		n->id.status = shunt_snapshot_load(snap_path, &n->snap);
		if (n->id.status == 0)
			n->policy = &n->snap.policy;
	}
	if (!n->policy)
		n->policy = embedded_policy();
	if (!n->policy) {
		shunt_snapshot_unload(&n->snap);
		slot_drop(n);
		return cur;
	}
	if (atomic_compare_exchange_strong_explicit(&g_slot, &cur, n, memory_order_acq_rel,
						    memory_order_acquire)) {
		atomic_store_explicit(&fast->id, &n->id, memory_order_release);
		return n;
	}
	shunt_snapshot_unload(&n->snap);
	slot_drop(n);
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
	struct shunt_counters *c = atomic_load_explicit(&fast->counters, memory_order_acquire);
	if (c && c != SHUNT_FAST_NONE)
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
		m = SHUNT_FAST_NONE;
	if (atomic_compare_exchange_strong_explicit(&fast->counters, &c, m, memory_order_acq_rel,
						    memory_order_acquire))
		return;
	if (m != SHUNT_FAST_NONE)
		shunt_counters_unmap(m);
}

/* Counts a host exec in the shared counters (the gate counts the rest).
 * A process that did not inherit a mapping tries once to map it. */
static void count_host(enum shunt_risk risk, bool trusted)
{
	struct shunt_counters *c = atomic_load_explicit(&fast->counters, memory_order_acquire);
	if (!c) {
		counters_ready();
		c = atomic_load_explicit(&fast->counters, memory_order_acquire);
	}
	if (c && c != SHUNT_FAST_NONE)
		shunt_counters_record(c, SHUNT_ACTION_HOST, risk, SHUNT_RUNTIME_NONE,
				      SHUNT_SOURCE_SHIM, trusted, -1, false);
}

/* ---- decision cache ----
 *
 * Host decisions, shared by a process and every child it forks: one
 * anonymous MAP_SHARED region made by the parent before its first fork
 * (prefork) or spawn. A shell's children exec the same few commands over
 * and over; a hit skips the lexer and every regex, and the interposer
 * finds it without calling into this library (fast.c). Exec drops the
 * mapping, so the cache never outlives the program that made it.
 *
 * The key is every input of the decision, byte for byte (policy identity,
 * exe, argv, cwd, workspace, HOME; no cwd for a path-free argv), compared
 * in full: a hash collision is a miss, never a wrong answer. Only
 * untrusted host decisions are kept: they depend on nothing else (trust
 * entries also depend on the clock and on the executable's inode, so they
 * are decided afresh every time).
 *
 * Each entry is a seqlock that never waits: a writer that finds it busy
 * skips caching, a reader that sees it change treats it as a miss. No
 * malloc, no locks: safe between fork/vfork and exec.
 *
 * Whoever shares the region can write it: a forked child that drops
 * privileges without exec could plant host decisions for its parent's
 * later execs. Such a child runs the parent's own code and can already
 * exec anything with a raw syscall; the shim is no boundary against it. */

static void cache_ready(void)
{
	if (atomic_load_explicit(&fast->cache, memory_order_acquire))
		return;
	/* aligned to its size, so that fault-around covers all of it */
	size_t len = SHUNT_FAST_CACHE_SIZE, span = 2 * len;
	char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct shunt_fast_cache *c = SHUNT_FAST_NONE;
	if (p != MAP_FAILED) {
		char *a = (char *)(((uintptr_t)p + len - 1) & ~(uintptr_t)(len - 1));
		if (a > p)
			munmap(p, (size_t)(a - p));
		if (a + len < p + span)
			munmap(a + len, (size_t)(p + span - (a + len)));
		c = (struct shunt_fast_cache *)a;
	}
	struct shunt_fast_cache *expected = NULL;
	if (!atomic_compare_exchange_strong_explicit(&fast->cache, &expected, c,
						     memory_order_acq_rel, memory_order_acquire) &&
	    c != SHUNT_FAST_NONE)
		munmap(c, len);
}

static struct shunt_fast_cache *cache_get(void)
{
	struct shunt_fast_cache *c = atomic_load_explicit(&fast->cache, memory_order_acquire);
	return c == SHUNT_FAST_NONE ? NULL : c;
}

/* Host execs that children counted in the cache go into the counters
 * file (see struct shunt_fast_cache). */
static void flush_counts(void)
{
	struct shunt_fast_cache *c = cache_get();
	if (c)
		shunt_fast_flush(c, atomic_load_explicit(&fast->counters, memory_order_acquire));
}

/* The last process to share a cache may simply exit. */
__attribute__((destructor)) static void core_fini(void)
{
	int e = errno;
	flush_counts();
	errno = e;
}

/* ---- deciding ---- */

enum verdict { V_HOST, V_GATE, V_BLOCK };

/* Appends at most one screen line of cmd (the terminal's width on
 * stderr, else 200 columns): a longer one is cut and says its length.
 * Control characters show as '?'. Returns whether it was cut. */
static bool sb_put_cut(struct sbuf *b, const char *cmd)
{
	struct winsize ws;
	size_t cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 200;
	size_t len = strlen(cmd), room = cols > 60 ? cols - 40 : 20;
	size_t keep = len, chars = 0;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)cmd[i] & 0xC0) != 0x80 && ++chars > room) {
			keep = i;
			break;
		}
	}
	for (size_t i = 0; i < keep && !b->overflow; i++) {
		unsigned char c = (unsigned char)cmd[i];
		char one[2] = {c < 0x20 || c == 0x7f ? '?' : (char)c, '\0'};
		sb_puts(b, one);
	}
	if (keep == len)
		return false;
	char num[24], *p = num + sizeof(num) - 1;
	*p = '\0';
	do
		*--p = (char)('0' + len % 10);
	while ((len /= 10) && p > num);
	sb_puts(b, "... (");
	sb_puts(b, p);
	sb_puts(b, " bytes)");
	return true;
}

static void block_message(const struct shunt_decision *d, const char *fallback, char *msg,
			  size_t cap)
{
	struct sbuf b = {msg, cap, 0, false};
	const char *cmd = d->cmdline.line && *d->cmdline.line ? d->cmdline.line : fallback;
	sb_puts(&b, "shunt: blocked: ");
	bool cut = sb_put_cut(&b, cmd);
	sb_puts(&b, " [");
	sb_puts(&b, d->nrules ? d->rules[0] : "policy");
	sb_puts(&b, "]: ");
	sb_puts(&b, d->why);
	if (cut) {
		sb_puts(&b, "; allow with: shunt trust add 'THE WHOLE COMMAND'");
	} else {
		sb_puts(&b, "; allow with: shunt trust add '");
		sb_puts(&b, cmd);
		sb_puts(&b, "'");
	}
	if (b.overflow && cap > 2)
		b.n = cap - 2;
	msg[b.n] = '\n';
	msg[b.n + 1] = '\0';
}

/* The full decision (lexer, rules) and what follows from it. noinline
 * keeps its large frame off the stack of a cache hit. */
/* The working directory into cwd (PATH_MAX), and the length of its
 * workspace prefix. */
static size_t where(char *cwd)
{
	if (!getcwd(cwd, PATH_MAX))
		memcpy(cwd, "/", 2);
	return shunt_fast_workspace_len(cwd, PATH_MAX);
}

/* given_cwd/given_wslen: from where(), when the caller already asked;
 * NULL otherwise. */
__attribute__((noinline)) static enum verdict judge_slow(struct slot *s, const char *exe,
							 char *const argv[], const char *line,
							 const char *given_cwd, size_t given_wslen,
							 const struct shunt_fast_key *key,
							 char *msg, size_t cap)
{
	bool unusable = s->id.status != 0 && s->id.status != -ENOENT;
	char cwd[PATH_MAX], ws[PATH_MAX];
	size_t wslen = given_cwd ? given_wslen : where(cwd);
	if (given_cwd)
		memcpy(cwd, given_cwd, strlen(given_cwd) + 1);
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
		/* a key without the cwd must not hold an answer that read it */
		bool keyed = key && (given_cwd || !d.cwd_dependent);
		struct shunt_fast_cache *cache = keyed ? cache_get() : NULL;
		if (cache && !d.trusted)
			shunt_fast_store(cache, key, shunt_fast_hash(key), (int)d.risk);
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
		warn_unusable(s->id.status);
	if (d.action == SHUNT_ACTION_BLOCK && !unusable) {
		block_message(&d, line ? line : exe, msg, cap);
		return V_BLOCK;
	}
	return V_GATE;
}

/* Decides an argv (exe resolved) or a shell line. Fills msg for V_BLOCK. */
static enum verdict judge(const char *exe, char *const argv[], const char *line, char *msg,
			  size_t cap)
{
	if (fast->inert)
		return V_HOST;
	struct slot *s = current_slot();
	if (!s)
		return V_GATE;
	struct shunt_fast_cache *cache = cache_get();
	if (line || !cache)
		return judge_slow(s, exe, argv, line, NULL, 0, NULL, msg, cap);
	/* the same key the interposer's exec path builds */
	char cwd[PATH_MAX];
	const char *c = NULL;
	size_t wslen = 0;
	if (!shunt_fast_path_free(argv)) {
		wslen = where(cwd);
		c = cwd;
	}
	struct shunt_fast_key k;
	shunt_fast_key(&k, &s->id, exe, argv, c, wslen, shunt_fast_env_home(environ));
	int risk = k.overflow ? -1 : shunt_fast_lookup(cache, &k, shunt_fast_hash(&k));
	if (risk >= 0) {
		count_host((enum shunt_risk)risk, false);
		return V_HOST;
	}
	return judge_slow(s, exe, argv, line, c, wslen, k.overflow ? NULL : &k, msg, cap);
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

/* Returns envp, or a copy in v (strings in ldbuf) with LD_PRELOAD and the
 * SHUNT_* variables present at load time put back. */
static char *const *fix_env(char *const *envp, bool for_gate, struct vec *v, char *ldbuf,
			    size_t ldcap)
{
	v->map = NULL;
	/* shunt itself builds the sandbox's environment on purpose (the shim is
	 * not mounted inside a sandbox); leave its envp alone */
	if (!env_preload[0] || fast->inert)
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

/* argv for: shunt gate [--shim-blocked] --exe EXE --source shim -- ARGV... */
static int gate_argv(struct vec *g, const char *exe, char *const argv[], bool blocked)
{
	size_t n = count(argv);
	if (vec_init(g, n + 10) < 0)
		return -1;
	vec_push(g, "shunt");
	vec_push(g, "gate");
	if (blocked)
		vec_push(g, "--shim-blocked");
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

/* A block is written down by `shunt gate --shim-blocked` (the audit log
 * and counters take locks and memory this library does not): exe+argv or
 * a shell line. Waited for, so the record exists when the caller sees the
 * refusal. Only blocked commands come here. */
static void record_block(const char *exe, char *const argv[], const char *line, char *const envp0[])
{
	int saved = errno;
	struct vec g;
	if (!real.posix_spawn || access(gate_path, X_OK) != 0)
		goto out;
	if (line) {
		if (vec_init(&g, 8) < 0)
			goto out;
		static const char *const pre[] = {"shunt",    "gate", "--shim-blocked",
						  "--source", "shim", "-c"};
		for (size_t i = 0; i < sizeof(pre) / sizeof(*pre); i++)
			vec_push(&g, pre[i]);
		vec_push(&g, line);
		vec_push(&g, NULL);
	} else if (gate_argv(&g, exe, argv, true) < 0) {
		goto out;
	}
	struct vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp = fix_env(envp0 ? envp0 : environ, true, &ev, ldbuf, sizeof(ldbuf));
	pid_t pid;
	int st;
	if (real.posix_spawn(&pid, gate_path, NULL, NULL, g.v, envp) == 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	vec_free(&ev);
	vec_free(&g);
out:
	errno = saved;
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
		record_block(exe, c->argv, NULL, envp0);
		errno = EACCES;
		return -1;
	}
	struct vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp = fix_env(envp0, v != V_HOST, &ev, ldbuf, sizeof(ldbuf));
	flush_counts(); /* this process may be the cache's last */
	int rc;
	if (v == V_HOST) {
		errno = saved;
		rc = call_real(c, envp);
	} else if (!gate_usable()) {
		errno = EACCES;
		rc = -1;
	} else {
		struct vec g;
		if (gate_argv(&g, exe, c->argv, false) < 0) {
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

/* Internal entry points, so one wrapper never calls another through the
 * PLT (where a different preload could sit in between). The interposer
 * has already tried the cached path (fast.c) for execve and execv. */
static int do_execve(const char *path, char *const argv[], char *const envp[])
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
	if (!fast->inert)
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
		record_block(exe, argv, NULL, envp_in);
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
		if (gate_argv(&g, exe, argv, false) < 0) {
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
		record_block(NULL, NULL, line, NULL);
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
		record_block(NULL, NULL, line, NULL);
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
	/* the interposer's copy lives on its stack */
	boot.self_path = NULL;
	if (b->self_path && strlen(b->self_path) < sizeof(self_path)) {
		memcpy(self_path, b->self_path, strlen(b->self_path) + 1);
		boot.self_path = self_path;
	}
	real = b->real;
	if (b->fast)
		fast = b->fast;
	return &ops;
}
