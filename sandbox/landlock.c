/* Landlock through raw syscalls (glibc has no wrappers). The constants
 * are defined here because distribution headers lag the kernel (Debian
 * 12 stops at ABI 2); the values are kernel ABI and never change. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule	    445
#define SYS_landlock_restrict_self  446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH	  1
#define LL_RULE_NET_PORT	  2

#define LL_FS_EXECUTE	       (1ULL << 0)
#define LL_FS_WRITE_FILE       (1ULL << 1)
#define LL_FS_READ_FILE	       (1ULL << 2)
#define LL_FS_READ_DIR	       (1ULL << 3)
#define LL_FS_REMOVE_DIR       (1ULL << 4)
#define LL_FS_REMOVE_FILE      (1ULL << 5)
#define LL_FS_MAKE_CHAR	       (1ULL << 6)
#define LL_FS_MAKE_DIR	       (1ULL << 7)
#define LL_FS_MAKE_REG	       (1ULL << 8)
#define LL_FS_MAKE_SOCK	       (1ULL << 9)
#define LL_FS_MAKE_FIFO	       (1ULL << 10)
#define LL_FS_MAKE_BLOCK       (1ULL << 11)
#define LL_FS_MAKE_SYM	       (1ULL << 12)
#define LL_FS_REFER	       (1ULL << 13) /* ABI 2 */
#define LL_FS_TRUNCATE	       (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV	       (1ULL << 15) /* ABI 5 */
#define LL_NET_BIND_TCP	       (1ULL << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP     (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL	       (1ULL << 1)

/* The kernel takes the struct size to know which fields we know about. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Rights that make sense on a non-directory (others give EINVAL). */
#define LL_FILE_RIGHTS                                                                             \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

int shunt_landlock_abi(void)
{
	long r = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	return r < 0 ? 0 : (int)r;
}

static uint64_t fs_rights(int abi)
{
	uint64_t r = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

int shunt_landlock_apply(const struct shunt_landlock_path *paths, size_t n, bool restrict_tcp,
			 struct shunt_error **err)
{
	int abi = shunt_landlock_abi();
	if (abi <= 0)
		return 0;
	uint64_t handled = fs_rights(abi);
	/* Device ioctls (terminal settings on /dev/tty...) stay allowed on
	 * read-only paths: TIOCSTI is refused by seccomp, and denying the rest
	 * breaks password prompts. */
	uint64_t ro =
	    (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_IOCTL_DEV) & handled;
	struct ll_ruleset_attr attr = {.handled_access_fs = handled};
	size_t size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		size = offsetof(struct ll_ruleset_attr, scoped);
		if (restrict_tcp)
			attr.handled_access_net =
			    LL_NET_BIND_TCP | LL_NET_CONNECT_TCP; /* and no rule allows any */
	}
	if (abi >= 6) {
		/* No abstract unix sockets or signals to processes outside the sandbox. */
		size = sizeof(attr);
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	}
	int rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0)
		return shunt_error_sys(err, errno, "landlock_create_ruleset (ABI %d)", abi);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int fd = open(paths[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR || errno == EACCES ||
			    errno == ELOOP)
				continue; /* unreachable paths need no rule */
			int e = errno;
			close(rfd);
			return shunt_error_sys(err, e, "landlock: opening %s", paths[i].path);
		}
		struct ll_path_beneath_attr pb = {
		    .allowed_access = paths[i].write ? handled : ro,
		    .parent_fd = fd,
		};
		if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
			pb.allowed_access &= LL_FILE_RIGHTS;
		if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			int e = errno;
			close(fd);
			close(rfd);
			return shunt_error_sys(err, e, "landlock: adding a rule for %s",
					       paths[i].path);
		}
		close(fd);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		close(rfd);
		return shunt_error_sys(err, e, "prctl(PR_SET_NO_NEW_PRIVS)");
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) < 0) {
		int e = errno;
		close(rfd);
		return shunt_error_sys(err, e, "landlock_restrict_self");
	}
	close(rfd);
	return abi;
}
