/* File helpers for state that must never be lost: atomic replace under a
 * lock, private modes, bounded reads. */
#ifndef SHUNT_FSUTIL_H
#define SHUNT_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* mkdir -p with mode for every directory it creates (existing ones are
 * left alone). */
int shunt_fs_mkdirs(const char *path, mode_t mode, struct shunt_error **err);

/* Reads a whole file (at most max bytes; larger is an error) into a
 * malloc'd NUL-terminated buffer. Missing file: returns -1 with
 * (*err)->code == ENOENT. */
int shunt_fs_read(const char *path, size_t max, char **out, size_t *len, struct shunt_error **err);

/* Atomically replaces path with data: writes path.tmp.<pid>.<rand> with
 * mode, fsyncs it, renames over path, fsyncs the directory. On any
 * failure (ENOSPC...) the old file is untouched and the temp removed. */
int shunt_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			  struct shunt_error **err);

/* Takes an exclusive flock on "<path>.lock" (created 0600), waiting up to
 * timeout_ms. Returns the lock fd (close it to release) or -1. */
int shunt_fs_lock(const char *path, int timeout_ms, struct shunt_error **err);

/* Releases a lock fd from shunt_fs_lock (NULL-safe for -1). */
void shunt_fs_unlock(int fd);

/* Removes path and everything below it without following symlinks
 * (rm -rf). A missing path is not an error. */
int shunt_fs_rmtree(const char *path, struct shunt_error **err);

#endif
