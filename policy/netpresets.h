/* Built-in allowlist presets for package managers: an allow_hosts entry
 * "@npm" stands for the hosts npm needs, and so on. */
#ifndef SHUNT_NETPRESETS_H
#define SHUNT_NETPRESETS_H

#include <stddef.h>

/* The NULL-terminated host list of preset `name` (with or without the
 * leading '@'), or NULL when there is no such preset. Static storage. */
const char *const *shunt_netpresets_get(const char *name);

/* The preset names, NULL-terminated (for help and errors). */
const char *const *shunt_netpresets_names(void);

#endif
