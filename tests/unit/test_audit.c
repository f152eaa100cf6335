/* Unit tests for the audit log: append, hostile text, rotation, tail. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "fsutil.h"
#include "json.h"
#include "tap.h"

static char dir[256];
static char path[512];

static size_t count_lines(const char *p)
{
	char *buf = NULL;
	size_t len = 0, n = 0;
	if (shunt_fs_read(p, 1 << 26, &buf, &len, NULL) < 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

static void test_hostile(void)
{
	static const char cmd[] = "echo \"q\" 'x' \\ \nrm -rf /\r\t\x01\x7f\xff\xfe\xc3\xa9\0after";
	struct shunt_audit_record r;
	shunt_audit_record_init(&r);
	r.event = "decision";
	r.source = SHUNT_SOURCE_CLI;
	r.command = cmd;
	r.command_len = sizeof(cmd) - 1;
	r.action = SHUNT_ACTION_SANDBOX;
	r.risk = SHUNT_RISK_HIGH;
	r.score = 70;
	const char *rules[] = {"rm-rf", "we\"ird\n"};
	r.rules = rules;
	r.nrules = 2;
	r.profile = SHUNT_PROFILE_WORKSPACE_WRITE;
	r.runtime = SHUNT_RUNTIME_PROCESS;
	r.network = SHUNT_NET_RESTRICTED;
	const char *hosts[] = {"registry.npmjs.org"};
	r.allow_hosts = hosts;
	r.nallow_hosts = 1;
	r.approved_by = "prompt:y";
	r.duration_ms = 1234;
	r.exit_code = 3;
	r.has_exit_code = true;
	r.why = "why \"quoted\"\n";
	r.cache_hit = true;
	struct shunt_error *err = NULL;
	ok(shunt_audit_append(path, &r, 0, &err) == 0, "append hostile record");
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "log is mode 0600");
	is_int(count_lines(path), 1, "exactly one line (newlines escaped)");

	char *buf = NULL;
	size_t len = 0;
	shunt_fs_read(path, 1 << 20, &buf, &len, NULL);
	struct shunt_json *j = shunt_json_parse("audit", buf, len - 1, &err);
	ok(j != NULL, "the line is valid JSON");
	if (!j)
		diag("%s", err ? err->msg : "");
	const struct shunt_json *c = shunt_json_get(j, "command");
	const char want[] =
	    "echo \"q\" 'x' \\ \nrm -rf /\r\t\x01\x7f\xc3\xbf\xc3\xbe\xc3\xa9\0after";
	ok(c && c->len == sizeof(want) - 1 && memcmp(c->str, want, c->len) == 0,
	   "command round-trips (NUL kept, invalid bytes as U+00XX)");
	is_str(shunt_json_str(j, "action", NULL), "sandbox", "action");
	is_str(shunt_json_str(j, "risk", NULL), "high", "risk");
	is_str(shunt_json_str(j, "profile", NULL), "WORKSPACE_WRITE", "profile");
	is_str(shunt_json_str(j, "runtime", NULL), "process", "runtime");
	is_str(shunt_json_str(j, "network", NULL), "restricted", "network mode");
	is_str(shunt_json_str(j, "source", NULL), "cli", "source");
	is_str(shunt_json_str(j, "approved_by", NULL), "prompt:y", "approved_by");
	is_str(shunt_json_str(j, "why", NULL), "why \"quoted\"\n", "why");
	is_int(shunt_json_num(j, "duration_ms", -1), 1234, "duration_ms");
	is_int(shunt_json_num(j, "exit_code", -1), 3, "exit_code");
	is_int(shunt_json_num(j, "pid", -1), getpid(), "pid filled in");
	is_int(shunt_json_num(j, "uid", -1), getuid(), "uid filled in");
	ok(shunt_json_bool(j, "cache_hit", false), "cache_hit");
	ok(!shunt_json_bool(j, "weaker_isolation", true), "weaker_isolation");
	const struct shunt_json *rl = shunt_json_get(j, "rules");
	ok(rl && rl->len == 2 && strcmp(rl->items[1]->str, "we\"ird\n") == 0, "rules array");
	const char *t = shunt_json_str(j, "time", "");
	ok(strlen(t) == 24 && t[10] == 'T' && t[19] == '.' && t[23] == 'Z',
	   "RFC 3339 time with ms: %s", t);
	ok(shunt_json_get(j, "run_id")->type == SHUNT_JSON_NULL, "unset fields are null");
	shunt_json_free(j);
	free(buf);
	shunt_error_free(&err);
	unlink(path);
}

static void append_n(int n, unsigned long long max)
{
	for (int i = 0; i < n; i++) {
		struct shunt_audit_record r;
		shunt_audit_record_init(&r);
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "cmd %d", i);
		r.command = cmd;
		shunt_audit_append(path, &r, max, NULL);
	}
}

static void test_rotation(void)
{
	/* each record is ~400 bytes; rotate above 2000 bytes */
	append_n(60, 2000);
	char p[600];
	int present = 0;
	for (int i = 1; i <= 4; i++) {
		snprintf(p, sizeof(p), "%s.%d", path, i);
		present += access(p, F_OK) == 0;
	}
	is_int(present, 3, "rotated to .1 .2 .3 and no further");
	snprintf(p, sizeof(p), "%s.4", path);
	ok(access(p, F_OK) != 0, "no .4");
	struct stat st;
	stat(path, &st);
	ok(st.st_size < 2000 + 1000, "current file bounded by the rotation size");

	char **lines;
	size_t n;
	ok(shunt_audit_tail(path, 5, &lines, &n, NULL) == 0, "tail");
	is_int(n, 5, "tail gives 5 lines");
	struct shunt_json *j =
	    n == 5 ? shunt_json_parse("t", lines[4], strlen(lines[4]), NULL) : NULL;
	is_str(shunt_json_str(j, "command", NULL), "cmd 59", "newest last");
	shunt_json_free(j);
	j = n == 5 ? shunt_json_parse("t", lines[0], strlen(lines[0]), NULL) : NULL;
	is_str(shunt_json_str(j, "command", NULL), "cmd 55", "oldest first");
	shunt_json_free(j);
	shunt_audit_lines_free(lines, n);

	/* tail spanning the rotated file */
	size_t cur = count_lines(path);
	ok(shunt_audit_tail(path, cur + 2, &lines, &n, NULL) == 0 && n == cur + 2,
	   "tail reaches into audit.jsonl.1");
	j = n ? shunt_json_parse("t", lines[n - 1], strlen(lines[n - 1]), NULL) : NULL;
	is_str(shunt_json_str(j, "command", NULL), "cmd 59", "still newest last");
	shunt_json_free(j);
	shunt_audit_lines_free(lines, n);
}

static void test_concurrent_appends(void)
{
	unlink(path);
	enum { KIDS = 8, EACH = 200 };
	for (int k = 0; k < KIDS; k++) {
		if (fork() == 0) {
			append_n(EACH, 1ull << 30);
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++)
		wait(NULL);
	is_int(count_lines(path), KIDS * EACH, "concurrent appends: every line present");
	char **lines;
	size_t n;
	shunt_audit_tail(path, KIDS * EACH, &lines, &n, NULL);
	size_t valid = 0;
	for (size_t i = 0; i < n; i++) {
		struct shunt_json *j = shunt_json_parse("t", lines[i], strlen(lines[i]), NULL);
		valid += j != NULL;
		shunt_json_free(j);
	}
	is_int(valid, KIDS * EACH, "concurrent appends: no interleaved line");
	shunt_audit_lines_free(lines, n);
}

static void test_failure_is_an_error(void)
{
	struct shunt_audit_record r;
	shunt_audit_record_init(&r);
	r.command = "x";
	struct shunt_error *err = NULL;
	ok(shunt_audit_append("/proc/version/nope/audit.jsonl", &r, 0, &err) < 0 && err,
	   "unwritable log returns an error, no crash");
	shunt_error_free(&err);
	char **lines;
	size_t n;
	char missing[600];
	snprintf(missing, sizeof(missing), "%s/none.jsonl", dir);
	ok(shunt_audit_tail(missing, 10, &lines, &n, NULL) == 0 && n == 0, "missing log: no lines");
	shunt_audit_lines_free(lines, n);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/shunt-audit-test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/state/audit.jsonl", dir);
	test_hostile();
	char sub[300];
	struct stat st;
	snprintf(sub, sizeof(sub), "%s/state", dir);
	ok(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700, "log directory created 0700");
	test_rotation();
	test_concurrent_appends();
	test_failure_is_an_error();
	shunt_fs_rmtree(dir, NULL);
	return done_testing();
}
