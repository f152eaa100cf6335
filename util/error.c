#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct shunt_error oom_error = {ENOMEM, 1, "out of memory"};

static int error_vset(struct shunt_error **err, int code, int with_errno, const char *fmt,
		      va_list ap)
{
	if (!err || *err)
		return -1;
	struct shunt_error *e = calloc(1, sizeof(*e));
	if (!e) {
		*err = &oom_error;
		return -1;
	}
	e->code = code;
	e->exitcode = 1;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (with_errno && code) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(code));
	}
	*err = e;
	return -1;
}

int shunt_error_set(struct shunt_error **err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, code, 0, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int shunt_error_sys(struct shunt_error **err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, code, 1, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int shunt_error_prefix(struct shunt_error **err, const char *fmt, ...)
{
	if (!err || !*err || *err == &oom_error)
		return -1;
	char prefix[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char tmp[sizeof((*err)->msg)];
	size_t plen = strlen(prefix);
	memcpy(tmp, prefix, plen);
	size_t mlen = strnlen((*err)->msg, sizeof(tmp) - 1 - plen);
	memcpy(tmp + plen, (*err)->msg, mlen);
	tmp[plen + mlen] = '\0';
	memcpy((*err)->msg, tmp, sizeof(tmp));
	return -1;
}

void shunt_error_free(struct shunt_error **err)
{
	if (!err || !*err)
		return;
	if (*err != &oom_error)
		free(*err);
	*err = NULL;
}
