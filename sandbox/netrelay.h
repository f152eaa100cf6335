/* Byte relaying for the network allowlist: the stream pump shared by the
 * host-side proxy and the in-sandbox relay, and the relay itself, which
 * listens on 127.0.0.1:SHUNT_NETRELAY_PORT inside the sandbox's network
 * namespace and forwards each connection to the proxy's unix socket. */
#ifndef SHUNT_NETRELAY_H
#define SHUNT_NETRELAY_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define SHUNT_NETRELAY_PORT	 3128
#define SHUNT_NETRELAY_MAX_CONNS 256
#define SHUNT_NET_BUF		 (64 * 1024)
#define SHUNT_NET_PIPE		 (1024 * 1024)

/* Moves bytes both ways between the connected stream sockets a and b
 * until both directions reached EOF (each EOF is passed on as a write
 * shutdown), an error, or idle_ms without traffic (0 = no idle limit).
 * Memory is bounded: per direction, a pipe for splice of at most
 * SHUNT_NET_PIPE bytes (kernel pages, never copied to user space), or a
 * SHUNT_NET_BUF heap buffer when splice is not supported. The sockets are
 * non-blocking while it runs.
 * Does not close a or b. Returns 0 at a clean end, -1 otherwise
 * (errno set; ETIMEDOUT for the idle limit). Thread-safe. The caller
 * must ignore SIGPIPE: splice(2) into a closed socket raises it (there
 * is no MSG_NOSIGNAL for splice). */
int shunt_netrelay_pump(int a, int b, int idle_ms);

/* A listening TCP socket on 127.0.0.1:port (CLOEXEC). -1 with *err. */
int shunt_netrelay_listen(uint16_t port, struct shunt_error **err);

/* Hands the connected socket c to the proxy listening on the unix socket
 * path (relative paths resolve against the cwd): one marker byte with c
 * as SCM_RIGHTS; the proxy then talks to c directly and the caller moves
 * no bytes. Does not close c. 0, or -1 with errno. */
int shunt_netrelay_hand_over(int c, const char *path);

/* Serves lfd forever: each accepted connection is handed, as a file
 * descriptor (SCM_RIGHTS, one marker byte), to the proxy listening on the
 * unix socket `name` relative to the directory dirfd (connect through
 * fchdir, so the socket need not be visible in the sandbox's file
 * system). The relay keeps no connection and moves no bytes; the proxy
 * bounds the connection count. Never returns; meant for a forked child. */
__attribute__((noreturn)) void shunt_netrelay_serve(int lfd, int dirfd, const char *name);

/* Like shunt_netrelay_serve, but for a sandbox whose sockets are not host
 * file descriptors (gVisor's netstack): each connection gets a thread
 * that copies its bytes to a connection of its own to the proxy socket at
 * path (shunt_netrelay_pump; at most SHUNT_NETRELAY_MAX_CONNS). Never
 * returns. */
__attribute__((noreturn)) void shunt_netrelay_serve_copy(int lfd, const char *path);

/* For runners that can join a prepared network namespace (podman's
 * --network ns:PATH): forks a child in a new network namespace holding
 * only loopback, where it serves the relay on 127.0.0.1:SHUNT_NETRELAY_PORT
 * to the proxy socket SHUNT_NETPROXY_SOCK in proxy_dir (killed with the
 * caller: PDEATHSIG). Returns once the relay listens, with *pid set; the
 * namespace is /proc/PID/ns/net. Needs CAP_SYS_ADMIN (root): -1 with
 * *err (exit code 125) otherwise. Stop it with kill(SIGKILL) and waitpid. */
int shunt_netrelay_netns_start(const char *proxy_dir, pid_t *pid, struct shunt_error **err);

#endif
