/* The host-side filtering proxy behind the network allowlist. It speaks
 * HTTP CONNECT and plain (absolute-URI) HTTP proxying on a unix socket,
 * decides by the requested host name, resolves the name itself and
 * refuses names that resolve to loopback, link-local, private or other
 * special addresses unless an allowlist entry names that address or
 * range (DNS rebinding). It connects to the address it checked.
 *
 * Allowlist entries: "name", "*.example.com" (any subdomain, not the
 * apex), "203.0.113.7", "10.0.0.0/8", "::1", "[fc00::]/7", each with an
 * optional ":port" ("[v6]:port" for IPv6); ":*" means any port. An entry
 * without a port allows 80 and 443 only.
 *
 * Hosts files: /etc/shunt/net-hosts (unless SHUNT_NO_SYSTEM_CONFIG) and
 * $XDG_CONFIG_HOME/shunt/net-hosts, hosts(5) syntax, owned by root or the
 * user and not group/world-writable, override the resolver for the names
 * they list. Such a mapping can only narrow the policy: an address from
 * a hosts file is used only when an address/CIDR entry allows it (public
 * or not), and its use is noted in the audit record. Tests use them to
 * give test names loopback addresses. */
#ifndef SHUNT_NETPROXY_H
#define SHUNT_NETPROXY_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

#define SHUNT_NETPROXY_SOCK	    "proxy.sock"
#define SHUNT_NETPROXY_HOSTS	    "net-hosts"
#define SHUNT_NETPROXY_SYSTEM_HOSTS "/etc/shunt/" SHUNT_NETPROXY_HOSTS

struct shunt_netproxy {
	pid_t pid;	/* the serving child, 0 when none */
	char dir[4096]; /* private 0700 directory holding SHUNT_NETPROXY_SOCK */
};

/* True when the requested name (or IP literal) and port are allowed by
 * the allowlist by name: names match name entries, IP literals match
 * address/CIDR entries only. Case-insensitive; a trailing dot is
 * ignored. */
bool shunt_netproxy_host_allowed(const struct shunt_strv *allow, const char *host, unsigned port);

/* True when an address/CIDR entry (with a matching port) covers sa. */
bool shunt_netproxy_addr_listed(const struct shunt_strv *allow, const struct sockaddr *sa,
				unsigned port);

/* True for addresses a public name must never resolve to: 0/8, 10/8,
 * 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16, 224/4 and up,
 * ::, ::1, fc00::/7, fe80::/10, multicast, and IPv4-mapped forms of all
 * of them. */
bool shunt_netproxy_addr_private(const struct sockaddr *sa);

/* A listening unix socket at path (mode 0600). -1 with *err. */
int shunt_netproxy_listen_unix(const char *path, struct shunt_error **err);

/* Serves lfd until SIGTERM/SIGKILL: one thread per connection, at most
 * 256, 64 KiB per direction, 10 s connect and 30 s request-head
 * time-outs, 10 min idle time-out. Each allowed and denied connection is
 * written to the audit log with run_id (may be NULL); a denial also
 * prints "shunt: network: blocked connect to HOST:PORT (REASON)" on
 * stderr. Returns only on a fatal accept error (-1). */
int shunt_netproxy_serve(int lfd, const struct shunt_strv *allow, const char *run_id);

/* Creates a private directory, listens on its SHUNT_NETPROXY_SOCK and
 * forks a child serving it (killed with the caller: PDEATHSIG). The
 * socket accepts connections once this returns. -1 with *err (exit
 * code 125: the sandbox must not start). */
int shunt_netproxy_start(struct shunt_netproxy *p, const struct shunt_strv *allow,
			 const char *run_id, struct shunt_error **err);

/* Stops the child and removes the directory. NULL-safe, idempotent. */
void shunt_netproxy_stop(struct shunt_netproxy *p);

#endif
