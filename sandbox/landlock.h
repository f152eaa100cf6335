/* Landlock: an unprivileged, kernel-enforced second layer of file (and,
 * from ABI 4, TCP) access control, applied to the calling process. */
#ifndef SHUNT_LANDLOCK_H
#define SHUNT_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct shunt_landlock_path {
	const char *path;
	bool write; /* false: read/execute/readdir only */
};

/* The kernel's Landlock ABI version, 0 when unsupported or disabled.
 * Async-signal-safe (one syscall). */
int shunt_landlock_abi(void);

/* Restricts the calling process (and its future children) to the given
 * paths; paths that do not exist are skipped. With restrict_tcp and
 * ABI >= 4, all TCP bind/connect is denied. Sets PR_SET_NO_NEW_PRIVS.
 * Returns the ABI applied (0 = Landlock not available, nothing done), or
 * -1 with *err. Does not allocate except for *err. */
int shunt_landlock_apply(const struct shunt_landlock_path *paths, size_t n, bool restrict_tcp,
			 struct shunt_error **err);

#endif
