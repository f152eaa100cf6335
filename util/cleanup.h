/* Scope-bound cleanup helpers; every free function here accepts NULL/-1. */
#ifndef SHUNT_CLEANUP_H
#define SHUNT_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#include "error.h"

static inline void shunt_freep(void *p)
{
	free(*(void **)p);
}
static inline void shunt_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void shunt_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void shunt_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void shunt_errorp(struct shunt_error **e)
{
	shunt_error_free(e);
}

#define _cleanup_free_	   __attribute__((cleanup(shunt_freep)))
#define _cleanup_close_	   __attribute__((cleanup(shunt_closep)))
#define _cleanup_fclose_   __attribute__((cleanup(shunt_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(shunt_closedirp)))
#define _cleanup_error_	   __attribute__((cleanup(shunt_errorp)))

/* Transfers ownership out of a cleanup variable. */
static inline void *shunt_steal_pointer(void *pp)
{
	void **p = (void **)pp;
	void *r = *p;
	*p = NULL;
	return r;
}
#define steal_pointer(pp) shunt_steal_pointer(pp)

static inline int shunt_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#endif
