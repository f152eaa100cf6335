/* Audit forwarding: spool, then send; delete only after a 2xx. */
#include <dirent.h>
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
#include "forward.h"
#include "fsutil.h"
#include "httpfetch.h"
#include "paths.h"
#include "sha256.h"

#define MAX_BATCH_BYTES (8u << 20)

char *shunt_forward_spool_dir(void)
{
	return shunt_paths_file(SHUNT_DIR_STATE, "spool");
}

struct cursor {
	unsigned long long ino, off, seq;
};

static void cursor_read(const char *dir, struct cursor *c)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/cursor", dir);
	memset(c, 0, sizeof(*c));
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	if (fscanf(f, "%llu %llu %llu", &c->ino, &c->off, &c->seq) != 3)
		memset(c, 0, sizeof(*c));
	fclose(f);
}

static int cursor_write(const char *dir, const struct cursor *c, struct shunt_error **err)
{
	char p[4096], buf[96];
	snprintf(p, sizeof(p), "%s/cursor", dir);
	int n = snprintf(buf, sizeof(buf), "%llu %llu %llu\n", c->ino, c->off, c->seq);
	return shunt_fs_write_atomic(p, buf, (size_t)n, 0600, err);
}

/* Spools whole lines of path from c->off; advances c (and writes it). */
static int spool_file(const char *path, const char *dir, unsigned batch, struct cursor *c,
		      struct shunt_forward_stats *st, struct shunt_error **err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : shunt_error_sys(err, errno, "opening %s", path);
	if (fseeko(f, (off_t)c->off, SEEK_SET) < 0)
		return shunt_error_sys(err, errno, "seeking %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct shunt_buf b = {0};
	unsigned count = 0;
	unsigned long long off = c->off;
	int rc = 0;
	for (;;) {
		n = getline(&line, &cap, f);
		bool whole = n > 0 && line[n - 1] == '\n';
		if (whole) {
			if (n > 1) { /* skip blank lines */
				shunt_buf_append(&b, line, (size_t)n);
				count++;
			}
			off += (unsigned long long)n;
		}
		if (count && (count >= batch || !whole || b.len >= MAX_BATCH_BYTES)) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/%020llu.jsonl", dir, c->seq);
			if (shunt_fs_write_atomic(p, b.data, b.len, 0600, err) < 0) {
				rc = -1;
				break;
			}
			struct cursor nc = {c->ino, off, c->seq + 1};
			if (cursor_write(dir, &nc, err) < 0) {
				unlink(p); /* not recorded: it will be spooled again */
				rc = -1;
				break;
			}
			*c = nc;
			st->spooled += count;
			count = 0;
			b.len = 0;
		}
		if (!whole)
			break;
	}
	if (rc == 0 && off != c->off) { /* only blank lines */
		c->off = off;
		rc = cursor_write(dir, c, err);
	}
	free(line);
	shunt_buf_free(&b);
	return rc;
}

int shunt_forward_spool(const char *audit_path, const char *spool_dir, unsigned batch,
			struct shunt_forward_stats *st, struct shunt_error **err)
{
	if (batch == 0)
		batch = 100;
	if (shunt_fs_mkdirs(spool_dir, 0700, err) < 0)
		return -1;
	int lock = shunt_fs_lock(spool_dir, 10000, err);
	if (lock < 0)
		return -1;
	struct cursor c;
	cursor_read(spool_dir, &c);
	struct stat cur;
	int rc = 0;
	if (stat(audit_path, &cur) < 0) {
		shunt_fs_unlock(lock);
		return errno == ENOENT ? 0 : shunt_error_sys(err, errno, "%s", audit_path);
	}
	if (c.ino && c.ino != (unsigned long long)cur.st_ino) {
		/* rotated since last time: finish the old file first */
		char old[4096];
		struct stat ost;
		snprintf(old, sizeof(old), "%s.1", audit_path);
		if (stat(old, &ost) == 0 && (unsigned long long)ost.st_ino == c.ino)
			rc = spool_file(old, spool_dir, batch, &c, st, err);
		if (rc == 0) {
			c.ino = 0;
			c.off = 0;
		}
	}
	if (rc == 0 && c.ino == 0) {
		c.ino = (unsigned long long)cur.st_ino;
		c.off = 0;
		rc = cursor_write(spool_dir, &c, err);
	}
	if (rc == 0 && (unsigned long long)cur.st_size < c.off)
		c.off = 0; /* truncated */
	if (rc == 0)
		rc = spool_file(audit_path, spool_dir, batch, &c, st, err);
	shunt_fs_unlock(lock);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_batches(const char *dir, char ***out, size_t *n, struct shunt_error **err);

unsigned long long shunt_forward_dropped(const char *spool_dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/dropped", spool_dir);
	unsigned long long v = 0;
	FILE *f = fopen(p, "re");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

int shunt_forward_cap(const char *spool_dir, unsigned long long cap, struct shunt_forward_stats *st,
		      struct shunt_error **err)
{
	if (shunt_fs_mkdirs(spool_dir, 0700, err) < 0)
		return -1;
	int lock = shunt_fs_lock(spool_dir, 10000, err);
	if (lock < 0)
		return -1;
	char **names = NULL;
	size_t n = 0;
	int rc = list_batches(spool_dir, &names, &n, err);
	unsigned long long total = 0;
	unsigned long long *sizes = rc == 0 && n ? calloc(n, sizeof(*sizes)) : NULL;
	if (rc == 0 && n && !sizes)
		rc = shunt_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char p[4096];
		struct stat sb;
		snprintf(p, sizeof(p), "%s/%s", spool_dir, names[i]);
		sizes[i] = stat(p, &sb) == 0 ? (unsigned long long)sb.st_size : 0;
		total += sizes[i];
	}
	size_t dropped = 0;
	/* oldest first; the newest batch always stays */
	for (size_t i = 0; rc == 0 && total > cap && i + 1 < n; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", spool_dir, names[i]);
		char *body = NULL;
		size_t len = 0;
		struct shunt_error *e = NULL;
		size_t records = 0;
		if (shunt_fs_read(p, MAX_BATCH_BYTES + (1u << 20), &body, &len, &e) == 0)
			for (size_t k = 0; k < len; k++)
				records += body[k] == '\n';
		shunt_error_free(&e);
		free(body);
		if (unlink(p) < 0) {
			rc = shunt_error_sys(err, errno, "removing %s", p);
			break;
		}
		total -= sizes[i];
		dropped += records;
	}
	st->dropped += dropped;
	st->dropped_total = shunt_forward_dropped(spool_dir) + dropped;
	if (dropped) {
		char p[4096], buf[32];
		snprintf(p, sizeof(p), "%s/dropped", spool_dir);
		int l = snprintf(buf, sizeof(buf), "%llu\n", st->dropped_total);
		struct shunt_error *e = NULL;
		if (shunt_fs_write_atomic(p, buf, (size_t)l, 0600, &e) < 0 && rc == 0) {
			*err = e;
			e = NULL;
			rc = -1;
		}
		shunt_error_free(&e);
	}
	free(sizes);
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	shunt_fs_unlock(lock);
	return rc;
}

static int list_batches(const char *dir, char ***out, size_t *n, struct shunt_error **err)
{
	*out = NULL;
	*n = 0;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : shunt_error_sys(err, errno, "%s", dir);
	struct dirent *e;
	size_t cap = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l != 26 || strcmp(e->d_name + 20, ".jsonl") != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(*out, cap * sizeof(char *));
			if (!nv)
				return shunt_error_set(err, ENOMEM, "out of memory");
			*out = nv;
		}
		if (!((*out)[(*n)++] = strdup(e->d_name)))
			return shunt_error_set(err, ENOMEM, "out of memory");
	}
	if (*n)
		qsort(*out, *n, sizeof(char *), cmp_str);
	return 0;
}

static char *read_token(const char *path, struct shunt_error **err)
{
	char *t = NULL;
	size_t len = 0;
	if (shunt_fs_read(path, 4096, &t, &len, err) < 0) {
		shunt_error_prefix(err, "audit.forward.token_file: ");
		return NULL;
	}
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = 0;
	return t;
}

/* A spooled batch (JSON lines) as the collector's format wants it. */
static int encode(const char *format, const char *body, size_t len, struct shunt_buf *out,
		  const char **ctype)
{
	*ctype = "application/x-ndjson";
	if (!format || strcmp(format, "jsonl") == 0) {
		shunt_buf_append(out, body, len);
		return out->oom ? -1 : 0;
	}
	bool loki = strcmp(format, "loki") == 0, es = strcmp(format, "elasticsearch") == 0;
	if (loki) {
		/* Loki push API: one stream; distinct, increasing timestamps */
		*ctype = "application/json";
		shunt_buf_puts(out, "{\"streams\":[{\"stream\":{\"job\":\"shunt\"},\"values\":[");
	} else if (!es) {
		*ctype = "application/json"; /* splunk-hec: concatenated events */
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned long long ns =
	    (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	size_t k = 0;
	for (const char *p = body; p < body + len;) {
		const char *nl = memchr(p, '\n', (size_t)(body + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(body + len - p);
		if (l) {
			if (loki) {
				shunt_buf_printf(out, "%s[\"%llu\",", k ? "," : "", ns + k);
				shunt_buf_json_str(out, p, l);
				shunt_buf_putc(out, ']');
			} else if (es) {
				/* _id from the record: a retried batch overwrites,
				 * never duplicates */
				uint8_t d[32];
				char hex[65];
				shunt_sha256(p, l, d);
				shunt_sha256_hex(d, hex);
				shunt_buf_printf(out, "{\"index\":{\"_id\":\"%.40s\"}}\n", hex);
				shunt_buf_append(out, p, l);
				shunt_buf_putc(out, '\n');
			} else {
				shunt_buf_puts(out, "{\"sourcetype\":\"shunt:audit\",\"event\":");
				shunt_buf_append(out, p, l);
				shunt_buf_puts(out, "}\n");
			}
			k++;
		}
		p += l + 1;
	}
	if (loki)
		shunt_buf_puts(out, "]}]}");
	return out->oom ? -1 : 0;
}

int shunt_forward_flush(const struct shunt_audit_forward *f, const char *spool_dir,
			struct shunt_forward_stats *st, struct shunt_error **err)
{
	if (!f->url)
		return shunt_error_set(err, EINVAL, "audit.forward.url is not configured");
	_cleanup_free_ char *token = NULL;
	if (f->token_file && !(token = read_token(f->token_file, err)))
		return -1;
	if (shunt_fs_mkdirs(spool_dir, 0700, err) < 0)
		return -1;
	int lock = shunt_fs_lock(spool_dir, 10000, err);
	if (lock < 0)
		return -1;
	char **names = NULL;
	size_t n = 0, i = 0;
	int rc = list_batches(spool_dir, &names, &n, err);
	for (; rc == 0 && i < n; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", spool_dir, names[i]);
		char *body = NULL;
		size_t len = 0;
		if (shunt_fs_read(p, MAX_BATCH_BYTES + (1u << 20), &body, &len, err) < 0) {
			rc = -1;
			break;
		}
		size_t records = 0;
		for (size_t k = 0; k < len; k++)
			records += body[k] == '\n';
		long status = 0;
		struct shunt_error *herr = NULL;
		struct shunt_buf enc = {0}, resp = {0};
		const char *ctype = NULL;
		if (encode(f->format, body, len, &enc, &ctype) < 0) {
			free(body);
			shunt_buf_free(&enc);
			rc = shunt_error_set(err, ENOMEM, "out of memory");
			break;
		}
		free(body);
		bool splunk = f->format && strcmp(f->format, "splunk-hec") == 0;
		bool es = f->format && strcmp(f->format, "elasticsearch") == 0;
		int hr = shunt_http_post(f->url, ctype, splunk ? "Splunk" : "Bearer", token,
					 enc.data ? enc.data : "", enc.len, f->insecure, 30,
					 &status, es ? &resp : NULL, &herr);
		shunt_buf_free(&enc);
		/* a bulk answer of 200 can still carry failed items: resend
		 * the batch (same _ids) later */
		if (hr == 0 && es && status >= 200 && status <= 299 && resp.data &&
		    strstr(resp.data, "\"errors\":true"))
			status = 207;
		shunt_buf_free(&resp);
		if (hr < 0 || status < 200 || status > 299 || (es && status == 207)) {
			st->last_status = hr < 0 ? 0 : status;
			if (hr < 0) {
				shunt_error_set(err, herr ? herr->code : EIO, "%s",
						herr ? herr->msg : "send failed");
			}
			shunt_error_free(&herr);
			rc = hr < 0 ? 2 : 1;
			break;
		}
		if (unlink(p) < 0) {
			rc =
			    shunt_error_sys(err, errno, "removing %s after it was acknowledged", p);
			break;
		}
		st->sent += records;
		st->batches++;
	}
	st->pending = n - st->batches;
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	shunt_fs_unlock(lock);
	if (rc == 2)
		return 1; /* transport failure: *err says why, batches remain */
	return rc < 0 ? -1 : rc;
}
