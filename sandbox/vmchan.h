/* The microVM command channel: framed messages between shunt (host) and
 * the guest agent (sandbox/firecracker/agent.c) over any stream socket:
 * vsock under Firecracker, AF_UNIX socketpairs in the tests. Depends on
 * libc only, so the static guest agent compiles it too.
 *
 * A frame is an 8-byte header {'S','V', type, 0, u32 big-endian length}
 * followed by length bytes (at most SHUNT_VMCHAN_MAX). The agent speaks
 * first (HELLO, once its end is ready: a console must be in raw mode
 * before anything arrives), then the host sends the request (WS_PATH, WS_DEV, WS_RW, CWD, ARG...,
 * ENV..., RUN); the guest answers with OUT/ERR chunks in the order the command wrote them per
 * stream, then exactly one EXIT (or FAIL). The exit status travels in its own frame type, so
 * nothing the command prints can fake it. */
#ifndef SHUNT_VMCHAN_H
#define SHUNT_VMCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHUNT_VMCHAN_PORT 5252u /* the agent's vsock port in the guest */
#define SHUNT_VMCHAN_MAX  65536u
#define SHUNT_VMCHAN_HDR  8u

enum shunt_vmchan_type {
	/* host -> guest */
	SHUNT_VMCHAN_WS_PATH = 1, /* workspace path, mounted at the same path */
	SHUNT_VMCHAN_WS_DEV = 2,  /* block device holding the workspace (ext4) */
	SHUNT_VMCHAN_WS_RW = 3,	  /* "1": mount read-write */
	SHUNT_VMCHAN_CWD = 4,
	SHUNT_VMCHAN_ARG = 5, /* one argv word each */
	SHUNT_VMCHAN_ENV = 6, /* one NAME=VALUE each */
	SHUNT_VMCHAN_RUN = 7, /* end of the request */
	/* guest -> host */
	SHUNT_VMCHAN_OUT = 16,	 /* stdout bytes */
	SHUNT_VMCHAN_ERR = 17,	 /* stderr bytes */
	SHUNT_VMCHAN_EXIT = 18,	 /* 4 bytes big-endian: exit code, 128+N for signal N */
	SHUNT_VMCHAN_FAIL = 19,	 /* the agent could not run the command: message */
	SHUNT_VMCHAN_HELLO = 20, /* first frame on every channel: the agent is ready */
};

struct shunt_vmchan_frame {
	uint8_t type;
	uint32_t len;
	char data[SHUNT_VMCHAN_MAX + 1]; /* NUL-terminated for convenience */
};

/* The request the host sends; strings borrowed, argv/env NULL-terminated. */
struct shunt_vmchan_request {
	const char *ws_path; /* NULL: no workspace */
	const char *ws_dev;
	bool ws_rw;
	const char *cwd;
	char *const *argv;
	char *const *env;
};

/* Writes one frame (len <= SHUNT_VMCHAN_MAX), retrying short writes and
 * EINTR. 0, or -errno (-EMSGSIZE when too long). No allocation;
 * async-signal-safe. */
int shunt_vmchan_write(int fd, uint8_t type, const void *data, size_t len);

/* Writes data as as many frames of type as it takes. 0 or -errno. */
int shunt_vmchan_write_all(int fd, uint8_t type, const void *data, size_t len);

/* Reads one frame, waiting at most until deadline_ms (CLOCK_MONOTONIC ms,
 * 0 = no deadline). 1 with *f filled, 0 on a clean end of stream at a
 * frame boundary, -EPROTO for a bad header, an oversized or truncated
 * frame, -ETIMEDOUT past the deadline, else -errno. */
int shunt_vmchan_read(int fd, struct shunt_vmchan_frame *f, long long deadline_ms);

/* Sends the whole request, ending with RUN. 0 or -errno (-EINVAL when
 * argv is empty). */
int shunt_vmchan_send_request(int fd, const struct shunt_vmchan_request *req);

/* CLOCK_MONOTONIC in ms, the clock deadlines here use. */
long long shunt_vmchan_now_ms(void);

#endif
