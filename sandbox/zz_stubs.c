/* TEMPORARY weak stand-in until sandbox/runner.c lands. */
#include <stddef.h>

#include "runner.h"

__attribute__((weak)) const struct shunt_runner *shunt_runner_get(enum shunt_runtime rt)
{
	return NULL;
}

__attribute__((weak)) int shunt_plan_build(struct shunt_plan *plan, const struct shunt_config *cfg,
					   const struct shunt_plan_opts *opts, char *const *argv,
					   struct shunt_error **err)
{
	return shunt_error_set(err, 0, "sandbox plans are not implemented yet");
}
__attribute__((weak)) void shunt_plan_dump(const struct shunt_plan *plan, bool json, struct shunt_buf *out)
{
}
__attribute__((weak)) void shunt_plan_free(struct shunt_plan *plan)
{
}
