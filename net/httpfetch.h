/* libcurl helpers for policy sources and audit forwarding. TLS is always
 * verified unless the caller passes insecure (an explicit config opt-in);
 * plain http:// is accepted only for 127.0.0.1 and only when insecure. */
#ifndef SHUNT_HTTPFETCH_H
#define SHUNT_HTTPFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

struct shunt_http_resp {
	long status;		 /* HTTP status, 0 when no answer */
	struct shunt_buf body;	 /* owned; shunt_http_resp_free */
	char etag[256];		 /* ETag header of the answer, or "" */
	char last_modified[128]; /* Last-Modified header of the answer, or "" */
};

/* GETs url. etag (may be NULL) is sent as If-None-Match, since (may be
 * NULL; a Last-Modified value seen before) as If-Modified-Since. At most
 * max_bytes of body are accepted. Returns 0 when the server answered (any
 * status, in out->status), -1 with *err on transport failures (refused,
 * timeout, TLS). Not async-signal-safe. */
int shunt_http_get(const char *url, const char *etag, const char *since, bool insecure,
		   long timeout_s, size_t max_bytes, struct shunt_http_resp *out,
		   struct shunt_error **err);

/* POSTs body (len bytes, content type ctype) with an optional token
 * sent as "Authorization: <scheme> <token>" (scheme NULL = Bearer). The
 * answer's body goes to resp (first 64 KiB) when resp is not NULL.
 * Returns 0 and *status when the server answered, -1 with *err
 * otherwise. */
int shunt_http_post(const char *url, const char *ctype, const char *scheme, const char *token,
		    const char *body, size_t len, bool insecure, long timeout_s, long *status,
		    struct shunt_buf *resp, struct shunt_error **err);

/* True when url may be fetched with this insecure setting. */
bool shunt_http_url_allowed(const char *url, bool insecure);

/* Frees the response body (NULL-safe). */
void shunt_http_resp_free(struct shunt_http_resp *r);

#endif
