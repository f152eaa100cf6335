/* Error objects carried up the call chain; only main() prints them. */
#ifndef SHUNT_ERROR_H
#define SHUNT_ERROR_H

#include <stdarg.h>

struct shunt_error {
	int code;     /* errno-style cause, 0 when not from a syscall */
	int exitcode; /* exit status main() should use (2 = usage/config) */
	char msg[1024];
};

/* Records a failure in *err (when err is non-NULL and *err is NULL: the
 * first, innermost error wins) and returns -1 so callers can
 * `return shunt_error_set(...)`. code is an errno value or 0. Never fails:
 * on allocation failure a static error is used. */
int shunt_error_set(struct shunt_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like shunt_error_set but appends ": strerror(code)". */
int shunt_error_sys(struct shunt_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context ("loading rules: ") to an existing error; returns -1. */
int shunt_error_prefix(struct shunt_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees an error (NULL-safe) and sets *err to NULL. */
void shunt_error_free(struct shunt_error **err);

#endif
