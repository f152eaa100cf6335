/* The host-side filtering proxy (see netproxy.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "netproxy.h"
#include "netrelay.h"
#include "netserve.h"
#include "paths.h"
#include "types.h"

#define HEAD_MAX	   8192
#define MAX_ADDRS	   16
#define CONNECT_TIMEOUT_MS 10000
#define HEAD_TIMEOUT_MS	   30000
#define IDLE_TIMEOUT_MS	   600000

/* ---- allowlist entries ---- */

struct entry {
	char host[256]; /* lower case, no trailing dot; "" for addresses */
	bool is_addr;
	int family;
	unsigned char addr[16];
	int prefix;
	int port; /* -1 = 80 and 443, 0 = any */
};

static void lower_copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[n] = '\0';
	if (n > 0 && dst[n - 1] == '.')
		dst[n - 1] = '\0';
}

static bool parse_addr(const char *s, int *family, unsigned char addr[16])
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static bool parse_port(const char *s, int *port)
{
	if (strcmp(s, "*") == 0) {
		*port = 0;
		return true;
	}
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

static bool parse_entry(const char *s, struct entry *e)
{
	memset(e, 0, sizeof(*e));
	e->port = -1;
	char hostpart[300];
	const char *portstr = NULL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || (size_t)(close - s - 1) >= sizeof(hostpart))
			return false;
		memcpy(hostpart, s + 1, (size_t)(close - s - 1));
		hostpart[close - s - 1] = '\0';
		const char *rest = close + 1;
		if (*rest == '/') {
			size_t l = strlen(hostpart);
			size_t pl = strcspn(rest, ":");
			if (l + pl >= sizeof(hostpart))
				return false;
			memcpy(hostpart + l, rest, pl);
			hostpart[l + pl] = '\0';
			rest += pl;
		}
		if (*rest == ':')
			portstr = rest + 1;
		else if (*rest)
			return false;
	} else {
		const char *c1 = strchr(s, ':');
		bool v6 = c1 && strchr(c1 + 1, ':');
		size_t hl = (!v6 && c1) ? (size_t)(c1 - s) : strlen(s);
		if (hl == 0 || hl >= sizeof(hostpart))
			return false;
		memcpy(hostpart, s, hl);
		hostpart[hl] = '\0';
		if (!v6 && c1)
			portstr = c1 + 1;
	}
	if (portstr && !parse_port(portstr, &e->port))
		return false;
	char *slash = strchr(hostpart, '/');
	if (slash)
		*slash = '\0';
	if (parse_addr(hostpart, &e->family, e->addr)) {
		e->is_addr = true;
		int max = e->family == AF_INET ? 32 : 128;
		e->prefix = max;
		if (slash) {
			char *end;
			long p = strtol(slash + 1, &end, 10);
			if (*end || end == slash + 1 || p < 0 || p > max)
				return false;
			e->prefix = (int)p;
		}
		return true;
	}
	if (slash)
		return false;
	lower_copy(e->host, sizeof(e->host), hostpart, strlen(hostpart));
	if (!e->host[0])
		return false;
	/* a wildcard only as a whole leading label */
	const char *star = strchr(e->host, '*');
	if (star && (star != e->host || e->host[1] != '.' || strchr(star + 1, '*') || !e->host[2]))
		return false;
	return true;
}

static bool port_ok(const struct entry *e, unsigned port)
{
	if (e->port == 0)
		return true;
	if (e->port < 0)
		return port == 80 || port == 443;
	return (unsigned)e->port == port;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rem = bits % 8;
	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	if (rem == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rem));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* Family and raw bytes of sa; IPv4-mapped IPv6 becomes IPv4. */
static bool sa_bytes(const struct sockaddr *sa, int *family, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(b, mapped, 12) == 0) {
			*family = AF_INET;
			memcpy(out, b + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(out, b, 16);
		}
		return true;
	}
	return false;
}

bool shunt_netproxy_addr_listed(const struct shunt_strv *allow, const struct sockaddr *sa,
				unsigned port)
{
	int fam;
	unsigned char b[16];
	if (!sa_bytes(sa, &fam, b))
		return false;
	for (size_t i = 0; allow && i < allow->n; i++) {
		struct entry e;
		if (!parse_entry(allow->v[i], &e) || !e.is_addr || e.family != fam)
			continue;
		if (port_ok(&e, port) && prefix_match(b, e.addr, e.prefix))
			return true;
	}
	return false;
}

static bool literal_sa(const char *host, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

bool shunt_netproxy_host_allowed(const struct shunt_strv *allow, const char *host, unsigned port)
{
	char h[256];
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	lower_copy(h, sizeof(h), host, n);
	if (!h[0])
		return false;
	struct sockaddr_storage ss;
	if (literal_sa(h, &ss))
		return shunt_netproxy_addr_listed(allow, (struct sockaddr *)&ss, port);
	size_t hl = strlen(h);
	for (size_t i = 0; allow && i < allow->n; i++) {
		struct entry e;
		if (!parse_entry(allow->v[i], &e) || e.is_addr || !port_ok(&e, port))
			continue;
		if (e.host[0] == '*') {
			size_t sl = strlen(e.host + 1); /* ".example.com" */
			if (hl > sl && strcmp(h + hl - sl, e.host + 1) == 0)
				return true;
		} else if (strcmp(h, e.host) == 0) {
			return true;
		}
	}
	return false;
}

bool shunt_netproxy_addr_private(const struct sockaddr *sa)
{
	int fam;
	unsigned char b[16];
	if (!sa_bytes(sa, &fam, b))
		return true;
	if (fam == AF_INET) {
		static const struct {
			unsigned char a[4];
			int bits;
		} v4[] = {{{0, 0, 0, 0}, 8},	{{10, 0, 0, 0}, 8},	{{100, 64, 0, 0}, 10},
			  {{127, 0, 0, 0}, 8},	{{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},
			  {{192, 0, 0, 0}, 24}, {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15},
			  {{224, 0, 0, 0}, 3}};
		for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
			if (prefix_match(b, v4[i].a, v4[i].bits))
				return true;
		return false;
	}
	static const unsigned char zero[16];
	if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
		return true;	   /* :: and ::1 */
	if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 */
		return true;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
		return true;
	if (b[0] == 0xff) /* multicast */
		return true;
	if (memcmp(b, zero, 12) == 0) /* IPv4-compatible, deprecated */
		return true;
	return false;
}

/* ---- resolution ---- */

/* The hosts files (netproxy.h): the system one unless
 * SHUNT_NO_SYSTEM_CONFIG, then the user's. Set once in serve. */
static char *g_hosts[2];

static bool hosts_file_trusted(FILE *f)
{
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (st.st_uid != 0 && st.st_uid != getuid())
		return false;
	return (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Addresses hosts file `file` gives `host`, appended to out[*n]. Returns
 * true when the file names the host at all. */
static bool resolve_hosts_file(const char *file, const char *host, struct sockaddr_storage *out,
			       int *n, int max)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return false;
	bool named = false;
	char line[1024];
	bool trusted = hosts_file_trusted(f);
	while (trusted && *n < max && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save = NULL, *addr = strtok_r(line, " \t\r\n", &save);
		if (!addr)
			continue;
		for (char *name; (name = strtok_r(NULL, " \t\r\n", &save));) {
			char lname[256];
			lower_copy(lname, sizeof(lname), name, strlen(name));
			if (strcmp(lname, host) == 0 && literal_sa(addr, &out[*n])) {
				named = true;
				(*n)++;
				break;
			}
		}
	}
	fclose(f);
	return named;
}

/* Addresses for host: from the hosts files when they name it (*from_file
 * set), else from the system resolver. */
static int resolve(const char *host, struct sockaddr_storage *out, int max, bool *from_file)
{
	int n = 0;
	*from_file = false;
	for (int i = 0; i < 2; i++)
		if (g_hosts[i] && resolve_hosts_file(g_hosts[i], host, out, &n, max))
			*from_file = true;
	if (*from_file)
		return n;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(out[0]))
			memcpy(&out[n++], ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return n;
}

/* ---- serving ---- */

static const struct shunt_strv *g_allow;
static const char *g_run_id;
static atomic_int g_conns;
static pthread_mutex_t g_audit_lock = PTHREAD_MUTEX_INITIALIZER;

/* The one line a refusal prints and answers: what was refused, why, and
 * with allow (an address or name), the allowlist entry that would let it
 * through and where it goes. */
static void refusal(char *out, size_t cap, const char *host, unsigned port, const char *reason,
		    const char *allow)
{
	char entry[300] = "";
	if (allow) {
		bool v6 = strchr(allow, ':') != NULL;
		if (port == 80 || port == 443)
			snprintf(entry, sizeof(entry), "%s", allow);
		else
			snprintf(entry, sizeof(entry), v6 ? "[%s]:%u" : "%s:%u", allow, port);
	}
	snprintf(out, cap, "shunt: network: blocked connect to %s:%u (%s)%s%s%s\n", host, port,
		 reason, allow ? "; to allow it: sandbox.allow_hosts: [\"" : "", entry,
		 allow ? "\"] in ~/.config/shunt/config.yaml" : "");
}

/* Whether target is refused for the first time in this run: the user
 * sees each refused name once, however often a tool retries it (the
 * audit log has every attempt). */
static bool first_refusal(const char *target)
{
	static char seen[32][300];
	static size_t nseen;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	bool first = true;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nseen && first; i++)
		first = strncmp(seen[i], target, sizeof(seen[i]) - 1) != 0;
	if (first && nseen < sizeof(seen) / sizeof(seen[0]))
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", target);
	pthread_mutex_unlock(&lock);
	return first;
}

static void note(bool allowed, const char *host, unsigned port, const char *reason,
		 const char *allow)
{
	char target[300];
	snprintf(target, sizeof(target), "%s:%u", host, port);
	if (!allowed && first_refusal(target)) {
		char msg[768];
		refusal(msg, sizeof(msg), host, port, reason, allow);
		int n = (int)strlen(msg);
		if (n > 0) {
			ssize_t w = write(STDERR_FILENO, msg,
					  (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
			(void)w;
		}
	}
	struct shunt_audit_record r;
	shunt_audit_record_init(&r);
	r.event = allowed ? "net-allow" : "net-deny";
	r.command = target;
	r.why = reason;
	r.run_id = g_run_id;
	r.network = SHUNT_NET_RESTRICTED;
	r.tty = "";
	struct shunt_error *e = NULL;
	pthread_mutex_lock(&g_audit_lock);
	shunt_audit_append(NULL, &r, 0, &e);
	pthread_mutex_unlock(&g_audit_lock);
	shunt_error_free(&e);
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, int code, const char *status, const char *body)
{
	char b[1024];
	int n = snprintf(b, sizeof(b),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s",
			 code, status, strlen(body), body);
	if (n > 0)
		send_all(fd, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

static int connect_to(const struct sockaddr_storage *ss, unsigned port)
{
	struct sockaddr_storage a = *ss;
	socklen_t len;
	if (a.ss_family == AF_INET) {
		((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in6);
	}
	int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Splits "host:port" / "[v6]:port" (authority) into host and port. */
static bool split_authority(const char *a, size_t n, unsigned defport, char *host, size_t cap,
			    unsigned *port)
{
	*port = defport;
	const char *end = a + n, *colon = NULL;
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (!close)
			return false;
		if (close + 1 < end) {
			if (close[1] != ':')
				return false;
			colon = close + 1;
		}
		a++;
		n = (size_t)(close - a);
	} else {
		colon = memchr(a, ':', n);
		if (colon)
			n = (size_t)(colon - a);
	}
	if (n == 0 || n >= cap)
		return false;
	memcpy(host, a, n);
	host[n] = '\0';
	if (colon) {
		char ps[8];
		size_t pl = (size_t)(end - colon - 1);
		if (pl == 0 || pl >= sizeof(ps))
			return false;
		memcpy(ps, colon + 1, pl);
		ps[pl] = '\0';
		int p;
		if (!parse_port(ps, &p) || p == 0)
			return false;
		*port = (unsigned)p;
	}
	return true;
}

static bool drop_header(const char *line, size_t n)
{
	static const char *const drop[] = {
	    "host:", "connection:", "proxy-connection:", "keep-alive:", "proxy-authorization:"};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		size_t l = strlen(drop[i]);
		if (n >= l && strncasecmp(line, drop[i], l) == 0)
			return true;
	}
	return false;
}

/* c: the client; head holds the got bytes already read from it. */
static void handle(int c, char *head, size_t got)
{
	head[got] = '\0';
	char *eoh = strstr(head, "\r\n\r\n");
	while (!eoh) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		if (got >= HEAD_MAX || poll(&p, 1, HEAD_TIMEOUT_MS) != 1)
			return reply(c, 400, "Bad Request",
				     "shunt proxy: request head too long or too slow\n");
		ssize_t n = recv(c, head + got, HEAD_MAX - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		got += (size_t)n;
		head[got] = '\0';
		eoh = strstr(head, "\r\n\r\n");
	}
	size_t head_len = (size_t)(eoh + 4 - head);
	char *eol = strstr(head, "\r\n");
	char method[32], target[4096], version[16];
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "%%31s %%4095s %%15s");
	*eol = '\0';
	if (sscanf(head, fmt, method, target, version) != 3 || strncmp(version, "HTTP/", 5) != 0)
		return reply(c, 400, "Bad Request", "shunt proxy: malformed request line\n");
	*eol = '\r';

	bool tunnel = strcmp(method, "CONNECT") == 0;
	char host[256];
	unsigned port;
	const char *path = "/";
	if (tunnel) {
		if (!split_authority(target, strlen(target), 443, host, sizeof(host), &port))
			return reply(c, 400, "Bad Request",
				     "shunt proxy: CONNECT needs host:port\n");
	} else {
		if (strncasecmp(target, "http://", 7) != 0)
			return reply(c, 400, "Bad Request",
				     "shunt proxy: only http:// URLs or CONNECT are proxied\n");
		const char *auth = target + 7;
		size_t al = strcspn(auth, "/?#");
		if (auth[al])
			path = auth + al;
		if (memchr(auth, '@', al) ||
		    !split_authority(auth, al, 80, host, sizeof(host), &port))
			return reply(c, 400, "Bad Request", "shunt proxy: bad URL authority\n");
	}
	char lhost[256];
	lower_copy(lhost, sizeof(lhost), host, strlen(host));
	char body[768];

	if (!shunt_netproxy_host_allowed(g_allow, lhost, port)) {
		note(false, lhost, port, "not in the allowlist", lhost);
		refusal(body, sizeof(body), lhost, port, "not in the allowlist", lhost);
		return reply(c, 403, "Forbidden", body);
	}
	struct sockaddr_storage addrs[MAX_ADDRS];
	int n = 0;
	struct sockaddr_storage lit;
	bool from_file = false;
	if (literal_sa(lhost, &lit))
		addrs[n++] = lit;
	else
		n = resolve(lhost, addrs, MAX_ADDRS, &from_file);
	if (n == 0) {
		note(false, lhost, port, "name does not resolve", NULL);
		snprintf(body, sizeof(body),
			 "shunt: network: blocked connect to %s:%u (name does not resolve)\n",
			 lhost, port);
		return reply(c, 502, "Bad Gateway", body);
	}
	/* keep only addresses that are public or listed explicitly; a hosts
	 * file only maps to listed addresses, so it cannot widen the policy */
	int keep = 0;
	char bad[INET6_ADDRSTRLEN] = "";
	for (int i = 0; i < n; i++) {
		bool listed =
		    shunt_netproxy_addr_listed(g_allow, (struct sockaddr *)&addrs[i], port);
		if (listed ||
		    (!from_file && !shunt_netproxy_addr_private((struct sockaddr *)&addrs[i]))) {
			addrs[keep++] = addrs[i];
		} else if (!bad[0]) {
			const void *a =
			    addrs[i].ss_family == AF_INET
				? (void *)&((struct sockaddr_in *)&addrs[i])->sin_addr
				: (void *)&((struct sockaddr_in6 *)&addrs[i])->sin6_addr;
			inet_ntop(addrs[i].ss_family, a, bad, sizeof(bad));
		}
	}
	if (keep == 0) {
		char reason[200];
		struct sockaddr_storage b;
		if (from_file && literal_sa(bad, &b) &&
		    !shunt_netproxy_addr_private((struct sockaddr *)&b))
			snprintf(reason, sizeof(reason),
				 "the shunt hosts file maps it to %s, which is not allowed as an "
				 "address",
				 bad);
		else
			snprintf(reason, sizeof(reason), "resolves to private address %s", bad);
		note(false, lhost, port, reason, bad);
		refusal(body, sizeof(body), lhost, port, reason, bad);
		return reply(c, 403, "Forbidden", body);
	}
	int up = -1;
	for (int i = 0; i < keep && up < 0; i++)
		up = connect_to(&addrs[i], port);
	if (up < 0) {
		note(false, lhost, port, "connection failed", NULL);
		snprintf(body, sizeof(body), "shunt proxy: cannot connect to %s:%u\n", lhost, port);
		return reply(c, 502, "Bad Gateway", body);
	}
	char how[96];
	snprintf(how, sizeof(how), "%s%s", tunnel ? "CONNECT" : method,
		 from_file ? " (address from the shunt hosts file)" : "");
	note(true, lhost, port, how, NULL);
	if (tunnel) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		send_all(c, ok, sizeof(ok) - 1);
	} else {
		/* origin-form request line, our Host, and one request per connection */
		char out[HEAD_MAX + 512];
		size_t o = (size_t)snprintf(out, sizeof(out), "%s %s %s\r\nHost: %s\r\n", method,
					    path, version, strchr(host, ':') ? target + 7 : host);
		if (strchr(host, ':')) {
			/* IPv6 literal: keep the bracketed authority as written */
			size_t al = strcspn(target + 7, "/?#");
			o = (size_t)snprintf(out, sizeof(out), "%s %s %s\r\nHost: %.*s\r\n", method,
					     path, version, (int)al, target + 7);
		} else if (port != 80) {
			o = (size_t)snprintf(out, sizeof(out), "%s %s %s\r\nHost: %s:%u\r\n",
					     method, path, version, host, port);
		}
		for (char *l = eol + 2; l < head + head_len - 2;) {
			char *le = strstr(l, "\r\n");
			size_t ll = (size_t)(le - l);
			if (!drop_header(l, ll) && o + ll + 2 < sizeof(out)) {
				memcpy(out + o, l, ll);
				memcpy(out + o + ll, "\r\n", 2);
				o += ll + 2;
			}
			l = le + 2;
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "Connection: close\r\n\r\n");
		send_all(up, out, o);
	}
	if (got > head_len)
		send_all(up, head + head_len, got - head_len);
	shunt_netrelay_pump(c, up, IDLE_TIMEOUT_MS);
	close(up);
}

/* The first read on a proxy connection: either the start of a request,
 * or the in-sandbox relay handing over the client's socket (one marker
 * byte with SCM_RIGHTS), which then replaces *c. Returns the request
 * bytes read into head (0 after a hand-over), -1 on EOF/error/time-out. */
static ssize_t first_read(int *c, char *head)
{
	struct pollfd p = {.fd = *c, .events = POLLIN};
	if (poll(&p, 1, HEAD_TIMEOUT_MS) != 1)
		return -1;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = head, .iov_len = HEAD_MAX};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cm.buf,
			   .msg_controllen = sizeof(cm.buf)};
	ssize_t n;
	while ((n = recvmsg(*c, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -1;
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
	    h->cmsg_len == CMSG_LEN(sizeof(int))) {
		int fd;
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
		close(*c);
		*c = fd;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return 0;
	}
	if (m.msg_flags & MSG_CTRUNC)
		return -1;
	return n;
}

static void *conn_thread(void *arg)
{
	int c = (int)(intptr_t)arg;
	char head[HEAD_MAX + 1];
	ssize_t got = first_read(&c, head);
	if (got >= 0)
		handle(c, head, (size_t)got);
	/* an answer may have left request bytes unread: drain, then close */
	shunt_netserve_close(c, SHUNT_NETSERVE_DRAIN_MS);
	atomic_fetch_sub(&g_conns, 1);
	return NULL;
}

static void refuse(int c)
{
	reply(c, 503, "Service Unavailable", "shunt proxy: too many connections\n");
}

int shunt_netproxy_listen_unix(const char *path, struct shunt_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return shunt_error_set(err, ENAMETOOLONG, "proxy socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return shunt_error_sys(err, errno, "proxy: socket");
	unlink(path);
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 256) < 0) {
		int e = errno;
		close(fd);
		return shunt_error_sys(err, e, "proxy: listening on %s", path);
	}
	return fd;
}

int shunt_netproxy_serve(int lfd, const struct shunt_strv *allow, const char *run_id)
{
	g_allow = allow;
	g_run_id = run_id;
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	if (!(nosys && *nosys && strcmp(nosys, "0") != 0))
		g_hosts[0] = strdup(SHUNT_NETPROXY_SYSTEM_HOSTS);
	g_hosts[1] = shunt_paths_file(SHUNT_DIR_CONFIG, SHUNT_NETPROXY_HOSTS);
	signal(SIGPIPE, SIG_IGN);
	static const struct shunt_netserve how = {.run = conn_thread,
						  .refuse = refuse,
						  .stack = 256 * 1024,
						  .conns = &g_conns,
						  .max = SHUNT_NETRELAY_MAX_CONNS};
	return shunt_netserve_threads(lfd, &how);
}

int shunt_netproxy_start(struct shunt_netproxy *p, const struct shunt_strv *allow,
			 const char *run_id, struct shunt_error **err)
{
	memset(p, 0, sizeof(*p));
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(p->dir, sizeof(p->dir), "%s/shunt-net-XXXXXX", tmp);
	if (!mkdtemp(p->dir)) {
		int e = errno;
		p->dir[0] = '\0';
		shunt_error_sys(err, e, "network proxy: creating its directory");
		goto fail;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", p->dir, SHUNT_NETPROXY_SOCK);
	int lfd = shunt_netproxy_listen_unix(path, err);
	if (lfd < 0)
		goto fail;
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(lfd);
		shunt_error_sys(err, e, "network proxy: fork");
		goto fail;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		/* the user's ^C is for the sandboxed command; we stop when told */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		shunt_netproxy_serve(lfd, allow, run_id);
		_exit(1);
	}
	close(lfd);
	p->pid = pid;
	return 0;
fail:
	if (err && *err)
		(*err)->exitcode = 125;
	shunt_netproxy_stop(p);
	return -1;
}

void shunt_netproxy_stop(struct shunt_netproxy *p)
{
	if (!p)
		return;
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	if (p->dir[0]) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", p->dir, SHUNT_NETPROXY_SOCK);
		unlink(path);
		rmdir(p->dir);
		p->dir[0] = '\0';
	}
}
