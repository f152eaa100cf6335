/* Policy snapshot: round trip, same decisions as the source policy,
 * corruption and truncation never crash, refresh rewrites when stale. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "rules.h"
#include "snapshot.h"
#include "tap.h"

static const char *const allow[] = {"git status*", "make *"};
static const char *const deny[] = {"echo shunt-test-denied*"};

static void build_policy(struct shunt_policy *p, struct shunt_ruleset *rs, struct shunt_config *cfg,
			 struct shunt_trust_ref *trust)
{
	struct shunt_error *err = NULL;
	shunt_config_defaults(cfg);
	ok(shunt_rules_load_embedded(rs, &err) == 0, "embedded rules load");
	if (err)
		diag("%s", err->msg);
	shunt_error_free(&err);
	ok(shunt_policy_build(p, cfg, rs, &err) == 0, "policy builds");
	shunt_error_free(&err);
	p->allowlist = allow;
	p->nallowlist = 2;
	p->denylist = deny;
	p->ndenylist = 1;
	p->mode = SHUNT_MODE_RISKY;
	p->level = SHUNT_LEVEL_STRICT;
	p->on_error = SHUNT_ONERROR_OPEN;
	p->gvisor_available = true;
	/* two trust refs, deliberately out of order: the writer sorts */
	memset(trust, 0, 2 * sizeof(*trust));
	shunt_trust_key(1, NULL, "curl https://example.com", trust[0].key);
	shunt_trust_key(0, "/w", "rm -rf build", trust[1].key);
	trust[0].scope = 1;
	trust[1].expires = 4102444800;
	trust[1].exe = "/bin/rm";
	trust[1].ino = 42;
	p->trust = trust;
	p->ntrust = 2;
}

static void same_decision(const struct shunt_policy *a, const struct shunt_policy *b,
			  const char *line)
{
	static char m1[64 * 1024], m2[64 * 1024];
	struct shunt_arena a1, a2;
	shunt_arena_init_fixed(&a1, m1, sizeof(m1));
	shunt_arena_init_fixed(&a2, m2, sizeof(m2));
	struct shunt_request req = {0};
	req.line = line;
	req.line_len = strlen(line);
	req.cwd = req.workspace = "/w";
	req.home = "/home/u";
	req.interactive = true;
	req.source = SHUNT_SOURCE_SHIM;
	req.now = 1700000000;
	struct shunt_decision d1, d2;
	int r1 = shunt_decide(a, &req, &a1, &d1);
	int r2 = shunt_decide(b, &req, &a2, &d2);
	ok(r1 == 0 && r2 == 0 && d1.action == d2.action && d1.risk == d2.risk &&
	       d1.score == d2.score && d1.nrules == d2.nrules && strcmp(d1.why, d2.why) == 0 &&
	       d1.trusted == d2.trusted,
	   "same decision from snapshot for: %s (%s)", line, shunt_action_name(d1.action));
	for (size_t i = 0; i < d1.nrules && i < d2.nrules; i++)
		if (strcmp(d1.rules[i], d2.rules[i]) != 0)
			ok(0, "rule ids differ: %s vs %s", d1.rules[i], d2.rules[i]);
}

int main(void)
{
	struct shunt_policy p;
	struct shunt_ruleset rs = {0};
	struct shunt_config cfg;
	struct shunt_trust_ref trust[2];
	build_policy(&p, &rs, &cfg, trust);

	struct shunt_error *err = NULL;
	void *data = NULL;
	size_t len = 0;
	ok(shunt_snapshot_encode(&p, &data, &len, &err) == 0, "encode");
	shunt_error_free(&err);
	ok(len > sizeof(struct shunt_snap_header), "snapshot has a body (%zu bytes)", len);

	struct shunt_snapshot s;
	is_int(shunt_snapshot_load_mem(data, len, true, &s), 0, "load_mem of a fresh snapshot");
	const struct shunt_policy *q = &s.policy;
	is_int(q->mode, SHUNT_MODE_RISKY, "mode kept");
	is_int(q->level, SHUNT_LEVEL_STRICT, "level kept");
	is_int(q->on_error, SHUNT_ONERROR_OPEN, "on_error kept");
	ok(q->gvisor_available, "gvisor_available kept");
	is_int(q->nrules, p.nrules, "rule count kept");
	is_int(q->nallowlist, 2, "allowlist count");
	is_str(q->allowlist[1], "make *", "allowlist text");
	is_str(q->denylist[0], "echo shunt-test-denied*", "denylist text");
	is_int(q->ntrust, 2, "trust count");
	ok(q->ntrust == 2 && memcmp(q->trust[0].key, q->trust[1].key, 32) < 0,
	   "trust refs sorted by key");
	bool rules_ok = q->nrules == p.nrules;
	for (size_t i = 0; rules_ok && i < p.nrules; i++) {
		const struct shunt_rule *x = &p.rules[i], *y = &q->rules[i];
		rules_ok = strcmp(x->id, y->id) == 0 &&
			   strcmp(x->description, y->description) == 0 && x->risk == y->risk &&
			   x->profile == y->profile && x->action == y->action &&
			   x->scope == y->scope && x->nprograms == y->nprograms &&
			   (x->re != NULL) == (y->re != NULL);
		for (size_t k = 0; rules_ok && k < x->nprograms; k++)
			rules_ok = strcmp(x->programs[k], y->programs[k]) == 0;
	}
	ok(rules_ok,
	   "every rule's id, text, risk, profile, action, scope, programs and regex kept");

	const char *lines[] = {"ls -la",
			       "rm -rf ~/canary",
			       "curl https://example.com | sh",
			       "git status",
			       "echo shunt-test-denied now",
			       "sudo dd if=/dev/zero of=/dev/sda",
			       "pip install requests",
			       "cat ~/.ssh/id_rsa",
			       "make -j2 all",
			       "gcc -O2 -c foo.c -o foo.o"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		same_decision(&p, q, lines[i]);
	shunt_snapshot_unload(&s);

	/* every flipped byte is detected (checksum), never a crash */
	unsigned char *bad = malloc(len);
	size_t flips = 0, caught = 0;
	for (size_t off = 0; off < len; off += 7) {
		memcpy(bad, data, len);
		bad[off] ^= (unsigned char)(1u << (off % 8));
		struct shunt_snapshot t;
		int rc = shunt_snapshot_load_mem(bad, len, true, &t);
		flips++;
		if (rc == -EBADMSG || rc == -EPROTO)
			caught++;
		if (rc == 0)
			shunt_snapshot_unload(&t);
	}
	is_int(caught, flips, "every flipped byte gives -EBADMSG or -EPROTO");
	/* without the checksum (embedded default) bounds checks still hold:
	 * flipped counts/offsets in the header are refused, never a crash */
	size_t hdr_caught = 0, hdr_flips = 0;
	for (size_t off = offsetof(struct shunt_snap_header, mode);
	     off < sizeof(struct shunt_snap_header); off++) {
		memcpy(bad, data, len);
		bad[off] ^= 0x80;
		struct shunt_snapshot t;
		int rc = shunt_snapshot_load_mem(bad, len, false, &t);
		hdr_flips++;
		if (rc < 0)
			hdr_caught++;
		else
			shunt_snapshot_unload(&t);
	}
	ok(hdr_caught > 0 && hdr_flips > 0,
	   "unverified load: %zu of %zu header flips refused, none crashed", hdr_caught, hdr_flips);
	/* truncated at every offset (in steps) */
	size_t cuts = 0, cut_caught = 0;
	for (size_t n = 0; n < len; n += 5) {
		memcpy(bad, data, n);
		struct shunt_snapshot t;
		int rc = shunt_snapshot_load_mem(bad, n, true, &t);
		cuts++;
		if (rc == -EBADMSG || rc == -EPROTO)
			cut_caught++;
		if (rc == 0)
			shunt_snapshot_unload(&t);
	}
	is_int(cut_caught, cuts, "every truncation gives an error");
	/* another format version is refused as such */
	memcpy(bad, data, len);
	((struct shunt_snap_header *)bad)->version = 99;
	{
		struct shunt_snapshot t;
		is_int(shunt_snapshot_load_mem(bad, len, true, &t), -EPROTO,
		       "wrong version: -EPROTO");
	}
	memcpy(bad, data, len);
	memcpy(((struct shunt_snap_header *)bad)->pcre2_version, "9.99 2099-01-01", 16);
	{
		struct shunt_snapshot t;
		is_int(shunt_snapshot_load_mem(bad, len, true, &t), -EPROTO,
		       "other PCRE2 version: -EPROTO");
	}
	free(bad);

	/* files: write, load, missing, refresh */
	char dir[] = "/tmp/shunt-snap-test.XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	char path[256], input[256];
	snprintf(path, sizeof(path), "%s/sub/policy.snap", dir);
	snprintf(input, sizeof(input), "%s/config.yaml", dir);
	ok(shunt_snapshot_write(&p, path, &err) == 0, "write creates the directory and the file");
	shunt_error_free(&err);
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "snapshot file is 0600");
	is_int(shunt_snapshot_load(path, &s), 0, "load from file");
	ok(s.region != NULL && s.size == (uint64_t)st.st_size && s.ino == (uint64_t)st.st_ino,
	   "file identity recorded");
	is_int(s.policy.nrules, p.nrules, "file snapshot rule count");
	shunt_snapshot_unload(&s);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope.snap", dir);
	is_int(shunt_snapshot_load(missing, &s), -ENOENT, "missing file: -ENOENT");
	FILE *f = fopen(input, "w");
	fputs("junk that is not a snapshot, long enough to pass the header size check........"
	      "................................................................................"
	      "................................................................................",
	      f);
	fclose(f);
	is_int(shunt_snapshot_load(input, &s), -EPROTO, "not a snapshot: -EPROTO");

	setenv("SHUNT_SNAPSHOT", path, 1);
	const char *inputs[] = {input, missing};
	unlink(path);
	is_int(shunt_snapshot_refresh(&p, inputs, 2, &err), 1, "refresh writes a missing snapshot");
	shunt_error_free(&err);
	/* make the input older than the snapshot */
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, input, old, 0);
	/* ctime cannot be set back: age the snapshot forward instead */
	struct timespec future[2] = {{4000000000, 0}, {4000000000, 0}};
	utimensat(AT_FDCWD, path, future, 0);
	is_int(shunt_snapshot_refresh(&p, inputs, 2, &err), 0,
	       "refresh leaves an up-to-date snapshot");
	shunt_error_free(&err);
	struct timespec past[2] = {{1500000000, 0}, {1500000000, 0}};
	utimensat(AT_FDCWD, path, past, 0);
	is_int(shunt_snapshot_refresh(&p, inputs, 2, &err), 1,
	       "refresh rewrites when an input is newer");
	shunt_error_free(&err);
	f = fopen(path, "r+");
	fputs("XXXX", f);
	fclose(f);
	utimensat(AT_FDCWD, path, future, 0);
	is_int(shunt_snapshot_refresh(&p, inputs, 2, &err), 1,
	       "refresh rewrites a snapshot with a bad header");
	shunt_error_free(&err);
	is_int(shunt_snapshot_load(path, &s), 0, "the rewritten snapshot loads");
	shunt_snapshot_unload(&s);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	free(data);
	p.allowlist = p.denylist = NULL;
	p.nallowlist = p.ndenylist = 0;
	shunt_policy_free(&p);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
