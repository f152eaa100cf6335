/* The microVM guest image: where it lives, the script that builds it,
 * and its build on first use (the build `shunt vm build` runs), once
 * across concurrent first runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "microvm_int.h"
#include "paths.h"

char *shunt_microvm_image_dir(void)
{
	const char *env = getenv("SHUNT_VM_CACHE");
	char *p = NULL;
	if (env && *env) {
		if (asprintf(&p, "%s/current", env) < 0)
			return NULL;
		return p;
	}
	return shunt_paths_file(SHUNT_DIR_CACHE, "vm/current");
}

char *shunt_microvm_build_script(void)
{
	const char *env = getenv("SHUNT_VM_BUILD_SCRIPT");
	if (env && *env)
		return strdup(env);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const rel[] = {
	    "../share/shunt/firecracker/build-guest.sh", /* installed */
	    "../../sandbox/firecracker/build-guest.sh",	 /* build-x/bin */
	    "../sandbox/firecracker/build-guest.sh",
	};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", exe, rel[i]) < 0)
			return NULL;
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

int shunt_microvm_image_paths(char **kernel, char **initrd, char **digest, struct shunt_error **err)
{
	_cleanup_free_ char *dir = shunt_microvm_image_dir();
	if (!dir)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char real[PATH_MAX];
	if (!realpath(dir, real))
		goto missing;
	if (asprintf(kernel, "%s/vmlinux", real) < 0 ||
	    asprintf(initrd, "%s/initrd.cpio", real) < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (access(*kernel, R_OK) != 0 || access(*initrd, R_OK) != 0)
		goto missing;
	if (digest) {
		const char *d = strrchr(real, '/');
		*digest = strdup(d ? d + 1 : real);
	}
	return 0;
missing:
	shunt_error_set(err, ENOENT,
			"the microVM guest image is not built (%s); build it with 'shunt vm build' "
			"(needs busybox-static, cpio, xz-utils and the Debian archive)",
			dir);
	vm_set_exit(err, 125);
	return -1;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

bool shunt_microvm_image_buildable(void)
{
	_cleanup_free_ char *script = shunt_microvm_build_script();
	return script && access(script, R_OK) == 0 && access("/bin/sh", X_OK) == 0;
}

/* The last non-empty line of the build log, for the error. */
static void log_last_line(const char *log, char *out, size_t size)
{
	_cleanup_free_ char *text = NULL;
	struct shunt_error *e = NULL;
	out[0] = 0;
	if (shunt_fs_read(log, 1 << 20, &text, NULL, &e) < 0) {
		shunt_error_free(&e);
		return;
	}
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = 0;
	const char *nl = strrchr(text, '\n');
	snprintf(out, size, "%s", nl ? nl + 1 : text);
}

/* Runs the build script into cache, its output in log; the child keeps
 * the lock (lockfd) so that a build outliving us still holds off the
 * next one. The script's exit status, or -1 with *err. */
static int run_build(const char *script, const char *cache, const char *log, int lockfd,
		     struct shunt_error **err)
{
	_cleanup_close_ int logfd =
	    open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd < 0)
		return shunt_error_sys(err, errno, "microVM guest image build log %s", log);
	pid_t pid = fork();
	if (pid < 0)
		return shunt_error_sys(err, errno, "fork");
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
		    fcntl(lockfd, F_SETFD, 0) < 0)
			_exit(127);
		execl("/bin/sh", "sh", script, "--cache", cache, (char *)NULL);
		_exit(127);
	}
	long long start = shunt_microvm_now_ms();
	int st = 0;
	for (long tick = 0;; tick++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return shunt_error_sys(err, errno, "waiting for the guest image build");
		if (tick == 0)
			shunt_microvm_notify(SHUNT_MICROVM_PROGRESS,
					     "building the microVM guest image (first use, about a "
					     "minute; log: %s)",
					     log);
		else if (tick % 5 == 0)
			shunt_microvm_notify(SHUNT_MICROVM_PROGRESS,
					     "building the microVM guest image (first use, about a "
					     "minute; log: %s): %lld s",
					     log, (shunt_microvm_now_ms() - start) / 1000);
		struct timespec ts = {0, 200 * 1000000};
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The cache holding <digest>/ and current: the image dir's parent. */
static char *cache_dir(void)
{
	char *cache = shunt_microvm_image_dir();
	char *slash = cache ? strrchr(cache, '/') : NULL;
	if (!slash) {
		free(cache);
		return NULL;
	}
	*slash = 0;
	return cache;
}

int shunt_microvm_image_lock(struct shunt_error **err)
{
	_cleanup_free_ char *cache = cache_dir();
	_cleanup_free_ char *lock = cache ? path_in(cache, ".build.lock") : NULL;
	_cleanup_free_ char *log = cache ? path_in(cache, "build.log") : NULL;
	if (!lock || !log)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (shunt_fs_mkdirs(cache, 0700, err) < 0)
		return -1;
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return shunt_error_sys(err, errno, "microVM guest image lock %s", lock);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	shunt_microvm_notify(SHUNT_MICROVM_PROGRESS,
			     "waiting for another shunt building the microVM guest image (log: %s)",
			     log);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return shunt_error_sys(err, e, "microVM guest image lock %s", lock);
		}
	}
	shunt_microvm_notify(SHUNT_MICROVM_PROGRESS_END,
			     "the other shunt's build of the microVM guest image ended");
	return fd;
}

int shunt_microvm_image_ensure(struct shunt_error **err)
{
	_cleanup_free_ char *k = NULL, *i = NULL;
	struct shunt_error *e = NULL;
	if (shunt_microvm_image_paths(&k, &i, NULL, &e) == 0)
		return 0;
	shunt_error_free(&e);
	_cleanup_free_ char *script = shunt_microvm_build_script();
	if (!shunt_microvm_image_buildable())
		return shunt_microvm_image_paths(&k, &i, NULL, err);
	_cleanup_free_ char *cache = cache_dir();
	_cleanup_free_ char *log = cache ? path_in(cache, "build.log") : NULL;
	if (!log)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int rc = -1;
	/* a concurrent first run builds: wait for it and reuse its image */
	_cleanup_close_ int fd = shunt_microvm_image_lock(err);
	if (fd < 0)
		goto out;
	free(k), free(i);
	k = i = NULL;
	if (shunt_microvm_image_paths(&k, &i, NULL, &e) == 0) {
		rc = 0;
		goto out;
	}
	shunt_error_free(&e);
	long long start = shunt_microvm_now_ms();
	int st = run_build(script, cache, log, fd, err);
	if (st < 0)
		goto out;
	free(k), free(i);
	k = i = NULL;
	if (st != 0 || shunt_microvm_image_paths(&k, &i, NULL, err) < 0) {
		char last[300];
		log_last_line(log, last, sizeof(last));
		shunt_error_free(err);
		shunt_error_set(err, EIO,
				"building the microVM guest image failed (exit %d): %s; see %s "
				"(or run 'shunt vm build')",
				st, last[0] ? last : "no output", log);
		shunt_microvm_notify(SHUNT_MICROVM_PROGRESS_END,
				     "building the microVM guest image failed");
		goto out;
	}
	shunt_microvm_notify(SHUNT_MICROVM_PROGRESS_END, "built the microVM guest image in %lld s",
			     (shunt_microvm_now_ms() - start) / 1000);
	rc = 0;
out:
	if (rc < 0)
		vm_set_exit(err, 125);
	return rc;
}
