/* shuntd's HTTP/1.1 side: one request per connection (read and
 * validated here), the answer, the framed output records of /v1/run, and
 * the listening sockets. */
#ifndef SHUNT_HTTPD_H
#define SHUNT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "shuntd.h"

struct shunt_httpd_request {
	char method[8];
	char path[128];
	long content_length;
	bool chunked;
	char *auth; /* Authorization value (points into head) */
	char head[SHUNT_SHUNTD_MAX_HEADER + 1];
	char *body;
	size_t body_len;
};

/* Writes all n bytes of p to fd (EINTR retried). 0, or -1 with errno. */
int shunt_httpd_write_all(int fd, const void *p, size_t n);

/* The reason phrase of an HTTP status code ("Error" when unknown). */
const char *shunt_httpd_reason(int code);

/* Answers code with body (NULL: none) of type ctype; the connection
 * closes after it. */
void shunt_httpd_respond(int fd, int code, const char *ctype, const char *body);

/* Reads and validates one request whose first n bytes are already in
 * r->head. Returns 0, or an HTTP status to answer (r->body malloc'd). */
int shunt_httpd_read_request(int fd, struct shunt_httpd_request *r, size_t n);

/* Sends one chunk holding one stream record (shuntd.h). 0 or -1. */
int shunt_httpd_send_record(int fd, char type, const char *p, size_t n);

/* Listens on the unix socket path (mode 0600; a stale file is replaced,
 * a live daemon is EADDRINUSE). The fd, or -1 with *err. */
int shunt_httpd_listen_unix(const char *path, struct shunt_error **err);

/* Listens on spec, HOST:PORT. The fd, or -1 with *err. */
int shunt_httpd_listen_tcp(const char *spec, struct shunt_error **err);

#endif
