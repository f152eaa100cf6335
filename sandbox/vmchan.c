/* Framing for the microVM command channel; see vmchan.h. libc only. */
#include "vmchan.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

long long shunt_vmchan_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int shunt_vmchan_write(int fd, uint8_t type, const void *data, size_t len)
{
	if (len > SHUNT_VMCHAN_MAX)
		return -EMSGSIZE;
	unsigned char h[SHUNT_VMCHAN_HDR] = {'S',
					     'V',
					     type,
					     0,
					     (unsigned char)(len >> 24),
					     (unsigned char)(len >> 16),
					     (unsigned char)(len >> 8),
					     (unsigned char)len};
	/* one write for small frames keeps header and payload together */
	if (len <= 4096) {
		unsigned char b[SHUNT_VMCHAN_HDR + 4096];
		memcpy(b, h, sizeof(h));
		if (len)
			memcpy(b + sizeof(h), data, len);
		return write_full(fd, b, sizeof(h) + len);
	}
	int rc = write_full(fd, h, sizeof(h));
	return rc < 0 ? rc : write_full(fd, data, len);
}

int shunt_vmchan_write_all(int fd, uint8_t type, const void *data, size_t len)
{
	const char *p = data;
	do {
		size_t n = len > SHUNT_VMCHAN_MAX ? SHUNT_VMCHAN_MAX : len;
		int rc = shunt_vmchan_write(fd, type, p, n);
		if (rc < 0)
			return rc;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

/* Reads exactly n bytes. n (all of it), 0..n-1 when the stream ended
 * early, or -errno. */
static long read_full(int fd, void *p, size_t n, long long deadline)
{
	size_t got = 0;
	while (got < n) {
		int wait = -1;
		if (deadline) {
			long long left = deadline - shunt_vmchan_now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > 1 << 30 ? 1 << 30 : (int)left;
		}
		struct pollfd pf = {fd, POLLIN, 0};
		int pr = poll(&pf, 1, wait);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			continue;
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return (long)got;
			return -errno;
		}
		if (r == 0)
			return (long)got;
		got += (size_t)r;
	}
	return (long)got;
}

int shunt_vmchan_read(int fd, struct shunt_vmchan_frame *f, long long deadline_ms)
{
	unsigned char h[SHUNT_VMCHAN_HDR];
	long r = read_full(fd, h, sizeof(h), deadline_ms);
	if (r < 0)
		return (int)r;
	if (r == 0)
		return 0;
	if (r != (long)sizeof(h) || h[0] != 'S' || h[1] != 'V' || h[3] != 0)
		return -EPROTO;
	uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	if (len > SHUNT_VMCHAN_MAX)
		return -EPROTO;
	r = read_full(fd, f->data, len, deadline_ms);
	if (r < 0)
		return (int)r;
	if ((uint32_t)r != len)
		return -EPROTO;
	f->type = h[2];
	f->len = len;
	f->data[len] = 0;
	return 1;
}

static int send_str(int fd, uint8_t type, const char *s)
{
	return shunt_vmchan_write(fd, type, s, strlen(s));
}

int shunt_vmchan_send_request(int fd, const struct shunt_vmchan_request *req)
{
	if (!req->argv || !req->argv[0])
		return -EINVAL;
	int rc = 0;
	if (req->ws_path) {
		rc = send_str(fd, SHUNT_VMCHAN_WS_PATH, req->ws_path);
		if (rc == 0 && req->ws_dev)
			rc = send_str(fd, SHUNT_VMCHAN_WS_DEV, req->ws_dev);
		if (rc == 0)
			rc = send_str(fd, SHUNT_VMCHAN_WS_RW, req->ws_rw ? "1" : "0");
	}
	if (rc == 0 && req->cwd)
		rc = send_str(fd, SHUNT_VMCHAN_CWD, req->cwd);
	for (size_t i = 0; rc == 0 && req->argv[i]; i++)
		rc = send_str(fd, SHUNT_VMCHAN_ARG, req->argv[i]);
	for (size_t i = 0; rc == 0 && req->env && req->env[i]; i++)
		rc = send_str(fd, SHUNT_VMCHAN_ENV, req->env[i]);
	if (rc == 0)
		rc = shunt_vmchan_write(fd, SHUNT_VMCHAN_RUN, "", 0);
	return rc;
}
