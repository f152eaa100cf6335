/* libcurl, loaded on first use. Linking it pulls some thirty libraries
 * (TLS, Kerberos, LDAP, ...) into every shunt process, which cost ~3 ms
 * per start: too much for the hook, which runs shunt on every line typed.
 * Only the few commands that talk HTTP (daemon client, policy update,
 * audit forwarding) pay for loading it. These definitions stand in for
 * the library's own symbols, so the callers use the normal curl API;
 * they call shunt_curl_load first to learn whether there is a libcurl. */
#define CURL_DISABLE_TYPECHECK 1
#include "curl_lazy.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>

static struct {
	void *h;
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_load(void)
{
	static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !lib.h; i++)
		lib.h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!lib.h)
		return;
#define SYM(field, name) *(void **)(&lib.field) = dlsym(lib.h, name)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	if (!lib.global_init || !lib.easy_init || !lib.easy_cleanup || !lib.easy_perform ||
	    !lib.easy_setopt || !lib.easy_getinfo || !lib.easy_strerror || !lib.slist_append ||
	    !lib.slist_free_all)
		lib.h = NULL;
}

static int lib_ready(void)
{
	pthread_once(&lib_once, lib_load);
	return lib.h != NULL;
}

int shunt_curl_load(struct shunt_error **err)
{
	if (lib_ready())
		return 0;
	shunt_error_set(err, ENOENT, "libcurl is not installed (apt-get install libcurl4)");
	return -1;
}

CURLcode curl_global_init(long flags)
{
	return lib_ready() ? lib.global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
	return lib_ready() ? lib.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *c)
{
	if (c && lib_ready())
		lib.easy_cleanup(c);
}

CURLcode curl_easy_perform(CURL *c)
{
	return lib_ready() ? lib.easy_perform(c) : CURLE_FAILED_INIT;
}

/* The variadic argument's type follows the option's range, as libcurl
 * itself reads it. */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	if (!lib_ready())
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, opt);
	CURLcode rc;
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		long v = va_arg(ap, long);
		rc = lib.easy_setopt(c, opt, v);
	} else if (opt < CURLOPTTYPE_OFF_T) {
		void *v = va_arg(ap, void *);
		rc = lib.easy_setopt(c, opt, v);
	} else if (opt < CURLOPTTYPE_BLOB) {
		curl_off_t v = va_arg(ap, curl_off_t);
		rc = lib.easy_setopt(c, opt, v);
	} else {
		void *v = va_arg(ap, void *);
		rc = lib.easy_setopt(c, opt, v);
	}
	va_end(ap);
	return rc;
}

CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	if (!lib_ready())
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	void *p = va_arg(ap, void *);
	va_end(ap);
	return lib.easy_getinfo(c, info, p);
}

const char *curl_easy_strerror(CURLcode code)
{
	return lib_ready() ? lib.easy_strerror(code) : "libcurl is not installed";
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return lib_ready() ? lib.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (l && lib_ready())
		lib.slist_free_all(l);
}
