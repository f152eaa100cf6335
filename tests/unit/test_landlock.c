/* The kernel-side second layers: Landlock (file and TCP restrictions),
 * cgroup memory/pids limits and the rlimit fallback. Every check runs in
 * a forked child, since all of these are irreversible for a process. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "landlock.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_landlock.XXXXXX";
static char outside[] = "/tmp/test_landlock_out.XXXXXX";

enum {
	L_ABI,
	L_WRITE_IN,
	L_WRITE_OUT,
	L_READ_ETC,
	L_READ_OUT,
	L_EXEC,
	L_CONNECT,
	L_MKDIR_OUT,
	L_N
};

static void landlock_child(int wfd, int port, bool tcp)
{
	int r[L_N];
	char p[300];
	struct shunt_error *err = NULL;
	for (int i = 0; i < L_N; i++)
		r[i] = -1;
	struct shunt_landlock_path paths[] = {
	    {"/usr", false},
	    {"/lib", false},
	    {"/lib64", false},
	    {"/lib32", false},
	    {"/bin", false},
	    {"/etc", false},
	    {"/nonexistent-skipped", false},
	    {tmpdir, true},
	};
	r[L_ABI] = shunt_landlock_apply(paths, sizeof(paths) / sizeof(paths[0]), tcp, &err);
	snprintf(p, sizeof(p), "%s/inside", tmpdir);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	r[L_WRITE_IN] = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/escape", outside);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	r[L_WRITE_OUT] = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/newdir", outside);
	r[L_MKDIR_OUT] = mkdir(p, 0700) == 0 ? 0 : errno;
	fd = open("/etc/hostname", O_RDONLY);
	if (fd < 0)
		fd = open("/etc/passwd", O_RDONLY);
	r[L_READ_ETC] = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/secret", outside);
	fd = open(p, O_RDONLY);
	r[L_READ_OUT] = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	pid_t c = fork();
	if (c == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st = -1;
	waitpid(c, &st, 0);
	r[L_EXEC] = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r[L_CONNECT] = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(s);
	if (write(wfd, r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

static int run_landlock(int *r, int port, bool tcp)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		landlock_child(pfd[1], port, tcp);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], r, sizeof(int) * L_N);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return n == (ssize_t)(sizeof(int) * L_N) ? 0 : -1;
}

static void test_landlock(void)
{
	int abi = shunt_landlock_abi();
	diag("Landlock ABI %d", abi);
	if (abi <= 0) {
		skip("the kernel has no Landlock (CONFIG_SECURITY_LANDLOCK off or not in lsm=)");
		return;
	}
	/* A loopback listener outside the sandbox. */
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		ok(0, "loopback listener");
		return;
	}
	int port = ntohs(sa.sin_port);
	char p[300];
	snprintf(p, sizeof(p), "%s/secret", outside);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs("secret\n", f);
		fclose(f);
	}

	int r[L_N];
	if (ok(run_landlock(r, port, true) == 0, "landlock child reported")) {
		is_int(r[L_ABI], abi, "apply returns the ABI applied");
		is_int(r[L_WRITE_IN], 0, "writing inside the rw dir works");
		is_int(r[L_WRITE_OUT], EACCES, "creating a file outside the allowed paths: EACCES");
		is_int(r[L_MKDIR_OUT], EACCES, "mkdir outside the allowed paths: EACCES");
		is_int(r[L_READ_OUT], EACCES, "reading a file outside the allowed paths: EACCES");
		is_int(r[L_READ_ETC], 0, "reading /etc works (read-only path)");
		is_int(r[L_EXEC], 0, "exec of /bin/true works");
		if (abi >= 4)
			is_int(r[L_CONNECT], EACCES,
			       "restrict_tcp: connect to a loopback listener is denied");
		else
			skip("Landlock ABI < 4: no TCP rules on this kernel");
	}
	snprintf(p, sizeof(p), "%s/escape", outside);
	ok(access(p, F_OK) < 0, "nothing was created outside");
	if (abi >= 4 &&
	    ok(run_landlock(r, port, false) == 0, "landlock child (no tcp restriction) reported"))
		is_int(r[L_CONNECT], 0,
		       "without restrict_tcp the connect works (the test can fail)");
	close(ls);
}

/* Touches 2 GiB page by page; returns only if never killed. */
static void eat_memory(void)
{
	size_t sz = 2UL << 30;
	char *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < sz; i += 4096)
		m[i] = 1;
	_exit(0);
}

static void test_cgroup(void)
{
	struct shunt_cgroup cg, other;
	struct shunt_error *err = NULL;
	/* A slot first used with a large limit must get the small one below. */
	int r = shunt_cgroup_setup(&cg, 4ULL << 30, 0, 0, &err);
	if (r < 0) {
		ok(0, "cgroup setup: %s", err ? err->msg : "?");
		shunt_error_free(&err);
		return;
	}
	if (r == 1) {
		ok(!cg.active, "cgroups not writable here: inactive, caller uses rlimits");
		skip(getuid() == 0
			 ? "no writable cgroup memory+pids hierarchy on this machine"
			 : "cgroups are not writable by this user (needs root or v2 delegation)");
		return;
	}
	char first[4096];
	snprintf(first, sizeof(first), "%s", cg.path);
	/* while held, a second claimant gets another slot */
	r = shunt_cgroup_setup(&other, 1ULL << 30, 0, 0, &err);
	ok(r == 0 && other.active && strcmp(other.path, first) != 0 && other.slot != cg.slot,
	   "a slot in use is not handed out twice (%s vs %s)", first, other.path);
	shunt_error_free(&err);
	/* a process left behind is killed when the slot is released */
	fflush(stdout);
	pid_t stray = fork();
	if (stray == 0) {
		if (shunt_cgroup_attach(&other, getpid(), NULL) < 0)
			_exit(3);
		pause();
		_exit(0);
	}
	usleep(100 * 1000);
	shunt_cgroup_destroy(&other);
	int sst = 0;
	waitpid(stray, &sst, 0);
	ok(WIFSIGNALED(sst) && WTERMSIG(sst) == SIGKILL,
	   "destroy kills what is left in the cgroup (status %#x)", sst);
	shunt_cgroup_destroy(&cg);
	ok(!cg.active && access(first, F_OK) == 0, "destroy keeps the slot directory for reuse");
	r = shunt_cgroup_setup(&cg, 256ULL << 20, 1.0, 64, &err);
	if (r != 0) {
		ok(0, "cgroup setup again: %s", err ? err->msg : "?");
		shunt_error_free(&err);
		return;
	}
	is_str(cg.path, first, "a released slot is reused");
	ok(cg.active && (cg.version == 1 || cg.version == 2), "cgroup v%d active at %s", cg.version,
	   cg.path);
	/* the way the process runner enters it: files opened by the parent,
	 * written by the child itself */
	int fds[3];
	ok(shunt_cgroup_open_self(&cg, fds, &err) == 0 && fds[0] >= 0,
	   "self-attach files opened (%s)", err ? err->msg : "ok");
	shunt_error_free(&err);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (shunt_cgroup_enter_self(fds) < 0)
			_exit(3);
		eat_memory();
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "2 GiB allocation in a 256 MiB cgroup it entered itself is killed (status %#x)", st);
	/* pids.max = 64: forking far past it fails with EAGAIN. */
	int pfd[2];
	if (pipe(pfd) == 0) {
		pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			setpgid(0, 0); /* so kill(0) below reaches only this loop */
			if (shunt_cgroup_attach(&cg, getpid(), NULL) < 0)
				_exit(3);
			int n = 0, e = 0;
			for (; n < 200; n++) {
				pid_t c = fork();
				if (c == 0) {
					pause();
					_exit(0);
				}
				if (c < 0) {
					e = errno;
					break;
				}
			}
			int v[2] = {n, e};
			if (write(pfd[1], v, sizeof(v)) != sizeof(v))
				_exit(4);
			kill(0, SIGKILL);
			_exit(0);
		}
		close(pfd[1]);
		int v[2] = {0, 0};
		ok(read(pfd[0], v, sizeof(v)) == sizeof(v), "fork bomb child reported");
		close(pfd[0]);
		ok(v[0] < 64 && v[1] == EAGAIN,
		   "pids.max 64 stops a fork loop (%d forks, errno %d)", v[0], v[1]);
		waitpid(pid, NULL, 0);
	}
	shunt_cgroup_destroy(&cg);
	ok(!cg.active && cg.lock_fd == -1, "destroy releases the slot");
	shunt_cgroup_destroy(&cg); /* idempotent */
}

static void test_rlimits(void)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int v[4];
		struct rlimit rl;
		v[0] = shunt_rlimits_apply(64ULL << 20, 5, 0, NULL);
		getrlimit(RLIMIT_DATA, &rl);
		v[1] = rl.rlim_cur == (256ULL << 20); /* floored */
		getrlimit(RLIMIT_CPU, &rl);
		v[2] = rl.rlim_cur == 5;
		void *m = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		v[3] = m == MAP_FAILED ? errno : 0;
		_exit(write(pfd[1], v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	close(pfd[1]);
	int v[4] = {-1, 0, 0, -1};
	ok(read(pfd[0], v, sizeof(v)) == sizeof(v), "rlimit child reported");
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	is_int(v[0], 0, "rlimits applied");
	ok(v[1], "RLIMIT_DATA floored at 256 MiB");
	ok(v[2], "RLIMIT_CPU set");
	is_int(v[3], ENOMEM, "1 GiB writable mapping fails under RLIMIT_DATA");
}

int main(void)
{
	if (!mkdtemp(tmpdir) || !mkdtemp(outside)) {
		perror("mkdtemp");
		return 1;
	}
	test_landlock();
	test_cgroup();
	test_rlimits();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tmpdir, outside);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
