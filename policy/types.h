/* Enumerations shared by every part of shunt, with their canonical names.
 * The names are the JSON/YAML spellings and must stay stable. */
#ifndef SHUNT_TYPES_H
#define SHUNT_TYPES_H

#include <stddef.h>

enum shunt_action {
	SHUNT_ACTION_HOST,
	SHUNT_ACTION_SANDBOX,
	SHUNT_ACTION_PROMPT,
	SHUNT_ACTION_BLOCK
};
enum shunt_risk { SHUNT_RISK_LOW, SHUNT_RISK_MEDIUM, SHUNT_RISK_HIGH, SHUNT_RISK_CRITICAL };
/* SHUNT_PROFILE_NONE serialises as JSON null. */
enum shunt_profile {
	SHUNT_PROFILE_NONE = -1,
	SHUNT_PROFILE_READ_ONLY,
	SHUNT_PROFILE_WORKSPACE_WRITE,
	SHUNT_PROFILE_SYSTEM_WRITE,
	SHUNT_PROFILE_GODMODE
};
enum shunt_runtime {
	SHUNT_RUNTIME_AUTO,
	SHUNT_RUNTIME_PROCESS,
	SHUNT_RUNTIME_GVISOR,
	SHUNT_RUNTIME_PODMAN,
	SHUNT_RUNTIME_DOCKER,
	SHUNT_RUNTIME_MICROVM,
	SHUNT_RUNTIME_NONE /* "host": no runner */
};
enum shunt_mode { SHUNT_MODE_AUTO, SHUNT_MODE_ALWAYS, SHUNT_MODE_RISKY, SHUNT_MODE_NEVER };
enum shunt_level {
	SHUNT_LEVEL_PERMISSIVE,
	SHUNT_LEVEL_BALANCED,
	SHUNT_LEVEL_STRICT,
	SHUNT_LEVEL_PARANOID
};
enum shunt_netmode { SHUNT_NET_NONE, SHUNT_NET_RESTRICTED, SHUNT_NET_FULL };
enum shunt_noninteractive { SHUNT_NONINT_SANDBOX, SHUNT_NONINT_BLOCK };
enum shunt_onerror { SHUNT_ONERROR_CLOSED, SHUNT_ONERROR_OPEN };
enum shunt_source { SHUNT_SOURCE_HOOK, SHUNT_SOURCE_SHIM, SHUNT_SOURCE_CLI };
enum shunt_preset {
	SHUNT_PRESET_NONE,
	SHUNT_PRESET_DEVELOPER,
	SHUNT_PRESET_CICD,
	SHUNT_PRESET_PRODUCTION
};

#define SHUNT_ENUM_TABLES(X)                                                                       \
	X(action, "host", "sandbox", "prompt", "block")                                            \
	X(risk, "low", "medium", "high", "critical")                                               \
	X(profile, "READ_ONLY", "WORKSPACE_WRITE", "SYSTEM_WRITE", "GODMODE")                      \
	X(runtime, "auto", "process", "gvisor", "podman", "docker", "microvm", "host")             \
	X(mode, "auto", "always", "risky", "never")                                                \
	X(level, "permissive", "balanced", "strict", "paranoid")                                   \
	X(netmode, "none", "restricted", "full")                                                   \
	X(noninteractive, "sandbox", "block")                                                      \
	X(onerror, "closed", "open")                                                               \
	X(source, "hook", "shim", "cli")                                                           \
	X(preset, "none", "developer", "ci-cd", "production")

/* shunt_<kind>_name(v): canonical name, or "?" when out of range (for
 * profile, SHUNT_PROFILE_NONE gives "null"). Async-signal-safe.
 * shunt_<kind>_parse(s): the value, or -1 when s is not a name of that
 * kind (exact, case-sensitive; profile also accepts lower case). */
#define SHUNT_ENUM_DECL(kind, ...)                                                                 \
	const char *shunt_##kind##_name(int v);                                                    \
	int shunt_##kind##_parse(const char *s);                                                   \
	extern const char *const shunt_##kind##_names[];                                           \
	extern const size_t shunt_##kind##_count;
SHUNT_ENUM_TABLES(SHUNT_ENUM_DECL)
#undef SHUNT_ENUM_DECL

/* Resource limits a security level implies (product brief table). */
struct shunt_level_limits {
	enum shunt_netmode network;
	int root_writable;	      /* 1 = rw root (overlay), 0 = ro */
	unsigned long long mem_bytes; /* memory.max */
	double cpus;		      /* CPU quota in cores */
	unsigned pids;		      /* pids.max */
};

/* Limits for a level; never fails (out-of-range gives balanced). */
struct shunt_level_limits shunt_level_limits(enum shunt_level level);

#endif
