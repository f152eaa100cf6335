/* seccomp: the shipped profiles parse, Docker-format profiles (args,
 * includes/excludes) are honoured, errors carry file:line:col, and a
 * loaded profile really denies what it must in a forked child while
 * ordinary programs keep working. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_seccomp.XXXXXX";

static char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static int errno_of(long r)
{
	return r < 0 ? errno : 0;
}

/* Results the child reports back through a pipe. */
enum {
	R_APPLY,
	R_UNSHARE,
	R_CLONE,
	R_CLONE3,
	R_MOUNT,
	R_PTRACE,
	R_BPF,
	R_KEYCTL,
	R_TIOCSTI,
	R_TIOCSTI_HI,
	R_PERF,
	R_USERFAULTFD,
	R_IO_URING,
	R_FILE_IO,
	R_FORK_EXEC,
	R_UNSHARE_OTHER,
	R_N
};

static void probe_child(int wfd, const char *profile_path, enum shunt_profile profile)
{
	int res[R_N];
	struct shunt_error *err = NULL;
	char c = 'x';
	for (int i = 0; i < R_N; i++)
		res[i] = -1;
	res[R_APPLY] =
	    shunt_seccomp_apply(profile_path, profile, &err) == 0 ? 0 : (err ? err->code : 1);
	if (err)
		fprintf(stderr, "# apply: %s\n", err->msg);
	res[R_UNSHARE] = errno_of(unshare(CLONE_NEWUSER));
	long pid =
	    syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	res[R_CLONE] = errno_of(pid);
	res[R_CLONE3] = errno_of(syscall(SYS_clone3, NULL, (size_t)0));
	res[R_MOUNT] = errno_of(mount("none", tmpdir, "tmpfs", 0, NULL));
	if (res[R_MOUNT] == 0)
		umount2(tmpdir, MNT_DETACH);
	res[R_PTRACE] = errno_of(ptrace(PTRACE_ATTACH, getppid(), NULL, NULL));
	if (res[R_PTRACE] == 0)
		ptrace(PTRACE_DETACH, getppid(), NULL, NULL);
	res[R_BPF] = errno_of(syscall(SYS_bpf, 0, NULL, 0));
	res[R_KEYCTL] = errno_of(syscall(SYS_keyctl, 0, -3, 0));
	res[R_TIOCSTI] = errno_of(syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, &c));
	res[R_TIOCSTI_HI] = errno_of(syscall(SYS_ioctl, -1, 0xabc00000000UL | TIOCSTI, &c));
	res[R_PERF] = errno_of(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	res[R_USERFAULTFD] = errno_of(syscall(SYS_userfaultfd, O_CLOEXEC));
	res[R_IO_URING] = errno_of(syscall(SYS_io_uring_setup, 0, NULL));
	/* Ordinary work must still succeed. */
	char path[256], buf[8] = {0};
	snprintf(path, sizeof(path), "%s/io", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	res[R_FILE_IO] = fd >= 0 && write(fd, "hello", 5) == 5 && pread(fd, buf, 5, 0) == 5 &&
				 strcmp(buf, "hello") == 0
			     ? 0
			 : errno ? errno
				 : 1;
	if (fd >= 0)
		close(fd);
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st = -1;
	res[R_FORK_EXEC] =
	    p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
	/* Namespaces other than user stay available (the runner needs none
	 * after this point, but tools like unshare -n in a userns do). */
	res[R_UNSHARE_OTHER] = errno_of(unshare(0));
	if (write(wfd, res, sizeof(res)) != sizeof(res))
		_exit(3);
	_exit(0);
}

static int run_probe(const char *profile_path, enum shunt_profile profile, int *res)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		probe_child(pfd[1], profile_path, profile);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], res, sizeof(int) * R_N);
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	return n == (ssize_t)(sizeof(int) * R_N) ? 0 : -1;
}

static void test_builtin_denials(enum shunt_profile profile)
{
	int r[R_N];
	const char *pn = shunt_profile_name(profile);
	if (!ok(run_probe(NULL, profile, r) == 0, "%s: child reported", pn))
		return;
	is_int(r[R_APPLY], 0, "applied");
	is_int(r[R_UNSHARE], EPERM, "unshare(CLONE_NEWUSER) -> EPERM");
	is_int(r[R_CLONE], EPERM, "clone(CLONE_NEWUSER) -> EPERM");
	is_int(r[R_CLONE3], ENOSYS, "clone3 -> ENOSYS (libc falls back to clone)");
	is_int(r[R_MOUNT], EPERM, "mount -> EPERM");
	is_int(r[R_PTRACE], EPERM, "ptrace(PTRACE_ATTACH, parent) -> EPERM");
	is_int(r[R_BPF], EPERM, "bpf -> EPERM");
	is_int(r[R_KEYCTL], EPERM, "keyctl -> EPERM");
	is_int(r[R_TIOCSTI], EPERM, "ioctl(TIOCSTI) -> EPERM");
	is_int(r[R_TIOCSTI_HI], EPERM, "ioctl(TIOCSTI | high garbage bits) -> EPERM");
	is_int(r[R_PERF], EPERM, "perf_event_open -> EPERM");
	is_int(r[R_USERFAULTFD], EPERM, "userfaultfd -> EPERM");
	is_int(r[R_IO_URING], EPERM, "io_uring_setup -> EPERM");
	is_int(r[R_FILE_IO], 0, "open/write/read still work");
	is_int(r[R_FORK_EXEC], 0, "fork + exec /bin/true still works");
	is_int(r[R_UNSHARE_OTHER], 0, "unshare(0) still works");
}

static void test_unfiltered_baseline(void)
{
	/* Proves the probes can fail: without a filter the kernel answers
	 * differently from the filter's EPERM/ENOSYS. */
	char c = 'x';
	is_int(errno_of(syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, &c)), EBADF,
	       "baseline: TIOCSTI on fd -1 is EBADF");
	ok(errno_of(syscall(SYS_clone3, NULL, (size_t)0)) != ENOSYS,
	   "baseline: clone3 is not ENOSYS");
	ok(errno_of(syscall(SYS_bpf, 0, NULL, 0)) != 0, "baseline: bpf with NULL attr fails");
}

static void test_shipped_profiles(void)
{
	static const char *const files[] = {"default.json", "read_only.json",
					    "workspace_write.json", "system_write.json"};
	struct shunt_error *err = NULL;
	for (int p = SHUNT_PROFILE_NONE; p <= SHUNT_PROFILE_GODMODE; p++) {
		int r = shunt_seccomp_check(NULL, (enum shunt_profile)p, &err);
		ok(r == 0, "built-in profile for %s compiles (%s)", shunt_profile_name(p),
		   shunt_seccomp_builtin_name((enum shunt_profile)p));
		if (err)
			diag("%s", err->msg);
		shunt_error_free(&err);
	}
	is_str(shunt_seccomp_builtin_name(SHUNT_PROFILE_GODMODE), "system_write.json",
	       "GODMODE uses system_write");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len = 0;
		ok(shunt_seccomp_builtin(files[i], &len) && len > 100, "%s is embedded", files[i]);
		/* Also through the file path, as users would pass one. */
		char path[256];
		snprintf(path, sizeof(path), "sandbox/security/%s", files[i]);
		if (access(path, R_OK) == 0) {
			ok(shunt_seccomp_check(path, SHUNT_PROFILE_NONE, &err) == 0,
			   "%s parses from its file", path);
			shunt_error_free(&err);
		}
	}
	ok(shunt_seccomp_builtin("nope.json", NULL) == NULL, "unknown built-in name gives NULL");
}

/* A Docker-style profile: args, includes/excludes, name/names, an unknown
 * syscall (skipped), a cap-gated allow (not applied). */
static const char docker_profile[] =
    "{\n"
    "  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n"
    "  \"defaultErrnoRet\": 38,\n"
    "  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],\n"
    "  \"flags\": [],\n"
    "  \"syscalls\": [\n"
    "    {\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,\n"
    "     \"args\": [{\"index\": 0, \"value\": 4242, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}],\n"
    "     \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}, \"comment\": \"excluded for admins "
    "only\"},\n"
    "    {\"name\": \"getsid\", \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22,\n"
    "     \"includes\": {\"minKernel\": \"99.0\"}},\n"
    "    {\"names\": [\"no_such_syscall_xyz\", \"getppid\"], \"action\": \"SCMP_ACT_ERRNO\",\n"
    "     \"includes\": {\"arches\": [\"amd64\", \"arm64\", \"x86\"]}},\n"
    "    {\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7,\n"
    "     \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
    "    {\"names\": [\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5,\n"
    "     \"args\": [{\"index\": 0, \"value\": 63, \"valueTwo\": 63, \"op\": "
    "\"SCMP_CMP_MASKED_EQ\"},\n"
    "              {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}\n"
    "  ]\n"
    "}\n";

static void test_docker_profile(void)
{
	struct shunt_error *err = NULL;
	const char *path = write_tmp("docker.json", docker_profile);
	int r = shunt_seccomp_check(path, SHUNT_PROFILE_NONE, &err);
	ok(r == 0, "Docker-style profile with args/includes/excludes compiles");
	if (err)
		diag("%s", err->msg);
	shunt_error_free(&err);

	int pfd[2], res[8] = {0};
	if (pipe(pfd) < 0)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int v[8];
		v[0] = shunt_seccomp_apply(path, SHUNT_PROFILE_NONE, NULL);
		v[1] = errno_of(syscall(SYS_getpgid, 4242));
		v[2] = errno_of(syscall(SYS_getpgid, 0));
		v[3] = errno_of(syscall(SYS_getsid, 0));
		v[4] = errno_of(syscall(SYS_getppid));
		v[5] = errno_of(syscall(SYS_getuid));
		v[6] = errno_of(syscall(SYS_umask, 077)); /* masked 077 == 077: denied */
		v[7] = errno_of(syscall(SYS_umask, 1));	  /* EQ 1: denied (rules are ORed) */
		_exit(write(pfd[1], v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	close(pfd[1]);
	ok(read(pfd[0], res, sizeof(res)) == sizeof(res), "docker profile child reported");
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	is_int(res[0], 0, "docker profile applied");
	is_int(res[1], EACCES, "args EQ 4242 matches: errnoRet 13");
	is_int(res[2], 0, "args EQ does not match pid 0: allowed");
	is_int(res[3], 0, "includes.minKernel 99.0 not met: rule not applied");
	is_int(
	    res[4], EPERM,
	    "includes.arches amd64 met; unknown syscall skipped; ERRNO without errnoRet is EPERM");
	is_int(res[5], 7, "includes.caps on a denial is kept (conservative)");
	is_int(res[6], EIO, "MASKED_EQ condition denies");
	is_int(res[7], EIO, "second condition on the same arg is ORed");
}

/* Docker's own style: deny by default with defaultErrnoRet, allow a list. */
static void test_allowlist_profile(void)
{
	const char *path = write_tmp(
	    "allow.json",
	    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,\n"
	    " \"syscalls\": [{\"names\": [\"write\", \"exit\", \"exit_group\", \"rt_sigreturn\",\n"
	    "   \"munmap\", \"mmap\", \"brk\", \"futex\", \"madvise\"], \"action\": "
	    "\"SCMP_ACT_ALLOW\"}]}\n");
	int pfd[2], v[2] = {-1, -1};
	if (pipe(pfd) < 0)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int r[2];
		r[0] = shunt_seccomp_apply(path, SHUNT_PROFILE_NONE, NULL);
		r[1] = errno_of(syscall(SYS_getppid));
		/* Raw exit_group: sanitizer _exit hooks need syscalls not allowed here. */
		syscall(SYS_exit_group, write(pfd[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(pfd[1]);
	ok(read(pfd[0], v, sizeof(v)) == sizeof(v), "allow-list child reported");
	close(pfd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	is_int(v[0], 0, "allow-list profile applied");
	is_int(v[1], ENOSYS, "syscall outside the allow list gets defaultErrnoRet (38)");
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "allowed write/exit_group still work");
}

static void expect_error(const char *name, const char *text, const char *want, const char *desc)
{
	struct shunt_error *err = NULL;
	const char *path = write_tmp(name, text);
	int r = shunt_seccomp_check(path, SHUNT_PROFILE_NONE, &err);
	ok(r < 0 && err, "%s: rejected", desc);
	if (err) {
		if (!ok(strstr(err->msg, want) != NULL, "%s: message has '%s'", desc, want))
			diag("got: %s", err->msg);
	}
	shunt_error_free(&err);
}

static void test_errors(void)
{
	char want[512];
	snprintf(want, sizeof(want), "%s/bad1.json:3:", tmpdir);
	expect_error("bad1.json",
		     "{\n \"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [ }\n", want,
		     "malformed JSON");
	snprintf(want, sizeof(want), "%s/bad2.json:3:35: unknown action 'SCMP_ACT_MAYBE'", tmpdir);
	expect_error("bad2.json",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [\n  {\"names\": "
		     "[\"getpid\"], \"action\": "
		     "\"SCMP_ACT_MAYBE\"}]}\n",
		     want, "bad action");
	snprintf(want, sizeof(want), "%s/bad3.json:2:", tmpdir);
	expect_error("bad3.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"sycalls\": []}\n",
		     want, "unknown key (typo)");
	expect_error("bad3.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"sycalls\": []}\n",
		     "unknown key 'sycalls'", "unknown key named");
	expect_error("bad4.json",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		     "\"getpid\", \"action\": "
		     "\"SCMP_ACT_ERRNO\"}]}",
		     "names must be an array", "bad type");
	expect_error("bad5.json",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		     "[\"getpid\"], \"action\": "
		     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 7, \"value\": 1, \"op\": "
		     "\"SCMP_CMP_EQ\"}]}]}",
		     "index must be an integer between 0 and 5", "arg index out of range");
	expect_error("bad6.json",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		     "[\"getpid\"], \"action\": "
		     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
		     "\"SCMP_CMP_ALMOST\"}]}]}",
		     "unknown op 'SCMP_CMP_ALMOST'", "bad op");
	expect_error("bad7.json", "{\"syscalls\": []}", "needs 'defaultAction'",
		     "missing defaultAction");
	struct shunt_error *err = NULL;
	ok(shunt_seccomp_check("/nonexistent/profile.json", SHUNT_PROFILE_NONE, &err) < 0 && err &&
	       err->code == ENOENT && strstr(err->msg, "/nonexistent/profile.json"),
	   "missing file: ENOENT naming the file");
	shunt_error_free(&err);
	/* A failed apply must not load anything: the process stays unfiltered. */
	ok(shunt_seccomp_apply(write_tmp("bad8.json", "{\"defaultAction\": 1}"), SHUNT_PROFILE_NONE,
			       &err) < 0,
	   "apply of a bad profile fails");
	shunt_error_free(&err);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_shipped_profiles();
	test_errors();
	test_unfiltered_baseline();
	test_docker_profile();
	test_allowlist_profile();
	test_builtin_denials(SHUNT_PROFILE_READ_ONLY);
	test_builtin_denials(SHUNT_PROFILE_WORKSPACE_WRITE);
	test_builtin_denials(SHUNT_PROFILE_SYSTEM_WRITE);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
