/* The workspace as an ext4 image, built and read back without root:
 * `mke2fs -d` packs a directory into an image file, `debugfs rdump`
 * unpacks one, and a careful sync carries the guest's changes back into
 * the host workspace (Firecracker's read-write profiles). */
#ifndef SHUNT_WSIMAGE_H
#define SHUNT_WSIMAGE_H

#include "config.h"
#include "error.h"

/* Packs dir into a new ext4 image (contents, modes and owners as they
 * are; size: content x2 + 64 MiB). prep, when set, runs in the mke2fs
 * child before exec (e.g. covering hidden paths); non-zero aborts. A
 * relative image is resolved in that child, after prep. dir is checked
 * here, in the caller.
 * 0, or -1 with *err (exitcode 125; mke2fs missing: apt-get install
 * e2fsprogs). */
int shunt_wsimage_build(const char *dir, const char *image, int (*prep)(void *), void *arg,
			struct shunt_error **err);

struct shunt_wsimage_sync {
	unsigned copied;	   /* files, links and directories written */
	unsigned removed;	   /* entries the guest deleted, removed on the host */
	struct shunt_strv refused; /* workspace-relative paths left alone (escaping
				      symlinks, special files, another user's
				      file a non-root caller cannot write) */
};

/* Copies the guest's changes from image back into dir: unpacks it with
 * debugfs rdump into a private directory next to the image, then makes
 * dir match it. Every step works on directory fds with O_NOFOLLOW, files
 * are replaced by rename of a complete temp file, unchanged files are
 * left untouched. Owners: a replaced file keeps its owner and group when
 * the caller is root; a non-root caller keeps its own files' group and
 * rewrites another user's file in place (owner and mode stay) when it
 * may write it, else refuses it; new files are the caller's. The image's
 * owners are never applied. Symlinks whose target leaves dir and special files
 * (devices, fifos, sockets) are refused and listed. Paths in exclude
 * (absolute host paths, NULL-terminated, may be NULL) and a top-level
 * lost+found are never written or removed. 0 with *st filled (free
 * st->refused), or -1 with *err. */
int shunt_wsimage_copyback(const char *image, const char *dir, char *const *exclude,
			   struct shunt_wsimage_sync *st, struct shunt_error **err);

#endif
