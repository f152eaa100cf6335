/* The Podman and Docker runners: one implementation, two engines. */
#ifndef SHUNT_PODMAN_H
#define SHUNT_PODMAN_H

#include "runner.h"

/* The local image `shunt image build` creates and the engines use when
 * they cannot take the host root (docker always; podman when an image is
 * set: $SHUNT_IMAGE or the config's sandbox.image). */
#define SHUNT_ENGINE_IMAGE "localhost/shunt-minbase:latest"

/* 0 when podman is installed; -1 with what is missing and how to fix it. */
int shunt_podman_probe(struct shunt_error **err);

/* 0 when docker is installed and its daemon answers; -1 with which of the
 * two is wrong and how to fix it. */
int shunt_docker_probe(struct shunt_error **err);

/* Run the plan with `podman run` / `docker run`; the contract of
 * struct shunt_runner.run. Setup failures carry exitcode 125. With
 * SHUNT_ENGINE_PRINT=1 the engine command line is printed, one argument
 * per line, and nothing runs (*status 0). */
int shunt_podman_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);
int shunt_docker_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);

#endif
