/* Firecracker vsock transport and the host end of the command channel. */
#include "firecracker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* Reads the handshake answer line ("OK 1073741824\n") byte by byte, so
 * nothing after it is consumed. 1 when OK, 0 when refused or closed. */
static int handshake(int fd, unsigned port, long long deadline)
{
	char req[32];
	int n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (write(fd, req, (size_t)n) != n)
		return 0;
	char line[64];
	size_t len = 0;
	while (len + 1 < sizeof(line)) {
		long long left = deadline - shunt_vmchan_now_ms();
		if (left <= 0)
			return 0;
		struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t r = read(fd, line + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		if (line[len++] == '\n')
			break;
	}
	line[len] = 0;
	struct timeval none = {0, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	return strncmp(line, "OK ", 3) == 0;
}

static int connect_uds(const char *uds, int dirfd_hold)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(uds) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, uds, strlen(uds) + 1);
	} else {
		const char *slash = strrchr(uds, '/');
		int k = snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dirfd_hold,
				 slash ? slash + 1 : uds);
		if (dirfd_hold < 0 || k < 0 || (size_t)k >= sizeof(a.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int shunt_firecracker_connect(const char *uds, unsigned port, long long deadline_ms,
			      struct shunt_error **err)
{
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un probe;
	if (strlen(uds) >= sizeof(probe.sun_path)) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", uds);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		dirfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return shunt_error_sys(err, errno, "vsock socket directory %s", dir);
	}
	int last = 0;
	for (;;) {
		int fd = connect_uds(uds, dirfd);
		if (fd >= 0) {
			if (port == 0 || handshake(fd, port, deadline_ms))
				return fd;
			last = ECONNREFUSED; /* the agent is not listening yet */
			close(fd);
		} else {
			last = errno;
			if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
				return shunt_error_sys(err, errno, "connecting to %s", uds);
		}
		if (shunt_vmchan_now_ms() >= deadline_ms)
			break;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	return shunt_error_set(err, ETIMEDOUT,
			       "the guest agent did not answer on vsock port %u via %s (last: %s)",
			       port, uds, strerror(last));
}

static int write_out(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1; /* our reader went away: keep draining the guest */
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int shunt_firecracker_exchange(int fd, const struct shunt_vmchan_request *req, int out_fd,
			       int err_fd, long long hello_ms, long long deadline_ms, int *status,
			       struct shunt_error **err)
{
	_cleanup_free_ struct shunt_vmchan_frame *f = malloc(sizeof(*f));
	if (!f)
		return shunt_error_set(err, ENOMEM, "out of memory");
	long long first =
	    hello_ms && (!deadline_ms || hello_ms < deadline_ms) ? hello_ms : deadline_ms;
	int rc = shunt_vmchan_read(fd, f, first);
	if (rc == -ETIMEDOUT && first == deadline_ms && deadline_ms)
		return 1;
	if (rc == -ETIMEDOUT)
		return shunt_error_set(err, ETIMEDOUT, "the guest agent did not start in time");
	if (rc <= 0 || f->type != SHUNT_VMCHAN_HELLO)
		return shunt_error_set(err, rc < 0 ? -rc : EPROTO,
				       "the guest agent did not greet (%s)",
				       rc == 0	? "hung up"
				       : rc < 0 ? strerror(-rc)
						: "unexpected frame");
	rc = shunt_vmchan_send_request(fd, req);
	if (rc < 0)
		return shunt_error_sys(err, -rc, "sending the command to the guest agent");
	for (;;) {
		rc = shunt_vmchan_read(fd, f, deadline_ms);
		if (rc == -ETIMEDOUT)
			return 1;
		if (rc == 0)
			return shunt_error_set(err, ECONNRESET,
					       "the guest agent hung up before reporting an exit "
					       "status");
		if (rc < 0)
			return shunt_error_sys(err, -rc, "reading from the guest agent");
		switch (f->type) {
		case SHUNT_VMCHAN_OUT:
			write_out(out_fd, f->data, f->len);
			break;
		case SHUNT_VMCHAN_ERR:
			write_out(err_fd, f->data, f->len);
			break;
		case SHUNT_VMCHAN_EXIT:
			if (f->len != 4)
				return shunt_error_set(err, EPROTO, "malformed exit frame");
			*status = (int)((uint32_t)(unsigned char)f->data[0] << 24 |
					(uint32_t)(unsigned char)f->data[1] << 16 |
					(uint32_t)(unsigned char)f->data[2] << 8 |
					(unsigned char)f->data[3]);
			if (*status < 0 || *status > 255)
				return shunt_error_set(err, EPROTO, "exit status %d out of range",
						       *status);
			return 0;
		case SHUNT_VMCHAN_FAIL:
			return shunt_error_set(err, EIO, "%.*s", (int)f->len, f->data);
		default:
			return shunt_error_set(err, EPROTO,
					       "unexpected frame type %u from the guest", f->type);
		}
	}
}
