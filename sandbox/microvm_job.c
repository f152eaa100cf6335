/* microVM job directories: $XDG_STATE_HOME/shunt/vm/jobs/<run_id>/
 * (job.json, done, share/, status, console.log), the exit marker read
 * from the status channel, and the sweep of jobs whose shunt died. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "microvm_int.h"
#include "paths.h"

long long shunt_microvm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void shunt_microvm_json_kv(struct shunt_buf *b, const char *k, const char *v)
{
	shunt_buf_json_str(b, k, strlen(k));
	shunt_buf_putc(b, ':');
	shunt_buf_json_str(b, v, strlen(v));
}

int shunt_microvm_parse_status(const char *text, const char *nonce, int *rc)
{
	char pfx[128];
	snprintf(pfx, sizeof(pfx), "SHUNT-EXIT-%s ", nonce);
	size_t pl = strlen(pfx);
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (strncmp(p, pfx, pl) == 0) {
			char *end;
			long v = strtol(p + pl, &end, 10);
			if (end != p + pl && (*end == '\n' || *end == '\r' || !*end) && v >= 0 &&
			    v < 256) {
				*rc = (int)v;
				return 0;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return -1;
}

static char *jobs_dir(void)
{
	return shunt_paths_file(SHUNT_DIR_STATE, "vm/jobs");
}

static bool pid_is_vmm(long pid)
{
	char p[64], exe[PATH_MAX];
	snprintf(p, sizeof(p), "/proc/%ld/exe", pid);
	ssize_t n = readlink(p, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	const char *base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return strncmp(base, "qemu-system-", 12) == 0 || strcmp(base, "firecracker") == 0;
}

static long long json_num(const char *js, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(js, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

int shunt_microvm_sweep(void)
{
	_cleanup_free_ char *dir = jobs_dir();
	if (!dir)
		return 0;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	long long now = shunt_microvm_now_ms();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *jd = NULL, *jf = NULL, *done = NULL, *js = NULL;
		if (asprintf(&jd, "%s/%s", dir, de->d_name) < 0 ||
		    asprintf(&jf, "%s/job.json", jd) < 0 || asprintf(&done, "%s/done", jd) < 0)
			return n;
		struct shunt_error *e = NULL;
		if (shunt_fs_read(jf, 4096, &js, NULL, &e) < 0) {
			shunt_error_free(&e);
			continue; /* being created, or not ours */
		}
		long long pid = json_num(js, "pid"), deadline = json_num(js, "deadline_ms");
		bool alive = pid > 0 && pid_is_vmm((long)pid);
		bool is_done = access(done, F_OK) == 0;
		bool expired = deadline > 0 && now > deadline;
		if (is_done && alive)
			continue; /* finishing right now */
		if (!is_done && alive && !expired)
			continue; /* a live run */
		if (alive)
			kill((pid_t)pid, SIGKILL);
		if (!is_done || !alive) {
			if (shunt_fs_rmtree(jd, &e) == 0)
				n++;
			shunt_error_free(&e);
		}
	}
	return n;
}

int shunt_microvm_job_write_json(const struct shunt_microvm_job *j, const struct shunt_plan *plan,
				 const char *backend, long pid, const char *digest,
				 struct shunt_error **err)
{
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, "{");
	shunt_microvm_json_kv(&b, "run_id", plan->run_id);
	shunt_buf_putc(&b, ',');
	shunt_microvm_json_kv(&b, "backend", backend);
	shunt_buf_printf(&b, ",\"pid\":%ld,\"created_ms\":%lld,\"deadline_ms\":%lld,", pid,
			 j->created, j->deadline);
	shunt_microvm_json_kv(&b, "image_digest", digest ? digest : "");
	shunt_buf_puts(&b, "}\n");
	_cleanup_free_ char *p = NULL;
	int rc = -1;
	if (asprintf(&p, "%s/job.json", j->dir) >= 0)
		rc = shunt_fs_write_atomic(p, b.data, b.len, 0600, err);
	shunt_buf_free(&b);
	return rc;
}

int shunt_microvm_job_write(const char *dir, const char *name, const char *data, size_t len,
			    struct shunt_error **err)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	return shunt_fs_write_atomic(p, data, len, 0644, err);
}

int shunt_microvm_job_create(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			     struct shunt_error **err)
{
	_cleanup_free_ char *jobs = jobs_dir();
	if (!jobs || shunt_fs_mkdirs(jobs, 0700, err) < 0)
		return shunt_error_prefix(err, "microVM job state: ");
	snprintf(j->dir, sizeof(j->dir), "%s/%s", jobs, plan->run_id);
	if (mkdir(j->dir, 0700) < 0)
		return shunt_error_sys(err, errno, "microVM job state: %s", j->dir);
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return shunt_error_sys(err, errno, "getrandom");
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(j->nonce + 2 * i, 3, "%02x", r[i]);
	j->created = shunt_microvm_now_ms();
	/* without a timeout the job still gets a deadline for the sweep */
	j->deadline =
	    j->created + (long long)(plan->timeout ? plan->timeout : 24 * 3600) * 1000 + 30000;
	char share[PATH_MAX + 8];
	snprintf(share, sizeof(share), "%s/share", j->dir);
	if (mkdir(share, 0700) < 0)
		return shunt_error_sys(err, errno, "microVM job share: %s", share);
	return 0;
}

void shunt_microvm_job_end(const char *dir)
{
	struct shunt_error *e = NULL;
	if (getenv("SHUNT_VM_KEEP_JOB")) {
		char done[PATH_MAX + 8];
		snprintf(done, sizeof(done), "%s/done", dir);
		shunt_fs_write_atomic(done, "", 0, 0600, &e);
	} else {
		shunt_fs_rmtree(dir, &e);
	}
	shunt_error_free(&e);
}
