/* shuntd's warm pools. The table lives in a MAP_SHARED mapping made before
 * the daemon forks its connection children; the VMs' fds and job state
 * live in the daemon's own array, which each child inherits as it was at
 * its fork. A slot's word carries a generation, so a child only claims a
 * VM its copy of the array really describes. A plan whose pool key has no
 * ready VM runs cold and leaves its boot template ("want") for the daemon,
 * which keeps pool.size VMs warm per key from then on. */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "microvm.h"

#define NRT	    7
#define SLOTS	    16
#define WANTS	    8
#define TMPL_MAX    8192
#define BOOT_MAX_MS 180000 /* a boot that never reports warm is given up */

enum { S_FREE, S_BOOTING, S_READY, S_CLAIMED };

struct slot {
	atomic_uint word; /* gen << 2 | state */
	int want;
	char key[32];
};

struct want {
	atomic_int state; /* 0 empty, 1 being written, 2 set */
	int rt;
	char key[32];
	char profile[24];
	char workspace[512]; /* for /v1/pools only */
	char tmpl[TMPL_MAX];
};

struct shared {
	unsigned size[NRT];
	struct slot slots[SLOTS];
	struct want wants[WANTS];
	atomic_ulong warm_runs[NRT], cold_fallbacks[NRT], boots[NRT], boot_failures[NRT];
	atomic_int in_use[NRT];
};

static struct shared *S;
/* daemon-private (inherited by children as of their fork) */
static struct shunt_microvm_warm vms[SLOTS];
static unsigned gens[SLOTS];
static long long boot_started[SLOTS];
static pid_t owned[SLOTS * 4]; /* VMM pids still to be reaped */
static unsigned seq;

static unsigned st_of(unsigned w)
{
	return w & 3;
}

static unsigned gen_of(unsigned w)
{
	return w >> 2;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int shunt_pool_init(const unsigned sizes[7], struct shunt_error **err)
{
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED) {
		S = NULL;
		return shunt_error_sys(err, errno, "mmap");
	}
	for (int i = 0; i < NRT; i++)
		S->size[i] = sizes[i];
	/* only the microVM has a warm form yet */
	S->size[SHUNT_RUNTIME_GVISOR] = 0;
	for (int i = 0; i < SLOTS; i++)
		vms[i].out_fd = vms[i].err_fd = vms[i].ctl_fd = -1;
	return 0;
}

/* ---- templates: what the daemon needs from a plan to boot its VM ---- */

static bool clean(const char *s)
{
	return !strpbrk(s, "\t\n");
}

static int tmpl_write(const struct shunt_plan *plan, char *out, size_t cap)
{
	struct shunt_buf b = {0};
	if (plan->workspace && !clean(plan->workspace))
		return -1;
	shunt_buf_printf(&b, "ws\t%s\nrw\t%d\nmem\t%llu\ncpus\t%.17g\n",
			 plan->workspace ? plan->workspace : "", plan->workspace_rw,
			 plan->mem_bytes, plan->cpus);
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (m->kind == SHUNT_MOUNT_BIND)
			continue;
		if (!clean(m->guest)) {
			shunt_buf_free(&b);
			return -1;
		}
		shunt_buf_printf(&b, "m\t%d\t%s\n", (int)m->kind, m->guest);
	}
	int rc = -1;
	if (b.data && b.len < cap) {
		memcpy(out, b.data, b.len + 1);
		rc = 0;
	}
	shunt_buf_free(&b);
	return rc;
}

static void tmpl_plan_free(struct shunt_plan *p)
{
	free(p->workspace);
	for (size_t i = 0; i < p->nmounts; i++)
		free(p->mounts[i].guest);
	free(p->mounts);
}

static int tmpl_read(const char *t, struct shunt_plan *p)
{
	static char *argv[] = {"true", NULL};
	memset(p, 0, sizeof(*p));
	p->argv = argv;
	p->network = SHUNT_NET_NONE;
	p->uid = p->gid = -1;
	snprintf(p->run_id, sizeof(p->run_id), "pool-%ld-%u", (long)getpid(), seq++);
	char *copy = strdup(t);
	if (!copy)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '\t');
		if (!v)
			continue;
		*v++ = 0;
		if (strcmp(line, "ws") == 0 && *v) {
			p->workspace = strdup(v);
		} else if (strcmp(line, "rw") == 0) {
			p->workspace_rw = strcmp(v, "1") == 0;
		} else if (strcmp(line, "mem") == 0) {
			p->mem_bytes = strtoull(v, NULL, 10);
		} else if (strcmp(line, "cpus") == 0) {
			p->cpus = strtod(v, NULL);
		} else if (strcmp(line, "m") == 0) {
			char *g = strchr(v, '\t');
			struct shunt_mount *nm =
			    g ? realloc(p->mounts, (p->nmounts + 1) * sizeof(*nm)) : NULL;
			if (!nm)
				continue;
			p->mounts = nm;
			memset(&nm[p->nmounts], 0, sizeof(*nm));
			nm[p->nmounts].kind = (enum shunt_mount_kind)atoi(v);
			nm[p->nmounts].guest = strdup(g + 1);
			if (nm[p->nmounts].guest)
				p->nmounts++;
		}
	}
	free(copy);
	return 0;
}

/* ---- in a connection's child ---- */

static int want_register(int rt, const char *key, const struct shunt_plan *plan)
{
	for (int i = 0; i < WANTS; i++) {
		struct want *w = &S->wants[i];
		if (atomic_load(&w->state) == 2 && w->rt == rt && strcmp(w->key, key) == 0)
			return i;
	}
	for (int i = 0; i < WANTS; i++) {
		struct want *w = &S->wants[i];
		int empty = 0;
		if (!atomic_compare_exchange_strong(&w->state, &empty, 1))
			continue;
		if (tmpl_write(plan, w->tmpl, sizeof(w->tmpl)) < 0) {
			atomic_store(&w->state, 0);
			return -1;
		}
		w->rt = rt;
		snprintf(w->key, sizeof(w->key), "%s", key);
		snprintf(w->profile, sizeof(w->profile), "%s", shunt_profile_name(plan->profile));
		snprintf(w->workspace, sizeof(w->workspace), "%s",
			 plan->workspace ? plan->workspace : "");
		atomic_store(&w->state, 2);
		return i;
	}
	return -1; /* table full: these keys stay cold */
}

int shunt_pool_run(const struct shunt_plan *plan, bool *used, int *status, struct shunt_error **err)
{
	*used = false;
	int rt = (int)plan->runtime;
	if (!S || rt != SHUNT_RUNTIME_MICROVM || !S->size[rt])
		return 0;
	char key[32];
	if (shunt_microvm_pool_key(plan, key) < 0) {
		atomic_fetch_add(&S->cold_fallbacks[rt], 1);
		return 0;
	}
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &S->slots[i];
		unsigned w = atomic_load(&s->word);
		if (st_of(w) != S_READY || gen_of(w) != gens[i] || vms[i].pid <= 0 ||
		    strcmp(s->key, key) != 0)
			continue;
		if (!atomic_compare_exchange_strong(&s->word, &w, (gen_of(w) << 2) | S_CLAIMED))
			continue;
		*used = true;
		atomic_fetch_add(&S->warm_runs[rt], 1);
		atomic_fetch_add(&S->in_use[rt], 1);
		/* the daemon refills as soon as it sees the claim */
		int rc = shunt_microvm_warm_run(&vms[i], plan, status, err);
		atomic_fetch_sub(&S->in_use[rt], 1);
		return rc;
	}
	atomic_fetch_add(&S->cold_fallbacks[rt], 1);
	want_register(rt, key, plan);
	return 0;
}

/* ---- in the daemon ---- */

static void own(pid_t pid)
{
	for (size_t i = 0; i < sizeof(owned) / sizeof(*owned); i++)
		if (!owned[i]) {
			owned[i] = pid;
			return;
		}
}

bool shunt_pool_reaped(pid_t pid)
{
	for (size_t i = 0; i < sizeof(owned) / sizeof(*owned); i++)
		if (owned[i] == pid) {
			owned[i] = 0;
			return true;
		}
	return false;
}

static void close_fds(struct shunt_microvm_warm *vm)
{
	if (vm->out_fd >= 0)
		close(vm->out_fd);
	if (vm->err_fd >= 0)
		close(vm->err_fd);
	if (vm->ctl_fd >= 0)
		close(vm->ctl_fd);
	vm->out_fd = vm->err_fd = vm->ctl_fd = -1;
	vm->pid = 0;
}

static void set_state(int i, unsigned st)
{
	atomic_store(&S->slots[i].word, (gens[i] << 2) | st);
}

static int count_key(int want)
{
	int n = 0;
	for (int i = 0; i < SLOTS; i++) {
		unsigned st = st_of(atomic_load(&S->slots[i].word));
		if ((st == S_BOOTING || st == S_READY) && S->slots[i].want == want)
			n++;
	}
	return n;
}

static void boot_one(int want)
{
	struct want *w = &S->wants[want];
	int i;
	for (i = 0; i < SLOTS; i++)
		if (st_of(atomic_load(&S->slots[i].word)) == S_FREE && vms[i].pid == 0)
			break;
	if (i == SLOTS)
		return;
	struct shunt_plan p;
	if (tmpl_read(w->tmpl, &p) < 0)
		return;
	struct shunt_error *e = NULL;
	atomic_fetch_add(&S->boots[w->rt], 1);
	if (shunt_microvm_warm_boot(&p, &vms[i], &e) < 0) {
		/* no VMM or no image any more: stop trying for this key;
		 * its next cold run registers it again */
		atomic_fetch_add(&S->boot_failures[w->rt], 1);
		shunt_error_free(&e);
		tmpl_plan_free(&p);
		vms[i].pid = 0;
		atomic_store(&w->state, 0);
		return;
	}
	tmpl_plan_free(&p);
	own((pid_t)vms[i].pid);
	if (strcmp(vms[i].key, w->key) != 0) {
		/* the image changed since the template was made: forget it */
		shunt_microvm_warm_discard(&vms[i]);
		close_fds(&vms[i]);
		atomic_store(&w->state, 0);
		return;
	}
	gens[i]++;
	S->slots[i].want = want;
	snprintf(S->slots[i].key, sizeof(S->slots[i].key), "%s", w->key);
	boot_started[i] = now_ms();
	set_state(i, S_BOOTING);
}

int shunt_pool_tick(void)
{
	if (!S)
		return 500;
	bool booting = false;
	for (int i = 0; i < SLOTS; i++) {
		unsigned st = st_of(atomic_load(&S->slots[i].word));
		int rt = S->wants[S->slots[i].want].rt;
		if (st == S_CLAIMED) {
			/* the claimer runs and removes it; we keep no copy */
			close_fds(&vms[i]);
			set_state(i, S_FREE);
		} else if (st == S_BOOTING || st == S_READY) {
			int ws = shunt_microvm_warm_state(&vms[i]);
			if (st == S_BOOTING && ws == 0 && now_ms() - boot_started[i] > BOOT_MAX_MS)
				ws = -1;
			if (ws < 0) {
				unsigned w = (gens[i] << 2) | st;
				/* a child may claim it right now: only a CAS frees it */
				if (!atomic_compare_exchange_strong(&S->slots[i].word, &w,
								    (gens[i] << 2) | S_FREE))
					continue;
				atomic_fetch_add(&S->boot_failures[rt], 1);
				shunt_microvm_warm_discard(&vms[i]);
				close_fds(&vms[i]);
			} else if (ws == 1 && st == S_BOOTING) {
				set_state(i, S_READY);
			} else if (st == S_BOOTING) {
				booting = true;
			}
		}
	}
	if (!booting) {
		/* one boot at a time: a pool fill must not starve the
		 * commands running now */
		for (int k = 0; k < WANTS; k++) {
			struct want *w = &S->wants[k];
			if (atomic_load(&w->state) != 2 || count_key(k) >= (int)S->size[w->rt])
				continue;
			boot_one(k);
			booting = true;
			break;
		}
	}
	return booting ? 50 : 500;
}

void shunt_pool_stop(void)
{
	if (!S)
		return;
	for (int i = 0; i < SLOTS; i++) {
		unsigned st = st_of(atomic_load(&S->slots[i].word));
		if (st == S_BOOTING || st == S_READY)
			shunt_microvm_warm_discard(&vms[i]);
		close_fds(&vms[i]);
		set_state(i, S_FREE);
	}
}

/* ---- reporting ---- */

struct counts {
	int ready, booting;
};

static struct counts count(int rt, int want)
{
	struct counts c = {0, 0};
	for (int i = 0; i < SLOTS; i++) {
		unsigned st = st_of(atomic_load(&S->slots[i].word));
		int k = S->slots[i].want;
		if ((want >= 0 && k != want) || S->wants[k].rt != rt)
			continue;
		c.ready += st == S_READY;
		c.booting += st == S_BOOTING;
	}
	return c;
}

static const int pool_rts[] = {SHUNT_RUNTIME_MICROVM, SHUNT_RUNTIME_GVISOR};

void shunt_pool_json(struct shunt_buf *b)
{
	shunt_buf_puts(b, "{\"pools\":[");
	for (size_t r = 0; r < 2; r++) {
		int rt = pool_rts[r];
		unsigned size = S ? S->size[rt] : 0;
		struct counts c = S ? count(rt, -1) : (struct counts){0, 0};
		shunt_buf_printf(b,
				 "%s{\"runtime\":\"%s\",\"size\":%u,\"ready\":%d,\"booting\":%d,"
				 "\"in_use\":%d,\"warm_runs\":%lu,\"cold_fallbacks\":%lu,"
				 "\"boot_failures\":%lu,\"keys\":[",
				 r ? "," : "", shunt_runtime_name(rt), size, c.ready, c.booting,
				 S ? atomic_load(&S->in_use[rt]) : 0,
				 S ? atomic_load(&S->warm_runs[rt]) : 0,
				 S ? atomic_load(&S->cold_fallbacks[rt]) : 0,
				 S ? atomic_load(&S->boot_failures[rt]) : 0);
		bool first = true;
		for (int k = 0; S && k < WANTS; k++) {
			struct want *w = &S->wants[k];
			if (atomic_load(&w->state) != 2 || w->rt != rt)
				continue;
			struct counts kc = count(rt, k);
			shunt_buf_printf(b, "%s{\"key\":\"%s\",\"profile\":\"%s\",\"workspace\":",
					 first ? "" : ",", w->key, w->profile);
			shunt_buf_json_str(b, w->workspace, strlen(w->workspace));
			shunt_buf_printf(b, ",\"size\":%u,\"ready\":%d,\"booting\":%d}", size,
					 kc.ready, kc.booting);
			first = false;
		}
		shunt_buf_puts(b, "]}");
	}
	shunt_buf_puts(b, "]}\n");
}

void shunt_pool_metrics(struct shunt_buf *b)
{
	static const char *const gauges[][2] = {
	    {"shuntd_pool_size", "Warm sandboxes to keep per pool key (pool.size)."},
	    {"shuntd_pool_ready", "Warm sandboxes ready for a command."},
	    {"shuntd_pool_booting", "Warm sandboxes booting."},
	    {"shuntd_pool_in_use", "Warm sandboxes running a command."},
	};
	static const char *const counters[][2] = {
	    {"shuntd_pool_warm_runs_total", "Commands run in a warm sandbox."},
	    {"shuntd_pool_cold_fallbacks_total", "Commands started cold: no warm sandbox ready."},
	    {"shuntd_pool_boot_failures_total", "Warm sandboxes that failed to boot or died."},
	};
	for (size_t g = 0; g < 4; g++) {
		shunt_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g][0], gauges[g][1],
				 gauges[g][0]);
		for (size_t r = 0; r < 2; r++) {
			int rt = pool_rts[r];
			struct counts c = S ? count(rt, -1) : (struct counts){0, 0};
			long v = !S	  ? 0
				 : g == 0 ? (long)S->size[rt]
				 : g == 1 ? c.ready
				 : g == 2 ? c.booting
					  : atomic_load(&S->in_use[rt]);
			shunt_buf_printf(b, "%s{runtime=\"%s\"} %ld\n", gauges[g][0],
					 shunt_runtime_name(rt), v);
		}
	}
	for (size_t g = 0; g < 3; g++) {
		shunt_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", counters[g][0],
				 counters[g][1], counters[g][0]);
		for (size_t r = 0; r < 2; r++) {
			int rt = pool_rts[r];
			unsigned long v = !S	   ? 0
					  : g == 0 ? atomic_load(&S->warm_runs[rt])
					  : g == 1 ? atomic_load(&S->cold_fallbacks[rt])
						   : atomic_load(&S->boot_failures[rt]);
			shunt_buf_printf(b, "%s{runtime=\"%s\"} %lu\n", counters[g][0],
					 shunt_runtime_name(rt), v);
		}
	}
}
