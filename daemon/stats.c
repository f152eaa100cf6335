/* shuntd's counters and start-latency histogram (stats.h). */
#include "stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "cleanup.h"
#include "forward.h"
#include "runner.h"

#define NRT 7 /* enum shunt_runtime values */
static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* Shared between the daemon and its per-connection children. */
struct metrics {
	atomic_ulong requests;
	atomic_ulong unauthorized;
	atomic_ulong rejected; /* blocked / not granted / bad request */
	atomic_ulong runs[NRT];
	atomic_ulong lat_bucket[NRT][NBUCKETS];
	atomic_ulong lat_count[NRT];
	atomic_ulong lat_sum_us[NRT];
};

static struct metrics *M;

int shunt_stats_init(struct shunt_error **err)
{
	M = mmap(NULL, sizeof(*M), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (M == MAP_FAILED) {
		M = NULL;
		return shunt_error_sys(err, errno, "mmap");
	}
	return 0;
}

void shunt_stats_request(void)
{
	atomic_fetch_add(&M->requests, 1);
}

void shunt_stats_unauthorized(void)
{
	atomic_fetch_add(&M->unauthorized, 1);
}

void shunt_stats_rejected(void)
{
	atomic_fetch_add(&M->rejected, 1);
}

double shunt_stats_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void shunt_stats_text(struct shunt_buf *b)
{
	shunt_buf_puts(b, "# HELP shuntd_requests_total HTTP requests received.\n"
			  "# TYPE shuntd_requests_total counter\n");
	shunt_buf_printf(b, "shuntd_requests_total %lu\n", atomic_load(&M->requests));
	shunt_buf_puts(b, "# HELP shuntd_unauthorized_total Requests refused with 401.\n"
			  "# TYPE shuntd_unauthorized_total counter\n");
	shunt_buf_printf(b, "shuntd_unauthorized_total %lu\n", atomic_load(&M->unauthorized));
	shunt_buf_puts(
	    b, "# HELP shuntd_rejected_total Requests refused (invalid, blocked, not granted).\n"
	       "# TYPE shuntd_rejected_total counter\n");
	shunt_buf_printf(b, "shuntd_rejected_total %lu\n", atomic_load(&M->rejected));
	_cleanup_free_ char *spool = shunt_forward_spool_dir();
	shunt_buf_puts(b, "# HELP shuntd_audit_dropped_total Audit records dropped from the "
			  "forwarding spool to keep it under audit.forward.spool_max.\n"
			  "# TYPE shuntd_audit_dropped_total counter\n");
	shunt_buf_printf(b, "shuntd_audit_dropped_total %llu\n",
			 spool ? shunt_forward_dropped(spool) : 0ull);
	shunt_buf_puts(b, "# HELP shuntd_runs_total Commands handed to a runner, by runtime.\n"
			  "# TYPE shuntd_runs_total counter\n");
	for (int rt = 0; rt < NRT; rt++)
		if (shunt_runner_get((enum shunt_runtime)rt) || atomic_load(&M->runs[rt]))
			shunt_buf_printf(b, "shuntd_runs_total{runtime=\"%s\"} %lu\n",
					 shunt_runtime_name(rt), atomic_load(&M->runs[rt]));
	shunt_buf_puts(
	    b, "# HELP shuntd_start_latency_seconds Time from a complete request to the plan "
	       "being handed to the runner (decide, plan, fork).\n"
	       "# TYPE shuntd_start_latency_seconds histogram\n");
	for (int rt = 0; rt < NRT; rt++) {
		if (!shunt_runner_get((enum shunt_runtime)rt) && !atomic_load(&M->lat_count[rt]))
			continue;
		const char *name = shunt_runtime_name(rt);
		for (size_t i = 0; i < NBUCKETS; i++)
			shunt_buf_printf(
			    b,
			    "shuntd_start_latency_seconds_bucket{runtime=\"%s\",le=\"%g\"} %lu\n",
			    name, buckets[i], atomic_load(&M->lat_bucket[rt][i]));
		shunt_buf_printf(
		    b, "shuntd_start_latency_seconds_bucket{runtime=\"%s\",le=\"+Inf\"} %lu\n",
		    name, atomic_load(&M->lat_count[rt]));
		shunt_buf_printf(b, "shuntd_start_latency_seconds_sum{runtime=\"%s\"} %.6f\n", name,
				 (double)atomic_load(&M->lat_sum_us[rt]) / 1e6);
		shunt_buf_printf(b, "shuntd_start_latency_seconds_count{runtime=\"%s\"} %lu\n",
				 name, atomic_load(&M->lat_count[rt]));
	}
}

void shunt_stats_observe(int rt, double secs)
{
	if (rt < 0 || rt >= NRT)
		return;
	atomic_fetch_add(&M->runs[rt], 1);
	for (size_t i = 0; i < NBUCKETS; i++)
		if (secs <= buckets[i])
			atomic_fetch_add(&M->lat_bucket[rt][i], 1);
	atomic_fetch_add(&M->lat_count[rt], 1);
	atomic_fetch_add(&M->lat_sum_us[rt], (unsigned long)(secs * 1e6));
}
