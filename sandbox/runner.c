/* The registry of built-in sandbox runners. */
#include <errno.h>
#include <stddef.h>

#include "gvisor.h"
#include "podman.h"
#include "microvm.h"
#include "process.h"
#include "runner.h"

static const struct shunt_runner process_runner = {
    .name = "process",
    .runtime = SHUNT_RUNTIME_PROCESS,
    .probe = shunt_process_probe,
    .run = shunt_process_run,
};

static const struct shunt_runner gvisor_runner = {
    .name = "gvisor",
    .runtime = SHUNT_RUNTIME_GVISOR,
    .probe = shunt_gvisor_probe,
    .run = shunt_gvisor_run,
};

static const struct shunt_runner microvm_runner = {
    .name = "microvm",
    .runtime = SHUNT_RUNTIME_MICROVM,
    .probe = shunt_microvm_probe,
    .run = shunt_microvm_run,
};

static const struct shunt_runner podman_runner = {
    .name = "podman",
    .runtime = SHUNT_RUNTIME_PODMAN,
    .probe = shunt_podman_probe,
    .run = shunt_podman_run,
};

static const struct shunt_runner docker_runner = {
    .name = "docker",
    .runtime = SHUNT_RUNTIME_DOCKER,
    .probe = shunt_docker_probe,
    .run = shunt_docker_run,
};

static const struct shunt_runner *table(enum shunt_runtime rt)
{
	switch (rt) {
	case SHUNT_RUNTIME_PROCESS:
		return &process_runner;
	case SHUNT_RUNTIME_GVISOR:
		return &gvisor_runner;
	case SHUNT_RUNTIME_PODMAN:
		return &podman_runner;
	case SHUNT_RUNTIME_DOCKER:
		return &docker_runner;
	case SHUNT_RUNTIME_MICROVM:
		return &microvm_runner;
	default:
		return NULL;
	}
}

int shunt_runner_probe(enum shunt_runtime rt, struct shunt_error **err)
{
	const struct shunt_runner *r = table(rt);
	if (!r)
		return shunt_error_set(err, ENOSYS, "no %s runner is built in",
				       shunt_runtime_name(rt));
	return r->probe ? r->probe(err) : 0;
}

const struct shunt_runner *shunt_runner_get(enum shunt_runtime rt)
{
	switch (rt) {
	case SHUNT_RUNTIME_PROCESS:
		return &process_runner;
	case SHUNT_RUNTIME_GVISOR:
		return &gvisor_runner;
	case SHUNT_RUNTIME_PODMAN:
		return &podman_runner;
	case SHUNT_RUNTIME_DOCKER:
		return &docker_runner;
	case SHUNT_RUNTIME_MICROVM:
		/* only when a VM can run here (QEMU + built guest): otherwise
		 * callers treat it as absent (fail closed, or the process runner
		 * with --i-accept-weaker-isolation) */
		return shunt_microvm_probe(NULL) == 0 ? &microvm_runner : NULL;
	default:
		return NULL;
	}
}
