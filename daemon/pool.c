/* shuntd's warm pools. The table lives in a MAP_SHARED mapping made before
 * the daemon forks its connection children; the VMs' fds and job state
 * live in the daemon's own array, which each child inherits as it was at
 * its fork. A slot's word carries a generation, so a child only claims a
 * VM its copy of the array really describes. A plan whose pool key has no
 * ready VM runs cold and leaves its boot template ("want") for the daemon,
 * which keeps pool.size VMs warm per key from then on. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gvisor.h"
#include "microvm.h"

#define NRT	    7
#define SLOTS	    16
#define WANTS	    8
#define TMPL_MAX    65536  /* a gVisor config.json with its seccomp profile */
#define BOOT_MAX_MS 180000 /* a boot that never reports warm is given up */

/* gVisor: CLAIMED until the daemon reaps `runsc run`, then DONE with the
 * exit status in result until the claimer takes it (claimer: DONE ->
 * FREE). */
enum { S_FREE, S_BOOTING, S_READY, S_CLAIMED, S_DONE };

struct slot {
	atomic_uint word; /* gen << 3 | state */
	int want;
	int rt;
	atomic_int result; /* gVisor: the wait status of `runsc run` */
	char key[32];
};

struct want {
	atomic_int state;     /* 0 empty, 1 being written, 2 set */
	atomic_llong last_ms; /* last asked for, or a sandbox got ready (CLOCK_MONOTONIC) */
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
	atomic_int cold_pid[32]; /* processes doing a cold start of a pooled runtime */
	pid_t daemon;		 /* the pool keeper */
	long long idle_ms;	 /* a key not asked for this long loses its sandboxes */
};

static struct shared *S;
/* daemon-private (inherited by children as of their fork) */
static struct shunt_microvm_warm vms[SLOTS];
static struct shunt_gvisor_warm gvs[SLOTS];
static unsigned gens[SLOTS];
static long long boot_started[SLOTS], done_at[SLOTS];
static char bootbuf[SLOTS][32]; /* gVisor: what its init printed so far */
static bool dead[SLOTS];	/* gVisor: `runsc run` reaped */
static pid_t owned[SLOTS * 4];	/* VMM pids still to be reaped */
static unsigned seq;

static unsigned st_of(unsigned w)
{
	return w & 7;
}

static unsigned gen_of(unsigned w)
{
	return w >> 3;
}

static unsigned mkword(unsigned gen, unsigned st)
{
	return gen << 3 | st;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The warm state of slot i (what the runtime's warm ops take). */
static void *slot_state(int i, int rt)
{
	return rt == SHUNT_RUNTIME_GVISOR ? (void *)&gvs[i] : (void *)&vms[i];
}

/* rt's warm ops (runner.h); the pool only keeps runtimes that have them. */
static const struct shunt_runner_warm *ops(int rt)
{
	return shunt_runner_warm((enum shunt_runtime)rt);
}

static void on_chld(int sig)
{
	(void)sig; /* only to interrupt the daemon's poll: reap promptly */
}

int shunt_pool_init(const unsigned sizes[7], struct shunt_error **err)
{
	struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_NOCLDSTOP};
	sigaction(SIGCHLD, &sa, NULL);
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED) {
		S = NULL;
		return shunt_error_sys(err, errno, "mmap");
	}
	S->daemon = getpid();
	for (int i = 0; i < NRT; i++)
		S->size[i] = sizes[i];
	/* idle keys give their sandboxes back after 30 min (tests: shorter) */
	const char *idle = getenv("SHUNT_POOL_IDLE_S");
	long long is = idle && *idle ? atoll(idle) : 1800;
	S->idle_ms = (is > 0 ? is : 1800) * 1000;
	for (int i = 0; i < SLOTS; i++) {
		vms[i].out_fd = vms[i].err_fd = vms[i].ctl_fd = -1;
		gvs[i].out_fd = gvs[i].err_fd = gvs[i].ctl_fd = -1;
	}
	return 0;
}

/* ---- in a connection's child ---- */

static int want_register(int rt, const char *key, const struct shunt_plan *plan,
			 const struct shunt_buf *tmpl)
{
	for (int i = 0; i < WANTS; i++) {
		struct want *w = &S->wants[i];
		if (atomic_load(&w->state) == 2 && w->rt == rt && strcmp(w->key, key) == 0) {
			atomic_store(&w->last_ms, now_ms());
			return i;
		}
	}
	if (tmpl->len >= TMPL_MAX)
		return -1;
	for (int i = 0; i < WANTS; i++) {
		struct want *w = &S->wants[i];
		int empty = 0;
		if (!atomic_compare_exchange_strong(&w->state, &empty, 1))
			continue;
		memcpy(w->tmpl, tmpl->data, tmpl->len);
		w->tmpl[tmpl->len] = 0;
		w->rt = rt;
		atomic_store(&w->last_ms, now_ms());
		snprintf(w->key, sizeof(w->key), "%s", key);
		snprintf(w->profile, sizeof(w->profile), "%s", shunt_profile_name(plan->profile));
		snprintf(w->workspace, sizeof(w->workspace), "%s",
			 plan->workspace ? plan->workspace : "");
		atomic_store(&w->state, 2);
		return i;
	}
	return -1; /* table full: these keys stay cold */
}

static void copy_ready(int from, int to, bool *open)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open = false;
		return;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return; /* reader gone: keep draining */
		off += w;
	}
}

/* Runs plan in the claimed warm sandbox of slot i whose runtime has no
 * run op (gVisor): the command line on its control fd, its output to
 * ours, the exit status from the daemon once it reaped the sandbox. */
static int handover_run(int i, const struct shunt_runner_warm *W, const struct shunt_plan *plan,
			int *status, struct shunt_error **err)
{
	struct shunt_gvisor_warm *g = &gvs[i];
	struct shunt_buf line = {0};
	W->command(plan, &line);
	/* a sandbox that died under us: EPIPE, not SIGPIPE */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	bool sent = line.data && write(g->ctl_fd, line.data, line.len) == (ssize_t)line.len;
	signal(SIGPIPE, old);
	shunt_buf_free(&line);
	close(g->ctl_fd);
	g->ctl_fd = -1;
	if (!sent)
		W->kill(g);
	long long deadline = plan->timeout ? now_ms() + (long long)plan->timeout * 1000 : 0;
	long long closed_at = 0;
	bool oo = true, eo = true, timed_out = false, lost = false;
	struct slot *s = &S->slots[i];
	for (;;) {
		unsigned w = atomic_load(&s->word);
		if (st_of(w) == S_DONE && gen_of(w) == gens[i])
			break;
		if (!oo && !eo && !closed_at)
			closed_at = now_ms();
		/* the output is closed and the daemon, which reaps `runsc
		 * run`, says nothing: it is gone */
		if (closed_at && (now_ms() - closed_at > 30000 || kill(S->daemon, 0) < 0)) {
			lost = true;
			break;
		}
		if (deadline && !timed_out && now_ms() >= deadline) {
			timed_out = true;
			W->kill(g);
		}
		struct pollfd pf[2] = {{oo ? g->out_fd : -1, POLLIN, 0},
				       {eo ? g->err_fd : -1, POLLIN, 0}};
		int n = poll(pf, 2, 5);
		if (n > 0 && pf[0].revents)
			copy_ready(g->out_fd, 1, &oo);
		if (n > 0 && pf[1].revents)
			copy_ready(g->err_fd, 2, &eo);
	}
	/* `runsc run` returned: what is left in the pipes, without waiting
	 * for helpers that still hold them */
	for (int k = 0; k < 2; k++) {
		int fd = k ? g->err_fd : g->out_fd;
		bool open = k ? eo : oo;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		while (open) {
			bool was = open;
			copy_ready(fd, k ? 2 : 1, &open);
			struct pollfd pf = {fd, POLLIN, 0};
			if (open && was && poll(&pf, 1, 0) <= 0)
				break;
		}
		close(fd);
	}
	g->out_fd = g->err_fd = -1;
	int ws = atomic_load(&s->result);
	unsigned w = mkword(gens[i], S_DONE);
	atomic_compare_exchange_strong(&s->word, &w, mkword(gens[i], S_FREE));
	if (!sent)
		return -2; /* nothing ran: the caller starts it cold */
	if (lost) {
		shunt_error_set(err, EIO,
				"shuntd did not report the warm gVisor sandbox's exit status");
		(*err)->exitcode = 125;
		return -1;
	}
	if (timed_out) {
		*status = 124;
		return 1;
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
	return 0;
}

int shunt_pool_run(const struct shunt_plan *plan, bool *used, bool *cold, int *status,
		   struct shunt_error **err)
{
	*used = false;
	*cold = false;
	int rt = (int)plan->runtime;
	const struct shunt_runner_warm *W = ops(rt);
	if (!S || !W || rt < 0 || rt >= NRT || !S->size[rt])
		return 0;
	char key[32];
	struct shunt_buf tmpl = {0};
	if (W->template(plan, key, &tmpl) < 0 || !tmpl.data) {
		shunt_buf_free(&tmpl);
		atomic_fetch_add(&S->cold_fallbacks[rt], 1);
		return 0;
	}
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &S->slots[i];
		unsigned w = atomic_load(&s->word);
		bool have = rt == SHUNT_RUNTIME_MICROVM ? vms[i].pid > 0 : gvs[i].pid > 0;
		if (st_of(w) != S_READY || gen_of(w) != gens[i] || s->rt != rt || !have ||
		    strcmp(s->key, key) != 0)
			continue;
		if (!atomic_compare_exchange_strong(&s->word, &w, mkword(gen_of(w), S_CLAIMED)))
			continue;
		shunt_buf_free(&tmpl);
		*used = true;
		atomic_store(&S->wants[s->want].last_ms, now_ms());
		atomic_fetch_add(&S->warm_runs[rt], 1);
		atomic_fetch_add(&S->in_use[rt], 1);
		/* the daemon refills as soon as it sees the claim */
		int rc = W->run ? W->run(slot_state(i, rt), plan, status, err)
				: handover_run(i, W, plan, status, err);
		atomic_fetch_sub(&S->in_use[rt], 1);
		if (rc != -2)
			return rc;
		/* it died before it took the command: nothing ran, go cold */
		shunt_error_free(err);
		*used = false;
		atomic_fetch_sub(&S->warm_runs[rt], 1);
		atomic_fetch_add(&S->boot_failures[rt], 1);
		break;
	}
	atomic_fetch_add(&S->cold_fallbacks[rt], 1);
	if (tmpl.data)
		want_register(rt, key, plan, &tmpl);
	shunt_buf_free(&tmpl);
	for (int i = 0; i < 32; i++) {
		int none = 0;
		if (atomic_compare_exchange_strong(&S->cold_pid[i], &none, (int)getpid())) {
			*cold = true;
			break;
		}
	}
	return 0;
}

void shunt_pool_cold_done(void)
{
	for (int i = 0; S && i < 32; i++) {
		int me = (int)getpid();
		atomic_compare_exchange_strong(&S->cold_pid[i], &me, 0);
	}
}

/* Whether a cold start is running (entries of processes that died
 * without saying so are dropped). */
static bool cold_running(void)
{
	bool any = false;
	for (int i = 0; i < 32; i++) {
		int pid = atomic_load(&S->cold_pid[i]);
		if (!pid)
			continue;
		if (kill(pid, 0) == 0 || errno == EPERM)
			any = true;
		else
			atomic_compare_exchange_strong(&S->cold_pid[i], &pid, 0);
	}
	return any;
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

static void set_state(int i, unsigned st)
{
	atomic_store(&S->slots[i].word, mkword(gens[i], st));
}

bool shunt_pool_reaped(pid_t pid, int wstatus)
{
	bool mine = false;
	for (size_t i = 0; i < sizeof(owned) / sizeof(*owned); i++)
		if (owned[i] == pid) {
			owned[i] = 0;
			mine = true;
		}
	if (!mine || !S)
		return mine;
	for (int i = 0; i < SLOTS; i++) {
		if (S->slots[i].rt != SHUNT_RUNTIME_GVISOR || gvs[i].pid != pid)
			continue;
		dead[i] = true;
		if (st_of(atomic_load(&S->slots[i].word)) == S_CLAIMED) {
			atomic_store(&S->slots[i].result, wstatus);
			ops(SHUNT_RUNTIME_GVISOR)->discard(&gvs[i]);
			done_at[i] = now_ms();
			set_state(i, S_DONE);
		}
	}
	return true;
}

static void close_fds(struct shunt_microvm_warm *vm)
{
	shunt_microvm_warm_close_fds(vm);
	vm->pid = 0;
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

/* A sandbox of key k is still booting: the key is not idle before it is
 * ready (idle then counts from ready), however slow the boot. */
static bool key_booting(int k)
{
	for (int i = 0; i < SLOTS; i++)
		if (S->slots[i].want == k && st_of(atomic_load(&S->slots[i].word)) == S_BOOTING)
			return true;
	return false;
}

static bool slot_idle(int i)
{
	return st_of(atomic_load(&S->slots[i].word)) == S_FREE && vms[i].pid == 0 &&
	       gvs[i].pid == 0;
}

static void boot_one(int want)
{
	struct want *w = &S->wants[want];
	int i;
	for (i = 0; i < SLOTS; i++)
		if (slot_idle(i))
			break;
	if (i == SLOTS)
		return;
	struct shunt_error *e = NULL;
	atomic_fetch_add(&S->boots[w->rt], 1);
	pid_t pid = 0;
	char id[36];
	snprintf(id, sizeof(id), "shunt-pool-%ld-%u", (long)getpid(), seq++);
	int rc = ops(w->rt)->boot(w->tmpl, id, slot_state(i, w->rt), &e);
	if (rc == 0 && w->rt == SHUNT_RUNTIME_GVISOR) {
		pid = (pid_t)gvs[i].pid;
		/* the parent reads the ready line without blocking */
		fcntl(gvs[i].out_fd, F_SETFL, fcntl(gvs[i].out_fd, F_GETFL) | O_NONBLOCK);
	} else if (rc == 0) {
		pid = (pid_t)vms[i].pid;
	}
	if (rc < 0) {
		/* no runtime or no image any more: stop trying for this key;
		 * its next cold run registers it again */
		atomic_fetch_add(&S->boot_failures[w->rt], 1);
		shunt_error_free(&e);
		vms[i].pid = 0;
		gvs[i].pid = 0;
		atomic_store(&w->state, 0);
		return;
	}
	own(pid);
	if (w->rt == SHUNT_RUNTIME_MICROVM && strcmp(vms[i].key, w->key) != 0) {
		/* the image changed since the template was made: forget it */
		ops(w->rt)->discard(&vms[i]);
		close_fds(&vms[i]);
		atomic_store(&w->state, 0);
		return;
	}
	gens[i]++;
	S->slots[i].want = want;
	S->slots[i].rt = w->rt;
	memcpy(S->slots[i].key, w->key, sizeof(S->slots[i].key));
	boot_started[i] = now_ms();
	dead[i] = false;
	bootbuf[i][0] = 0;
	set_state(i, S_BOOTING);
}

/* 1 ready, 0 booting, -1 dead */
static int gv_state(int i, unsigned st)
{
	if (dead[i])
		return -1;
	if (st == S_READY)
		return 1;
	size_t have = strlen(bootbuf[i]);
	ssize_t n = read(gvs[i].out_fd, bootbuf[i] + have, sizeof(bootbuf[i]) - 1 - have);
	if (n > 0)
		bootbuf[i][have + (size_t)n] = 0;
	if (strcmp(bootbuf[i], SHUNT_GVISOR_WARM_READY) == 0)
		return 1;
	if (n == 0 || strlen(bootbuf[i]) >= strlen(SHUNT_GVISOR_WARM_READY))
		return -1; /* closed, or printed something else */
	return 0;
}

int shunt_pool_tick(void)
{
	if (!S)
		return 500;
	bool booting = false, waiting = false, busy = false;
	for (int i = 0; i < SLOTS; i++) {
		unsigned st = st_of(atomic_load(&S->slots[i].word));
		int rt = S->slots[i].rt;
		bool gv = rt == SHUNT_RUNTIME_GVISOR;
		busy |= st == S_CLAIMED || st == S_DONE;
		if (st == S_CLAIMED) {
			/* the claimer runs it; we keep no copy of its fds */
			if (gv) {
				shunt_gvisor_warm_close_fds(&gvs[i]);
				waiting = true; /* reap `runsc run` promptly */
			} else {
				close_fds(&vms[i]);
				set_state(i, S_FREE);
			}
		} else if (st == S_DONE) {
			if (now_ms() - done_at[i] > 60000) /* its claimer is gone */
				set_state(i, S_FREE);
		} else if (st == S_FREE && gv && gvs[i].pid && dead[i]) {
			gvs[i].pid = 0;
		} else if (st == S_BOOTING || st == S_READY) {
			const struct shunt_runner_warm *W = ops(rt);
			int ws = W->state ? W->state(slot_state(i, rt)) : gv_state(i, st);
			if (st == S_BOOTING && ws == 0 && now_ms() - boot_started[i] > BOOT_MAX_MS)
				ws = -1;
			if (ws < 0) {
				unsigned w = mkword(gens[i], st);
				/* a child may claim it right now: only a CAS frees it */
				if (!atomic_compare_exchange_strong(&S->slots[i].word, &w,
								    mkword(gens[i], S_FREE)))
					continue;
				atomic_fetch_add(&S->boot_failures[rt], 1);
				W->discard(slot_state(i, rt));
				if (gv && !dead[i])
					gvs[i].pid = 0;
				else if (!gv)
					close_fds(&vms[i]);
			} else if (ws == 1 && st == S_BOOTING) {
				set_state(i, S_READY);
				/* idle counts from ready: a boot slower than the
				 * idle window must not be thrown away at once */
				atomic_store(&S->wants[S->slots[i].want].last_ms, now_ms());
			} else if (st == S_BOOTING) {
				booting = true;
			}
		}
	}
	for (int k = 0; k < WANTS; k++) {
		/* a key nobody asked for in idle_ms: its sandboxes go */
		struct want *w = &S->wants[k];
		if (atomic_load(&w->state) != 2 ||
		    now_ms() - atomic_load(&w->last_ms) < S->idle_ms || key_booting(k))
			continue;
		for (int i = 0; i < SLOTS; i++) {
			unsigned st = st_of(atomic_load(&S->slots[i].word));
			unsigned cur = mkword(gens[i], st);
			if (S->slots[i].want != k || st != S_READY ||
			    !atomic_compare_exchange_strong(&S->slots[i].word, &cur,
							    mkword(gens[i], S_FREE)))
				continue;
			int rt = S->slots[i].rt;
			if (rt == SHUNT_RUNTIME_GVISOR && !dead[i] && gvs[i].pid > 0)
				kill((pid_t)gvs[i].pid, SIGKILL);
			ops(rt)->discard(slot_state(i, rt));
			if (rt != SHUNT_RUNTIME_GVISOR)
				close_fds(&vms[i]);
		}
		atomic_store(&w->state, 0);
	}
	if (!booting && !busy && !cold_running()) {
		/* one boot at a time, and none while a pooled or cold command
		 * runs: a refill must not slow down the commands running now */
		for (int k = 0; k < WANTS; k++) {
			struct want *w = &S->wants[k];
			if (atomic_load(&w->state) != 2 || count_key(k) >= (int)S->size[w->rt])
				continue;
			boot_one(k);
			booting = true;
			break;
		}
	}
	return waiting ? 5 : booting ? 20 : 500;
}

void shunt_pool_stop(void)
{
	if (!S)
		return;
	pid_t helpers[SLOTS];
	int nh = 0;
	for (int i = 0; i < SLOTS; i++) {
		unsigned st = st_of(atomic_load(&S->slots[i].word));
		if (S->slots[i].rt == SHUNT_RUNTIME_GVISOR) {
			if (!gvs[i].bundle[0])
				continue;
			if (!dead[i] && gvs[i].pid > 0)
				kill((pid_t)gvs[i].pid, SIGKILL);
			/* each teardown runs runsc twice: side by side */
			pid_t h = fork();
			if (h == 0) {
				ops(SHUNT_RUNTIME_GVISOR)->discard(&gvs[i]);
				_exit(0);
			}
			if (h > 0)
				helpers[nh++] = h;
			else
				ops(SHUNT_RUNTIME_GVISOR)->discard(&gvs[i]);
			shunt_gvisor_warm_close_fds(&gvs[i]);
		} else if (st == S_BOOTING || st == S_READY) {
			ops(SHUNT_RUNTIME_MICROVM)->discard(&vms[i]);
		}
		close_fds(&vms[i]);
		set_state(i, S_FREE);
	}
	for (int k = 0; k < nh; k++)
		while (waitpid(helpers[k], NULL, 0) < 0 && errno == EINTR)
			;
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
		if ((want >= 0 && k != want) || S->slots[i].rt != rt)
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
