/* The registry of built-in sandbox runners, with the warm operations of
 * the runtimes shuntd keeps pools of (wrapping their public warm
 * functions). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gvisor.h"
#include "podman.h"
#include "microvm.h"
#include "process.h"
#include "runner.h"
#include "sha256.h"
#include "buf.h"

/* ---- microVM: the plan's boot-time parts as a template ---- */

static bool clean(const char *s)
{
	return !strpbrk(s, "\t\n");
}

/* microVM: the plan's boot-time parts as text (tmpl_read parses it). */
static int vm_tmpl(const struct shunt_plan *plan, struct shunt_buf *b)
{
	if (plan->workspace && !clean(plan->workspace))
		return -1;
	shunt_buf_printf(b, "ws\t%s\nrw\t%d\nmem\t%llu\ncpus\t%.17g\n",
			 plan->workspace ? plan->workspace : "", plan->workspace_rw,
			 plan->mem_bytes, plan->cpus);
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (m->kind == SHUNT_MOUNT_BIND)
			continue;
		if (!clean(m->guest))
			return -1;
		shunt_buf_printf(b, "m\t%d\t%s\n", (int)m->kind, m->guest);
	}
	return b->oom ? -1 : 0;
}

static void tmpl_plan_free(struct shunt_plan *p)
{
	free(p->workspace);
	for (size_t i = 0; i < p->nmounts; i++)
		free(p->mounts[i].guest);
	free(p->mounts);
}

static int tmpl_read(const char *t, const char *id, struct shunt_plan *p)
{
	static char *argv[] = {"true", NULL};
	memset(p, 0, sizeof(*p));
	p->argv = argv;
	p->network = SHUNT_NET_NONE;
	p->uid = p->gid = -1;
	snprintf(p->run_id, sizeof(p->run_id), "%s", id);
	char *copy = strdup(t);
	if (!copy)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '\t');
		if (!v)
			continue;
		*v++ = 0;
		if (strcmp(line, "ws") == 0 && *v) {
			p->workspace = strdup(v);
		} else if (strcmp(line, "rw") == 0) {
			p->workspace_rw = strcmp(v, "1") == 0;
		} else if (strcmp(line, "mem") == 0) {
			p->mem_bytes = strtoull(v, NULL, 10);
		} else if (strcmp(line, "cpus") == 0) {
			p->cpus = strtod(v, NULL);
		} else if (strcmp(line, "m") == 0) {
			char *g = strchr(v, '\t');
			struct shunt_mount *nm =
			    g ? realloc(p->mounts, (p->nmounts + 1) * sizeof(*nm)) : NULL;
			if (!nm)
				continue;
			p->mounts = nm;
			memset(&nm[p->nmounts], 0, sizeof(*nm));
			nm[p->nmounts].kind = (enum shunt_mount_kind)atoi(v);
			nm[p->nmounts].guest = strdup(g + 1);
			if (nm[p->nmounts].guest)
				p->nmounts++;
		}
	}
	free(copy);
	return 0;
}

static int microvm_template(const struct shunt_plan *plan, char key[32], struct shunt_buf *tmpl)
{
	if (shunt_microvm_pool_key(plan, key) < 0)
		return -1;
	return vm_tmpl(plan, tmpl);
}

static int microvm_boot(const char *tmpl, const char *id, void *w, struct shunt_error **err)
{
	struct shunt_plan p;
	if (tmpl_read(tmpl, id, &p) < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int rc = shunt_microvm_warm_boot(&p, w, err);
	tmpl_plan_free(&p);
	return rc;
}

static int microvm_state(void *w)
{
	return shunt_microvm_warm_state(w);
}

static int microvm_run(void *w, const struct shunt_plan *plan, int *status,
		       struct shunt_error **err)
{
	return shunt_microvm_warm_run(w, plan, status, err);
}

static void microvm_discard(void *w)
{
	shunt_microvm_warm_discard(w);
}

static const struct shunt_runner_warm microvm_warm = {
    .template = microvm_template,
    .boot = microvm_boot,
    .state = microvm_state,
    .run = microvm_run,
    .discard = microvm_discard,
};

/* ---- gVisor: the OCI template; its key is the template's digest ---- */

static int gvisor_template(const struct shunt_plan *plan, char key[32], struct shunt_buf *tmpl)
{
	if (shunt_gvisor_warm_template(plan, tmpl) < 0 || !tmpl->data)
		return -1;
	uint8_t d[32];
	char hex[65];
	shunt_sha256(tmpl->data, tmpl->len, d);
	shunt_sha256_hex(d, hex);
	memcpy(key, hex, 24);
	key[24] = 0;
	return 0;
}

static int gvisor_boot(const char *tmpl, const char *id, void *w, struct shunt_error **err)
{
	return shunt_gvisor_warm_boot(tmpl, id, w, err);
}

static void gvisor_kill(void *w)
{
	shunt_gvisor_warm_kill(w);
}

static void gvisor_discard(void *w)
{
	shunt_gvisor_warm_destroy(w);
}

static const struct shunt_runner_warm gvisor_warm = {
    .template = gvisor_template,
    .boot = gvisor_boot,
    .command = shunt_gvisor_warm_command,
    .kill = gvisor_kill,
    .discard = gvisor_discard,
};

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
    .warm = &gvisor_warm,
};

static const struct shunt_runner microvm_runner = {
    .name = "microvm",
    .runtime = SHUNT_RUNTIME_MICROVM,
    .probe = shunt_microvm_probe,
    .run = shunt_microvm_run,
    .warm = &microvm_warm,
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

const struct shunt_runner_warm *shunt_runner_warm(enum shunt_runtime rt)
{
	const struct shunt_runner *r = table(rt);
	return r ? r->warm : NULL;
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
