/* Audit log: JSON lines appended with one write(2), rotated under a lock. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "paths.h"

#define AUDIT_LOCK_MS 5000

void shunt_audit_record_init(struct shunt_audit_record *r)
{
	memset(r, 0, sizeof(*r));
	r->uid = -1;
	r->source = -1;
	r->action = -1;
	r->risk = -1;
	r->score = -1;
	r->profile = SHUNT_PROFILE_NONE;
	r->runtime = -1;
	r->network = -1;
	r->duration_ms = -1;
	r->exit_code = -1;
}

char *shunt_audit_path(void)
{
	const char *env = getenv("SHUNT_AUDIT_LOG");
	if (env && *env)
		return strdup(env);
	return shunt_paths_file(SHUNT_DIR_STATE, "audit.jsonl");
}

static void put_str_or_null(struct shunt_buf *b, const char *s)
{
	if (s)
		shunt_buf_json_str(b, s, strlen(s));
	else
		shunt_buf_puts(b, "null");
}

static void put_name_or_null(struct shunt_buf *b, const char *(*name)(int), int v)
{
	if (v < 0) {
		shunt_buf_puts(b, "null");
		return;
	}
	const char *n = name(v);
	shunt_buf_json_str(b, n, strlen(n));
}

static void put_str_array(struct shunt_buf *b, const char *const *v, size_t n)
{
	shunt_buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		put_str_or_null(b, v[i]);
	}
	shunt_buf_putc(b, ']');
}

static const char *default_tty(void)
{
	for (int fd = 0; fd < 3; fd++) {
		const char *t = ttyname(fd);
		if (t)
			return t;
	}
	return NULL;
}

void shunt_audit_format(const struct shunt_audit_record *r, struct shunt_buf *b)
{
	int64_t ms = r->time_ms;
	if (!ms) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	shunt_buf_printf(b, "{\"time\":\"%s.%03dZ\",\"event\":", when, (int)(ms % 1000));
	put_str_or_null(b, r->event ? r->event : "decision");
	shunt_buf_printf(
	    b, ",\"pid\":%ld,\"ppid\":%ld,\"uid\":%lld,\"tty\":", r->pid ? r->pid : (long)getpid(),
	    r->ppid ? r->ppid : (long)getppid(), r->uid >= 0 ? r->uid : (long long)getuid());
	put_str_or_null(b, r->tty ? r->tty : default_tty());
	shunt_buf_puts(b, ",\"cwd\":");
	char cwdbuf[PATH_MAX];
	const char *cwd = r->cwd ? r->cwd : getcwd(cwdbuf, sizeof(cwdbuf));
	put_str_or_null(b, cwd);
	shunt_buf_puts(b, ",\"source\":");
	put_name_or_null(b, shunt_source_name, r->source);
	shunt_buf_puts(b, ",\"command\":");
	if (r->command)
		shunt_buf_json_str(b, r->command,
				   r->command_len ? r->command_len : strlen(r->command));
	else
		shunt_buf_puts(b, "null");
	shunt_buf_puts(b, ",\"action\":");
	put_name_or_null(b, shunt_action_name, r->action);
	shunt_buf_puts(b, ",\"risk\":");
	put_name_or_null(b, shunt_risk_name, r->risk);
	if (r->score >= 0)
		shunt_buf_printf(b, ",\"score\":%d", r->score);
	else
		shunt_buf_puts(b, ",\"score\":null");
	shunt_buf_puts(b, ",\"rules\":");
	put_str_array(b, r->rules, r->nrules);
	shunt_buf_puts(b, ",\"profile\":");
	put_name_or_null(b, shunt_profile_name, r->profile);
	shunt_buf_puts(b, ",\"runtime\":");
	put_name_or_null(b, shunt_runtime_name, r->runtime);
	shunt_buf_puts(b, ",\"network\":");
	put_name_or_null(b, shunt_netmode_name, r->network);
	shunt_buf_puts(b, ",\"allow_hosts\":");
	put_str_array(b, r->allow_hosts, r->nallow_hosts);
	shunt_buf_puts(b, ",\"approved_by\":");
	put_str_or_null(b, r->approved_by);
	if (r->duration_ms >= 0)
		shunt_buf_printf(b, ",\"duration_ms\":%lld", r->duration_ms);
	else
		shunt_buf_puts(b, ",\"duration_ms\":null");
	if (r->has_exit_code)
		shunt_buf_printf(b, ",\"exit_code\":%d", r->exit_code);
	else
		shunt_buf_puts(b, ",\"exit_code\":null");
	shunt_buf_puts(b, ",\"why\":");
	put_str_or_null(b, r->why);
	shunt_buf_puts(b, ",\"run_id\":");
	put_str_or_null(b, r->run_id);
	shunt_buf_puts(b, ",\"runtime_flags\":");
	put_str_or_null(b, r->runtime_flags);
	shunt_buf_printf(b, ",\"cache_hit\":%s,\"weaker_isolation\":%s",
			 r->cache_hit ? "true" : "false", r->weaker_isolation ? "true" : "false");
	if (r->agent) {
		shunt_buf_puts(b, ",\"agent\":");
		put_str_or_null(b, r->agent);
		shunt_buf_puts(b, ",\"session\":");
		put_str_or_null(b, r->session);
	}
	shunt_buf_putc(b, '}');
}

static int rotate_unlocked(const char *path, struct shunt_error **err)
{
	char from[PATH_MAX], to[PATH_MAX];
	for (int i = SHUNT_AUDIT_KEEP - 1; i >= 0; i--) {
		if (i == 0)
			snprintf(from, sizeof(from), "%s", path);
		else
			snprintf(from, sizeof(from), "%s.%d", path, i);
		snprintf(to, sizeof(to), "%s.%d", path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			return shunt_error_sys(err, errno, "rotating %s", from);
	}
	return 0;
}

int shunt_audit_rotate(const char *path, struct shunt_error **err)
{
	int lfd = shunt_fs_lock(path, AUDIT_LOCK_MS, err);
	if (lfd < 0)
		return -1;
	int r = rotate_unlocked(path, err);
	shunt_fs_unlock(lfd);
	return r;
}

static int ensure_parent(const char *path, struct shunt_error **err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return shunt_fs_mkdirs(dir, 0700, err);
}

int shunt_audit_append(const char *path, const struct shunt_audit_record *r,
		       unsigned long long max_bytes, struct shunt_error **err)
{
	_cleanup_free_ char *own = NULL;
	if (!path) {
		path = own = shunt_audit_path();
		if (!path)
			return shunt_error_set(err, ENOMEM, "audit log: out of memory");
	}
	if (!max_bytes)
		max_bytes = SHUNT_AUDIT_DEFAULT_MAX;
	if (ensure_parent(path, err) < 0)
		return shunt_error_prefix(err, "audit log: ");
	struct stat st;
	if (stat(path, &st) == 0 && (unsigned long long)st.st_size > max_bytes) {
		/* Re-check under the lock: another writer may have rotated. */
		int lfd = shunt_fs_lock(path, AUDIT_LOCK_MS, err);
		if (lfd < 0)
			return shunt_error_prefix(err, "audit log: ");
		int rr = 0;
		if (stat(path, &st) == 0 && (unsigned long long)st.st_size > max_bytes)
			rr = rotate_unlocked(path, err);
		shunt_fs_unlock(lfd);
		if (rr < 0)
			return shunt_error_prefix(err, "audit log: ");
	}
	struct shunt_buf b = {0};
	shunt_audit_format(r, &b);
	shunt_buf_putc(&b, '\n');
	if (b.oom) {
		shunt_buf_free(&b);
		return shunt_error_set(err, ENOMEM, "audit log: out of memory");
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		shunt_buf_free(&b);
		return shunt_error_sys(err, e, "audit log: opening %s", path);
	}
	ssize_t w;
	do
		w = write(fd, b.data, b.len);
	while (w < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	size_t len = b.len;
	shunt_buf_free(&b);
	if (w < 0)
		return shunt_error_sys(err, e, "audit log: writing %s", path);
	if ((size_t)w != len)
		return shunt_error_set(err, ENOSPC, "audit log: short write to %s", path);
	return 0;
}

void shunt_audit_lines_free(char **lines, size_t count)
{
	if (!lines)
		return;
	for (size_t i = 0; i < count; i++)
		free(lines[i]);
	free(lines);
}

/* The last (up to) n complete lines of one file, oldest first, prepended
 * to *lines. */
static int tail_one(const char *path, size_t n, char ***lines, size_t *count,
		    struct shunt_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return shunt_error_sys(err, errno, "opening %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return shunt_error_sys(err, errno, "stat %s", path);
	off_t size = st.st_size;
	size_t want = 65536;
	_cleanup_free_ char *buf = NULL;
	size_t got = 0;
	off_t start = 0;
	/* Read a growing window from the end until it holds n+1 newlines. */
	for (;;) {
		start = size > (off_t)want ? size - (off_t)want : 0;
		free(buf);
		buf = malloc((size_t)(size - start) + 1);
		if (!buf)
			return shunt_error_set(err, ENOMEM, "out of memory");
		got = 0;
		while (got < (size_t)(size - start)) {
			ssize_t r =
			    pread(fd, buf + got, (size_t)(size - start) - got, start + (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return shunt_error_sys(err, errno, "reading %s", path);
			if (r == 0)
				break;
			got += (size_t)r;
		}
		buf[got] = '\0';
		size_t nl = 0;
		for (size_t i = 0; i < got; i++)
			nl += buf[i] == '\n';
		if (start == 0 || nl > n)
			break;
		want *= 4;
	}
	/* Only complete lines; when start > 0 the first fragment is partial. */
	size_t end = got;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	size_t first = 0;
	if (start > 0) {
		char *p = memchr(buf, '\n', end);
		first = p ? (size_t)(p - buf) + 1 : end;
	}
	size_t total = 0;
	for (size_t i = first; i < end; i++)
		total += buf[i] == '\n';
	size_t skip = total > n ? total - n : 0;
	size_t take = total - skip;
	if (take == 0)
		return 0;
	char **nv = realloc(*lines, (*count + take) * sizeof(*nv));
	if (!nv)
		return shunt_error_set(err, ENOMEM, "out of memory");
	*lines = nv;
	memmove(nv + take, nv, *count * sizeof(*nv));
	size_t idx = 0, seen = 0, ls = first;
	for (size_t i = first; i < end; i++) {
		if (buf[i] != '\n')
			continue;
		if (seen++ >= skip) {
			nv[idx] = strndup(buf + ls, i - ls);
			if (!nv[idx])
				nv[idx] = strdup("");
			idx++;
		}
		ls = i + 1;
	}
	*count += take;
	return 0;
}

int shunt_audit_tail(const char *path, size_t n, char ***lines, size_t *count,
		     struct shunt_error **err)
{
	*lines = NULL;
	*count = 0;
	for (int i = 0; i <= SHUNT_AUDIT_KEEP && *count < n; i++) {
		char p[PATH_MAX];
		if (i == 0)
			snprintf(p, sizeof(p), "%s", path);
		else
			snprintf(p, sizeof(p), "%s.%d", path, i);
		if (tail_one(p, n - *count, lines, count, err) < 0) {
			shunt_audit_lines_free(*lines, *count);
			*lines = NULL;
			*count = 0;
			return -1;
		}
	}
	return 0;
}
