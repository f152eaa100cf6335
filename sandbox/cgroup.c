/* cgroup limits. v2: a child of the caller's own cgroup (or of its parent
 * when the caller's cgroup holds processes and so cannot delegate
 * controllers), which works with systemd user delegation. v1 (and hybrid
 * setups where the controllers sit on v1): memory, pids and cpu
 * hierarchies, normally only writable by root.
 *
 * The cgroups are reusable slots (shunt-slot-N), claimed with flock(2) on
 * the directory and never removed: mkdir and rmdir of a cgroup each wait
 * for RCU grace periods, which on a busy machine cost milliseconds per
 * run. A slot whose owner died is unlocked by the kernel and reused. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

#define CG_ROOT	     "/sys/fs/cgroup"
#define RLIMIT_FLOOR (256ULL << 20)
#define CG_SLOTS     256

static bool is_fs(const char *path, long magic)
{
	struct statfs s;
	return statfs(path, &s) == 0 && (long)s.f_type == magic;
}

/* Writes a string to dir/file. Async-signal-safe. Returns 0 or -errno. */
static int write_file(const char *dir, const char *file, const char *val)
{
	char p[4200];
	size_t dl = strlen(dir), fl = strlen(file), vl = strlen(val);
	if (dl + fl + 2 > sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, file, fl + 1);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, val, vl);
	int e = w < 0 ? -errno : (size_t)w == vl ? 0 : -EIO;
	close(fd);
	return e;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (r < 0)
		return -e;
	buf[r] = 0;
	return 0;
}

/* The caller's path in the hierarchy whose controller list contains ctrl
 * ("" selects the v2 "0::" line). */
static int self_cgroup(const char *ctrl, char *out, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4200];
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = 0;
		*c2 = 0;
		char *ctrls = c1 + 1, *path = c2 + 1;
		path[strcspn(path, "\n")] = 0;
		bool match = false;
		if (!*ctrl) {
			match = strcmp(line, "0") == 0 && !*ctrls;
		} else {
			char *save = NULL;
			for (char *t = strtok_r(ctrls, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				if (strcmp(t, ctrl) == 0)
					match = true;
		}
		if (match) {
			if ((size_t)snprintf(out, size, "%s", path) >= size)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	return -ENOENT;
}

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '+') &&
		    (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

static void kill_all(const char *dir)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
	fclose(f);
}

/* Claims the first free slot shunt-slot-N under parent: creates it when
 * missing and holds flock(LOCK_EX) in cg->lock_fd on its cgroup.procs,
 * opened for writing so that only whoever may use the slot can lock it
 * (a directory can be opened, and so locked, by anyone). 0, 1 when not
 * writable here, -1 error. */
static int claim_slot(struct shunt_cgroup *cg, const char *parent, struct shunt_error **err)
{
	for (int n = 0; n < CG_SLOTS; n++) {
		char procs[4200];
		if ((size_t)snprintf(cg->path, sizeof(cg->path), "%s/shunt-slot-%d", parent, n) >=
		    sizeof(cg->path))
			return shunt_error_set(err, ENAMETOOLONG, "cgroup path too long");
		if (mkdir(cg->path, 0755) < 0 && errno != EEXIST)
			return errno == EACCES || errno == EPERM || errno == EROFS
				   ? 1
				   : shunt_error_sys(err, errno, "mkdir %s", cg->path);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->path);
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == EACCES || errno == EPERM || errno == EROFS)
				return 1;
			if (errno == ENOENT)
				continue; /* removed meanwhile by someone else */
			return shunt_error_sys(err, errno, "opening %s", procs);
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			cg->lock_fd = fd;
			cg->slot = n;
			return 0;
		}
		close(fd);
	}
	return shunt_error_set(err, EBUSY, "all %d cgroup slots under %s are in use", CG_SLOTS,
			       parent);
}

/* Tries to make `parent` delegate memory+pids(+cpu) to new children. */
static bool v2_delegates(const char *parent, bool *cpu)
{
	char p[4200], buf[512];
	snprintf(p, sizeof(p), "%s/cgroup.controllers", parent);
	if (read_small(p, buf, sizeof(buf)) < 0 || !has_word(buf, "memory") ||
	    !has_word(buf, "pids"))
		return false;
	*cpu = has_word(buf, "cpu");
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", parent);
	if (access(p, W_OK) < 0 || access(parent, W_OK) < 0)
		return false;
	if (read_small(p, buf, sizeof(buf)) == 0 && has_word(buf, "memory") &&
	    has_word(buf, "pids") && (!*cpu || has_word(buf, "cpu")))
		return true;
	if (write_file(parent, "cgroup.subtree_control", "+memory") < 0 ||
	    write_file(parent, "cgroup.subtree_control", "+pids") < 0)
		return false; /* EBUSY: processes live here (no internal processes rule) */
	if (*cpu && write_file(parent, "cgroup.subtree_control", "+cpu") < 0)
		*cpu = false;
	return true;
}

static int v2_setup(struct shunt_cgroup *cg, unsigned long long mem, double cpus, unsigned pids,
		    struct shunt_error **err)
{
	char mnt[64], self[4096], parent[4096], val[64];
	bool cpu = false;
	if (is_fs(CG_ROOT, CGROUP2_SUPER_MAGIC))
		snprintf(mnt, sizeof(mnt), CG_ROOT);
	else if (is_fs(CG_ROOT "/unified", CGROUP2_SUPER_MAGIC))
		snprintf(mnt, sizeof(mnt), CG_ROOT "/unified");
	else
		return 1;
	if (self_cgroup("", self, sizeof(self)) < 0)
		return 1;
	if (strcmp(self, "/") == 0)
		self[0] = 0;
	if ((size_t)snprintf(parent, sizeof(parent), "%s%s", mnt, self) >= sizeof(parent))
		return 1;
	if (!v2_delegates(parent, &cpu)) {
		/* Our own cgroup holds processes: try a sibling under its parent. */
		char *slash = strrchr(parent, '/');
		if (!self[0] || !slash || (size_t)(slash - parent) <= strlen(mnt))
			return 1;
		*slash = 0;
		if (!v2_delegates(parent, &cpu))
			return 1;
	}
	int r = claim_slot(cg, parent, err);
	if (r != 0)
		return r;
	cg->version = 2;
	cg->active = true;
	if (write_file(cg->path, "cgroup.kill", "1") < 0)
		kill_all(cg->path); /* leftovers of an owner that died */
	if (mem) {
		snprintf(val, sizeof(val), "%llu", mem);
		if ((r = write_file(cg->path, "memory.max", val)) < 0)
			goto fail_write;
		/* Without swap accounting the file is absent: nothing to limit. */
		r = write_file(cg->path, "memory.swap.max", "0");
		if (r < 0 && r != -ENOENT)
			goto fail_write;
	}
	if (pids) {
		snprintf(val, sizeof(val), "%u", pids);
		if ((r = write_file(cg->path, "pids.max", val)) < 0)
			goto fail_write;
	}
	if (cpus > 0 && cpu) {
		snprintf(val, sizeof(val), "%llu 100000",
			 (unsigned long long)(cpus * 100000.0 + 0.5));
		if ((r = write_file(cg->path, "cpu.max", val)) < 0)
			goto fail_write;
	} else if (cpu) {
		write_file(cg->path, "cpu.max", "max 100000");
	}
	return 0;
fail_write:
	shunt_cgroup_destroy(cg);
	return shunt_error_sys(err, -r, "writing limits in %s", cg->path);
}

/* The caller's directory in one v1 hierarchy. 0, or 1 when absent. */
static int v1_base(const char *ctrl, char *out, size_t size)
{
	char mnt[128], self[4096];
	snprintf(mnt, sizeof(mnt), CG_ROOT "/%s", ctrl);
	if (!is_fs(mnt, CGROUP_SUPER_MAGIC) || self_cgroup(ctrl, self, sizeof(self)) < 0)
		return 1;
	if (strcmp(self, "/") == 0)
		self[0] = 0;
	if ((size_t)snprintf(out, size, "%s%s", mnt, self) >= size)
		return 1;
	return 0;
}

/* The slot's directory in another v1 hierarchy (guarded by the memory
 * slot's lock). Callers in different memory cgroups each have their own
 * slot N, but may share their cgroup in this hierarchy: the name carries
 * a hash of the memory slot's path, or one caller would kill the other's
 * sandbox when it clears "its" slot. 0, 1 when not writable, -1 error. */
static int v1_mkdir(const char *ctrl, const char *mem_slot, char *out, size_t size,
		    struct shunt_error **err)
{
	char base[4200];
	if (v1_base(ctrl, base, sizeof(base)) != 0)
		return 1;
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = mem_slot; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	const char *slot = strrchr(mem_slot, '/');
	if ((size_t)snprintf(out, size, "%s/%s-%08x", base, slot ? slot + 1 : mem_slot,
			     (unsigned)h) >= size)
		return shunt_error_set(err, ENAMETOOLONG, "cgroup path too long");
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		out[0] = 0;
		return e == EACCES || e == EPERM || e == EROFS
			   ? 1
			   : shunt_error_sys(err, e, "mkdir %s", out);
	}
	kill_all(out);
	return 0;
}

static int v1_setup(struct shunt_cgroup *cg, unsigned long long mem, double cpus, unsigned pids,
		    struct shunt_error **err)
{
	char val[64], base[4200];
	if (v1_base("memory", base, sizeof(base)) != 0)
		return 1;
	int r = claim_slot(cg, base, err);
	if (r != 0)
		return r;
	cg->version = 1;
	cg->active = true;
	kill_all(cg->path);
	r = v1_mkdir("pids", cg->path, cg->pids_path, sizeof(cg->pids_path), err);
	if (r != 0) {
		/* Memory without pids is half a limit: let the caller use rlimits. */
		shunt_cgroup_destroy(cg);
		return r;
	}
	if (mem) {
		snprintf(val, sizeof(val), "%llu", mem);
		/* memsw (memory+swap) must stay >= the memory limit, whatever the
		 * slot's previous run set; equal means no swap. Absent without
		 * swap accounting. */
		write_file(cg->path, "memory.memsw.limit_in_bytes", "-1");
		if ((r = write_file(cg->path, "memory.limit_in_bytes", val)) < 0)
			goto fail_write;
		r = write_file(cg->path, "memory.memsw.limit_in_bytes", val);
		if (r < 0 && r != -ENOENT)
			goto fail_write;
	}
	if (pids) {
		snprintf(val, sizeof(val), "%u", pids);
		if ((r = write_file(cg->pids_path, "pids.max", val)) < 0)
			goto fail_write;
	} else {
		write_file(cg->pids_path, "pids.max", "max");
	}
	if (!mem) {
		write_file(cg->path, "memory.memsw.limit_in_bytes", "-1");
		write_file(cg->path, "memory.limit_in_bytes", "-1");
	}
	if (cpus > 0 && v1_mkdir("cpu", cg->path, cg->cpu_path, sizeof(cg->cpu_path), err) == 0) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)(cpus * 100000.0 + 0.5));
		if (write_file(cg->cpu_path, "cpu.cfs_period_us", "100000") < 0 ||
		    write_file(cg->cpu_path, "cpu.cfs_quota_us", val) < 0)
			cg->cpu_path[0] = 0; /* CPU quota is best effort on v1 (may be disabled) */
	}
	return 0;
fail_write:
	shunt_cgroup_destroy(cg);
	return shunt_error_sys(err, -r, "writing cgroup v1 limits in %s", base);
}

int shunt_cgroup_setup(struct shunt_cgroup *cg, unsigned long long mem_bytes, double cpus,
		       unsigned pids, struct shunt_error **err)
{
	memset(cg, 0, sizeof(*cg));
	cg->lock_fd = -1;
	int r = v2_setup(cg, mem_bytes, cpus, pids, err);
	if (r != 1)
		return r;
	memset(cg, 0, sizeof(*cg));
	cg->lock_fd = -1;
	r = v1_setup(cg, mem_bytes, cpus, pids, err);
	if (r == 1) {
		memset(cg, 0, sizeof(*cg));
		cg->lock_fd = -1;
	}
	return r;
}

static int attach_one(const char *dir, pid_t pid)
{
	char num[24], *p = num + sizeof(num) - 1;
	unsigned long v = (unsigned long)pid;
	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10));
	return write_file(dir, "cgroup.procs", p);
}

int shunt_cgroup_attach(struct shunt_cgroup *cg, pid_t pid, struct shunt_error **err)
{
	const char *dirs[3] = {cg->path, cg->pids_path, cg->cpu_path};
	if (!cg->active)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (!dirs[i][0])
			continue;
		int r = attach_one(dirs[i], pid);
		if (r < 0) {
			if (err)
				return shunt_error_sys(err, -r, "moving pid %d into %s", (int)pid,
						       dirs[i]);
			return -1;
		}
	}
	return 0;
}

int shunt_cgroup_open_self(const struct shunt_cgroup *cg, int fds[3], struct shunt_error **err)
{
	const char *dirs[3] = {cg->path, cg->pids_path, cg->cpu_path};
	for (int i = 0; i < 3; i++)
		fds[i] = -1;
	if (!cg->active)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (!dirs[i][0])
			continue;
		char p[4200];
		snprintf(p, sizeof(p), "%s/%s", dirs[i],
			 cg->version == 1 ? "tasks" : "cgroup.procs");
		fds[i] = open(p, O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int e = errno;
			for (int j = 0; j < i; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return shunt_error_sys(err, e, "opening %s", p);
		}
	}
	return 0;
}

int shunt_cgroup_enter_self(int fds[3])
{
	int ret = 0;
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0)
			continue;
		/* "0" is the caller */
		if (ret == 0 && write(fds[i], "0", 1) != 1)
			ret = -errno;
		close(fds[i]);
		fds[i] = -1;
	}
	return ret;
}

void shunt_cgroup_destroy(struct shunt_cgroup *cg)
{
	if (!cg || !cg->active)
		return;
	char *dirs[3] = {cg->path, cg->pids_path, cg->cpu_path};
	for (int i = 0; i < 3; i++) {
		if (!dirs[i][0])
			continue;
		if (cg->version == 1 || write_file(dirs[i], "cgroup.kill", "1") < 0)
			kill_all(dirs[i]);
		dirs[i][0] = 0;
	}
	/* the slot stays for the next run; closing the lock frees it */
	if (cg->lock_fd >= 0)
		close(cg->lock_fd);
	cg->lock_fd = -1;
	cg->active = false;
}

static int set_limit(int res, rlim_t v, const char *name, struct shunt_error **err)
{
	struct rlimit cur, want = {v, v};
	/* Only ever lower: an unprivileged process cannot raise its hard limit. */
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && cur.rlim_max < v)
		want.rlim_cur = want.rlim_max = cur.rlim_max;
	if (setrlimit(res, &want) < 0) {
		if (err)
			return shunt_error_sys(err, errno, "setrlimit(%s)", name);
		return -1;
	}
	return 0;
}

int shunt_rlimits_apply(unsigned long long mem_bytes, unsigned cpu_seconds, unsigned pids,
			struct shunt_error **err)
{
	/* RLIMIT_DATA, not RLIMIT_AS: it counts writable private memory, not
	 * the address space runtimes only reserve (glibc's per-thread malloc
	 * arenas, V8's heap), under which node failed at random in 1 GiB */
	if (mem_bytes && set_limit(RLIMIT_DATA, mem_bytes < RLIMIT_FLOOR ? RLIMIT_FLOOR : mem_bytes,
				   "RLIMIT_DATA", err) < 0)
		return -1;
	if (pids && set_limit(RLIMIT_NPROC, pids, "RLIMIT_NPROC", err) < 0)
		return -1;
	if (cpu_seconds && set_limit(RLIMIT_CPU, cpu_seconds, "RLIMIT_CPU", err) < 0)
		return -1;
	return set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", err);
}
