/* Shim fast-path costs, measured on the real code: loading a snapshot
 * (what the first exec in a process pays) and shunt_decide() for a
 * low-risk argv on a fixed 64 KiB stack arena (every exec). Prints
 * median and p99 in microseconds. Built by tests/bench/shim.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "snapshot.h"

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%-44s median %7.2f us   p99 %7.2f us   (n=%d)\n", what, v[n / 2], v[n * 99 / 100],
	       n);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: shim_decide SNAPSHOT\n");
		return 2;
	}
	enum { N = 20000, L = 500 };
	static double t[N];
	for (int i = 0; i < L; i++) {
		struct shunt_snapshot s;
		double t0 = now_us();
		int rc = shunt_snapshot_load(argv[1], &s);
		t[i] = now_us() - t0;
		if (rc < 0) {
			fprintf(stderr, "load: %s\n", shunt_snapshot_strerror(rc));
			return 1;
		}
		shunt_snapshot_unload(&s);
	}
	report("snapshot load (validate + decode)", t, L);

	struct shunt_snapshot s;
	if (shunt_snapshot_load(argv[1], &s) < 0)
		return 1;
	printf("snapshot: %zu rules, %zu bytes\n", s.policy.nrules, (size_t)s.size);
	const char *gcc[] = {"gcc", "-O2", "-c", "foo.c", "-o", "foo.o", NULL};
	struct shunt_request req = {0};
	req.exe = "/usr/bin/gcc";
	req.argv = gcc;
	req.argc = 6;
	req.cwd = "/home/u/project/src";
	req.workspace = "/home/u/project";
	req.home = "/home/u";
	req.interactive = true;
	req.source = SHUNT_SOURCE_SHIM;
	req.now = 1700000000;
	int host = 0;
	for (int i = 0; i < N; i++) {
		_Alignas(16) char buf[64 * 1024];
		struct shunt_arena a;
		struct shunt_decision d;
		double t0 = now_us();
		shunt_arena_init_fixed(&a, buf, sizeof(buf));
		int rc = shunt_decide(&s.policy, &req, &a, &d);
		t[i] = now_us() - t0;
		if (rc == 0 && d.action == SHUNT_ACTION_HOST)
			host++;
	}
	report("decide 'gcc -O2 -c foo.c -o foo.o'", t, N);
	printf("decision: %s (%d/%d host)\n", host == N ? "host" : "NOT host", host, N);
	shunt_snapshot_unload(&s);
	return host == N ? 0 : 1;
}
