/* shuntd's HTTP/1.1 side (httpd.h): requests, responses, stream
 * records and the listening sockets. */
#include "httpd.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"

int shunt_httpd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

const char *shunt_httpd_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	default:
		return "Error";
	}
}

void shunt_httpd_respond(int fd, int code, const char *ctype, const char *body)
{
	struct shunt_buf b = {0};
	size_t n = body ? strlen(body) : 0;
	shunt_buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n", code,
			 shunt_httpd_reason(code), n);
	if (n)
		shunt_buf_printf(&b, "Content-Type: %s\r\n", ctype);
	shunt_buf_puts(&b, "\r\n");
	if (n)
		shunt_buf_append(&b, body, n);
	if (b.data)
		(void)shunt_httpd_write_all(fd, b.data, b.len);
	shunt_buf_free(&b);
}

/* Reads and validates one request whose first n bytes are already in
 * r->head. Returns 0, or an HTTP status to answer. */
int shunt_httpd_read_request(int fd, struct shunt_httpd_request *r, size_t n)
{
	char *end = NULL;
	r->head[n] = 0;
	if (memchr(r->head, 0, n))
		return 400;
	end = strstr(r->head, "\r\n\r\n");
	while (!end) {
		if (n >= SHUNT_SHUNTD_MAX_HEADER)
			return 431;
		ssize_t got = read(fd, r->head + n, SHUNT_SHUNTD_MAX_HEADER - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN ? 408 : 400;
		if (got == 0)
			return 400;
		n += (size_t)got;
		r->head[n] = 0;
		if (memchr(r->head, 0, n))
			return 400;
		end = strstr(r->head, "\r\n\r\n");
	}
	size_t hlen = (size_t)(end - r->head) + 4;
	size_t extra = n - hlen;
	*end = 0;

	char *save = NULL;
	char *line = strtok_r(r->head, "\r\n", &save);
	if (!line)
		return 400;
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof(r->method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(r->path) || strcmp(sp2 + 1, "HTTP/1.1") != 0)
		return 400;
	memcpy(r->method, line, (size_t)(sp1 - line));
	memcpy(r->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->content_length = -1;
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		char *colon = strchr(line, ':');
		if (!colon)
			return 400;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "Content-Length") == 0) {
			char *e;
			errno = 0;
			long cl = strtol(v, &e, 10);
			if (errno || e == v || *e || cl < 0)
				return 400;
			if (cl > SHUNT_SHUNTD_MAX_BODY)
				return 413;
			r->content_length = cl;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			r->chunked = true;
		} else if (strcasecmp(line, "Authorization") == 0) {
			r->auth = v;
		}
	}
	if (r->chunked)
		return 411; /* bodies must have a Content-Length */
	if (r->content_length <= 0)
		return 0;
	if (extra > (size_t)r->content_length)
		return 400;
	r->body = malloc((size_t)r->content_length + 1);
	if (!r->body)
		return 500;
	memcpy(r->body, end + 4, extra);
	r->body_len = extra;
	while (r->body_len < (size_t)r->content_length) {
		ssize_t got =
		    read(fd, r->body + r->body_len, (size_t)r->content_length - r->body_len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 && errno == EAGAIN ? 408 : 400;
		r->body_len += (size_t)got;
	}
	r->body[r->body_len] = 0;
	return 0;
}

/* One chunk holding one record. */
int shunt_httpd_send_record(int fd, char type, const char *p, size_t n)
{
	char hdr[32];
	int h = snprintf(hdr, sizeof(hdr), "%zx\r\n%c%c%c%c%c", n + 5, type, (char)(n >> 24),
			 (char)(n >> 16), (char)(n >> 8), (char)n);
	if (shunt_httpd_write_all(fd, hdr, (size_t)h) < 0 ||
	    (n && shunt_httpd_write_all(fd, p, n) < 0) || shunt_httpd_write_all(fd, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int shunt_httpd_listen_unix(const char *path, struct shunt_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return shunt_error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return shunt_error_sys(err, errno, "creating %s", dir);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return shunt_error_sys(err, errno, "socket");
	/* a live daemon answers; a stale socket file is replaced */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return shunt_error_set(err, EADDRINUSE, "a daemon is already listening on %s",
				       path);
	}
	unlink(path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return shunt_error_sys(err, e, "listening on %s", path);
	}
	return fd;
}

int shunt_httpd_listen_tcp(const char *spec, struct shunt_error **err)
{
	_cleanup_free_ char *host = strdup(spec);
	if (!host)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char *colon = strrchr(host, ':');
	if (!colon || colon == host || !colon[1])
		return shunt_error_set(err, EINVAL, "--listen: HOST:PORT, not '%s'", spec);
	*colon = 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, colon + 1, &hints, &ai);
	if (g)
		return shunt_error_set(err, EINVAL, "--listen %s: %s", spec, gai_strerror(g));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return shunt_error_sys(err, e, "listening on %s", spec);
	}
	freeaddrinfo(ai);
	return fd;
}
