/* libcurl helpers: GET with ETag, POST with a bearer token. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "curl_lazy.h"
#include "httpfetch.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool shunt_http_url_allowed(const char *url, bool insecure)
{
	if (strncmp(url, "https://", 8) == 0)
		return true;
	return insecure && strncmp(url, "http://127.0.0.1:", 17) == 0;
}

struct sink {
	struct shunt_http_resp *r;
	size_t max;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	if (s->r->body.len + n > s->max) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	shunt_buf_append(&s->r->body, p, n);
	return n;
}

/* Copies the value of header line p (n bytes) named name into dst when
 * it fits (trimmed; CR/LF never kept). */
static void header_value(const char *p, size_t n, const char *name, char *dst, size_t cap)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(p, name, k) != 0)
		return;
	const char *v = p + k;
	size_t l = n - k;
	while (l && (*v == ' ' || *v == '\t'))
		v++, l--;
	while (l && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
		l--;
	if (l < cap && !memchr(v, '\r', l) && !memchr(v, '\n', l)) {
		memcpy(dst, v, l);
		dst[l] = 0;
	}
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct shunt_http_resp *r = ud;
	size_t n = size * nmemb;
	header_value(p, n, "ETag:", r->etag, sizeof(r->etag));
	header_value(p, n, "Last-Modified:", r->last_modified, sizeof(r->last_modified));
	return n;
}

static void common(CURL *c, const char *url, bool insecure, long timeout_s)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s < 10 ? timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, insecure ? "https,http" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "shunt/" SHUNT_VERSION);
}

int shunt_http_get(const char *url, const char *etag, const char *since, bool insecure,
		   long timeout_s, size_t max_bytes, struct shunt_http_resp *out,
		   struct shunt_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!shunt_http_url_allowed(url, insecure))
		return shunt_error_set(err, EINVAL, "%s: only https:// URLs are fetched", url);
	if (shunt_curl_load(err) < 0)
		return -1;
	pthread_once(&once, global_init);
	CURL *c = curl_easy_init();
	if (!c)
		return shunt_error_set(err, ENOMEM, "curl_easy_init failed");
	struct sink s = {.r = out, .max = max_bytes};
	struct curl_slist *h = NULL;
	char hdr[300];
	if (etag && *etag) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
		h = curl_slist_append(h, hdr);
	}
	/* a value with a line break would inject a header: never sent */
	if (since && *since && !strpbrk(since, "\r\n")) {
		char ims[200];
		snprintf(ims, sizeof(ims), "If-Modified-Since: %s", since);
		h = curl_slist_append(h, ims);
	}
	common(c, url, insecure, timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (s.too_big)
		return shunt_error_set(err, EFBIG, "%s: larger than %zu bytes", url, max_bytes);
	if (rc != CURLE_OK)
		return shunt_error_set(err, EIO, "%s: %s", url, curl_easy_strerror(rc));
	return 0;
}

static size_t keep_head(char *p, size_t size, size_t nmemb, void *ud)
{
	struct shunt_buf *b = ud;
	size_t n = size * nmemb;
	if (b && b->len < 65536)
		shunt_buf_append(b, p, n < 65536 - b->len ? n : 65536 - b->len);
	return n;
}

int shunt_http_post(const char *url, const char *ctype, const char *scheme, const char *token,
		    const char *body, size_t len, bool insecure, long timeout_s, long *status,
		    struct shunt_buf *resp, struct shunt_error **err)
{
	*status = 0;
	if (!shunt_http_url_allowed(url, insecure))
		return shunt_error_set(err, EINVAL, "%s: only https:// URLs are used", url);
	if (shunt_curl_load(err) < 0)
		return -1;
	pthread_once(&once, global_init);
	CURL *c = curl_easy_init();
	if (!c)
		return shunt_error_set(err, ENOMEM, "curl_easy_init failed");
	struct curl_slist *h = NULL;
	char hdr[1200];
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Expect:");
	if (token && *token) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s %s", scheme ? scheme : "Bearer",
			 token);
		h = curl_slist_append(h, hdr);
	}
	common(c, url, insecure, timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_head);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	memset(hdr, 0, sizeof(hdr));
	if (rc != CURLE_OK)
		return shunt_error_set(err, EIO, "%s: %s", url, curl_easy_strerror(rc));
	return 0;
}

void shunt_http_resp_free(struct shunt_http_resp *r)
{
	if (r)
		shunt_buf_free(&r->body);
}
