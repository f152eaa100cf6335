/* The ext4 workspace image with real e2fsprogs: built by mke2fs -d
 * without root, changed the way a guest would (debugfs -w: write, rm,
 * mkdir, symlink, mknod), then copied back into the host workspace. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	shunt_fs_rmtree(top, &err);
	shunt_error_free(&err);
	return done_testing();
}
