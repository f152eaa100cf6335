/* ext4 workspace images for the Firecracker backend; see wsimage.h. */
#include "wsimage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "paths.h"

static char *find_tool(const char *name)
{
	char *p = shunt_paths_which(name);
	if (p)
		return p;
	static const char *const dirs[] = {"/usr/sbin", "/sbin"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (asprintf(&p, "%s/%s", dirs[i], name) < 0)
			return NULL;
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Disk usage of dir in KiB (du -sk); 0 when unknown. */
static unsigned long long du_kib(const char *dir)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(p[1], 1) < 0 || dup2(nul, 2) < 0)
			_exit(127);
		execlp("du", "du", "-sk", "--", dir, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[64] = "";
	ssize_t n = pid > 0 ? read(p[0], buf, sizeof(buf) - 1) : -1;
	close(p[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	buf[n > 0 ? n : 0] = 0;
	return strtoull(buf, NULL, 10);
}

/* Runs argv quietly (stdout/stderr to errfile or /dev/null); the exit
 * status, 128+N for a signal, -1 when it could not start. */
static int run_quiet(char *const argv[], int (*prep)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(127);
		if (prep && prep(arg) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int set_125(struct shunt_error **err)
{
	if (err && *err)
		(*err)->exitcode = 125;
	return -1;
}

int shunt_wsimage_build(const char *dir, const char *image, int (*prep)(void *), void *arg,
			struct shunt_error **err)
{
	_cleanup_free_ char *mke2fs = find_tool("mke2fs");
	if (!mke2fs) {
		shunt_error_set(err, ENOENT, "mke2fs is not installed; apt-get install e2fsprogs");
		return set_125(err);
	}
	struct stat sb;
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		shunt_error_sys(err, errno ? errno : ENOTDIR, "workspace %s", dir);
		return set_125(err);
	}
	char size[32];
	snprintf(size, sizeof(size), "%lluM", du_kib(dir) / 1024 * 2 + 64);
	char *argv[] = {mke2fs,	      "-q", "-F",	 "-t",		"ext4", "-E",
			"root_owner", "-d", (char *)dir, (char *)image, size,	NULL};
	int rc = run_quiet(argv, prep, arg);
	if (rc != 0) {
		shunt_error_set(err, EIO,
				"mke2fs -d %s %s failed (status %d); is every file in the "
				"workspace readable?",
				dir, image, rc);
		return set_125(err);
	}
	return 0;
}

/* ---- copy-back ---- */

struct sync_ctx {
	const char *root; /* the host workspace, no trailing '/' */
	char *const *exclude;
	struct shunt_wsimage_sync *st;
	struct shunt_error **err;
};

static bool excluded(const struct sync_ctx *c, const char *rel)
{
	if (!rel[0])
		return false;
	if (strcmp(rel, "lost+found") == 0)
		return true;
	size_t rl = strlen(c->root);
	for (size_t i = 0; c->exclude && c->exclude[i]; i++) {
		const char *x = c->exclude[i];
		/* x is root "/" rel, or below it */
		if (strncmp(x, c->root, rl) != 0 || x[rl] != '/')
			continue;
		const char *xr = x + rl + 1;
		size_t n = strlen(xr);
		while (n && xr[n - 1] == '/')
			n--;
		if (strncmp(rel, xr, n) == 0 && (rel[n] == 0 || rel[n] == '/'))
			return true;
	}
	return false;
}

static void refuse(struct sync_ctx *c, const char *rel)
{
	shunt_strv_push(&c->st->refused, rel);
}

/* Removes name in dfd and everything below it, never following links. */
static int rm_at(int dfd, const char *name)
{
	struct stat sb;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(dfd, name, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    rm_at(dirfd(d), de->d_name) < 0)
			rc = -1;
	closedir(d);
	return rc < 0 ? -1 : unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Lexically resolves a link target relative to the link's directory
 * (rel_dir, workspace-relative) and says whether it stays inside. */
static bool link_inside(const struct sync_ctx *c, const char *rel_dir, const char *target)
{
	char path[PATH_MAX * 2];
	size_t rl = strlen(c->root);
	if (target[0] == '/') {
		if (strncmp(target, c->root, rl) != 0 || (target[rl] != '/' && target[rl] != 0))
			return false;
		snprintf(path, sizeof(path), "%s", target + rl);
	} else {
		snprintf(path, sizeof(path), "/%s/%s", rel_dir, target);
	}
	/* walk components, tracking the depth below the workspace */
	int depth = 0;
	for (char *save = NULL, *t = strtok_r(path, "/", &save); t;
	     t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (--depth < 0)
				return false;
		} else {
			depth++;
		}
	}
	return true;
}

static int sync_err(struct sync_ctx *c, const char *what, const char *rel)
{
	return shunt_error_sys(c->err, errno, "copying the workspace back: %s %s", what, rel);
}

/* Is dst (in dfd) a regular file with exactly src's bytes and mode? */
static bool same_file(int sfd, int dfd, const char *name, const struct stat *ss)
{
	struct stat ds;
	if (fstatat(dfd, name, &ds, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(ds.st_mode) ||
	    ds.st_size != ss->st_size || (ds.st_mode & 0777) != (ss->st_mode & 0777))
		return false;
	_cleanup_close_ int a = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int b = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a < 0 || b < 0)
		return false;
	char x[16384], y[16384];
	for (;;) {
		ssize_t n = read(a, x, sizeof(x));
		if (n < 0)
			return false;
		if (n == 0)
			return read(b, y, 1) == 0;
		ssize_t got = 0;
		while (got < n) {
			ssize_t m = read(b, y + got, (size_t)(n - got));
			if (m <= 0)
				return false;
			got += m;
		}
		if (memcmp(x, y, (size_t)n) != 0)
			return false;
	}
}

static const char tmp_prefix[] = ".shunt-copyback.";

/* Copies src's bytes into an open file (at offset 0, truncating it). */
static int copy_bytes(int in, int out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0)
				return -1;
			off += w;
		}
	}
}

/* Someone else's file, copied back by a non-root caller: replacing it
 * would make it ours, so it is rewritten in place (its owner, group and
 * mode stay) when we may write it, else refused. Not atomic: the price
 * of keeping the owner. */
static int rewrite_in_place(struct sync_ctx *c, int sfd, int dfd, const char *name, const char *rel)
{
	_cleanup_close_ int out = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (out < 0) {
		if (errno != EACCES && errno != EPERM)
			return sync_err(c, "opening", rel);
		refuse(c, rel);
		return 0;
	}
	struct stat os;
	if (fstat(out, &os) < 0 || !S_ISREG(os.st_mode)) {
		refuse(c, rel);
		return 0;
	}
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return sync_err(c, "reading", rel);
	if (ftruncate(out, 0) < 0 || copy_bytes(in, out) < 0 || fsync(out) < 0)
		return sync_err(c, "rewriting", rel);
	c->st->copied++;
	return 0;
}

/* Replaces name with src's bytes and mode by rename of a temp file. old:
 * the regular file it replaces, or NULL. Its owner carries over where we
 * may set it: root gives the file back to its owner and group; others
 * keep their own file's group when they are in it. A new file is the
 * caller's. */
static int copy_file(struct sync_ctx *c, int sfd, int dfd, const char *name, const char *rel,
		     mode_t mode, const struct stat *old)
{
	char tmp[NAME_MAX + 1];
	snprintf(tmp, sizeof(tmp), "%s%ld", tmp_prefix, (long)getpid());
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return sync_err(c, "reading", rel);
	unlinkat(dfd, tmp, 0);
	_cleanup_close_ int out =
	    openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return sync_err(c, "creating", rel);
	if (copy_bytes(in, out) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "copying", rel);
	}
	if (old && geteuid() == 0 && fchown(out, old->st_uid, old->st_gid) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "keeping the owner of", rel);
	}
	/* not our group: the file keeps ours */
	if (old && geteuid() != 0 && old->st_gid != getegid() &&
	    fchown(out, (uid_t)-1, old->st_gid) < 0)
		errno = 0;
	if (fchmod(out, mode & 0777) < 0 || fsync(out) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "writing", rel);
	}
	struct stat ds;
	if (fstatat(dfd, name, &ds, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(ds.st_mode) &&
	    rm_at(dfd, name) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "replacing the directory", rel);
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "renaming into place", rel);
	}
	c->st->copied++;
	return 0;
}

static int copy_link(struct sync_ctx *c, int sfd, int dfd, const char *name, const char *rel,
		     const char *rel_dir)
{
	char target[PATH_MAX], cur[PATH_MAX];
	ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return sync_err(c, "reading the link", rel);
	target[n] = 0;
	/* unchanged links stay, wherever they point (the host made them) */
	ssize_t m = readlinkat(dfd, name, cur, sizeof(cur) - 1);
	if (m == n && memcmp(cur, target, (size_t)n) == 0)
		return 0;
	if (!link_inside(c, rel_dir, target)) {
		refuse(c, rel);
		return 0;
	}
	char tmp[NAME_MAX + 1];
	snprintf(tmp, sizeof(tmp), "%s%ld", tmp_prefix, (long)getpid());
	unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) < 0)
		return sync_err(c, "creating the link", rel);
	struct stat ds;
	bool have = fstatat(dfd, name, &ds, AT_SYMLINK_NOFOLLOW) == 0;
	if (have && S_ISDIR(ds.st_mode) && rm_at(dfd, name) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "replacing the directory", rel);
	}
	/* a link that replaces one keeps its owner (root only may set it) */
	if (have && S_ISLNK(ds.st_mode) && geteuid() == 0 &&
	    fchownat(dfd, tmp, ds.st_uid, ds.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "keeping the owner of", rel);
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		unlinkat(dfd, tmp, 0);
		return sync_err(c, "renaming into place", rel);
	}
	c->st->copied++;
	return 0;
}

static int sync_dir(struct sync_ctx *c, int sfd, int dfd, const char *rel_dir);

static int sync_entry(struct sync_ctx *c, int sfd, int dfd, const char *name, const char *rel,
		      const char *rel_dir)
{
	struct stat ss, ds;
	if (fstatat(sfd, name, &ss, AT_SYMLINK_NOFOLLOW) < 0)
		return sync_err(c, "reading", rel);
	bool have = fstatat(dfd, name, &ds, AT_SYMLINK_NOFOLLOW) == 0;
	if (S_ISREG(ss.st_mode)) {
		if (same_file(sfd, dfd, name, &ss))
			return 0;
		bool was_file = have && S_ISREG(ds.st_mode);
		if (was_file && geteuid() != 0 && ds.st_uid != geteuid())
			return rewrite_in_place(c, sfd, dfd, name, rel);
		return copy_file(c, sfd, dfd, name, rel, ss.st_mode, was_file ? &ds : NULL);
	}
	if (S_ISLNK(ss.st_mode))
		return copy_link(c, sfd, dfd, name, rel, rel_dir);
	if (!S_ISDIR(ss.st_mode)) {
		refuse(c, rel);
		return 0;
	}
	if (have && !S_ISDIR(ds.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0)
			return sync_err(c, "replacing", rel);
		have = false;
	}
	if (!have) {
		if (mkdirat(dfd, name, ss.st_mode & 0777) < 0)
			return sync_err(c, "creating the directory", rel);
		c->st->copied++;
	}
	_cleanup_close_ int s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s2 < 0 || d2 < 0)
		return sync_err(c, "opening the directory", rel);
	if (have && (ds.st_mode & 0777) != (ss.st_mode & 0777))
		fchmod(d2, ss.st_mode & 0777);
	return sync_dir(c, s2, d2, rel);
}

static int sync_dir(struct sync_ctx *c, int sfd, int dfd, const char *rel_dir)
{
	char rel[PATH_MAX];
	int fd = dup(sfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return sync_err(c, "listing", rel_dir[0] ? rel_dir : ".");
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", rel_dir, rel_dir[0] ? "/" : "", de->d_name);
		if (excluded(c, rel))
			continue;
		rc = sync_entry(c, sfd, dfd, de->d_name, rel, rel_dir);
	}
	closedir(d);
	if (rc < 0)
		return rc;
	/* what the guest deleted */
	fd = dup(dfd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return sync_err(c, "listing", rel_dir[0] ? rel_dir : ".");
	}
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", rel_dir, rel_dir[0] ? "/" : "", de->d_name);
		struct stat ss;
		if (excluded(c, rel) || fstatat(sfd, de->d_name, &ss, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		/* a refused entry (special file, escaping link) keeps the host's */
		bool kept = false;
		for (size_t i = 0; i < c->st->refused.n; i++)
			kept |= strcmp(c->st->refused.v[i], rel) == 0;
		if (kept)
			continue;
		if (rm_at(dirfd(d), de->d_name) < 0)
			rc = sync_err(c, "removing", rel);
		else
			c->st->removed++;
	}
	closedir(d);
	return rc;
}

int shunt_wsimage_copyback(const char *image, const char *dir, char *const *exclude,
			   struct shunt_wsimage_sync *st, struct shunt_error **err)
{
	memset(st, 0, sizeof(*st));
	_cleanup_free_ char *debugfs = find_tool("debugfs");
	if (!debugfs)
		return shunt_error_set(err, ENOENT,
				       "debugfs is not installed (apt-get install e2fsprogs): the "
				       "workspace changes stay in %s",
				       image);
	char dump[PATH_MAX];
	const char *slash = strrchr(image, '/');
	snprintf(dump, sizeof(dump), "%.*s/.rdump.XXXXXX", slash ? (int)(slash - image) : 1,
		 slash ? image : ".");
	if (!mkdtemp(dump))
		return shunt_error_sys(err, errno, "temp dir for the workspace copy-back");
	_cleanup_free_ char *req = NULL;
	_cleanup_close_ int sfd = -1, dfd = -1;
	char root[PATH_MAX];
	int rc = -1;
	if (strchr(dump, '"') || asprintf(&req, "rdump / \"%s\"", dump) < 0) {
		shunt_error_set(err, EINVAL, "unusable temp path %s", dump);
		goto out;
	}
	char *argv[] = {debugfs, "-R", req, (char *)image, NULL};
	int st_rc = run_quiet(argv, NULL, NULL);
	if (st_rc != 0) {
		shunt_error_set(err, EIO, "debugfs rdump of %s failed (status %d)", image, st_rc);
		goto out;
	}
	if (!realpath(dir, root)) {
		shunt_error_sys(err, errno, "workspace %s", dir);
		goto out;
	}
	sfd = open(dump, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || dfd < 0) {
		shunt_error_sys(err, errno, "opening %s", sfd < 0 ? dump : root);
		goto out;
	}
	struct sync_ctx c = {.root = root, .exclude = exclude, .st = st, .err = err};
	rc = sync_dir(&c, sfd, dfd, "");
out:;
	struct shunt_error *e = NULL;
	shunt_fs_rmtree(dump, &e);
	shunt_error_free(&e);
	return rc;
}
