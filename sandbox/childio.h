/* Small helpers the runners share for the engine processes they drive
 * (runsc, podman, docker). */
#ifndef SHUNT_CHILDIO_H
#define SHUNT_CHILDIO_H

/* Runs argv (argv[0] an absolute path) with stdio on /dev/null and waits.
 * Returns its exit status (128 for a signal death), or -1 when it could
 * not be started or waited for. */
int shunt_child_run_quiet(char *const argv[]);

/* Moves one read's worth of data from `from` to `to`. Returns 1 to keep
 * going, 0 at EOF, -1 on a read error. A reader that went away on `to` is
 * ignored, so the engine writing into `from` is never blocked. */
int shunt_child_copy_out(int from, int to);

#endif
