/* shunt-vm-agent: the guest side of the microVM command channel.
 * Built static (gcc -static) by build-guest.sh and started by the guest's
 * /init; libc only, plus sandbox/vmchan.c for the framing.
 *
 *   shunt-vm-agent --vsock PORT [--root DIR]
 *       listen on AF_VSOCK PORT (the host connects through Firecracker's
 *       unix socket with "CONNECT PORT"), serve one request: mount the
 *       workspace device at its host path under DIR, chroot into DIR, run
 *       the command, stream its output, unmount, report the exit status.
 *   shunt-vm-agent --dev PATH [--root DIR]
 *       the same over a character device (QEMU: a virtio console, hvc0,
 *       switched to raw mode).
 *   shunt-vm-agent --fd N
 *       serve one request on the already connected socket N (the
 *       transport the tests use); no mounts, no chroot.
 *
 * Exit: 0 when a status (EXIT or FAIL) was sent, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "vmchan.h"

extern char **environ;

struct request {
	char *ws_path, *ws_dev, *cwd;
	int ws_rw;
	char **argv, **env;
	size_t argc, envc;
};

static struct shunt_vmchan_frame frame;

static int fail(int fd, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "shunt-vm-agent: %s: %s", what, strerror(errno));
	return shunt_vmchan_write(fd, SHUNT_VMCHAN_FAIL, msg, (size_t)n);
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	nv[++*n] = NULL;
	return 0;
}

/* Reads frames up to RUN. 0, or -1 (bad or incomplete request). */
static int read_request(int fd, struct request *r)
{
	for (;;) {
		int rc = shunt_vmchan_read(fd, &frame, 0);
		if (rc <= 0)
			return -1;
		if (memchr(frame.data, 0, frame.len))
			return -1; /* strings carry no NUL */
		char **slot = NULL;
		switch (frame.type) {
		case SHUNT_VMCHAN_WS_PATH:
			slot = &r->ws_path;
			break;
		case SHUNT_VMCHAN_WS_DEV:
			slot = &r->ws_dev;
			break;
		case SHUNT_VMCHAN_CWD:
			slot = &r->cwd;
			break;
		case SHUNT_VMCHAN_WS_RW:
			r->ws_rw = strcmp(frame.data, "1") == 0;
			continue;
		case SHUNT_VMCHAN_ARG:
			if (push(&r->argv, &r->argc, frame.data) < 0)
				return -1;
			continue;
		case SHUNT_VMCHAN_ENV:
			if (push(&r->env, &r->envc, frame.data) < 0)
				return -1;
			continue;
		case SHUNT_VMCHAN_RUN:
			return r->argc ? 0 : -1;
		default:
			return -1;
		}
		free(*slot);
		if (!(*slot = strdup(frame.data)))
			return -1;
	}
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Forwards what is readable on *pfd as frames of type; closes it at EOF. */
static int forward(int sock, int *pfd, uint8_t type)
{
	char buf[SHUNT_VMCHAN_MAX];
	ssize_t n = read(*pfd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		close(*pfd);
		*pfd = -1;
		return 0;
	}
	return shunt_vmchan_write(sock, type, buf, (size_t)n);
}

static void child(const struct request *r, const char *root, int out, int err)
{
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	setsid();
	if (root && (chroot(root) < 0 || chdir("/") < 0)) {
		dprintf(2, "shunt-vm-agent: chroot %s: %s\n", root, strerror(errno));
		_exit(126);
	}
	/* the caller's directory, else the workspace */
	if ((!r->cwd || chdir(r->cwd) < 0) && r->ws_path && chdir(r->ws_path) < 0) {
		dprintf(2, "shunt-vm-agent: cannot enter %s: %s\n", r->ws_path, strerror(errno));
		_exit(126);
	}
	static char *empty[] = {NULL};
	environ = r->env ? r->env : empty;
	execvp(r->argv[0], r->argv);
	int e = errno;
	dprintf(2, "shunt-vm-agent: %s: %s\n", r->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static void free_request(struct request *r)
{
	for (size_t i = 0; i < r->argc; i++)
		free(r->argv[i]);
	for (size_t i = 0; i < r->envc; i++)
		free(r->env[i]);
	free(r->argv);
	free(r->env);
	free(r->ws_path);
	free(r->ws_dev);
	free(r->cwd);
}

static int run_request(int sock, const char *root, struct request *rq);

static int serve(int sock, const char *root)
{
	struct request r = {0};
	int rc = run_request(sock, root, &r);
	free_request(&r);
	return rc;
}

static int run_request(int sock, const char *root, struct request *rq)
{
	struct request r = {0}; /* copied to *rq, which the caller frees */
	signal(SIGPIPE, SIG_IGN);
	static const char hello[] = "shunt-vm-agent 1";
	if (shunt_vmchan_write(sock, SHUNT_VMCHAN_HELLO, hello, sizeof(hello) - 1) < 0)
		return 1;
	int bad = read_request(sock, &r);
	*rq = r;
	if (bad < 0) {
		errno = EPROTO;
		fail(sock, "bad request");
		return 1;
	}
	char mnt[8192] = "";
	if (root && r.ws_path && r.ws_dev) {
		snprintf(mnt, sizeof(mnt), "%s%s", root, r.ws_path);
		if (mkdirs(mnt) < 0 ||
		    mount(r.ws_dev, mnt, "ext4", MS_NOSUID | MS_NODEV | (r.ws_rw ? 0 : MS_RDONLY),
			  NULL) < 0) {
			fail(sock, "cannot mount the workspace");
			return 0;
		}
	}
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		fail(sock, "pipe");
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fail(sock, "fork");
		return 0;
	}
	if (pid == 0)
		child(&r, root, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	int ofd = out[0], efd = err[0], ws = 0;
	bool reaped = false, host_gone = false;
	long long drain_until = 0;
	while (ofd >= 0 || efd >= 0) {
		struct pollfd pf[3] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}, {sock, POLLIN, 0}};
		int n = poll(pf, 3, reaped ? 100 : 200);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && pf[0].revents && forward(sock, &ofd, SHUNT_VMCHAN_OUT) < 0)
			host_gone = true;
		if (n > 0 && pf[1].revents && forward(sock, &efd, SHUNT_VMCHAN_ERR) < 0)
			host_gone = true;
		/* the host sends nothing after RUN: anything here is a hang-up */
		if (n > 0 && pf[2].revents)
			host_gone = true;
		if (host_gone) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		if (!reaped && waitpid(pid, &ws, WNOHANG) == pid) {
			reaped = true;
			/* leftovers of the command's session must not hold the pipes */
			kill(-pid, SIGKILL);
			drain_until = shunt_vmchan_now_ms() + 2000;
		}
		if (reaped && shunt_vmchan_now_ms() > drain_until)
			break;
	}
	if (!reaped)
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	if (mnt[0]) {
		sync();
		if (umount(mnt) < 0)
			umount2(mnt, MNT_DETACH);
		sync();
	}
	if (host_gone)
		return 1;
	int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	unsigned char st[4] = {(unsigned char)(code >> 24), (unsigned char)(code >> 16),
			       (unsigned char)(code >> 8), (unsigned char)code};
	return shunt_vmchan_write(sock, SHUNT_VMCHAN_EXIT, st, sizeof(st)) < 0;
}

static int listen_vsock(unsigned port)
{
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_vm a = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		return -1;
	int c;
	while ((c = accept4(s, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
		;
	close(s);
	return c;
}

int main(int argc, char **argv)
{
	const char *root = NULL, *dev = NULL;
	int sock = -1;
	long port = -1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--fd") == 0)
			sock = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--vsock") == 0)
			port = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--dev") == 0)
			dev = argv[i + 1];
		else if (strcmp(argv[i], "--root") == 0)
			root = argv[i + 1];
		else
			break;
	}
	if (port > 0) {
		sock = listen_vsock((unsigned)port);
		if (sock < 0) {
			fprintf(stderr, "shunt-vm-agent: vsock port %ld: %s\n", port,
				strerror(errno));
			return 1;
		}
	} else if (dev) {
		sock = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
		struct termios t;
		if (sock >= 0 && tcgetattr(sock, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(sock, TCSANOW, &t);
		}
		if (sock < 0) {
			fprintf(stderr, "shunt-vm-agent: %s: %s\n", dev, strerror(errno));
			return 1;
		}
	} else {
		root = NULL;
	}
	if (sock < 0) {
		fprintf(stderr, "usage: shunt-vm-agent --vsock PORT [--root DIR] | --dev PATH "
				"[--root DIR] | --fd N\n");
		return 2;
	}
	return serve(sock, root);
}
