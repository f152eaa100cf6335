/* The ext4 workspace image with real e2fsprogs: built by mke2fs -d
 * without root, changed the way a guest would (debugfs -w: write, rm,
 * mkdir, symlink, mknod), then copied back into the host workspace. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"
#include "wsimage.h"

static char top[] = "/tmp/shunt-test-wsimage.XXXXXX";
static char ws[PATH_MAX], img[PATH_MAX], outside[PATH_MAX];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *slurp(const char *rel)
{
	char p[PATH_MAX * 2], *d = NULL;
	snprintf(p, sizeof(p), "%s/%s", ws, rel);
	struct shunt_error *e = NULL;
	if (shunt_fs_read(p, 1 << 20, &d, NULL, &e) < 0)
		shunt_error_free(&e);
	return d;
}

static bool exists(const char *rel)
{
	char p[PATH_MAX * 2];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/%s", ws, rel);
	return lstat(p, &sb) == 0;
}

/* Applies debugfs -w requests to the image, as the guest's writes. */
static int guest(const char *requests)
{
	char f[PATH_MAX + 16];
	snprintf(f, sizeof(f), "%s/req", top);
	FILE *o = fopen(f, "w");
	if (!o)
		return -1;
	fputs(requests, o);
	fclose(o);
	return sh("PATH=$PATH:/usr/sbin:/sbin debugfs -w -f %s %s >/dev/null 2>&1", f, img);
}

static bool owned(const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	char p[PATH_MAX * 2];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/%s", ws, rel);
	return lstat(p, &sb) == 0 && sb.st_uid == uid && sb.st_gid == gid &&
	       (sb.st_mode & 07777) == mode;
}

/* A workspace whose files belong to several users, changed by the guest
 * and copied back by root and (in a child that drops to nobody) by a
 * non-root caller. Root only: making other users' files needs chown. */
static void test_owners(void)
{
	if (geteuid() != 0) {
		skip("copy-back owners: making other users' files needs root");
		return;
	}
	snprintf(ws, sizeof(ws), "%s/ows", top);
	snprintf(img, sizeof(img), "%s/ojob/workspace.ext4", top);
	char host_new[PATH_MAX];
	snprintf(host_new, sizeof(host_new), "%.200s/newcontent", top);
	ok(sh("mkdir -p %s %s/ojob && cd %s && echo old > other.txt && chown 12345:54321 other.txt "
	      "&& chmod 0640 other.txt && echo old > mine.txt && chmod 0604 mine.txt && ln -s "
	      "mine.txt lnk && chown -h 12345:54321 lnk",
	      ws, top, ws) == 0,
	   "owners fixture (root)");
	struct shunt_error *err = NULL;
	struct shunt_wsimage_sync st;
	ok(shunt_wsimage_build(ws, img, NULL, NULL, &err) == 0, "owners: image built");
	char req[PATH_MAX * 5];
	snprintf(req, sizeof(req),
		 "rm /other.txt\nwrite %s /other.txt\nsif /other.txt uid 0\nsif /other.txt mode "
		 "0100640\n"
		 "rm /mine.txt\nwrite %s /mine.txt\nsif /mine.txt mode 0100604\n"
		 "write %s /new.txt\nrm /lnk\nsymlink /lnk other.txt\n",
		 host_new, host_new, host_new);
	ok(guest(req) == 0,
	   "owners: the guest rewrote other.txt (as uid 0), mine.txt, added new.txt");
	ok(shunt_wsimage_copyback(img, ws, NULL, &st, &err) == 0, "owners: copy-back as root");
	shunt_error_free(&err);
	shunt_strv_free(&st.refused);
	char *s = slurp("other.txt");
	is_str(s, "new\nlines\n", "root: another user's file gets the guest's content");
	free(s);
	ok(owned("other.txt", 12345, 54321, 0640),
	   "root: ... and keeps its owner, group and mode (12345:54321 0640), not the image's uid");
	ok(owned("mine.txt", 0, 0, 0604), "root: its own file keeps owner and mode 0604");
	ok(owned("new.txt", 0, 0, 0644) || owned("new.txt", 0, 0, 0600) ||
	       owned("new.txt", 0, 0, 0664),
	   "root: a new file belongs to the invoking user (root)");
	struct stat lsb;
	char lp[PATH_MAX * 2];
	snprintf(lp, sizeof(lp), "%s/lnk", ws);
	ok(lstat(lp, &lsb) == 0 && S_ISLNK(lsb.st_mode) && lsb.st_uid == 12345,
	   "root: a replaced symlink keeps its owner");

	/* the non-root caller: nobody's workspace with someone else's files */
	chmod(top, 0755);
	const uid_t nb = 65534;
	const gid_t ng = 65534;
	snprintf(ws, sizeof(ws), "%s/nws", top);
	snprintf(img, sizeof(img), "%s/njob/workspace.ext4", top);
	ok(sh("mkdir -p %s %s/njob && cd %s && echo old > other-w.txt && chmod 0666 other-w.txt "
	      "&& echo old > other-ro.txt && chmod 0644 other-ro.txt && chown 12345:54321 "
	      "other-w.txt other-ro.txt && echo old > own.txt && chmod 0604 own.txt && chown "
	      "%u:%u own.txt . %s/njob",
	      ws, top, ws, (unsigned)nb, (unsigned)ng, top) == 0,
	   "owners fixture (nobody's workspace)");
	struct stat wbefore;
	char wp[PATH_MAX * 2];
	snprintf(wp, sizeof(wp), "%s/other-w.txt", ws);
	stat(wp, &wbefore);
	ok(shunt_wsimage_build(ws, img, NULL, NULL, &err) == 0 && chmod(img, 0644) == 0 &&
	       chown(img, nb, ng) == 0,
	   "nobody: image built");
	shunt_error_free(&err);
	snprintf(req, sizeof(req),
		 "rm /other-w.txt\nwrite %s /other-w.txt\nrm /other-ro.txt\nwrite %s "
		 "/other-ro.txt\nrm /own.txt\nwrite %s /own.txt\nsif /own.txt mode 0100604\n"
		 "write %s /new.txt\n",
		 host_new, host_new, host_new, host_new);
	ok(guest(req) == 0, "nobody: the guest rewrote all three files and added new.txt");
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(ng, ng, ng) < 0 ||
		    setresuid(nb, nb, nb) < 0)
			_exit(3);
		struct shunt_error *e = NULL;
		struct shunt_wsimage_sync cs;
		if (shunt_wsimage_copyback(img, ws, NULL, &cs, &e) < 0) {
			fprintf(stderr, "# %s\n", e->msg);
			_exit(1);
		}
		bool listed = cs.refused.n == 1 && strcmp(cs.refused.v[0], "other-ro.txt") == 0;
		_exit(listed ? 0 : 2);
	}
	int wst = -1;
	waitpid(pid, &wst, 0);
	ok(WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
	   "nobody: copy-back succeeds; only the unwritable file of another user is refused "
	   "(status %d)",
	   WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
	s = slurp("other-w.txt");
	is_str(s, "new\nlines\n", "nobody: another user's writable file gets the content");
	free(s);
	struct stat wafter;
	stat(wp, &wafter);
	ok(owned("other-w.txt", 12345, 54321, 0666) && wafter.st_ino == wbefore.st_ino,
	   "nobody: ... rewritten in place: same inode, owner 12345:54321, mode 0666");
	s = slurp("other-ro.txt");
	is_str(s, "old\n", "nobody: another user's read-only file is left alone");
	free(s);
	ok(owned("other-ro.txt", 12345, 54321, 0644), "nobody: ... with its owner");
	s = slurp("own.txt");
	is_str(s, "new\nlines\n", "nobody: its own file gets the content");
	free(s);
	ok(owned("own.txt", nb, ng, 0604), "nobody: ... and keeps owner and mode 0604");
	char np[PATH_MAX * 2];
	struct stat nsb;
	snprintf(np, sizeof(np), "%s/new.txt", ws);
	ok(lstat(np, &nsb) == 0 && nsb.st_uid == nb && nsb.st_gid == ng,
	   "nobody: a new file belongs to the invoking user (nobody)");
}

int main(void)
{
	if (!mkdtemp(top))
		return 1;
	if (sh("PATH=$PATH:/usr/sbin:/sbin; command -v mke2fs >/dev/null && command -v debugfs "
	       ">/dev/null") != 0) {
		skip("e2fsprogs (mke2fs, debugfs) not installed: apt-get install e2fsprogs");
		return done_testing();
	}
	snprintf(ws, sizeof(ws), "%s/ws", top);
	snprintf(img, sizeof(img), "%s/job/workspace.ext4", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	ok(sh("mkdir -p %s/sub %s/secrets %s/job %s && echo keep > %s/keep.txt && "
	      "echo old > %s/change.txt && echo gone > %s/sub/gone.txt && echo key > "
	      "%s/secrets/key && ln -s %s %s/lnk && echo x > %s/host.txt && chmod 0640 "
	      "%s/keep.txt",
	      ws, ws, top, outside, ws, ws, ws, ws, outside, ws, top, ws) == 0,
	   "workspace fixture");
	struct stat before;
	char keep[PATH_MAX * 2];
	snprintf(keep, sizeof(keep), "%s/keep.txt", ws);
	stat(keep, &before);

	struct shunt_error *err = NULL;
	int rc = shunt_wsimage_build(ws, img, NULL, NULL, &err);
	ok(rc == 0, "mke2fs -d builds the image without root (uid %d)", (int)getuid());
	if (rc < 0) {
		diag("%s", err->msg);
		shunt_error_free(&err);
		return done_testing();
	}
	char host_new[PATH_MAX];
	snprintf(host_new, sizeof(host_new), "%.200s/newcontent", top);
	sh("printf 'new\\nlines\\n' > %s", host_new);
	char req[PATH_MAX * 5];
	snprintf(req, sizeof(req),
		 "rm /change.txt\n"
		 "write %s /change.txt\n"
		 "mkdir /made\n"
		 "write %s /made/file.txt\n"
		 "rm /sub/gone.txt\n"
		 "symlink /esc-abs /etc/passwd\n"
		 "symlink /esc-rel ../../outside\n"
		 "symlink /made/ok-link ../keep.txt\n"
		 "mknod /fifo p\n"
		 "rm /secrets/key\n"
		 "write %s /secrets/planted\n"
		 "rm /lnk\n"
		 "mkdir /lnk\n"
		 "write %s /lnk/evil\n",
		 host_new, host_new, host_new, host_new);
	ok(guest(req) == 0, "the guest's changes applied to the image (debugfs -w)");

	char excl[PATH_MAX * 2];
	snprintf(excl, sizeof(excl), "%s/secrets", ws);
	char *exclude[] = {excl, NULL};
	struct shunt_wsimage_sync st;
	rc = shunt_wsimage_copyback(img, ws, exclude, &st, &err);
	ok(rc == 0, "copy-back succeeds");
	if (rc < 0)
		diag("%s", err->msg);
	shunt_error_free(&err);

	char *s = slurp("change.txt");
	is_str(s, "new\nlines\n", "a changed file reaches the host");
	free(s);
	s = slurp("made/file.txt");
	is_str(s, "new\nlines\n", "a new file in a new directory reaches the host");
	free(s);
	ok(!exists("sub/gone.txt") && exists("sub"), "a file deleted in the guest is removed");
	ok(!exists("esc-abs") && !exists("esc-rel"), "symlinks leaving the workspace are refused");
	char target[64] = "";
	char lp[PATH_MAX * 2];
	snprintf(lp, sizeof(lp), "%s/made/ok-link", ws);
	ssize_t n = readlink(lp, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	is_str(target, "../keep.txt", "a symlink inside the workspace is copied");
	ok(!exists("fifo"), "a special file (fifo) is not created on the host");
	bool listed_fifo = false, listed_esc = false;
	for (size_t i = 0; i < st.refused.n; i++) {
		listed_fifo |= strcmp(st.refused.v[i], "fifo") == 0;
		listed_esc |= strcmp(st.refused.v[i], "esc-abs") == 0;
	}
	ok(listed_esc, "the refused symlink is reported");
	(void)listed_fifo;
	s = slurp("secrets/key");
	is_str(s, "key\n", "an excluded (hidden) path keeps its host content");
	free(s);
	ok(!exists("secrets/planted"), "nothing is written into an excluded path");
	char ev[PATH_MAX * 2];
	snprintf(ev, sizeof(ev), "%s/evil", outside);
	ok(access(ev, F_OK) != 0, "a host symlink replaced by a guest directory: nothing written "
				  "through it");
	struct stat lsb;
	snprintf(lp, sizeof(lp), "%s/lnk", ws);
	ok(lstat(lp, &lsb) == 0 && S_ISDIR(lsb.st_mode), "... the directory replaces the link");
	struct stat after;
	stat(keep, &after);
	ok(after.st_ino == before.st_ino && after.st_mtime == before.st_mtime &&
	       (after.st_mode & 0777) == 0640,
	   "an unchanged file is left untouched (inode, mtime, mode 0640)");
	ok(!exists("lost+found"), "the image's lost+found is not copied");
	ok(sh("ls -A %s | grep -q shunt-copyback", ws) != 0, "no temp files left behind");
	char jobdir[PATH_MAX + 8];
	snprintf(jobdir, sizeof(jobdir), "%s/job", top);
	ok(sh("test -z \"$(ls -A %s | grep -v workspace.ext4)\"", jobdir) == 0,
	   "the rdump directory is removed");
	shunt_strv_free(&st.refused);

	ok(shunt_wsimage_build("/nonexistent-shunt-ws", img, NULL, NULL, &err) < 0 && err &&
	       err->exitcode == 125,
	   "a missing workspace: error, exit 125");
	shunt_error_free(&err);
	test_owners();
	shunt_fs_rmtree(top, &err);
	shunt_error_free(&err);
	return done_testing();
}
