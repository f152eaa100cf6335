/* Firecracker's host side of the command channel: reaching the guest
 * agent through the VMM's vsock unix socket ("CONNECT <port>\n", answered
 * "OK <host port>\n") and pumping the agent's frames to our stdout and
 * stderr. The transport is any connected stream fd, so the tests drive
 * the same code over AF_UNIX sockets. */
#ifndef SHUNT_FIRECRACKER_H
#define SHUNT_FIRECRACKER_H

#include "error.h"
#include "vmchan.h"

/* Connects to the guest's vsock port through Firecracker's unix socket
 * uds (created by the VMM once it runs; refused until the guest agent
 * listens), retrying until deadline_ms (shunt_vmchan_now_ms clock).
 * uds longer than sun_path is reached through its directory's fd. Port 0:
 * a plain stream socket, no handshake (QEMU's virtio-console socket). The
 * connected fd (O_CLOEXEC), or -1 with *err (ETIMEDOUT when the guest
 * never answered). */
int shunt_firecracker_connect(const char *uds, unsigned port, long long deadline_ms,
			      struct shunt_error **err);

/* Waits for the agent's HELLO (until hello_ms, 0 = no limit), sends req
 * on fd, then copies OUT frames to out_fd and ERR frames to err_fd until
 * EXIT. 0 with *status (the command's exit code, 128+N for a signal), 1
 * when deadline_ms passed first (0 = none), -1 with *err when the agent
 * never said HELLO, failed (FAIL), hung up before EXIT, or broke the
 * framing (a truncated or malformed frame is never taken as output). */
int shunt_firecracker_exchange(int fd, const struct shunt_vmchan_request *req, int out_fd,
			       int err_fd, long long hello_ms, long long deadline_ms, int *status,
			       struct shunt_error **err);

#endif
