/* The shim's cached exec path (preload/fast.c): keys, the cache, and the
 * assumption the path-free key rests on, checked against the real lexer
 * and rules: an argv it calls path-free is decided the same in every
 * working directory and workspace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "config.h"
#include "fast.h"
#include "policy.h"
#include "rules.h"
#include "tap.h"

struct verdict {
	int action, risk;
	char norm[512];
};

static void decide(const struct shunt_policy *p, const char *const *argv, const char *cwd,
		   const char *ws, struct verdict *v)
{
	size_t argc = 0;
	while (argv[argc])
		argc++;
	struct shunt_request req = {0};
	req.argv = argv;
	req.argc = argc;
	req.exe = argv[0];
	req.cwd = cwd;
	req.workspace = ws;
	req.home = "/home/u";
	req.interactive = true;
	req.source = SHUNT_SOURCE_SHIM;
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	memset(v, 0, sizeof(*v));
	v->action = -1;
	if (shunt_decide(p, &req, &a, &d) == 0) {
		v->action = d.action;
		v->risk = d.risk;
		snprintf(v->norm, sizeof(v->norm), "%s", d.cmdline.line ? d.cmdline.line : "");
	}
	shunt_arena_release(&a);
}

static void test_path_free_property(void)
{
	struct shunt_config cfg;
	struct shunt_ruleset rs = {0};
	struct shunt_policy p = {0};
	struct shunt_error *err = NULL;
	shunt_config_defaults(&cfg);
	ok(shunt_rules_load_embedded(&rs, &err) == 0, "embedded rules load");
	shunt_error_free(&err);
	ok(shunt_policy_build(&p, &cfg, &rs, &err) == 0, "policy builds");
	shunt_error_free(&err);

	const char *const *cases[] = {
	    (const char *const[]){"/bin/true", NULL},
	    (const char *const[]){"/usr/bin/ls", "-la", NULL},
	    (const char *const[]){"/usr/bin/git", "status", "--short", NULL},
	    (const char *const[]){"/usr/bin/rm", "-rf", "build", NULL},
	    (const char *const[]){"/usr/bin/rm", "-rf", "~", NULL},
	    (const char *const[]){"/usr/bin/rm", "-rf", ".", NULL},
	    (const char *const[]){"/usr/bin/rm", "-rf", "..", NULL},
	    (const char *const[]){"/usr/bin/bash", "-c", "rm -rf $HOME", NULL},
	    (const char *const[]){"/usr/bin/bash", "-c", "rm -rf ~ && echo ok", NULL},
	    (const char *const[]){"/usr/bin/env", "X=1", "rm", "-rf", "*", NULL},
	    (const char *const[]){"/usr/bin/cc", "-c", "main.c", "-o", "main.o", NULL},
	    (const char *const[]){"/usr/bin/cat", "/home/u/w1/notes", NULL},
	    (const char *const[]){"/usr/bin/rm", "-rf", "/home/u/w1/build", NULL},
	    (const char *const[]){"/usr/bin/rm", "-rf", "/home/u/w2/build", NULL},
	    (const char *const[]){"/usr/bin/cp", "--target-directory=/home/u/w1", "a", NULL},
	    (const char *const[]){"/usr/bin/sh", "-c", "cat ${HOME}/.ssh/id_rsa", NULL},
	    (const char *const[]){"/usr/bin/make", "CC=/usr/bin/gcc", "all", NULL},
	};
	size_t nfree = 0, ndiffer = 0, bad = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct verdict a, b;
		decide(&p, cases[i], "/home/u/w1/src", "/home/u/w1", &a);
		decide(&p, cases[i], "/home/u/w2", "/home/u/w2", &b);
		bool same = a.action == b.action && a.risk == b.risk && !strcmp(a.norm, b.norm);
		if (shunt_fast_path_free((char *const *)cases[i])) {
			nfree++;
			if (!same) {
				bad++;
				diag("path-free but decided differently: %s | %s", a.norm, b.norm);
			}
		} else if (!same) {
			ndiffer++;
		}
	}
	ok(bad == 0, "every path-free argv is decided the same in two workspaces (%zu of them)",
	   nfree);
	ok(nfree >= 8, "the path-free set is not empty (%zu)", nfree);
	/* the check above means something only if the workspace can change
	 * a decision at all */
	ok(ndiffer >= 2, "argvs with paths do depend on the workspace (%zu differ)", ndiffer);
	shunt_policy_free(&p);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
}

static void test_path_free_words(void)
{
	ok(shunt_fast_path_free((char *const[]){"/bin/true", NULL}), "argv[0] may hold a path");
	ok(shunt_fast_path_free((char *const[]){"ls", "-la", "src", NULL}), "relative words");
	ok(!shunt_fast_path_free((char *const[]){"cat", "/etc/passwd", NULL}), "absolute word");
	ok(!shunt_fast_path_free((char *const[]){"ls", "src/x", NULL}), "any slash");
	ok(!shunt_fast_path_free((char *const[]){"echo", "$HOME", NULL}), "$HOME");
	ok(!shunt_fast_path_free((char *const[]){"sh", "-c", "ls ${HOME}", NULL}), "${HOME}");
	ok(shunt_fast_path_free((char *const[]){NULL}), "empty argv");
	ok(shunt_fast_path_free(NULL), "NULL argv");
}

static void test_key_and_cache(void)
{
	struct shunt_fast_id id = {.dev = 1, .ino = 2, .size = 3, .mtime_ns = 4, .have_id = 1};
	char *const argv[] = {"/bin/echo", "hi", NULL};
	struct shunt_fast_key a, b;
	shunt_fast_key(&a, &id, "/bin/echo", NULL, argv, "/w", 2, "/home/u");
	shunt_fast_key(&b, &id, "/bin/echo", NULL, argv, "/w", 2, "/home/u");
	ok(a.n == b.n && !memcmp(a.b, b.b, a.n) && !a.overflow, "same inputs, same key");
	shunt_fast_key(&b, &id, "/bin/echo", NULL, argv, "/x", 2, "/home/u");
	ok(a.n != b.n || memcmp(a.b, b.b, a.n), "another cwd, another key");
	shunt_fast_key(&b, &id, "/bin/echo", NULL, argv, NULL, 0, "/home/u");
	ok(a.n != b.n || memcmp(a.b, b.b, a.n), "the path-free key differs from every cwd key");
	shunt_fast_key(&b, &id, "/bin/echo", NULL, argv, "/w", 2, "/home/v");
	ok(a.n != b.n || memcmp(a.b, b.b, a.n), "another HOME, another key");
	struct shunt_fast_id id2 = id;
	id2.mtime_ns++;
	shunt_fast_key(&b, &id2, "/bin/echo", NULL, argv, "/w", 2, "/home/u");
	ok(a.n != b.n || memcmp(a.b, b.b, a.n), "another snapshot, another key");
	char *const split[] = {"/bin/echo", "h", "i", NULL};
	shunt_fast_key(&b, &id, "/bin/echo", NULL, split, "/w", 2, "/home/u");
	ok(a.n != b.n || memcmp(a.b, b.b, a.n), "argument boundaries are part of the key");

	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *const huge[] = {"/bin/echo", big, NULL};
	shunt_fast_key(&b, &id, "/bin/echo", NULL, huge, NULL, 0, NULL);
	ok(b.overflow, "a key longer than an entry overflows (never cached)");

	struct shunt_fast_cache *c =
	    mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok(c != MAP_FAILED, "cache mapped");
	uint64_t h = shunt_fast_hash(&a);
	is_int(shunt_fast_lookup(c, &a, h), -1, "empty cache: miss");
	shunt_fast_store(c, &a, h, SHUNT_RISK_MEDIUM);
	is_int(shunt_fast_lookup(c, &a, h), SHUNT_RISK_MEDIUM, "stored: hit with its risk");
	shunt_fast_key(&b, &id, "/bin/echo", NULL, argv, "/x", 2, "/home/u");
	is_int(shunt_fast_lookup(c, &b, h), -1,
	       "same slot and hash, other key: miss (compared in full)");
	atomic_store(&c->e[h % SHUNT_FAST_ENTRIES].seq, 7);
	is_int(shunt_fast_lookup(c, &a, h), -1, "an entry being written is a miss");
	munmap(c, sizeof(*c));
}

static void test_id(void)
{
	struct stat st = {0};
	st.st_dev = 5;
	st.st_ino = 6;
	st.st_size = 7;
	st.st_mtim.tv_sec = 1;
	st.st_mtim.tv_nsec = 2;
	struct shunt_fast_id id = {
	    .dev = 5, .ino = 6, .size = 7, .mtime_ns = 1000000002, .have_id = 1};
	ok(shunt_fast_id_current(&id, 0, &st), "the same file is current");
	st.st_ino = 9;
	ok(!shunt_fast_id_current(&id, 0, &st), "a replaced file is not");
	ok(!shunt_fast_id_current(&id, -ENOENT, &st), "a removed file is not");
	struct shunt_fast_id none = {.status = -ENOENT};
	ok(shunt_fast_id_current(&none, -ENOENT, &st), "still no file: current");
	ok(!shunt_fast_id_current(&none, 0, &st), "a file appeared: not current");
	ok(!shunt_fast_id_current(&none, -EACCES, &st), "another error: not current");
}

int main(void)
{
	test_path_free_words();
	test_path_free_property();
	test_key_and_cache();
	test_id();
	return done_testing();
}
