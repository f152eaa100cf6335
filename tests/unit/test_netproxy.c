/* The filtering proxy: allowlist matching (names, wildcards, ports, IP
 * and CIDR), the private-address check behind the rebinding defence,
 * presets, and a real proxy on a unix socket refusing and tunnelling. */
#include <signal.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "netpresets.h"
#include "netproxy.h"
#include "tap.h"

static struct shunt_strv list(const char *const *v)
{
	struct shunt_strv s = {0};
	for (; *v; v++)
		shunt_strv_push(&s, *v);
	return s;
}

static struct sockaddr_storage sa(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, a, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return ss;
}

static bool priv(const char *a)
{
	struct sockaddr_storage ss = sa(a);
	return shunt_netproxy_addr_private((struct sockaddr *)&ss);
}

static bool listed(const struct shunt_strv *l, const char *a, unsigned port)
{
	struct sockaddr_storage ss = sa(a);
	return shunt_netproxy_addr_listed(l, (struct sockaddr *)&ss, port);
}

/* one-shot echo server on 127.0.0.2 */
static int g_srv = -1;
static void *echo_once(void *arg)
{
	(void)arg;
	int c = accept(g_srv, NULL, NULL);
	char b[256];
	ssize_t n;
	while (c >= 0 && (n = read(c, b, sizeof(b))) > 0)
		if (write(c, b, (size_t)n) != n)
			break;
	if (c >= 0)
		close(c);
	return NULL;
}

/* Sends len bytes of req through the proxy socket, then `more` (if not
 * NULL), shuts down writing and reads the reply into out. 0, or -errno
 * (a failed read: a reset after or instead of the answer). */
static int exchange(const char *sock, const char *req, size_t len, const char *more, char *out,
		    size_t cap)
{
	out[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	size_t sl = strlen(sock);
	if (fd < 0 || sl >= sizeof(u.sun_path)) {
		close(fd);
		return -EINVAL;
	}
	memcpy(u.sun_path, sock, sl + 1);
	if (connect(fd, (struct sockaddr *)&u, sizeof(u)) < 0 ||
	    write(fd, req, len) != (ssize_t)len || (more && write(fd, more, strlen(more)) < 0)) {
		close(fd);
		return -EIO;
	}
	shutdown(fd, SHUT_WR);
	size_t got = 0;
	ssize_t r = 0;
	while (got + 1 < cap && (r = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)r;
	int e = r < 0 ? errno : 0;
	out[got] = '\0';
	close(fd);
	return -e;
}

/* Sends req through the proxy socket, then "ping"; the reply in out. */
static void ask(const char *sock, const char *req, char *out, size_t cap)
{
	exchange(sock, req, strlen(req), "ping", out, cap);
}

/* A refused request head followed by `extra` bytes the proxy never reads
 * as the head, all written before the proxy can answer. As exchange. */
static int ask_unread(const char *sock, size_t extra, char *out, size_t cap)
{
	static char req[32 * 1024];
	static const char head[] = "CONNECT other.test:443 HTTP/1.1\r\n\r\n";
	size_t n = sizeof(head) - 1 + extra;
	if (n > sizeof(req))
		return -EINVAL;
	memcpy(req, head, sizeof(head) - 1);
	memset(req + sizeof(head) - 1, 'x', extra);
	return exchange(sock, req, n, NULL, out, cap);
}

int main(void)
{
	/* like the proxy and relay processes: a peer closing early is EPIPE */
	signal(SIGPIPE, SIG_IGN);
	static const char *const entries[] = {"example.com",	"*.npmjs.org", "api.test:8443",
					      "any.test:*",	"10.1.0.0/16", "203.0.113.7:22",
					      "[fd00::]/8:443", "bad/8",       "*.*.evil",
					      "x*.evil",	NULL};
	struct shunt_strv l = list(entries);

	ok(shunt_netproxy_host_allowed(&l, "example.com", 443), "exact name, 443");
	ok(shunt_netproxy_host_allowed(&l, "EXAMPLE.com.", 80), "case and trailing dot ignored");
	ok(!shunt_netproxy_host_allowed(&l, "example.com", 8080), "no port given: 80/443 only");
	ok(!shunt_netproxy_host_allowed(&l, "www.example.com", 443),
	   "exact name is not a wildcard");
	ok(!shunt_netproxy_host_allowed(&l, "example.com.evil", 443), "no suffix confusion");
	ok(shunt_netproxy_host_allowed(&l, "registry.npmjs.org", 443), "wildcard subdomain");
	ok(shunt_netproxy_host_allowed(&l, "a.b.npmjs.org", 443), "wildcard deeper subdomain");
	ok(!shunt_netproxy_host_allowed(&l, "npmjs.org", 443), "wildcard excludes the apex");
	ok(!shunt_netproxy_host_allowed(&l, "evilnpmjs.org", 443), "wildcard needs a dot boundary");
	ok(shunt_netproxy_host_allowed(&l, "api.test", 8443), "explicit port");
	ok(!shunt_netproxy_host_allowed(&l, "api.test", 443), "explicit port only");
	ok(shunt_netproxy_host_allowed(&l, "any.test", 1), "port * means any port");
	ok(!shunt_netproxy_host_allowed(&l, "a.b.evil", 443),
	   "malformed wildcard entries match nothing");
	ok(!shunt_netproxy_host_allowed(&l, "xa.evil", 443),
	   "a star inside a label is not a wildcard");
	ok(shunt_netproxy_host_allowed(&l, "10.1.2.3", 443), "IP literal inside an allowed CIDR");
	ok(!shunt_netproxy_host_allowed(&l, "10.2.0.1", 443), "IP literal outside the CIDR");
	ok(shunt_netproxy_host_allowed(&l, "203.0.113.7", 22), "IP with port");
	ok(!shunt_netproxy_host_allowed(&l, "203.0.113.7", 443), "IP with another port");
	ok(shunt_netproxy_host_allowed(&l, "[fd12::1]", 443), "bracketed IPv6 in a v6 CIDR");
	ok(!shunt_netproxy_host_allowed(&l, "fe80::1", 443), "IPv6 outside the CIDR");
	ok(!shunt_netproxy_host_allowed(&l, "", 443), "empty host");

	ok(listed(&l, "10.1.255.255", 443), "CIDR covers the last address");
	ok(!listed(&l, "10.0.255.255", 443), "CIDR boundary");
	ok(listed(&l, "::ffff:10.1.0.1", 80), "IPv4-mapped IPv6 is checked as IPv4");
	ok(!listed(&l, "10.1.0.1", 8080), "CIDR without a port: 80/443 only");

	ok(priv("127.0.0.1") && priv("127.9.9.9"), "loopback is private");
	ok(priv("10.0.0.1") && priv("172.16.0.1") && priv("172.31.255.255"),
	   "RFC 1918 10/8, 172.16/12");
	ok(!priv("172.32.0.1"), "172.32 is public");
	ok(priv("192.168.1.1") && priv("100.64.0.1") && priv("169.254.169.254"),
	   "192.168/16, CGNAT, link-local (cloud metadata)");
	ok(priv("0.0.0.0") && priv("224.0.0.1") && priv("255.255.255.255"),
	   "0/8, multicast, broadcast");
	ok(!priv("93.184.216.34") && !priv("1.1.1.1"), "public IPv4");
	ok(priv("::1") && priv("::") && priv("fc00::1") && priv("fdff::1") && priv("fe80::1"),
	   "IPv6 loopback, unspecified, ULA, link-local");
	ok(priv("::ffff:127.0.0.1") && priv("::ffff:192.168.0.1"), "IPv4-mapped private");
	ok(!priv("2606:4700::1111"), "public IPv6");

	const char *const *npm = shunt_netpresets_get("@npm");
	ok(npm && strcmp(npm[0], "registry.npmjs.org") == 0, "@npm preset");
	ok(shunt_netpresets_get("pypi") != NULL, "preset without @");
	ok(shunt_netpresets_get("@nope") == NULL, "unknown preset");
	for (const char *const *n = shunt_netpresets_names(); *n; n++)
		ok(shunt_netpresets_get(*n) && shunt_netpresets_get(*n)[0],
		   "preset %s is not empty", *n);

	/* a real proxy: refusals and a tunnel to a loopback echo server */
	char dir[] = "/tmp/shunt-netproxy-test.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	g_srv = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in s = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.2", &s.sin_addr);
	socklen_t sl = sizeof(s);
	if (bind(g_srv, (struct sockaddr *)&s, sizeof(s)) < 0 || listen(g_srv, 4) < 0 ||
	    getsockname(g_srv, (struct sockaddr *)&s, &sl) < 0) {
		skip("cannot listen on 127.0.0.2");
		return done_testing();
	}
	unsigned port = ntohs(s.sin_port);
	char hosts[300], buf[128];
	snprintf(hosts, sizeof(hosts), "%s/shunt", dir);
	mkdir(hosts, 0700);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("SHUNT_NO_SYSTEM_CONFIG", "1", 1);
	snprintf(hosts, sizeof(hosts), "%s/shunt/net-hosts", dir);
	FILE *f = fopen(hosts, "w");
	fprintf(f, "# test\n127.0.0.2 echo.test\n10.9.9.9 rebind.test\n192.0.2.7 pub.test\n");
	fclose(f);
	char audit[300];
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", dir);
	setenv("SHUNT_AUDIT_LOG", audit, 1);

	struct shunt_strv pl = {0};
	snprintf(buf, sizeof(buf), "echo.test:%u", port);
	shunt_strv_push(&pl, buf);
	shunt_strv_push(&pl, "rebind.test:*");
	shunt_strv_push(&pl, "pub.test:*");
	struct shunt_netproxy px;
	ok(shunt_netproxy_start(&px, &pl, "run-1", NULL) == 0, "proxy starts");
	char sock[4200], req[256], out[1024];
	snprintf(sock, sizeof(sock), "%s/%s", px.dir, SHUNT_NETPROXY_SOCK);

	ask(sock, "CONNECT other.test:443 HTTP/1.1\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "403") && strstr(out, "not in the allowlist"), "name not listed: 403");
	ask(sock, "CONNECT rebind.test:443 HTTP/1.1\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "403") && strstr(out, "private address 10.9.9.9"), "rebinding to 10/8: 403");
	snprintf(req, sizeof(req), "CONNECT echo.test:%u HTTP/1.1\r\n\r\n", port);
	ask(sock, req, out, sizeof(out));
	ok(strstr(out, "403") && strstr(out, "private address 127.0.0.2"), "loopback answer: 403");
	ask(sock, "CONNECT pub.test:443 HTTP/1.1\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "403") && strstr(out, "hosts file maps it to 192.0.2.7"),
	   "hosts file cannot send an allowed name to an unlisted public address");
	ask(sock, "GET https://x/ HTTP/1.1\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "400") != NULL, "non-http absolute URI: 400");
	ask(sock, "garbage\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "400") != NULL, "malformed request line: 400");
	/* more than the proxy reads for a head: without the drain before
	 * closing, the peer's read ends in ECONNRESET */
	int an = ask_unread(sock, 20000, out, sizeof(out));
	ok(an == 0 && strstr(out, "403"),
	   "answer with request bytes unread: read to EOF, no reset");
	if (an < 0)
		diag("read failed: %s", strerror(-an));
	shunt_netproxy_stop(&px);

	shunt_strv_push(&pl, "127.0.0.0/24:*");
	ok(shunt_netproxy_start(&px, &pl, "run-2", NULL) == 0, "proxy restarts with the CIDR");
	snprintf(sock, sizeof(sock), "%s/%s", px.dir, SHUNT_NETPROXY_SOCK);
	pthread_t t;
	pthread_create(&t, NULL, echo_once, NULL);
	ask(sock, req, out, sizeof(out));
	ok(strstr(out, "200 Connection established") && strstr(out, "\r\n\r\nping"),
	   "explicit CIDR: tunnel established and bytes echoed");
	pthread_join(t, NULL);
	shunt_netproxy_stop(&px);
	ok(access(sock, F_OK) != 0, "stop removes the socket");

	char line[4096] = "";
	f = fopen(audit, "r");
	int allow = 0, deny = 0;
	while (f && fgets(line, sizeof(line), f)) {
		allow += strstr(line, "\"event\":\"net-allow\"") && strstr(line, "run-2");
		deny += strstr(line, "\"event\":\"net-deny\"") && strstr(line, "run-1");
	}
	if (f)
		fclose(f);
	is_int(allow, 1, "one net-allow audited with its run id");
	is_int(deny, 5, "five net-deny audited with their run id");
	f = fopen(audit, "r");
	int via = 0;
	while (f && fgets(line, sizeof(line), f))
		via += strstr(line, "net-allow") && strstr(line, "shunt hosts file");
	if (f)
		fclose(f);
	is_int(via, 1, "an address from the hosts file is noted in the audit record");

	unlink(audit);
	unlink(hosts);
	snprintf(hosts, sizeof(hosts), "%s/shunt", dir);
	rmdir(hosts);
	rmdir(dir);
	shunt_strv_free(&pl);
	shunt_strv_free(&l);
	return done_testing();
}
