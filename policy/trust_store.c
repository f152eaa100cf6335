/* Trust store file: parse and validate, serialise, load, and mutate
 * under a lock with an atomic write. */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "sha256.h"

#define TRUST_VERSION  1
#define TRUST_MAX_SIZE (16u << 20)
#define TRUST_LOCK_MS  15000

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Deep copy; returns -1 on OOM (dst is then cleared). */
static int entry_copy(struct shunt_trust_entry *dst, const struct shunt_trust_entry *src)
{
	*dst = *src;
	dst->command = dup_or_null(src->command);
	dst->workspace = dup_or_null(src->workspace);
	dst->exe = dup_or_null(src->exe);
	dst->note = dup_or_null(src->note);
	dst->added_user = dup_or_null(src->added_user);
	dst->added_tty = dup_or_null(src->added_tty);
	dst->added_how = dup_or_null(src->added_how);
	if ((src->command && !dst->command) || (src->workspace && !dst->workspace) ||
	    (src->exe && !dst->exe) || (src->note && !dst->note) ||
	    (src->added_user && !dst->added_user) || (src->added_tty && !dst->added_tty) ||
	    (src->added_how && !dst->added_how)) {
		shunt_trust_entry_clear(dst);
		return -1;
	}
	return 0;
}

static int store_push(struct shunt_trust_store *st, struct shunt_trust_entry *e)
{
	if (st->n == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 8;
		struct shunt_trust_entry *v = realloc(st->v, nc * sizeof(*v));
		if (!v)
			return -1;
		st->v = v;
		st->cap = nc;
	}
	st->v[st->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static void store_remove_at(struct shunt_trust_store *st, size_t i)
{
	shunt_trust_entry_clear(&st->v[i]);
	memmove(&st->v[i], &st->v[i + 1], (st->n - i - 1) * sizeof(st->v[0]));
	st->n--;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* An unsigned integer stored as a decimal string or as a JSON number. */
static bool json_u64(const struct shunt_json *o, const char *key, uint64_t *out)
{
	const struct shunt_json *v = shunt_json_get(o, key);
	*out = 0;
	if (!v || v->type == SHUNT_JSON_NULL)
		return true;
	if (v->type == SHUNT_JSON_NUMBER) {
		if (v->num < 0)
			return false;
		*out = (uint64_t)v->num;
		return true;
	}
	if (v->type != SHUNT_JSON_STRING || v->len == 0 || v->len > 20)
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v->str, &end, 10);
	if (errno || *end || v->str[0] == '-')
		return false;
	*out = x;
	return true;
}

static bool json_i64(const struct shunt_json *o, const char *key, int64_t *out)
{
	const struct shunt_json *v = shunt_json_get(o, key);
	*out = 0;
	if (!v || v->type == SHUNT_JSON_NULL)
		return true;
	if (v->type == SHUNT_JSON_NUMBER) {
		*out = (int64_t)v->num;
		return true;
	}
	if (v->type != SHUNT_JSON_STRING || v->len == 0 || v->len > 20)
		return false;
	char *end;
	errno = 0;
	long long x = strtoll(v->str, &end, 10);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

/* Optional string member: NULL when missing or null; false on wrong type. */
static bool json_optstr(const struct shunt_json *o, const char *key, char **out)
{
	const struct shunt_json *v = shunt_json_get(o, key);
	*out = NULL;
	if (!v || v->type == SHUNT_JSON_NULL)
		return true;
	if (v->type != SHUNT_JSON_STRING)
		return false;
	*out = strdup(v->str);
	return *out != NULL;
}

/* Converts one JSON entry; on failure sets why and returns -1. */
static int entry_from_json(const struct shunt_json *o, struct shunt_trust_entry *e,
			   const char **why)
{
	memset(e, 0, sizeof(*e));
	if (o->type != SHUNT_JSON_OBJECT) {
		*why = "entry is not an object";
		return -1;
	}
	const char *key = shunt_json_str(o, "key", NULL);
	if (!key || strlen(key) != 64 || !is_hex(key, 64)) {
		*why = "entry without a valid key";
		return -1;
	}
	memcpy(e->key, key, 65);
	const char *scope = shunt_json_str(o, "scope", "exact");
	if (strcmp(scope, "exact") == 0) {
		e->scope = SHUNT_TRUST_EXACT;
	} else if (strcmp(scope, "global") == 0) {
		e->scope = SHUNT_TRUST_GLOBAL;
	} else {
		*why = "entry with an unknown scope";
		return -1;
	}
	uint64_t uses = 0;
	char *tmp_sha = NULL;
	const struct shunt_json *by = shunt_json_get(o, "added_by");
	bool okay = json_optstr(o, "command", &e->command) && e->command &&
		    json_optstr(o, "workspace", &e->workspace) && json_optstr(o, "exe", &e->exe) &&
		    json_optstr(o, "exe_sha256", &tmp_sha) && json_u64(o, "exe_dev", &e->exe_dev) &&
		    json_u64(o, "exe_ino", &e->exe_ino) && json_u64(o, "exe_size", &e->exe_size) &&
		    json_i64(o, "exe_mtime_ns", &e->exe_mtime_ns) &&
		    json_i64(o, "exe_ctime_ns", &e->exe_ctime_ns) &&
		    json_i64(o, "created", &e->created) && json_i64(o, "expires", &e->expires) &&
		    json_u64(o, "uses", &uses) && json_i64(o, "last_used", &e->last_used) &&
		    json_optstr(o, "note", &e->note);
	if (okay && by && by->type == SHUNT_JSON_OBJECT) {
		int64_t uid = -1;
		okay = json_optstr(by, "user", &e->added_user) && json_i64(by, "uid", &uid) &&
		       json_optstr(by, "tty", &e->added_tty) &&
		       json_optstr(by, "how", &e->added_how);
		e->added_uid = uid;
	} else if (okay && by && by->type != SHUNT_JSON_NULL) {
		okay = false;
	}
	e->uses = uses;
	if (okay && tmp_sha) {
		if (strlen(tmp_sha) != 64 || !is_hex(tmp_sha, 64))
			okay = false;
		else
			memcpy(e->exe_sha256, tmp_sha, 65);
	}
	free(tmp_sha);
	if (!okay) {
		*why = "entry with a missing or mistyped field";
		shunt_trust_entry_clear(e);
		return -1;
	}
	return 0;
}

enum parse_result { PARSE_OK, PARSE_CORRUPT, PARSE_NEWER, PARSE_OOM };

static enum parse_result parse_store(const char *path, const char *buf, size_t len,
				     struct shunt_trust_store *st, char *why, size_t whylen)
{
	_cleanup_error_ struct shunt_error *perr = NULL;
	struct shunt_json *j = shunt_json_parse(path, buf, len, &perr);
	if (!j) {
		snprintf(why, whylen, "%s", perr ? perr->msg : "unparsable");
		return PARSE_CORRUPT;
	}
	enum parse_result r = PARSE_OK;
	const struct shunt_json *ver = shunt_json_get(j, "version");
	const struct shunt_json *entries = shunt_json_get(j, "entries");
	if (j->type != SHUNT_JSON_OBJECT || !ver || ver->type != SHUNT_JSON_NUMBER) {
		snprintf(why, whylen, "not a trust store (no version)");
		r = PARSE_CORRUPT;
		goto out;
	}
	if (ver->num > TRUST_VERSION) {
		snprintf(why, whylen, "store version %g is newer than this shunt understands (%d)",
			 ver->num, TRUST_VERSION);
		r = PARSE_NEWER;
		goto out;
	}
	if (ver->num != TRUST_VERSION || !entries || entries->type != SHUNT_JSON_ARRAY) {
		snprintf(why, whylen, "not a trust store (bad version or no entries array)");
		r = PARSE_CORRUPT;
		goto out;
	}
	for (size_t i = 0; i < entries->len; i++) {
		struct shunt_trust_entry e;
		const char *ewhy = NULL;
		if (entry_from_json(entries->items[i], &e, &ewhy) < 0) {
			snprintf(why, whylen, "%s:%d:%d: %s", path, entries->items[i]->line,
				 entries->items[i]->col, ewhy);
			r = PARSE_CORRUPT;
			goto out;
		}
		if (store_push(st, &e) < 0) {
			shunt_trust_entry_clear(&e);
			r = PARSE_OOM;
			goto out;
		}
	}
out:
	shunt_json_free(j);
	if (r != PARSE_OK)
		shunt_trust_store_free(st);
	return r;
}

/* Renames path to "<path>.corrupt-<unixtime>" without replacing an
 * earlier one from the same second (then ".corrupt-<time>.<n>"). */
static int move_aside(const char *path, char *aside, size_t n)
{
	long long now = (long long)time(NULL);
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(aside, n, "%s.corrupt-%lld", path, now);
		else
			snprintf(aside, n, "%s.corrupt-%lld.%d", path, now, i);
		if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		/* filesystem without RENAME_NOREPLACE: check, then rename */
		if (access(aside, F_OK) == 0)
			continue;
		return rename(path, aside);
	}
	errno = EEXIST;
	return -1;
}

/* Reads and parses; when the file is corrupt and we hold the lock, moves
 * it aside. */
static int load_locked(const char *path, struct shunt_trust_store *st, bool locked,
		       struct shunt_error **err)
{
	memset(st, 0, sizeof(*st));
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_error_ struct shunt_error *rerr = NULL;
	if (shunt_fs_read(path, TRUST_MAX_SIZE, &buf, &len, &rerr) < 0) {
		if (rerr->code == ENOENT)
			return 0;
		return shunt_error_set(err, rerr->code, "trust store: %s", rerr->msg);
	}
	char why[1024];
	switch (parse_store(path, buf, len, st, why, sizeof(why))) {
	case PARSE_OK:
		return 0;
	case PARSE_OOM:
		return shunt_error_set(err, ENOMEM, "trust store %s: out of memory", path);
	case PARSE_NEWER:
		return shunt_error_set(err, 0, "trust store %s: %s; left unchanged", path, why);
	case PARSE_CORRUPT:
		break;
	}
	if (!locked) {
		/* Move aside only under the lock, after checking again, so a
		 * concurrent writer's fresh store is never the one renamed. */
		int lfd = shunt_fs_lock(path, TRUST_LOCK_MS, err);
		if (lfd < 0)
			return shunt_error_prefix(err, "trust store %s is corrupt (%s): ", path,
						  why);
		int r = load_locked(path, st, true, err);
		shunt_fs_unlock(lfd);
		return r;
	}
	char aside[4096];
	if (move_aside(path, aside, sizeof(aside)) < 0)
		return shunt_error_sys(
		    err, errno, "trust store %s is corrupt (%s) and could not be moved aside to %s",
		    path, why, aside);
	return shunt_error_set(err, EINVAL,
			       "trust store %s was corrupt (%s); it was moved aside to %s and "
			       "remembered approvals start empty (inspect or restore that file)",
			       path, why, aside);
}

int shunt_trust_load(const char *path, struct shunt_trust_store *st, struct shunt_error **err)
{
	return load_locked(path, st, false, err);
}

void shunt_trust_entry_json(const struct shunt_trust_entry *e, struct shunt_buf *b)
{
	shunt_buf_printf(b, "{\"key\":\"%s\",\"command\":", e->key);
	shunt_buf_json_str(b, e->command ? e->command : "", e->command ? strlen(e->command) : 0);
	shunt_buf_printf(b, ",\"scope\":\"%s\",\"workspace\":",
			 e->scope == SHUNT_TRUST_GLOBAL ? "global" : "exact");
	if (e->workspace && e->scope != SHUNT_TRUST_GLOBAL)
		shunt_buf_json_str(b, e->workspace, strlen(e->workspace));
	else
		shunt_buf_puts(b, "null");
	shunt_buf_puts(b, ",\"exe\":");
	if (e->exe)
		shunt_buf_json_str(b, e->exe, strlen(e->exe));
	else
		shunt_buf_puts(b, "null");
	if (e->exe_sha256[0])
		shunt_buf_printf(b, ",\"exe_sha256\":\"%s\"", e->exe_sha256);
	else
		shunt_buf_puts(b, ",\"exe_sha256\":null");
	shunt_buf_printf(b,
			 ",\"exe_dev\":\"%" PRIu64 "\",\"exe_ino\":\"%" PRIu64
			 "\",\"exe_size\":\"%" PRIu64 "\",\"exe_mtime_ns\":\"%" PRId64
			 "\",\"exe_ctime_ns\":\"%" PRId64 "\",\"created\":%" PRId64,
			 e->exe_dev, e->exe_ino, e->exe_size, e->exe_mtime_ns, e->exe_ctime_ns,
			 e->created);
	if (e->expires)
		shunt_buf_printf(b, ",\"expires\":%" PRId64, e->expires);
	else
		shunt_buf_puts(b, ",\"expires\":null");
	shunt_buf_printf(b, ",\"uses\":%" PRIu64, e->uses);
	if (e->last_used)
		shunt_buf_printf(b, ",\"last_used\":%" PRId64, e->last_used);
	else
		shunt_buf_puts(b, ",\"last_used\":null");
	shunt_buf_puts(b, ",\"note\":");
	if (e->note)
		shunt_buf_json_str(b, e->note, strlen(e->note));
	else
		shunt_buf_puts(b, "null");
	shunt_buf_puts(b, ",\"added_by\":{\"user\":");
	if (e->added_user)
		shunt_buf_json_str(b, e->added_user, strlen(e->added_user));
	else
		shunt_buf_puts(b, "null");
	shunt_buf_printf(b, ",\"uid\":%lld,\"tty\":", e->added_uid);
	const char *tty = e->added_tty ? e->added_tty : "no-tty";
	shunt_buf_json_str(b, tty, strlen(tty));
	shunt_buf_puts(b, ",\"how\":");
	const char *how = e->added_how ? e->added_how : "cli";
	shunt_buf_json_str(b, how, strlen(how));
	shunt_buf_puts(b, "}}");
}

void shunt_trust_store_json(const struct shunt_trust_store *st, struct shunt_buf *b)
{
	shunt_buf_printf(b, "{\"version\":%d,\"entries\":[", TRUST_VERSION);
	for (size_t i = 0; i < st->n; i++) {
		shunt_buf_puts(b, i ? ",\n" : "\n");
		shunt_trust_entry_json(&st->v[i], b);
	}
	shunt_buf_puts(b, st->n ? "\n]}\n" : "]}\n");
}

static int ensure_dir(const char *path, struct shunt_error **err)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return shunt_fs_mkdirs(dir, 0700, err);
}

static int store_write(const char *path, const struct shunt_trust_store *st,
		       struct shunt_error **err)
{
	struct shunt_buf b = {0};
	shunt_trust_store_json(st, &b);
	if (b.oom) {
		shunt_buf_free(&b);
		return shunt_error_set(err, ENOMEM, "out of memory writing %s", path);
	}
	int r = shunt_fs_write_atomic(path, b.data, b.len, 0600, err);
	shunt_buf_free(&b);
	return r;
}

/* One locked read-modify-write cycle. fn returns <0 on error, 0 for "no
 * change" (nothing written), >0 for "write and return this". */
typedef int (*mutate_fn)(struct shunt_trust_store *st, void *arg, struct shunt_error **err);

static int mutate(const char *path, mutate_fn fn, void *arg, struct shunt_error **err)
{
	if (ensure_dir(path, err) < 0)
		return shunt_error_prefix(err, "trust store: ");
	int lfd = shunt_fs_lock(path, TRUST_LOCK_MS, err);
	if (lfd < 0)
		return shunt_error_prefix(err, "trust store: ");
	struct shunt_trust_store st;
	int r = load_locked(path, &st, true, err);
	if (r == 0) {
		r = fn(&st, arg, err);
		if (r > 0 && store_write(path, &st, err) < 0)
			r = -1;
	}
	shunt_trust_store_free(&st);
	shunt_fs_unlock(lfd);
	return r;
}

static int add_fn(struct shunt_trust_store *st, void *arg, struct shunt_error **err)
{
	const struct shunt_trust_entry *e = arg;
	struct shunt_trust_entry copy;
	if (entry_copy(&copy, e) < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < st->n; i++) {
		if (strcmp(st->v[i].key, e->key) == 0) {
			shunt_trust_entry_clear(&st->v[i]);
			st->v[i] = copy;
			return 1;
		}
	}
	if (store_push(st, &copy) < 0) {
		shunt_trust_entry_clear(&copy);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	return 1;
}

int shunt_trust_add(const char *path, const struct shunt_trust_entry *e, struct shunt_error **err)
{
	if (!e->command || strlen(e->key) != 64)
		return shunt_error_set(err, EINVAL, "trust entry without command or key");
	return mutate(path, add_fn, (void *)e, err) < 0 ? -1 : 0;
}

struct remove_arg {
	const char *spec, *norm;
	struct shunt_trust_entry *removed;
	int count;
};

static int remove_fn(struct shunt_trust_store *st, void *argp, struct shunt_error **err)
{
	struct remove_arg *a = argp;
	size_t sl = strlen(a->spec);
	char lower[65] = "";
	bool hexspec = sl >= 8 && sl <= 64;
	for (size_t i = 0; hexspec && i < sl; i++) {
		char c = a->spec[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		lower[i] = c;
		lower[i + 1] = '\0';
	}
	hexspec = hexspec && is_hex(lower, sl);
	if (hexspec) {
		size_t hit = SIZE_MAX, nhits = 0;
		for (size_t i = 0; i < st->n; i++) {
			if (strncmp(st->v[i].key, lower, sl) == 0) {
				hit = i;
				nhits++;
			}
		}
		if (nhits > 1)
			return shunt_error_set(
			    err, EINVAL,
			    "key prefix '%s' matches %zu entries; give more characters", a->spec,
			    nhits);
		if (nhits == 1) {
			if (a->removed && entry_copy(a->removed, &st->v[hit]) < 0)
				memset(a->removed, 0, sizeof(*a->removed));
			store_remove_at(st, hit);
			a->count = 1;
			return 1;
		}
	}
	for (size_t i = 0; i < st->n;) {
		const char *c = st->v[i].command;
		if (strcmp(c, a->spec) == 0 || (a->norm && strcmp(c, a->norm) == 0)) {
			if (a->removed && a->count == 0 && entry_copy(a->removed, &st->v[i]) < 0)
				memset(a->removed, 0, sizeof(*a->removed));
			store_remove_at(st, i);
			a->count++;
		} else {
			i++;
		}
	}
	return a->count ? 1 : 0;
}

int shunt_trust_remove(const char *path, const char *spec, const char *norm,
		       struct shunt_trust_entry *removed, struct shunt_error **err)
{
	struct remove_arg a = {spec, norm, removed, 0};
	if (removed)
		memset(removed, 0, sizeof(*removed));
	if (mutate(path, remove_fn, &a, err) < 0)
		return -1;
	return a.count;
}

struct clean_arg {
	int64_t now;
	int count;
};

static int clean_fn(struct shunt_trust_store *st, void *argp, struct shunt_error **err)
{
	struct clean_arg *a = argp;
	for (size_t i = 0; i < st->n;) {
		if (st->v[i].expires && st->v[i].expires <= a->now) {
			store_remove_at(st, i);
			a->count++;
		} else {
			i++;
		}
	}
	return a->count ? 1 : 0;
}

int shunt_trust_clean(const char *path, int64_t now, struct shunt_error **err)
{
	struct clean_arg a = {now, 0};
	if (mutate(path, clean_fn, &a, err) < 0)
		return -1;
	return a.count;
}

struct touch_arg {
	char hex[65];
	int64_t now;
};

static int touch_fn(struct shunt_trust_store *st, void *argp, struct shunt_error **err)
{
	struct touch_arg *a = argp;
	for (size_t i = 0; i < st->n; i++) {
		if (strcmp(st->v[i].key, a->hex) == 0) {
			st->v[i].uses++;
			st->v[i].last_used = a->now;
			return 1;
		}
	}
	return 0;
}

int shunt_trust_touch(const char *path, const uint8_t key[32], int64_t now,
		      struct shunt_error **err)
{
	struct touch_arg a;
	shunt_sha256_hex(key, a.hex);
	a.now = now;
	return mutate(path, touch_fn, &a, err);
}
