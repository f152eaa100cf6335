/* The runner interface: every sandbox backend (process, gvisor, podman,
 * docker, microvm) takes the same resolved plan. */
#ifndef SHUNT_RUNNER_H
#define SHUNT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "types.h"

struct shunt_buf;

enum shunt_mount_kind {
	SHUNT_MOUNT_BIND,  /* host path bound at guest path */
	SHUNT_MOUNT_TMPFS, /* empty tmpfs (hides what is below) */
	SHUNT_MOUNT_HIDE,  /* a file: hidden by an empty file/dev-null bind */
};

struct shunt_mount {
	enum shunt_mount_kind kind;
	char *host; /* NULL for tmpfs */
	char *guest;
	bool read_only;
	bool cache;   /* a package-manager cache mount */
	bool overlay; /* BIND only: copy-on-write overlay of host (root_overlay plans) */
};

struct shunt_plan {
	char run_id[37];
	enum shunt_profile profile;
	enum shunt_runtime runtime; /* resolved, never auto */
	char **argv;		    /* NULL-terminated */
	char *cwd;
	char *workspace;
	bool workspace_rw;
	bool root_overlay;  /* SYSTEM_WRITE/GODMODE on process: throwaway overlay root */
	char *keep_changes; /* keep overlay upper here */
	enum shunt_netmode network;
	struct shunt_strv allow_hosts;
	unsigned timeout; /* seconds, 0 = none */
	unsigned long long mem_bytes;
	double cpus;
	unsigned pids;
	long uid, gid;	       /* -1 = caller's */
	char *seccomp_profile; /* file path; NULL = built-in per profile */
	char **env;	       /* final NAME=VALUE list, NULL-terminated */
	struct shunt_mount *mounts;
	size_t nmounts;
	bool accept_weaker_isolation;
	int vm_backend;	  /* microVM: 0 auto, 1 firecracker, 2 qemu (sandbox.vm_backend) */
	bool interactive; /* stdin is a terminal */
	struct shunt_strv
	    notes; /* one-line remarks for --dry-run/audit (how a default was resolved) */
};

/* A runtime's warm sandboxes for shuntd's pool: booted from a template
 * ahead of their command, each used once. w is the runtime's own state
 * (struct shunt_microvm_warm, struct shunt_gvisor_warm); the pool keeps
 * those and calls these, never a runtime by name. */
struct shunt_runner_warm {
	/* plan's boot template and pool key (equal keys share warm
	 * sandboxes). 0, or -1 when plan cannot use a warm sandbox. */
	int (*template)(const struct shunt_plan *plan, char key[32], struct shunt_buf *tmpl);
	/* Boots one from tmpl, named id, into *w. 0, or -1 with *err. */
	int (*boot)(const char *tmpl, const char *id, void *w, struct shunt_error **err);
	/* 1 ready, 0 booting, -1 dead. NULL: its readiness comes on its
	 * output, which the pool reads. */
	int (*state)(void *w);
	/* Runs plan in the ready w (results as from struct shunt_runner.run;
	 * -2: it died before it took the command). NULL: the pool writes
	 * command's line to w's control fd and relays its output. */
	int (*run)(void *w, const struct shunt_plan *plan, int *status, struct shunt_error **err);
	/* The line that hands plan's command over (with run NULL). */
	void (*command)(const struct shunt_plan *plan, struct shunt_buf *out);
	/* Kills what runs in w (with run NULL). */
	void (*kill)(void *w);
	/* Stops an unused w and removes what is left of it. */
	void (*discard)(void *w);
};

struct shunt_runner {
	const char *name;
	enum shunt_runtime runtime;
	/* 0 when usable; -1 with *err saying what is missing and how to fix. */
	int (*probe)(struct shunt_error **err);
	/* Runs the plan; on success *status is the command's exit code
	 * (128+N for a signal). Returns 0, or 1 when the plan's timeout
	 * killed the command (*status is then 124; the caller says so).
	 * -1 with *err when the sandbox could not be set up: the command
	 * did not run (fail closed). */
	int (*run)(const struct shunt_plan *plan, int *status, struct shunt_error **err);
	/* NULL: this runtime keeps no warm sandboxes. */
	const struct shunt_runner_warm *warm;
};

/* The runner for a runtime, or NULL when none is built in (or, for the
 * microVM, when no VM can run here). */
const struct shunt_runner *shunt_runner_get(enum shunt_runtime rt);

/* rt's warm operations whether or not its runner can run here now (a
 * pool stops what it booted even after the image went away); NULL when
 * it keeps no warm sandboxes. */
const struct shunt_runner_warm *shunt_runner_warm(enum shunt_runtime rt);

/* Probes rt's runner even when shunt_runner_get hides it: 0 when usable,
 * -1 with *err saying what is missing (ENOSYS: none built in). */
int shunt_runner_probe(enum shunt_runtime rt, struct shunt_error **err);

/* Options given on the command line (shunt run) that override the
 * config; unset members are 0/NULL/-1. */
struct shunt_plan_opts {
	int profile; /* -1 = from decision/config default */
	int runtime; /* -1 = from config mapping */
	const char *workspace;
	int network; /* -1 = from config/level; values enum shunt_netmode */
	struct shunt_strv allow_hosts;
	long timeout;	     /* -1 = config */
	long long mem_bytes; /* -1 = level */
	double cpus;	     /* <0 = level */
	unsigned pids;	     /* 0 = level */
	long uid, gid;	     /* -1 = caller */
	const char *seccomp_profile;
	struct shunt_strv env_names;
	struct shunt_strv binds; /* HOST:GUEST[:ro] */
	const char *keep_changes;
	bool accept_weaker_isolation;
	char *const *env;    /* the command's environment (NAME=VALUE); NULL: environ */
	unsigned ecosystems; /* SHUNT_ECO_* of the decision's installs (registries.h):
			      * their registries join a restricted allowlist */
};

/* Options with nothing set: everything from the config, the profile
 * and the security level. */
struct shunt_plan_opts shunt_plan_opts_none(void);

/* Resolves a plan from config + options for argv. Errors (bad bind spec,
 * unknown profile) have exitcode 2. */
int shunt_plan_build(struct shunt_plan *plan, const struct shunt_config *cfg,
		     const struct shunt_plan_opts *opts, char *const *argv,
		     struct shunt_error **err);

/* Prints the plan (human text or JSON) for --dry-run and the audit log. */
void shunt_plan_dump(const struct shunt_plan *plan, bool json, struct shunt_buf *out);

/* Frees what the plan owns (NULL-safe). */
void shunt_plan_free(struct shunt_plan *plan);

#endif
