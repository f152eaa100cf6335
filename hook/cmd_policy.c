/* shunt policy update: fetch the config's policy.sources (rule packs)
 * over HTTPS with libcurl, keeping the last good copy of each. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "fsutil.h"
#include "httpfetch.h"
#include "policysrc.h"
#include "rules.h"
#include "sha256.h"

#define MAX_PACK  (4u << 20)
#define TIMEOUT_S 20L

static const char help[] =
    "usage: shunt policy update\n"
    "\n"
    "Fetches every policy.sources URL (a rule pack) with If-None-Match and\n"
    "If-Modified-Since (from the last answer's ETag / Last-Modified), checks its\n"
    "sha256: pin and that it parses as a rule pack, and only then replaces the\n"
    "cached copy under $XDG_CACHE_HOME/shunt/policy/. The cached packs are loaded\n"
    "like the config's rules: files. A failed or bad update keeps the last good copy\n"
    "and says so. TLS is always verified unless the source says insecure: true\n"
    "(which shunt doctor warns about).\n"
    "\n"
    "Exit status: 0 when every source is current, 1 when any update failed (the\n"
    "last good copy stays in use), 2 for config errors.\n";

enum outcome { UPDATED, UNCHANGED, FAILED };

static enum outcome update_one(const struct shunt_policy_source *s)
{
	_cleanup_free_ char *cache = shunt_policysrc_cache_path(s->url);
	_cleanup_free_ char *etagf = NULL, *lmf = NULL;
	_cleanup_free_ char *dir = NULL;
	if (!cache || asprintf(&etagf, "%s.etag", cache) < 0 ||
	    asprintf(&lmf, "%s.lastmod", cache) < 0) {
		fprintf(stderr, "shunt policy: out of memory\n");
		return FAILED;
	}
	bool have = access(cache, R_OK) == 0;
	const char *keep = have ? "keeping the last good copy" : "no cached copy yet";
	_cleanup_free_ char *etag = NULL, *since = NULL;
	size_t elen = 0;
	struct shunt_error *err = NULL;
	if (have && shunt_fs_read(etagf, 1024, &etag, &elen, &err) < 0)
		etag = NULL;
	shunt_error_free(&err);
	if (have && shunt_fs_read(lmf, 1024, &since, NULL, &err) < 0)
		since = NULL;
	shunt_error_free(&err);

	struct shunt_http_resp r;
	if (shunt_http_get(s->url, etag, since, s->insecure, TIMEOUT_S, MAX_PACK, &r, &err) < 0) {
		fprintf(stderr, "%s: fetch failed: %s; %s\n", s->url, err ? err->msg : "?", keep);
		shunt_error_free(&err);
		shunt_http_resp_free(&r);
		return FAILED;
	}
	enum outcome o = FAILED;
	if (r.status == 304 && have) {
		if (etag)
			printf("%s: unchanged (ETag %s)\n", s->url, etag);
		else
			printf("%s: unchanged (not modified since %s)\n", s->url,
			       since ? since : "?");
		o = UNCHANGED;
		goto out;
	}
	if (r.status != 200) {
		fprintf(stderr, "%s: HTTP %ld; %s\n", s->url, r.status, keep);
		goto out;
	}
	uint8_t d[32];
	char hex[65];
	shunt_sha256(r.body.data ? r.body.data : "", r.body.len, d);
	shunt_sha256_hex(d, hex);
	if (s->sha256 && strcmp(hex, s->sha256) != 0) {
		fprintf(stderr, "%s: sha256 %s does not match the pin %s; rejected, %s\n", s->url,
			hex, s->sha256, keep);
		goto out;
	}
	struct shunt_ruleset rs = {0};
	if (shunt_rules_load_buf(&rs, s->url, r.body.data ? r.body.data : "", r.body.len, &err) <
	    0) {
		fprintf(stderr, "%s: not a valid rule pack: %s; %s\n", s->url, err ? err->msg : "?",
			keep);
		shunt_error_free(&err);
		shunt_ruleset_free(&rs);
		goto out;
	}
	size_t nrules = rs.n;
	shunt_ruleset_free(&rs);
	dir = strdup(cache);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = 0;
	if (!dir || shunt_fs_mkdirs(dir, 0700, &err) < 0 ||
	    shunt_fs_write_atomic(cache, r.body.data ? r.body.data : "", r.body.len, 0600, &err) <
		0) {
		fprintf(stderr, "%s: saving: %s; %s\n", s->url, err ? err->msg : "out of memory",
			keep);
		shunt_error_free(&err);
		goto out;
	}
	if (r.etag[0])
		(void)shunt_fs_write_atomic(etagf, r.etag, strlen(r.etag), 0600, &err);
	else
		unlink(etagf);
	shunt_error_free(&err);
	if (r.last_modified[0])
		(void)shunt_fs_write_atomic(lmf, r.last_modified, strlen(r.last_modified), 0600,
					    &err);
	else
		unlink(lmf);
	shunt_error_free(&err);
	printf("%s: updated (%zu rules, sha256 %s)\n", s->url, nrules, hex);
	o = UPDATED;
out:
	shunt_http_resp_free(&r);
	return o;
}

int shunt_cmd_policy(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "update") != 0)
		return shunt_args_usage(err, "usage: shunt policy update");
	/* the loader finds the workspace and honours SHUNT_NO_SYSTEM_CONFIG */
	struct shunt_config cfg;
	if (shunt_config_load(&cfg, NULL, err) < 0)
		return -1;
	if (cfg.npolicy_sources == 0) {
		printf("no policy.sources configured\n");
		shunt_config_free(&cfg);
		return 0;
	}
	int failed = 0;
	for (size_t i = 0; i < cfg.npolicy_sources; i++) {
		if (cfg.policy_sources[i].insecure)
			fprintf(stderr, "%s: warning: insecure: true (no TLS verification)\n",
				cfg.policy_sources[i].url);
		if (update_one(&cfg.policy_sources[i]) == FAILED)
			failed++;
	}
	shunt_config_free(&cfg);
	return failed ? 1 : 0;
}
