/* Shared by the unit tests that decide through the real shunt_decide with
 * the embedded packs: one request, the loader's error for a pack, and the
 * same checks on the YAML-built policy and on its snapshot (what the shim
 * decides from). Static: each test includes it once. */
#ifndef SHUNT_TEST_POLICY_FIXTURE_H
#define SHUNT_TEST_POLICY_FIXTURE_H

/* each test uses some of these helpers */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "policy.h"
#include "rules.h"
#include "snapshot.h"
#include "tap.h"

/* is_int with a formatted name */
#define IS(a, b, ...) ok((int)(a) == (int)(b), __VA_ARGS__)

/* Frees what *a held (after the first call) and starts it again: each
 * decide helper keeps its decision's memory until its own next call. */
static inline void fx_arena_renew(struct shunt_arena *a, bool *init)
{
	if (*init)
		shunt_arena_release(a);
	shunt_arena_init_heap(a);
	*init = true;
}

/* Decides line in cwd/workspace with HOME home; the decision's memory
 * lives until the next call. All 0xff when the decider failed. */
static struct shunt_decision fx_decide_home(const struct shunt_policy *p, const char *line,
					    const char *cwd, const char *workspace,
					    const char *home, bool interactive)
{
	static struct shunt_arena a;
	static bool init;
	fx_arena_renew(&a, &init);
	struct shunt_request req = {0};
	req.line = line;
	req.line_len = strlen(line);
	req.cwd = cwd;
	req.workspace = workspace;
	req.home = home;
	req.interactive = interactive;
	req.source = SHUNT_SOURCE_CLI;
	req.now = time(NULL);
	struct shunt_decision d;
	if (shunt_decide(p, &req, &a, &d) < 0)
		memset(&d, 0xff, sizeof(d));
	return d;
}

/* fx_decide_home with no real HOME. */
static struct shunt_decision fx_decide(const struct shunt_policy *p, const char *line,
				       const char *cwd, const char *workspace, bool interactive)
{
	return fx_decide_home(p, line, cwd, workspace, "/nonexistent-home", interactive);
}

/* Loads yaml as pack "x.yaml": its return code, the error in msg. */
static int fx_load_err(const char *yaml, char *msg, size_t cap)
{
	struct shunt_ruleset t = {0};
	struct shunt_error *err = NULL;
	int rc = shunt_rules_load_buf(&t, "x.yaml", yaml, strlen(yaml), &err);
	snprintf(msg, cap, "%s", err ? err->msg : "");
	shunt_error_free(&err);
	shunt_ruleset_free(&t);
	return rc;
}

/* Runs check on pol, then on its snapshot (what the shim decides from). */
static void fx_both(const struct shunt_policy *pol,
		    void (*check)(const struct shunt_policy *p, const char *what))
{
	struct shunt_error *err = NULL;
	check(pol, "yaml");
	void *data = NULL;
	size_t len = 0;
	struct shunt_snapshot s;
	ok(shunt_snapshot_encode(pol, &data, &len, &err) == 0, "snapshot encodes");
	if (data && shunt_snapshot_load_mem(data, len, true, &s) == 0) {
		check(&s.policy, "snapshot");
		shunt_snapshot_unload(&s);
	} else {
		ok(0, "snapshot loads");
	}
	free(data);
	shunt_error_free(&err);
}

/* Runs check on the policy of the default config and the embedded packs,
 * then on its snapshot. */
static void fx_embedded(void (*check)(const struct shunt_policy *p, const char *what))
{
	struct shunt_config cfg;
	struct shunt_ruleset rs = {0};
	struct shunt_policy pol;
	struct shunt_error *err = NULL;
	shunt_config_defaults(&cfg);
	ok(shunt_rules_load_embedded(&rs, &err) == 0, "embedded rules load");
	ok(shunt_policy_build(&pol, &cfg, &rs, &err) == 0, "policy builds");
	shunt_error_free(&err);
	fx_both(&pol, check);
	shunt_policy_free(&pol);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
}

#endif
