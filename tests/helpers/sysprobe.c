/* sysprobe: attempts one risky syscall and prints the errno it got
 * ("OK" on success), so tests can check what a sandbox denies.
 *
 *   sysprobe NAME [ARG]   e.g. sysprobe mount, sysprobe ptrace 1234
 *   sysprobe all          one "NAME RESULT" line per probe
 *
 * Every probe is harmless when it is NOT denied: arguments are chosen so
 * the kernel rejects them after the seccomp check (bad fd, bad flags), or
 * the effect is undone (mount on a private temp dir, ptrace detach).
 * Raw syscalls only; no libseccomp. Exit 0 when the probe ran, 2 on usage. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
	static char buf[32];
	switch (e) {
	case 0:
		return "OK";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ENOSYS:
		return "ENOSYS";
	case EINVAL:
		return "EINVAL";
	case EFAULT:
		return "EFAULT";
	case EBADF:
		return "EBADF";
	case ENOENT:
		return "ENOENT";
	case ENOTTY:
		return "ENOTTY";
	case ESRCH:
		return "ESRCH";
	case EBUSY:
		return "EBUSY";
	case ENOEXEC:
		return "ENOEXEC";
	case E2BIG:
		return "E2BIG";
	case ENOMEM:
		return "ENOMEM";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case ENODEV:
		return "ENODEV";
	case EUSERS:
		return "EUSERS";
	case ENOSPC:
		return "ENOSPC";
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static int res(long r)
{
	return r < 0 ? errno : 0;
}

static int p_unshare_user(const char *arg)
{
	/* Fork so a successful unshare does not change this process. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) < 0 ? errno : 0);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
}

static int p_clone_user(const char *arg)
{
	long r =
	    syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
	if (r == 0)
		_exit(0);
	if (r < 0)
		return errno;
	waitpid((pid_t)r, NULL, 0);
	return 0;
}

static int p_clone3(const char *arg)
{
#ifdef SYS_clone3
	/* Invalid size: the kernel says EINVAL/EFAULT, a filter says ENOSYS. */
	return res(syscall(SYS_clone3, NULL, (size_t)0));
#else
	return ENOSYS;
#endif
}

static int p_mount(const char *arg)
{
	char dir[] = "/tmp/sysprobe.XXXXXX";
	if (!mkdtemp(dir))
		return errno;
	int e = res(mount("sysprobe", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k"));
	if (e == 0)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	return e;
}

static int p_ptrace(const char *arg)
{
	pid_t pid = arg ? (pid_t)atol(arg) : getppid();
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
		return errno;
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}

static int p_bpf(const char *arg)
{
	return res(syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0));
}

static int p_keyctl(const char *arg)
{
	return res(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
}

static int p_tiocsti(const char *arg)
{
	/* fd -1: the kernel would say EBADF; only a filter says EPERM. */
	char c = 'x';
	return res(syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, &c));
}

static int p_tiocsti_hi(const char *arg)
{
	/* The kernel truncates cmd to 32 bits: garbage in the high bits must
	 * not get past the filter. */
	char c = 'x';
	return res(syscall(SYS_ioctl, -1, 0xdead00000000UL | (unsigned long)TIOCSTI, &c));
}

static int p_perf(const char *arg)
{
	return res(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
}

static int p_userfaultfd(const char *arg)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd >= 0)
		close((int)fd);
	return res(fd);
}

static int p_kexec(const char *arg)
{
	/* Invalid flags: never unloads a loaded kernel. */
	return res(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xffff0000UL));
}

static int p_init_module(const char *arg)
{
	return res(syscall(SYS_init_module, NULL, 0UL, ""));
}

static int p_io_uring(const char *arg)
{
#ifdef SYS_io_uring_setup
	long fd = syscall(SYS_io_uring_setup, 0, NULL);
	if (fd >= 0)
		close((int)fd);
	return res(fd);
#else
	return ENOSYS;
#endif
}

static int p_setns(const char *arg)
{
	return res(setns(-1, 0));
}

static int p_chroot(const char *arg)
{
	return res(chroot("/nonexistent-sysprobe"));
}

static int p_personality(const char *arg)
{
	return res(syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE));
}

static int p_open_by_handle(const char *arg)
{
	return res(syscall(SYS_open_by_handle_at, -1, NULL, 0));
}

static int p_write(const char *arg)
{
	/* An ordinary syscall that must keep working. */
	int fd = open(arg ? arg : "/dev/null", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	int e = write(fd, "x", 1) == 1 ? 0 : errno;
	close(fd);
	return e;
}

static const struct probe {
	const char *name;
	int (*fn)(const char *arg);
} probes[] = {
    {"unshare-user", p_unshare_user},
    {"clone-user", p_clone_user},
    {"clone3", p_clone3},
    {"mount", p_mount},
    {"ptrace", p_ptrace},
    {"bpf", p_bpf},
    {"keyctl", p_keyctl},
    {"tiocsti", p_tiocsti},
    {"tiocsti-hi", p_tiocsti_hi},
    {"perf", p_perf},
    {"userfaultfd", p_userfaultfd},
    {"kexec", p_kexec},
    {"init_module", p_init_module},
    {"io_uring", p_io_uring},
    {"setns", p_setns},
    {"chroot", p_chroot},
    {"personality", p_personality},
    {"open_by_handle_at", p_open_by_handle},
    {"write", p_write},
};

int main(int argc, char **argv)
{
	size_t n = sizeof(probes) / sizeof(probes[0]);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: sysprobe NAME [ARG] | all\nprobes:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", probes[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	if (strcmp(argv[1], "all") == 0) {
		for (size_t i = 0; i < n; i++) {
			/* ptrace in "all" mode would stop the caller: skip it. */
			if (strcmp(probes[i].name, "ptrace") == 0)
				continue;
			printf("%s %s\n", probes[i].name, errname(probes[i].fn(NULL)));
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[1], probes[i].name) == 0) {
			printf("%s\n", errname(probes[i].fn(argc > 2 ? argv[2] : NULL)));
			return 0;
		}
	fprintf(stderr, "sysprobe: unknown probe '%s'\n", argv[1]);
	return 2;
}
