/* The daemon's side of the local fd-passing run (protocol in fdrun.h):
 * telling it from HTTP on the shared unix socket, then the peer check,
 * the re-check of the decision, the run with the client's stdio,
 * signals and the exit status. */
#ifndef SHUNT_FDSERVE_H
#define SHUNT_FDSERVE_H

#include <stdbool.h>
#include <stddef.h>

#define SHUNT_FDS_MAX 8 /* fds taken from one message; more is a bad request */

/* Reads the first bytes of a unix connection with any fds passed along.
 * True when they are the fd-passing magic and a request frame header
 * (head then holds those 13 bytes); false for HTTP (head holds *n bytes
 * to continue from; the caller closes any fds). */
bool shunt_fdserve_recv_first(int fd, char *head, size_t *n, int fds[SHUNT_FDS_MAX], int *nfds);

/* Serves the fd-passing run whose magic and frame header are in head,
 * with the nfds fds that came along (the caller closes them). */
void shunt_fdserve_handle(int fd, const unsigned char *head, const int *fds, int nfds);

#endif
