/* Trust entries: keys, executable hashes, the matching refs and their
 * verification. The store file itself is in trust_store.c. */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "paths.h"
#include "sha256.h"

char *shunt_trust_path(void)
{
	const char *env = getenv("SHUNT_TRUST_STORE");
	if (env && *env)
		return strdup(env);
	return shunt_paths_file(SHUNT_DIR_DATA, "trust.json");
}

void shunt_trust_entry_clear(struct shunt_trust_entry *e)
{
	if (!e)
		return;
	free(e->command);
	free(e->workspace);
	free(e->exe);
	free(e->note);
	free(e->added_user);
	free(e->added_tty);
	free(e->added_how);
	memset(e, 0, sizeof(*e));
}

void shunt_trust_store_free(struct shunt_trust_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		shunt_trust_entry_clear(&st->v[i]);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

void shunt_trust_entry_set_key(struct shunt_trust_entry *e)
{
	uint8_t k[32];
	shunt_trust_key(e->scope, e->scope == SHUNT_TRUST_GLOBAL ? NULL : e->workspace,
			e->command ? e->command : "", k);
	shunt_sha256_hex(k, e->key);
}

static int hash_file(const char *path, char out[65], struct stat *st, struct shunt_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return shunt_error_sys(err, errno, "opening %s", path);
	if (fstat(fd, st) < 0)
		return shunt_error_sys(err, errno, "stat %s", path);
	if (!S_ISREG(st->st_mode))
		return shunt_error_set(err, EINVAL, "%s is not a regular file", path);
	struct shunt_sha256 s;
	shunt_sha256_init(&s);
	char buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return shunt_error_sys(err, errno, "reading %s", path);
		}
		if (r == 0)
			break;
		shunt_sha256_update(&s, buf, (size_t)r);
	}
	uint8_t d[32];
	shunt_sha256_final(&s, d);
	shunt_sha256_hex(d, out);
	return 0;
}

int shunt_trust_fill_exe(struct shunt_trust_entry *e, const char *exe, struct shunt_error **err)
{
	free(e->exe);
	e->exe = NULL;
	e->exe_sha256[0] = '\0';
	e->exe_dev = e->exe_ino = e->exe_size = 0;
	e->exe_mtime_ns = e->exe_ctime_ns = 0;
	if (!exe)
		return 0;
	struct stat st;
	char hex[65];
	if (hash_file(exe, hex, &st, err) < 0)
		return shunt_error_prefix(err, "fingerprinting the executable: ");
	e->exe = strdup(exe);
	if (!e->exe)
		return shunt_error_set(err, ENOMEM, "out of memory");
	memcpy(e->exe_sha256, hex, 65);
	e->exe_dev = (uint64_t)st.st_dev;
	e->exe_ino = (uint64_t)st.st_ino;
	e->exe_size = (uint64_t)st.st_size;
	e->exe_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	e->exe_ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return 0;
}

int shunt_trust_entry_init(struct shunt_trust_entry *e, const char *norm, int scope,
			   const char *workspace, const char *exe, const char *how, int64_t now,
			   int64_t expires, const char *note, struct shunt_error **err)
{
	memset(e, 0, sizeof(*e));
	e->scope = scope == SHUNT_TRUST_GLOBAL ? SHUNT_TRUST_GLOBAL : SHUNT_TRUST_EXACT;
	e->command = strdup(norm);
	e->workspace = e->scope == SHUNT_TRUST_EXACT && workspace ? strdup(workspace) : NULL;
	e->note = note ? strdup(note) : NULL;
	e->added_how = strdup(how ? how : "cli");
	e->added_uid = (long long)getuid();
	struct passwd *pw = getpwuid(getuid());
	e->added_user = pw && pw->pw_name ? strdup(pw->pw_name) : NULL;
	const char *tty = NULL;
	for (int fd = 0; fd < 3 && !tty; fd++)
		tty = ttyname(fd);
	if (!tty) {
		int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0) {
			close(fd);
			tty = "/dev/tty";
		}
	}
	e->added_tty = strdup(tty ? tty : "no-tty");
	e->created = now;
	e->expires = expires;
	if (!e->command || (workspace && e->scope == SHUNT_TRUST_EXACT && !e->workspace) ||
	    (note && !e->note) || !e->added_how || !e->added_tty) {
		shunt_trust_entry_clear(e);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	shunt_trust_entry_set_key(e);
	if (shunt_trust_fill_exe(e, exe, err) < 0) {
		shunt_trust_entry_clear(e);
		return -1;
	}
	return 0;
}

static int hex_nibble(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void hex_to_key(const char *hex, uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(hex_nibble(hex[2 * i]) << 4 | hex_nibble(hex[2 * i + 1]));
}

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(((const struct shunt_trust_ref *)a)->key,
		      ((const struct shunt_trust_ref *)b)->key, 32);
}

int shunt_trust_refs(const struct shunt_trust_store *st, int64_t now, struct shunt_trust_ref **refs,
		     char ***exes, size_t *n, struct shunt_error **err)
{
	*refs = NULL;
	*exes = NULL;
	*n = 0;
	size_t cnt = st->n ? st->n : 1;
	struct shunt_trust_ref *r = calloc(cnt, sizeof(*r));
	char **x = calloc(cnt, sizeof(*x));
	if (!r || !x) {
		free(r);
		free(x);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < st->n; i++) {
		const struct shunt_trust_entry *e = &st->v[i];
		if (now > 0 && e->expires && e->expires <= now)
			continue;
		struct shunt_trust_ref *ref = &r[k];
		hex_to_key(e->key, ref->key);
		ref->scope = (uint8_t)e->scope;
		ref->expires = e->expires;
		ref->dev = e->exe_dev;
		ref->ino = e->exe_ino;
		ref->size = e->exe_size;
		ref->mtime_ns = e->exe_mtime_ns;
		ref->ctime_ns = e->exe_ctime_ns;
		if (e->exe) {
			x[k] = strdup(e->exe);
			if (!x[k]) {
				for (size_t j = 0; j < k; j++)
					free(x[j]);
				free(r);
				free(x);
				return shunt_error_set(err, ENOMEM, "out of memory");
			}
		}
		k++;
	}
	/* sort pairs together: sort refs, then re-point exes by copying */
	for (size_t i = 0; i < k; i++)
		r[i].exe = x[i];
	qsort(r, k, sizeof(*r), ref_cmp);
	for (size_t i = 0; i < k; i++)
		x[i] = (char *)r[i].exe;
	*refs = r;
	*exes = x;
	*n = k;
	return 0;
}

const struct shunt_trust_entry *shunt_trust_find(const struct shunt_trust_store *st,
						 const uint8_t key[32])
{
	char hex[65];
	shunt_sha256_hex(key, hex);
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->v[i].key, hex) == 0)
			return &st->v[i];
	return NULL;
}

int shunt_trust_verify_exe(const struct shunt_trust_entry *e, struct shunt_error **err)
{
	if (!e->exe)
		return 1;
	if (!e->exe_sha256[0])
		return 0;
	struct stat st;
	char hex[65];
	_cleanup_error_ struct shunt_error *herr = NULL;
	if (hash_file(e->exe, hex, &st, &herr) < 0) {
		if (herr->code == ENOENT || herr->code == EACCES || herr->code == EINVAL)
			return 0;
		shunt_error_set(err, herr->code, "%s", herr->msg);
		return -1;
	}
	return strcmp(hex, e->exe_sha256) == 0 ? 1 : 0;
}

int shunt_trust_verify_ref(const char *path, const struct shunt_trust_ref *ref,
			   struct shunt_error **err)
{
	struct shunt_trust_store st;
	if (shunt_trust_load(path, &st, err) < 0)
		return -1;
	const struct shunt_trust_entry *e = shunt_trust_find(&st, ref->key);
	int r = e ? shunt_trust_verify_exe(e, err) : 0;
	shunt_trust_store_free(&st);
	return r;
}

long long shunt_trust_parse_duration(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0 || s[0] == '-' || s[0] == '+')
		return -1;
	long long mul;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (strcmp(end, "d") == 0)
		mul = 86400;
	else if (strcmp(end, "w") == 0)
		mul = 7 * 86400;
	else
		return -1;
	if (v > (1LL << 40) / mul)
		return -1;
	return v * mul;
}
