/* The OCI side of the gVisor runner: the config.json of a run's bundle
 * (the host's own root read-only, the plan's mounts, cwd, env, limits
 * and seccomp), also for --dry-run and warm templates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "gvisor_int.h"

static void json_kv_str(struct shunt_buf *b, const char *k, const char *v)
{
	shunt_buf_json_str(b, k, strlen(k));
	shunt_buf_putc(b, ':');
	shunt_buf_json_str(b, v, strlen(v));
}

static void json_mount(struct shunt_buf *b, bool *first, const char *dest, const char *type,
		       const char *src, const char *opts)
{
	if (!*first)
		shunt_buf_putc(b, ',');
	*first = false;
	shunt_buf_putc(b, '{');
	json_kv_str(b, "destination", dest);
	shunt_buf_putc(b, ',');
	json_kv_str(b, "type", type);
	shunt_buf_putc(b, ',');
	json_kv_str(b, "source", src);
	shunt_buf_puts(b, ",\"options\":[");
	/* opts is a comma-separated list */
	const char *p = opts;
	bool f = true;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (!f)
			shunt_buf_putc(b, ',');
		f = false;
		shunt_buf_json_str(b, p, n);
		p = c ? c + 1 : NULL;
	}
	shunt_buf_puts(b, "]}");
}

/* The OCI seccomp section: the Docker JSON format is accepted as-is by
 * the OCI spec's field names, so a user's profile file is embedded. */
static int gvisor_seccomp(const struct shunt_plan *plan, struct shunt_buf *b,
			  struct shunt_error **err)
{
	if (!plan->seccomp_profile)
		return 0;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (shunt_fs_read(plan->seccomp_profile, 4 << 20, &data, &len, err) < 0)
		return shunt_error_prefix(err, "seccomp profile: ");
	shunt_buf_puts(b, ",\"seccomp\":");
	shunt_buf_append(b, data, len);
	return 1;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The working directory inside: the caller's cwd when the sandbox can see
 * it, else the workspace. A cwd under a private tmpfs (/tmp, /run,
 * /dev/shm) that no mount brings in would make runsc refuse to start. */
static const char *gvisor_cwd(const struct shunt_plan *plan)
{
	const char *cwd = plan->cwd ? plan->cwd : "/";
	const char *fallback = plan->workspace ? plan->workspace : "/";
	if (plan->workspace && path_under(cwd, plan->workspace))
		return cwd;
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (m->kind == SHUNT_MOUNT_BIND && m->guest && path_under(cwd, m->guest))
			return cwd;
	}
	static const char *const private_dirs[] = {"/tmp", "/run", "/dev", "/proc", "/sys"};
	for (size_t i = 0; i < sizeof(private_dirs) / sizeof(private_dirs[0]); i++)
		if (path_under(cwd, private_dirs[i]))
			return fallback;
	return cwd;
}

/* Builds config.json for the plan. */
int shunt_gvisor_config(const struct shunt_plan *plan, const char *bundle, bool rootless,
			struct shunt_buf *b, bool *oci_seccomp, struct shunt_error **err)
{
	shunt_buf_puts(b, "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{");
	shunt_buf_printf(b, "\"uid\":%ld,\"gid\":%ld},\"args\":[",
			 plan->uid >= 0 && !rootless ? plan->uid : 0L,
			 plan->gid >= 0 && !rootless ? plan->gid : 0L);
	for (size_t i = 0; plan->argv[i]; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		shunt_buf_json_str(b, plan->argv[i], strlen(plan->argv[i]));
	}
	shunt_buf_puts(b, "],\"env\":[");
	for (size_t i = 0; plan->env && plan->env[i]; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		shunt_buf_json_str(b, plan->env[i], strlen(plan->env[i]));
	}
	shunt_buf_puts(b, "],");
	json_kv_str(b, "cwd", gvisor_cwd(plan));
	/* no capabilities at all inside */
	shunt_buf_puts(b, ",\"capabilities\":{\"bounding\":[],\"effective\":[],\"inheritable\":[],"
			  "\"permitted\":[],\"ambient\":[]},\"noNewPrivileges\":true,"
			  "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":4096,\"soft\":4096},"
			  "{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0}]},");
	shunt_buf_puts(b, "\"root\":{\"path\":\"/"
			  "\",\"readonly\":true},\"hostname\":\"shunt-sandbox\",\"mounts\":[");
	bool first = true;
	json_mount(b, &first, "/proc", "proc", "proc", "");
	json_mount(b, &first, "/dev", "tmpfs", "tmpfs", "nosuid,mode=755");
	json_mount(b, &first, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
	json_mount(b, &first, "/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777");
	json_mount(b, &first, "/dev/shm", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777");
	json_mount(b, &first, "/run", "tmpfs", "tmpfs", "nosuid,nodev,mode=755");
	/* Plan mounts go in plan order (a workspace inside a read-only HOME
	 * must come after HOME); the workspace up front only when the plan
	 * does not list it. */
	bool ws_listed = false;
	for (size_t i = 0; plan->workspace && i < plan->nmounts; i++)
		if (plan->mounts[i].kind == SHUNT_MOUNT_BIND && plan->mounts[i].host &&
		    plan->mounts[i].guest && strcmp(plan->mounts[i].guest, plan->workspace) == 0)
			ws_listed = true;
	if (plan->workspace && !ws_listed)
		json_mount(b, &first, plan->workspace, "bind", plan->workspace,
			   plan->workspace_rw ? "rbind,rw" : "rbind,ro");
	char empty[4096];
	snprintf(empty, sizeof(empty), "%s/empty", bundle);
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (!m->guest)
			continue;
		if (plan->workspace && m->kind == SHUNT_MOUNT_BIND && m->host &&
		    strcmp(m->guest, plan->workspace) == 0) {
			json_mount(b, &first, m->guest, "bind", m->host,
				   plan->workspace_rw ? "rbind,rw" : "rbind,ro");
			continue;
		}
		if (m->kind == SHUNT_MOUNT_BIND && m->cache && m->host) {
			/* a cache that is missing on the host is created, as the
			 * process runner does; one that cannot be is left out */
			struct shunt_error *ce = NULL;
			int mk = shunt_fs_mkdirs(m->host, 0755, &ce);
			shunt_error_free(&ce);
			if (mk < 0 || access(m->host, F_OK) != 0)
				continue;
		}
		switch (m->kind) {
		case SHUNT_MOUNT_BIND:
			if (m->host)
				json_mount(b, &first, m->guest, "bind", m->host,
					   m->read_only ? "rbind,ro" : "rbind,rw");
			break;
		case SHUNT_MOUNT_TMPFS:
			json_mount(b, &first, m->guest, "tmpfs", "tmpfs", "nosuid,nodev,mode=700");
			break;
		case SHUNT_MOUNT_HIDE:
			json_mount(b, &first, m->guest, "bind", empty, "bind,ro");
			break;
		}
	}
	shunt_buf_puts(
	    b, "],\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
	       "{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}],\"resources\":{");
	bool rf = true;
	if (plan->mem_bytes) {
		shunt_buf_printf(b, "\"memory\":{\"limit\":%llu}", plan->mem_bytes);
		rf = false;
	}
	if (plan->cpus > 0) {
		shunt_buf_printf(b, "%s\"cpu\":{\"quota\":%lld,\"period\":100000}", rf ? "" : ",",
				 (long long)(plan->cpus * 100000));
		rf = false;
	}
	if (plan->pids)
		shunt_buf_printf(b, "%s\"pids\":{\"limit\":%u}", rf ? "" : ",", plan->pids);
	shunt_buf_puts(b, "}");
	int sc = gvisor_seccomp(plan, b, err);
	if (sc < 0)
		return -1;
	*oci_seccomp = sc > 0;
	shunt_buf_puts(b, "}}");
	if (b->oom)
		return shunt_error_set(err, ENOMEM, "out of memory building the OCI bundle");
	return 0;
}

/* The plan as runsc would see it, for --dry-run. */
int shunt_gvisor_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			  struct shunt_error **err)
{
	bool oci = false;
	return shunt_gvisor_config(plan, "<bundle>", getuid() != 0, out, &oci, err);
}
