/* What the gVisor runner's files share (gvisor.c: runs; gvisor_oci.c:
 * config.json; gvisor_warm.c: warm sandboxes). Not for other modules:
 * they use gvisor.h. */
#ifndef SHUNT_GVISOR_INT_H
#define SHUNT_GVISOR_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "gvisor.h"

/* The runtime directory entry sub (bundles, runsc state); malloc'd or NULL. */
char *shunt_gvisor_dir(const char *sub);
/* The runsc binary in *out (malloc'd). 0, or -1 with how to install it. */
int shunt_gvisor_find(char **out, struct shunt_error **err);
/* Finds runsc and makes the bundles and runsc state directories; all
 * three malloc'd (the caller frees them, also on failure). 0, or -1 with *err. */
int shunt_gvisor_setup(char **runsc, char **bundles, char **state, struct shunt_error **err);
/* Builds the config.json of plan's bundle into out; *oci_seccomp: it
 * carries a seccomp section runsc must be told to apply. 0, or -1 with *err. */
int shunt_gvisor_config(const struct shunt_plan *plan, const char *bundle, bool rootless,
			struct shunt_buf *out, bool *oci_seccomp, struct shunt_error **err);
/* The --platform runsc gets here (probed once, cached). */
const char *shunt_gvisor_platform(const char *runsc);
/* Starts runsc with argv, stdin/stdout/stderr on in (-1: inherited), out
 * and errfd, killed if we die. Its pid, or -1 with *err. */
pid_t shunt_gvisor_spawn(const char *runsc, char **argv, int in, int out, int errfd,
			 struct shunt_error **err);
/* The `runsc ... run` command line of a bundle; strings borrowed. */
struct shunt_gvisor_argv {
	char *v[16];
	char platform[64];
};
void shunt_gvisor_run_argv(struct shunt_gvisor_argv *a, char *runsc, char *state,
			   enum shunt_netmode net, bool rootless, bool oci_seccomp, char *bundle,
			   char *id);
/* Kills and deletes container id, removes its bundle. */
void shunt_gvisor_destroy(const char *runsc, const char *state, const char *id, const char *bundle);

#endif
