/* A decision a process's own execs inherit (issue 22 item 2).
 *
 * When a layer runs a command on the host (the shim deciding an exec
 * host, the interposer's cached path, the gate or `shunt exec` running
 * an approved command), the command's environment gets
 *   SHUNT_DECIDED=1:LAYER:RISK:REMOTE:DEV:INO
 * LAYER: s shim, g gate/exec; RISK: the risk accepted for it (0..3);
 * REMOTE: 1 when a remote effect was accepted; DEV:INO (hex): the file
 * that was exec'd. The record describes the process it was written for.
 * When that process (or a fork of it) execs something the rules would
 * not run on the host, the child still runs there when
 * shunt_inherit_applies says so: it is how `git stash` runs its own
 * `git reset --hard` without a second prompt.
 *
 * Why the record is no free pass:
 *  - It only ever applies to the process it names: DEV:INO must be the
 *    file /proc/self/exe is. A script that sets the variable is not the
 *    program it names, so the record does nothing for its execs.
 *  - Every exec that passes the shim (core or cached path) and runs on
 *    the host replaces the record with a fresh one for the new program;
 *    a forged value never survives into a program the shim started.
 *  - What it grants is bounded: never a block, a critical risk, a rule on
 *    secrets, or a remote effect the parent was not accepted for; only
 *    a risk at or under the parent's accepted one, or the same tool
 *    running itself (not an interpreter or a shell, which run anything).
 *  - A process that could plant the record in its own environment and
 *    then exec itself is already running on the host with the user's
 *    rights: the local effects the record lets a child have, it can have
 *    with its own system calls. The shim is no boundary against the code
 *    of a program it already let run (see preload/shim.c).
 */
#ifndef SHUNT_POLICY_INHERIT_H
#define SHUNT_POLICY_INHERIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

struct shunt_decision;

#define SHUNT_INHERIT_ENV "SHUNT_DECIDED"
/* room for the whole "SHUNT_DECIDED=..." string */
#define SHUNT_INHERIT_MAX 72

struct shunt_inherit {
	char layer;
	enum shunt_risk risk;
	bool remote;
	uint64_t dev, ino;
};

/* Writes "SHUNT_DECIDED=1:L:R:M:DEV:INO" and a NUL into buf
 * (SHUNT_INHERIT_MAX bytes); returns its length. Character stores only,
 * no libc and no string constants: the interposer's exec path (fast.c)
 * calls it in forked children. */
static inline size_t shunt_inherit_format(char *buf, char layer, int risk, bool remote,
					  uint64_t dev, uint64_t ino)
{
	char *p = buf;
	*p++ = 'S', *p++ = 'H', *p++ = 'U', *p++ = 'N', *p++ = 'T', *p++ = '_';
	*p++ = 'D', *p++ = 'E', *p++ = 'C', *p++ = 'I', *p++ = 'D', *p++ = 'E', *p++ = 'D';
	*p++ = '=', *p++ = '1', *p++ = ':', *p++ = layer, *p++ = ':';
	*p++ = (char)('0' + (risk & 3)), *p++ = ':', *p++ = remote ? '1' : '0';
	uint64_t v[2] = {dev, ino};
	for (int k = 0; k < 2; k++) {
		*p++ = ':';
		int shift = 60;
		while (shift > 0 && !((v[k] >> shift) & 0xf))
			shift -= 4;
		for (; shift >= 0; shift -= 4) {
			unsigned d = (unsigned)((v[k] >> shift) & 0xf);
			*p++ = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		}
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* kv is "SHUNT_DECIDED=..." (the whole environment entry). */
static inline bool shunt_inherit_is_entry(const char *kv)
{
	return kv[0] == 'S' && kv[1] == 'H' && kv[2] == 'U' && kv[3] == 'N' && kv[4] == 'T' &&
	       kv[5] == '_' && kv[6] == 'D' && kv[7] == 'E' && kv[8] == 'C' && kv[9] == 'I' &&
	       kv[10] == 'D' && kv[11] == 'E' && kv[12] == 'D' && kv[13] == '=';
}

/* Parses a record's value (after '='); false when malformed.
 * Async-signal-safe. */
bool shunt_inherit_parse(const char *value, struct shunt_inherit *out);

/* The record in envp, parsed; false when there is none or it is
 * malformed. Async-signal-safe. */
bool shunt_inherit_find(char *const *envp, struct shunt_inherit *out);

/* Whether d, a decision that is not host, for an exec of child_exe by
 * this process, runs on the host as its parent's internal work under
 * rec (see the top of this file). *why says which way it went (a static
 * string). Reads /proc/self/exe. Async-signal-safe. */
bool shunt_inherit_applies(const struct shunt_inherit *rec, const struct shunt_decision *d,
			   const char *child_exe, const char **why);

#endif
