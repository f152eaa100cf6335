#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int shunt_record_approval_begin(struct shunt_approval_scope *s, struct shunt_ctx *ctx,
				const struct shunt_decision *d)
{
	s->server = NULL;
	return -1;
}

int shunt_record_approval_wait(struct shunt_approval_scope *s, pid_t pid)
{
	return -1;
}

void shunt_record_decision(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			   const struct shunt_decision *d, const char *approved_by, bool dry_run)
{
}

void shunt_record_sandbox(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			  const struct shunt_decision *d, const struct shunt_plan *plan, int status,
			  long long duration_ms, bool weaker)
{
}

int shunt_record_remember(struct shunt_ctx *ctx, const char *cmd, const struct shunt_decision *d)
{
	fprintf(stderr, "shunt: the trust store is not available in this build\n");
	return -1;
}
