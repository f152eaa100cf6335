/* Policy-core figures for make bench: config load + compiling the default
 * pack, and one in-process decision on a typical low-risk argv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "policy.h"
#include "rules.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	printf("%-46s median %8.2f us   p99 %8.2f us   (n=%zu)\n", what, v[n / 2], v[n * 99 / 100],
	       n);
}

static void decisions(const char *label, const struct shunt_policy *p)
{
	const char *argv[] = {"gcc", "-O2", "-c", "foo.c", "-o", "foo.o", NULL};
	enum { N = 20000 };
	static double t[N];
	char buf[64 * 1024];
	for (size_t i = 0; i < N; i++) {
		struct shunt_arena a;
		shunt_arena_init_fixed(&a, buf, sizeof(buf));
		struct shunt_request req = {0};
		req.exe = "/usr/bin/gcc";
		req.argv = argv;
		req.argc = 6;
		req.cwd = "/home/u/proj";
		req.workspace = "/home/u/proj";
		req.home = "/home/u";
		req.source = SHUNT_SOURCE_SHIM;
		struct shunt_decision d;
		double t0 = now_us();
		int rc = shunt_decide(p, &req, &a, &d);
		t[i] = now_us() - t0;
		if (rc < 0 || d.action != SHUNT_ACTION_HOST) {
			fprintf(stderr, "unexpected decision\n");
			exit(1);
		}
	}
	report(label, t, N);
}

int main(void)
{
	enum { LOADS = 50 };
	double load[LOADS];
	struct shunt_error *err = NULL;
	for (size_t i = 0; i < LOADS; i++) {
		struct shunt_config cfg;
		struct shunt_ruleset rs = {0};
		struct shunt_policy p;
		double t0 = now_us();
		shunt_config_defaults(&cfg);
		if (shunt_rules_load_embedded(&rs, &err) < 0 ||
		    shunt_policy_build(&p, &cfg, &rs, &err) < 0) {
			fprintf(stderr, "%s\n", err ? err->msg : "load failed");
			return 1;
		}
		load[i] = now_us() - t0;
		shunt_policy_free(&p);
		shunt_ruleset_free(&rs);
		shunt_config_free(&cfg);
	}
	report("load config + compile default pack", load, LOADS);

	struct shunt_config cfg;
	struct shunt_ruleset rs = {0};
	struct shunt_policy p;
	shunt_config_defaults(&cfg);
	if (shunt_rules_load_embedded(&rs, &err) < 0 || shunt_policy_build(&p, &cfg, &rs, &err) < 0)
		return 1;
	printf("rules in the default pack: %zu\n", rs.n);
	decisions("decide gcc -O2 -c foo.c -o foo.o (interpreted)", &p);
	shunt_rules_jit(&rs);
	decisions("decide gcc -O2 -c foo.c -o foo.o (JIT)", &p);
	shunt_policy_free(&p);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
	return 0;
}
