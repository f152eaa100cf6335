#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

int shunt_fs_mkdirs(const char *path, mode_t mode, struct shunt_error **err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return shunt_error_set(err, ENAMETOOLONG, "bad directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return shunt_error_sys(err, errno, "creating directory %s", buf);
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int shunt_fs_read(const char *path, size_t max, char **out, size_t *len, struct shunt_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return shunt_error_sys(err, errno, "opening %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return shunt_error_sys(err, errno, "stat %s", path);
	if (S_ISDIR(st.st_mode))
		return shunt_error_set(err, EISDIR, "%s is a directory", path);
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return shunt_error_set(err, ENOMEM, "out of memory reading %s", path);
	size_t used = 0;
	for (;;) {
		if (used == cap) {
			if (cap > max)
				return shunt_error_set(err, EFBIG, "%s is larger than %zu bytes",
						       path, max);
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb)
				return shunt_error_set(err, ENOMEM, "out of memory reading %s",
						       path);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + used, cap - used);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return shunt_error_sys(err, errno, "reading %s", path);
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	if (used > max)
		return shunt_error_set(err, EFBIG, "%s is larger than %zu bytes", path, max);
	buf[used] = '\0';
	*out = steal_pointer(&buf);
	if (len)
		*len = used;
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int shunt_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			  struct shunt_error **err)
{
	char tmp[PATH_MAX];
	unsigned rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (unsigned)time(NULL) ^ (unsigned)getpid();
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%08x", path, (int)getpid(), rnd);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return shunt_error_set(err, ENAMETOOLONG, "path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return shunt_error_sys(err, errno, "creating %s", tmp);
	int saved;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return shunt_error_sys(err, saved, "writing %s (the previous file is unchanged)",
				       path);
	}
	if (close(fd) < 0) {
		saved = errno;
		unlink(tmp);
		return shunt_error_sys(err, saved, "writing %s (the previous file is unchanged)",
				       path);
	}
	if (rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		return shunt_error_sys(err, saved, "replacing %s (the previous file is unchanged)",
				       path);
	}
	/* make the rename durable */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

int shunt_fs_lock(const char *path, int timeout_ms, struct shunt_error **err)
{
	char lock[PATH_MAX];
	int n = snprintf(lock, sizeof(lock), "%s.lock", path);
	if (n < 0 || (size_t)n >= sizeof(lock))
		return shunt_error_set(err, ENAMETOOLONG, "path too long: %s", path);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return shunt_error_sys(err, errno, "opening lock %s", lock);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int saved = errno;
			close(fd);
			return shunt_error_sys(err, saved, "locking %s", lock);
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms) {
			close(fd);
			return shunt_error_set(err, ETIMEDOUT,
					       "timed out after %d ms waiting for lock %s",
					       timeout_ms, lock);
		}
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

void shunt_fs_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int rmtree_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int shunt_fs_rmtree(const char *path, struct shunt_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : shunt_error_sys(err, errno, "removing %s", path);
	if (nftw(path, rmtree_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return shunt_error_sys(err, errno, "removing %s", path);
	return 0;
}
