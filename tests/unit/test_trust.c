/* Unit tests for the trust store. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "sha256.h"
#include "tap.h"
#include "trust.h"

static char dir[256];
static char path[512];

static size_t count_entries(void)
{
	struct shunt_trust_store st;
	struct shunt_error *err = NULL;
	if (shunt_trust_load(path, &st, &err) < 0) {
		diag("load failed: %s", err->msg);
		shunt_error_free(&err);
		return (size_t)-1;
	}
	size_t n = st.n;
	shunt_trust_store_free(&st);
	return n;
}

static int add_cmd(const char *cmd, int scope, int64_t expires, const char *exe)
{
	struct shunt_trust_entry e;
	struct shunt_error *err = NULL;
	int r = shunt_trust_entry_init(&e, cmd, scope, "/ws", exe, "cli", 1000, expires, "n", &err);
	if (r == 0)
		r = shunt_trust_add(path, &e, &err);
	if (r < 0)
		diag("add failed: %s", err ? err->msg : "?");
	shunt_error_free(&err);
	shunt_trust_entry_clear(&e);
	return r;
}

static void test_add_remove(void)
{
	is_int(count_entries(), 0, "missing store is empty");
	ok(add_cmd("make deploy", SHUNT_TRUST_EXACT, 0, NULL) == 0, "add exact");
	ok(add_cmd("make deploy", SHUNT_TRUST_EXACT, 0, NULL) == 0, "add same again");
	is_int(count_entries(), 1, "same key replaces, not duplicates");
	ok(add_cmd("make deploy", SHUNT_TRUST_GLOBAL, 0, NULL) == 0, "add global");
	is_int(count_entries(), 2, "global scope is another key");

	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "store is mode 0600");

	/* the key is the decider's key */
	uint8_t k[32];
	char hex[65];
	shunt_trust_key(0, "/ws", "make deploy", k);
	shunt_sha256_hex(k, hex);
	struct shunt_trust_store s;
	shunt_trust_load(path, &s, NULL);
	const struct shunt_trust_entry *e = shunt_trust_find(&s, k);
	ok(e != NULL, "entry found by shunt_trust_key");
	is_str(e ? e->key : NULL, hex, "stored key matches shunt_trust_key");
	is_str(e ? e->note : NULL, "n", "note stored");
	is_str(e ? e->added_how : NULL, "cli", "added_by.how stored");
	ok(e && e->added_tty && *e->added_tty, "added_by.tty stored");
	shunt_trust_store_free(&s);

	/* remove by unique key prefix */
	char prefix[9];
	memcpy(prefix, hex, 8);
	prefix[8] = '\0';
	struct shunt_trust_entry removed;
	struct shunt_error *err = NULL;
	is_int(shunt_trust_remove(path, prefix, NULL, &removed, &err), 1, "remove by key prefix");
	is_str(removed.command, "make deploy", "removed entry returned");
	ok(removed.scope == SHUNT_TRUST_EXACT, "the exact one was removed");
	shunt_trust_entry_clear(&removed);
	is_int(count_entries(), 1, "one left");
	is_int(shunt_trust_remove(path, "make deploy", NULL, NULL, &err), 1, "remove by command");
	is_int(shunt_trust_remove(path, "make deploy", NULL, NULL, &err), 0,
	       "nothing left to remove");
	is_int(count_entries(), 0, "empty again");
	shunt_error_free(&err);
}

static void test_expiry_and_refs(void)
{
	add_cmd("a", SHUNT_TRUST_EXACT, 0, NULL);
	add_cmd("b", SHUNT_TRUST_EXACT, 500, NULL); /* expired at 500 */
	add_cmd("c", SHUNT_TRUST_GLOBAL, 5000, NULL);
	struct shunt_trust_store s;
	shunt_trust_load(path, &s, NULL);
	struct shunt_trust_ref *refs;
	char **exes;
	size_t n;
	ok(shunt_trust_refs(&s, 1000, &refs, &exes, &n, NULL) == 0, "refs built");
	is_int(n, 2, "expired entry skipped in refs");
	ok(n == 2 && memcmp(refs[0].key, refs[1].key, 32) < 0, "refs sorted by key");
	for (size_t i = 0; i < n; i++)
		free(exes[i]);
	free(refs);
	free(exes);
	shunt_trust_store_free(&s);

	struct shunt_error *err = NULL;
	is_int(shunt_trust_clean(path, 1000, &err), 1, "clean removes one expired entry");
	is_int(count_entries(), 2, "two remain");
	is_int(shunt_trust_clean(path, 6000, &err), 1, "later, the second expires");
	is_int(shunt_trust_clean(path, 6000, &err), 0, "clean again removes nothing");

	uint8_t k[32];
	shunt_trust_key(0, "/ws", "a", k);
	is_int(shunt_trust_touch(path, k, 7000, &err), 1, "touch finds the entry");
	shunt_trust_touch(path, k, 7001, &err);
	shunt_trust_load(path, &s, NULL);
	const struct shunt_trust_entry *e = shunt_trust_find(&s, k);
	ok(e && e->uses == 2 && e->last_used == 7001, "touch counts uses and last_used");
	shunt_trust_store_free(&s);
	shunt_error_free(&err);
	unlink(path);
}

static void test_exe(void)
{
	char exe[600];
	snprintf(exe, sizeof(exe), "%s/tool", dir);
	FILE *f = fopen(exe, "w");
	fputs("#!/bin/sh\necho v1\n", f);
	fclose(f);
	chmod(exe, 0755);
	ok(add_cmd("tool run", SHUNT_TRUST_EXACT, 0, exe) == 0, "add with exe");
	struct shunt_trust_store s;
	shunt_trust_load(path, &s, NULL);
	uint8_t k[32];
	shunt_trust_key(0, "/ws", "tool run", k);
	const struct shunt_trust_entry *e = shunt_trust_find(&s, k);
	struct stat st;
	stat(exe, &st);
	ok(e && e->exe_ino == (uint64_t)st.st_ino && e->exe_size == (uint64_t)st.st_size,
	   "stat fingerprint stored");
	ok(e && e->exe_mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	   "mtime in ns survives JSON exactly");
	is_int(shunt_trust_verify_exe(e, NULL), 1, "content hash verifies");
	struct shunt_trust_ref *refs;
	char **exes;
	size_t n;
	shunt_trust_refs(&s, 1, &refs, &exes, &n, NULL);
	is_str(n == 1 ? refs[0].exe : NULL, exe, "ref carries the exe path");
	is_int(shunt_trust_verify_ref(path, &refs[0], NULL), 1, "verify_ref ok");
	/* same size, new content: only the hash notices if stat were faked */
	f = fopen(exe, "w");
	fputs("#!/bin/sh\necho v2\n", f);
	fclose(f);
	is_int(shunt_trust_verify_exe(e, NULL), 0, "replaced content detected");
	is_int(shunt_trust_verify_ref(path, &refs[0], NULL), 0, "verify_ref detects it");
	unlink(exe);
	is_int(shunt_trust_verify_exe(e, NULL), 0, "missing exe does not verify");
	for (size_t i = 0; i < n; i++)
		free(exes[i]);
	free(refs);
	free(exes);
	shunt_trust_store_free(&s);
	unlink(path);
}

static int count_corrupt_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, "trust.json.corrupt-"))
			n++;
	closedir(d);
	return n;
}

static void test_corrupt(void)
{
	static const char *const bad[] = {
	    "{\"version\":1,\"entries\":[{\"key\":\"ab", /* truncated */
	    "garbage",
	    "{\"version\":1,\"entries\":{}}",
	    "{\"version\":1,\"entries\":[{\"key\":\"short\",\"command\":\"x\"}]}",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int before = count_corrupt_files();
		shunt_fs_write_atomic(path, bad[i], strlen(bad[i]), 0600, NULL);
		struct shunt_trust_store s;
		struct shunt_error *err = NULL;
		int r = shunt_trust_load(path, &s, &err);
		ok(r < 0 && err && strstr(err->msg, path) && strstr(err->msg, ".corrupt-"),
		   "corrupt store %zu reported with its path", i);
		if (err)
			diag("%s", err->msg);
		is_int(err ? err->exitcode : 0, 1, "exit code 1");
		ok(access(path, F_OK) != 0, "corrupt file moved away");
		is_int(count_corrupt_files(), before + 1,
		       "a new trust.json.corrupt-<time> kept (none overwritten)");
		shunt_error_free(&err);
		is_int(count_entries(), 0, "next load starts empty");
	}
	/* a mutation on a corrupt store fails (and moves it aside) */
	shunt_fs_write_atomic(path, "nope", 4, 0600, NULL);
	ok(add_cmd("x", SHUNT_TRUST_EXACT, 0, NULL) < 0, "add on a corrupt store fails");
	ok(add_cmd("x", SHUNT_TRUST_EXACT, 0, NULL) == 0, "the next add works");
	/* a newer version is not ours to move */
	const char *newer = "{\"version\":2,\"entries\":[]}";
	shunt_fs_write_atomic(path, newer, strlen(newer), 0600, NULL);
	struct shunt_trust_store s;
	struct shunt_error *err = NULL;
	ok(shunt_trust_load(path, &s, &err) < 0 && strstr(err->msg, "newer"),
	   "newer version refused");
	ok(access(path, F_OK) == 0, "newer store left in place");
	shunt_error_free(&err);
	unlink(path);
}

static void test_concurrency(void)
{
	enum { N = 20 };
	pid_t kids[N];
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char cmd[64];
			snprintf(cmd, sizeof(cmd), "echo child %d", i);
			_exit(add_cmd(cmd, SHUNT_TRUST_EXACT, 0, NULL) == 0 ? 0 : 1);
		}
	}
	int failures = 0;
	for (int i = 0; i < N; i++) {
		int status;
		waitpid(kids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	is_int(failures, 0, "20 concurrent adds succeed");
	is_int(count_entries(), N, "20 concurrent adds lose none");
	unlink(path);
}

static void test_duration(void)
{
	is_int(shunt_trust_parse_duration("30d"), 30 * 86400, "30d");
	is_int(shunt_trust_parse_duration("12h"), 12 * 3600, "12h");
	is_int(shunt_trust_parse_duration("90m"), 90 * 60, "90m");
	is_int(shunt_trust_parse_duration("3600s"), 3600, "3600s");
	is_int(shunt_trust_parse_duration("3600"), 3600, "plain seconds");
	is_int(shunt_trust_parse_duration("0d"), -1, "zero rejected");
	is_int(shunt_trust_parse_duration("-5d"), -1, "negative rejected");
	is_int(shunt_trust_parse_duration("5y"), -1, "unknown unit rejected");
	is_int(shunt_trust_parse_duration("d"), -1, "no number rejected");
	is_int(shunt_trust_parse_duration("99999999999999d"), -1, "overflow rejected");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/shunt-trust-test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/sub/trust.json", dir);
	test_add_remove();
	struct stat st;
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ok(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700, "store directory created 0700");
	snprintf(path, sizeof(path), "%s/trust.json", dir);
	test_expiry_and_refs();
	test_exe();
	test_corrupt();
	test_concurrency();
	test_duration();
	shunt_fs_rmtree(dir, NULL);
	return done_testing();
}
