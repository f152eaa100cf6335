/* The shim core's deciding side (see shim.c for the rules it lives by):
 * the policy snapshot in use, the shared counters, the decision cache
 * that the interposer's exec path reads (fast.c), and the full decision
 * with the message a block shows. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "approval.h"
#include "counters.h"
#include "exec_views.h"
#include "fast.h"
#include "iface.h"
#include "policy.h"
#include "script.h"
#include "shim_int.h"
#include "snapshot.h"

#define ARENA_SIZE (64 * 1024)

/* The default snapshot (shunt snapshot --default), embedded at build. */
extern const unsigned char shunt_default_snap[] __attribute__((visibility("hidden")));
extern const unsigned char shunt_default_snap_end[] __attribute__((visibility("hidden")));

/* ---- state published with atomics ---- */

struct shunt_shim_slot {
	struct shunt_fast_id id;	   /* which file, and id.status */
	struct shunt_snapshot snap;	   /* file snapshot when id.status == 0 */
	const struct shunt_policy *policy; /* what to decide with */
};

static STATE _Atomic(struct shunt_shim_slot *) g_slot;
static _Atomic(struct shunt_snapshot *) g_embedded;
/* Slots and the embedded snapshot in .data, not in mappings of their own
 * (see STATE); a process that sees its snapshot replaced more often than
 * this maps further slots. */
#define STATIC_SLOTS 4
static STATE struct shunt_shim_slot slot_pool[STATIC_SLOTS];
static STATE atomic_uint slot_pool_used;
static STATE struct shunt_snapshot embedded_snap;
static STATE atomic_flag embedded_taken = ATOMIC_FLAG_INIT;
static atomic_int g_warned;

/* ---- snapshot handling ---- */

static void *page_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A zeroed slot: from the pool while it lasts. */
static struct shunt_shim_slot *slot_new(void)
{
	unsigned i = atomic_fetch_add_explicit(&slot_pool_used, 1, memory_order_relaxed);
	if (i < STATIC_SLOTS)
		return &slot_pool[i];
	return page_alloc(sizeof(struct shunt_shim_slot));
}

/* A slot that was never published (a pool slot just stays unused). */
static void slot_drop(struct shunt_shim_slot *n)
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
struct shunt_shim_slot *shunt_shim_current_slot(void)
{
	struct stat st;
	int src =
	    shunt_shim_snap_path[0] ? shunt_fast_stat(shunt_shim_snap_path, &st, false) : -ENOENT;
	struct shunt_shim_slot *cur = atomic_load_explicit(&g_slot, memory_order_acquire);
	if (cur && shunt_fast_id_current(&cur->id, src, &st))
		return cur;
	struct shunt_shim_slot *n = slot_new();
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
		n->id.status = shunt_snapshot_load(shunt_shim_snap_path, &n->snap);
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
		atomic_store_explicit(&shunt_shim_fast->id, &n->id, memory_order_release);
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
	struct shunt_shim_sbuf b = {buf, sizeof(buf), 0, false};
	shunt_shim_puts(&b, "shunt: policy snapshot ");
	shunt_shim_puts(&b, shunt_shim_snap_path);
	shunt_shim_puts(&b, " is unusable (");
	shunt_shim_puts(&b, shunt_snapshot_strerror(status));
	shunt_shim_puts(&b,
			"); using built-in defaults, risky commands go through the gate; fix with: "
			"shunt snapshot\n");
	shunt_shim_say(buf);
}

/* Maps the shared counters once per process (never creates the file).
 * A parent calls this at each fork, so its children inherit the mapping;
 * a missing file is looked for again at most once a second. */
void shunt_shim_counters_ready(void)
{
	static _Atomic int64_t next_try;
	struct shunt_counters *c =
	    atomic_load_explicit(&shunt_shim_fast->counters, memory_order_acquire);
	if (c && c != SHUNT_FAST_NONE)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	int64_t t = now.tv_sec, due = atomic_load_explicit(&next_try, memory_order_relaxed);
	if (c && t < due)
		return;
	atomic_store_explicit(&next_try, t + 1, memory_order_relaxed);
	struct shunt_counters *m = shunt_shim_counters_path[0]
				       ? shunt_counters_map(shunt_shim_counters_path, false)
				       : NULL;
	if (!m)
		m = SHUNT_FAST_NONE;
	if (atomic_compare_exchange_strong_explicit(&shunt_shim_fast->counters, &c, m,
						    memory_order_acq_rel, memory_order_acquire))
		return;
	if (m != SHUNT_FAST_NONE)
		shunt_counters_unmap(m);
}

/* Counts a host exec in the shared counters (the gate counts the rest).
 * A process that did not inherit a mapping tries once to map it. */
static void count_host(enum shunt_risk risk, bool trusted)
{
	struct shunt_counters *c =
	    atomic_load_explicit(&shunt_shim_fast->counters, memory_order_acquire);
	if (!c) {
		shunt_shim_counters_ready();
		c = atomic_load_explicit(&shunt_shim_fast->counters, memory_order_acquire);
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

void shunt_shim_cache_ready(void)
{
	if (atomic_load_explicit(&shunt_shim_fast->cache, memory_order_acquire))
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
	if (!atomic_compare_exchange_strong_explicit(&shunt_shim_fast->cache, &expected, c,
						     memory_order_acq_rel, memory_order_acquire) &&
	    c != SHUNT_FAST_NONE)
		munmap(c, len);
}

static struct shunt_fast_cache *cache_get(void)
{
	struct shunt_fast_cache *c =
	    atomic_load_explicit(&shunt_shim_fast->cache, memory_order_acquire);
	return c == SHUNT_FAST_NONE ? NULL : c;
}

/* Host execs that children counted in the cache go into the counters
 * file (see struct shunt_fast_cache). */
void shunt_shim_flush_counts(void)
{
	struct shunt_fast_cache *c = cache_get();
	if (c)
		shunt_fast_flush(
		    c, atomic_load_explicit(&shunt_shim_fast->counters, memory_order_acquire));
}

/* The last process to share a cache may simply exit. */
__attribute__((destructor)) static void core_fini(void)
{
	int e = errno;
	shunt_shim_flush_counts();
	errno = e;
}

/* ---- deciding ---- */

/* Appends at most one screen line of cmd (the terminal's width on
 * stderr, else 200 columns): a longer one is cut and says its length.
 * Control characters show as '?'. Returns whether it was cut. */
static bool sb_put_cut(struct shunt_shim_sbuf *b, const char *cmd)
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
		shunt_shim_puts(b, one);
	}
	if (keep == len)
		return false;
	char num[24], *p = num + sizeof(num) - 1;
	*p = '\0';
	do
		*--p = (char)('0' + len % 10);
	while ((len /= 10) && p > num);
	shunt_shim_puts(b, "... (");
	shunt_shim_puts(b, p);
	shunt_shim_puts(b, " bytes)");
	return true;
}

/* The decision as `shunt gate --shim-blocked` records it. */
static void block_decided(const struct shunt_decision *d, struct shunt_shim_blocked *bk)
{
	struct shunt_shim_sbuf b = {bk->decided, sizeof(bk->decided), 0, false};
	char num[8] = {(char)('0' + (int)d->risk), ':', '\0'};
	shunt_shim_puts(&b, num);
	int score = d->score < 0 ? 0 : d->score > 100 ? 100 : d->score, i = 0;
	if (score >= 100)
		num[i++] = '1';
	if (score >= 10)
		num[i++] = (char)('0' + score / 10 % 10);
	num[i++] = (char)('0' + score % 10);
	num[i++] = ':';
	num[i] = '\0';
	shunt_shim_puts(&b, num);
	for (size_t r = 0; r < d->nrules; r++) {
		if (r)
			shunt_shim_puts(&b, ",");
		shunt_shim_puts(&b, d->rules[r]);
	}
	struct shunt_shim_sbuf w = {bk->why, sizeof(bk->why), 0, false};
	shunt_shim_puts(&w, d->why);
}

static void block_message(const struct shunt_decision *d, const char *fallback,
			  struct shunt_shim_blocked *bk)
{
	block_decided(d, bk);
	char *msg = bk->msg;
	size_t cap = sizeof(bk->msg);
	struct shunt_shim_sbuf b = {msg, cap, 0, false};
	const char *cmd = d->cmdline.line && *d->cmdline.line ? d->cmdline.line : fallback;
	shunt_shim_puts(&b, "shunt: blocked: ");
	bool cut = sb_put_cut(&b, cmd);
	shunt_shim_puts(&b, " [");
	shunt_shim_puts(&b, d->nrules ? d->rules[0] : "policy");
	shunt_shim_puts(&b, "]: ");
	shunt_shim_puts(&b, d->why);
	if (cut) {
		shunt_shim_puts(&b, "; allow with: shunt trust add 'THE WHOLE COMMAND'");
	} else {
		shunt_shim_puts(&b, "; allow with: shunt trust add '");
		shunt_shim_puts(&b, cmd);
		shunt_shim_puts(&b, "'");
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

/* The request the shim decides an exec with, in the working directory
 * cwd and workspace ws. */
static struct shunt_request shim_request(const char *exe, const char *cwd, const char *ws)
{
	struct timespec now = {0};
	clock_gettime(CLOCK_REALTIME, &now);
	struct shunt_request req = {0};
	req.exe = exe;
	req.cwd = cwd;
	req.workspace = ws;
	req.home = getenv("HOME");
	req.interactive = true; /* prompts are the gate's business, never blocks here */
	req.source = SHUNT_SOURCE_SHIM;
	req.now = now.tv_sec;
	/* busybox sh s.sh never execs its commands, python3 x.py deletes
	 * in-process: the script's first bytes are read here too */
	req.script_max = SHUNT_SCRIPT_MAX_SHIM;
	return req;
}

/* ---- this process's own decision (policy/inherit.h) ---- */

#define SELF_CMDLINE_MAX (64 * 1024)

/* This process's command, decided now as the shim would have decided its
 * exec, for a process no layer's record names: the first program under
 * the shim in its tree (a child of a shell that exported LD_PRELOAD but
 * does not load it itself, as the line hook's shell) or one started from
 * a script whose record names the script, not the interpreter. Its
 * command line comes from /proc/self/cmdline, which the program could
 * have rewritten: it then runs code of its own already, and gains no
 * more than what a command line decided host may have. Only asked on the
 * rare path (an exec that is not host); memory from mmap. */
static bool judge_self(struct shunt_shim_slot *s, struct shunt_inherit *out)
{
	size_t len = SELF_CMDLINE_MAX + ARENA_SIZE + (SELF_CMDLINE_MAX / 2 + 2) * sizeof(char *);
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	bool ok = false;
	size_t n = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && n < SELF_CMDLINE_MAX) {
		ssize_t r = read(fd, m + n, SELF_CMDLINE_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	char exe[PATH_MAX], cwd[PATH_MAX], ws[PATH_MAX];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	/* a command line that does not fit is not decided (judged alone) */
	if (n == 0 || n >= SELF_CMDLINE_MAX || el <= 0 || stat("/proc/self/exe", &st) < 0)
		goto out;
	exe[el] = '\0';
	m[n] = '\0';
	const char **argv = (const char **)(m + SELF_CMDLINE_MAX + ARENA_SIZE);
	size_t argc = 0;
	for (size_t i = 0; i < n; i += strlen(m + i) + 1)
		argv[argc++] = m + i;
	argv[argc] = NULL;
	size_t wslen = where(cwd);
	memcpy(ws, cwd, wslen);
	ws[wslen] = '\0';
	struct shunt_request req = shim_request(exe, cwd, ws);
	req.argv = argv;
	req.argc = argc;
	struct shunt_arena a;
	shunt_arena_init_fixed(&a, m + SELF_CMDLINE_MAX, ARENA_SIZE);
	struct shunt_decision d;
	if (shunt_decide_exec(s->policy, &req, NULL, &a, &d, NULL) == 0 &&
	    d.action == SHUNT_ACTION_HOST) {
		*out = (struct shunt_inherit){'s', d.risk, d.remote_effect, (uint64_t)st.st_dev,
					      (uint64_t)st.st_ino};
		ok = true;
	}
out:
	munmap(m, len);
	return ok;
}

/* The record this process runs under: the one it was started with when
 * it names this program, else its own command decided now (once per
 * process; a forked child shares its parent's answer). */
static bool own_record(struct shunt_shim_slot *s, struct shunt_inherit *out)
{
	static STATE atomic_int state; /* 0 not asked, 1 have, 2 none, 3 being written */
	static STATE struct shunt_inherit self;
	int st = atomic_load_explicit(&state, memory_order_acquire);
	if (st == 1 || st == 2) {
		if (st == 1)
			*out = self;
		return st == 1;
	}
	struct shunt_inherit mine;
	struct stat me;
	const struct shunt_inherit *b = &shunt_shim_self_record;
	bool have;
	if (shunt_shim_have_self_record && stat("/proc/self/exe", &me) == 0 &&
	    (uint64_t)me.st_dev == b->dev && (uint64_t)me.st_ino == b->ino) {
		mine = *b;
		have = true;
	} else {
		have = judge_self(s, &mine);
	}
	int expected = 0;
	if (atomic_compare_exchange_strong_explicit(&state, &expected, 3, memory_order_acq_rel,
						    memory_order_acquire)) {
		if (have)
			self = mine;
		atomic_store_explicit(&state, have ? 1 : 2, memory_order_release);
	}
	if (have)
		*out = mine;
	return have;
}

/* given_cwd/given_wslen: from where(), when the caller already asked;
 * NULL otherwise. */
__attribute__((noinline)) static enum shunt_shim_verdict
judge_slow(struct shunt_shim_slot *s, const char *invoked, const char *exe, char *const argv[],
	   const char *line, const char *given_cwd, size_t given_wslen,
	   const struct shunt_fast_key *key, struct shunt_shim_blocked *bk,
	   struct shunt_inherit *acc)
{
	bool unusable = s->id.status != 0 && s->id.status != -ENOENT;
	char cwd[PATH_MAX], ws[PATH_MAX];
	size_t wslen = given_cwd ? given_wslen : where(cwd);
	if (given_cwd)
		memcpy(cwd, given_cwd, strlen(given_cwd) + 1);
	memcpy(ws, cwd, wslen);
	ws[wslen] = '\0';
	static const char *const empty[] = {NULL};
	struct shunt_request req = shim_request(exe, cwd, ws);
	if (line) {
		req.line = line;
		req.line_len = strlen(line);
	} else {
		req.argv = argv ? (const char *const *)argv : empty;
		req.argc = shunt_shim_count(argv);
	}

	_Alignas(16) char abuf[ARENA_SIZE];
	struct shunt_arena a;
	shunt_arena_init_fixed(&a, abuf, sizeof(abuf));
	struct shunt_decision d;
	int rc = line ? shunt_decide(s->policy, &req, &a, &d)
		      : shunt_decide_exec(s->policy, &req, invoked, &a, &d, NULL);
	if (rc < 0)
		return SHUNT_SHIM_GATE; /* too big for the fast path */
	acc->risk = d.risk;
	acc->remote = d.remote_effect;
	if (d.action == SHUNT_ACTION_HOST) {
		/* a key without the cwd must not hold an answer that read it */
		bool keyed = key && !d.read_script && (given_cwd || !d.cwd_dependent);
		struct shunt_fast_cache *cache = keyed ? cache_get() : NULL;
		if (cache && !d.trusted)
			shunt_fast_store(cache, key, shunt_fast_hash(key), (int)d.risk);
		count_host(d.risk, d.trusted);
		return SHUNT_SHIM_HOST;
	}
	/* A command of a line a human just approved (shunt exec serves the
	 * approval over an inherited socket; see policy/approval.h): no
	 * second prompt. Forged variables or sockets fail the check. */
	if (getenv(SHUNT_APPROVAL_ENV)) {
		uint8_t k[32];
		shunt_approval_key(d.cmdline.line ? d.cmdline.line : "", k);
		if (shunt_approval_check(shunt_shim_gate_path, k) == 1)
			return SHUNT_SHIM_HOST;
	}
	/* The program's own work, under the decision made for it (see
	 * policy/inherit.h): no second prompt, and no more than what was
	 * accepted for the parent goes along to the child. */
	const char *why;
	struct shunt_inherit own;
	if (!line && own_record(s, &own) && shunt_inherit_applies(&own, &d, exe, &why)) {
		acc->risk = own.risk;
		acc->remote = own.remote;
		count_host(d.risk, false);
		return SHUNT_SHIM_HOST;
	}
	/* only said when it changes what happens: low-risk commands behave
	 * the same under the built-in defaults */
	if (unusable)
		warn_unusable(s->id.status);
	if (d.action == SHUNT_ACTION_BLOCK && !unusable) {
		block_message(&d, line ? line : exe, bk);
		return SHUNT_SHIM_BLOCK;
	}
	return SHUNT_SHIM_GATE;
}

/* Decides an argv (exe resolved, invoked as exec'd) or a shell line.
 * Fills msg for SHUNT_SHIM_BLOCK, *acc for SHUNT_SHIM_HOST. */
enum shunt_shim_verdict shunt_shim_judge(const char *invoked, const char *exe, char *const argv[],
					 const char *line, struct shunt_shim_blocked *bk,
					 struct shunt_inherit *acc)
{
	struct shunt_inherit scratch;
	if (!acc)
		acc = &scratch;
	*acc = (struct shunt_inherit){.layer = 's'};
	if (shunt_shim_fast->inert)
		return SHUNT_SHIM_HOST;
	struct shunt_shim_slot *s = shunt_shim_current_slot();
	if (!s)
		return SHUNT_SHIM_GATE;
	struct shunt_fast_cache *cache = cache_get();
	if (line || !cache)
		return judge_slow(s, invoked, exe, argv, line, NULL, 0, NULL, bk, acc);
	/* the same key the interposer's exec path builds (which sees no
	 * symlinks: those carry the name they were run by as well) */
	char cwd[PATH_MAX];
	const char *c = NULL;
	size_t wslen = 0;
	if (!shunt_fast_path_free(argv)) {
		wslen = where(cwd);
		c = cwd;
	}
	struct shunt_fast_key k;
	shunt_fast_key(&k, &s->id, exe, invoked && strcmp(invoked, exe) != 0 ? invoked : NULL, argv,
		       c, wslen, shunt_fast_env_home(environ));
	int risk = k.overflow ? -1 : shunt_fast_lookup(cache, &k, shunt_fast_hash(&k));
	if (risk >= 0) {
		count_host((enum shunt_risk)risk, false);
		acc->risk = (enum shunt_risk)risk;
		return SHUNT_SHIM_HOST;
	}
	return judge_slow(s, invoked, exe, argv, line, c, wslen, k.overflow ? NULL : &k, bk, acc);
}
