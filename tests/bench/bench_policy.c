/* Policy-core figures for make bench: config load + compiling the default
 * pack, one in-process decision on a typical low-risk argv, and decisions
 * on long inputs (a 128 KiB xargs-style argv, a 9 KiB python3 -c script,
 * one 32 KiB word) as times and as ratios against the short argv measured
 * in the same run. A long input must cost about its length in bytes, never
 * its square. */
#include <stdbool.h>
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

/* CPU time of this thread: on a busy machine the wall clock also counts
 * the time other processes ran */
static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	printf("%-50s median %9.2f us   p99 %9.2f us   (n=%zu)\n", what, v[n / 2], v[n * 99 / 100],
	       n);
	return v[n / 2];
}

/* One input: an argv (exe set) or a shell line. */
struct input {
	const char *label;
	const char *exe;
	const char **argv;
	size_t argc;
	const char *line;
	size_t script_max; /* read a script file named to an interpreter (0: no) */
	size_t script_bytes;
};

/* Median wall time of n decisions of in, which must be decided host;
 * *cpu gets the median CPU time. fixed: decide in a 64 KiB stack arena,
 * as the shim does, else in a fresh heap arena each time. */
static double decisions(const char *label, const struct shunt_policy *p, const struct input *in,
			size_t n, bool fixed, double *cpu)
{
	double *t = calloc(n, sizeof(*t)), *c = calloc(n, sizeof(*c));
	if (!t || !c)
		exit(1);
	_Alignas(16) char buf[64 * 1024];
	for (size_t i = 0; i < n; i++) {
		struct shunt_arena a;
		if (fixed)
			shunt_arena_init_fixed(&a, buf, sizeof(buf));
		else
			shunt_arena_init_heap(&a);
		struct shunt_request req = {0};
		req.exe = in->exe;
		req.argv = in->argv;
		req.argc = in->argc;
		if (in->line) {
			req.line = in->line;
			req.line_len = strlen(in->line);
		}
		req.cwd = "/home/u/proj";
		req.workspace = "/home/u/proj";
		req.home = "/home/u";
		/* scripts as the hook's check reads them (the shim reads less) */
		req.source = in->line || in->script_max ? SHUNT_SOURCE_HOOK : SHUNT_SOURCE_SHIM;
		req.script_max = in->script_max;
		struct shunt_decision d;
		double t0 = now_us(), c0 = cpu_us();
		int rc = shunt_decide(p, &req, &a, &d);
		c[i] = cpu_us() - c0;
		t[i] = now_us() - t0;
		if (rc < 0 || d.action != SHUNT_ACTION_HOST) {
			fprintf(stderr, "%s: unexpected decision (%s)\n", label,
				rc < 0 ? "error" : d.why);
			exit(1);
		}
		shunt_arena_release(&a);
	}
	double med = report(label, t, n);
	qsort(c, n, sizeof(*c), cmp);
	*cpu = c[n / 2];
	free(t);
	free(c);
	return med;
}

/* The short argv, as the shim decides it. */
static double short_argv(const char *label, const struct shunt_policy *p, double *cpu)
{
	static const char *argv[] = {"gcc", "-O2", "-c", "foo.c", "-o", "foo.o", NULL};
	const struct input in = {"short argv", "/usr/bin/gcc", argv, 6, NULL};
	return decisions(label, p, &in, 20000, true, cpu);
}

/* xargs-style: /bin/echo and file names up to 128 KiB of argv. */
static struct input big_argv(void)
{
	enum { BYTES = 128 * 1024, MAXW = 16384 };
	static const char *argv[MAXW];
	static char store[BYTES + 64];
	size_t n = 0, used = 0;
	argv[n++] = "echo";
	used += 5;
	while (used < BYTES && n < MAXW - 1) {
		char *w = store + used;
		int k = snprintf(w, sizeof(store) - used, "src/module_%zu/file_%zu.o", n % 97, n);
		if (k < 0 || used + (size_t)k + 1 > BYTES)
			break;
		argv[n++] = w;
		used += (size_t)k + 1;
	}
	argv[n] = NULL;
	return (struct input){"128 KiB argv", "/bin/echo", argv, n, NULL};
}

/* A 9 KiB python3 -c script, as the hook sees the line. */
static struct input python_line(void)
{
	static char line[10 * 1024];
	size_t w = (size_t)snprintf(line, sizeof(line), "python3 -c '");
	for (size_t i = 0; w < 9 * 1024; i++)
		w += (size_t)snprintf(line + w, sizeof(line) - w,
				      "xs_%zu = [n * n for n in range(%zu)]; print(sum(xs_%zu))\n",
				      i, i, i);
	snprintf(line + w, sizeof(line) - w, "'");
	return (struct input){"9 KiB python3 -c line", NULL, NULL, 0, line};
}

/* One 32 KiB word (a base64 blob) as an argv. */
static struct input big_word(void)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char word[32 * 1024 + 1];
	static const char *argv[3];
	for (size_t i = 0; i < sizeof(word) - 1; i++)
		word[i] = b64[(i * 7 + i / 64) % 64];
	argv[0] = "echo";
	argv[1] = word;
	return (struct input){"32 KiB word", "/bin/echo", argv, 2, NULL};
}

/* An interpreter given a 64 KiB script file (written to a temporary
 * directory): the script is read and scanned (shell: lexed) per decision. */
static struct input script_file(const char *label, const char *interp, const char *name,
				const char *fmt)
{
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/shunt-bench.XXXXXX");
		if (!mkdtemp(dir))
			exit(1);
	}
	char *path = malloc(128);
	const char **argv = calloc(3, sizeof(*argv));
	if (!path || !argv)
		exit(1);
	snprintf(path, 128, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		exit(1);
	size_t n = 0;
	for (size_t i = 0; n < 64 * 1024 - 128; i++) {
		int k = fprintf(f, fmt, i, i, i);
		n += k > 0 ? (size_t)k : 0;
	}
	fclose(f);
	argv[0] = interp;
	argv[1] = path;
	return (struct input){label, NULL, argv, 2, NULL, 64 * 1024, n};
}

static size_t input_bytes(const struct input *in)
{
	if (in->script_bytes)
		return in->script_bytes;
	if (in->line)
		return strlen(in->line);
	size_t n = 0;
	for (size_t i = 0; i < in->argc; i++)
		n += strlen(in->argv[i]) + 1;
	return n;
}

static void long_inputs(const char *how, const struct shunt_policy *p, double base, double base_cpu)
{
	static struct input sh, py;
	if (!sh.argv) {
		sh = script_file("bash s.sh, 64 KiB script", "bash", "s.sh",
				 "echo step %zu; cc -c src/f_%zu.c -o build/f_%zu.o\n");
		py = script_file("python3 x.py, 64 KiB script", "python3", "x.py",
				 "x_%zu = f(y, [1, 2]); print(x_%zu, %zu)\n");
	}
	const struct input in[] = {big_argv(), python_line(), big_word(), sh, py};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char label[96];
		snprintf(label, sizeof(label), "decide %s (%s)", in[i].label, how);
		double cpu = 0;
		double med = decisions(label, p, &in[i], 50, false, &cpu);
		/* per KiB: equal figures for 9, 32 and 128 KiB mean linear */
		double kib = (double)input_bytes(&in[i]) / 1024.0;
		printf("  wall %.2f ms = %.0fx the short argv; cpu %.2f ms = %.0fx the short "
		       "argv's cpu, %.1f us per KiB\n",
		       med / 1000.0, med / base, cpu / 1000.0, cpu / base_cpu, cpu / kib);
	}
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
	double cpu = 0;
	double base = short_argv("decide gcc -O2 -c foo.c -o foo.o (interpreted)", &p, &cpu);
	long_inputs("interpreted", &p, base, cpu);
	shunt_rules_jit(&rs);
	base = short_argv("decide gcc -O2 -c foo.c -o foo.o (JIT)", &p, &cpu);
	long_inputs("JIT", &p, base, cpu);
	shunt_policy_free(&p);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
	return 0;
}
