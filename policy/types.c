#include "types.h"

#include <string.h>
#include <strings.h>

#define SHUNT_ENUM_DEF(kind, ...)                                                                  \
	const char *const shunt_##kind##_names[] = {__VA_ARGS__};                                  \
	const size_t shunt_##kind##_count =                                                        \
	    sizeof(shunt_##kind##_names) / sizeof(shunt_##kind##_names[0]);                        \
	const char *shunt_##kind##_name(int v)                                                     \
	{                                                                                          \
		if (v < 0 || (size_t)v >= shunt_##kind##_count)                                    \
			return enum_out_of_range(#kind);                                           \
		return shunt_##kind##_names[v];                                                    \
	}                                                                                          \
	int shunt_##kind##_parse(const char *s)                                                    \
	{                                                                                          \
		return enum_parse(shunt_##kind##_names, shunt_##kind##_count, s,                   \
				  strcmp(#kind, "profile") == 0);                                  \
	}

static const char *enum_out_of_range(const char *kind)
{
	return strcmp(kind, "profile") == 0 ? "null" : "?";
}

static int enum_parse(const char *const *names, size_t n, const char *s, int nocase)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (nocase ? strcasecmp(names[i], s) == 0 : strcmp(names[i], s) == 0)
			return (int)i;
	}
	return -1;
}

SHUNT_ENUM_TABLES(SHUNT_ENUM_DEF)

struct shunt_level_limits shunt_level_limits(enum shunt_level level)
{
	static const struct shunt_level_limits table[] = {
	    [SHUNT_LEVEL_PERMISSIVE] = {SHUNT_NET_FULL, 1, 2048ULL << 20, 2.0, 4096},
	    [SHUNT_LEVEL_BALANCED] = {SHUNT_NET_RESTRICTED, 1, 1024ULL << 20, 1.0, 2048},
	    [SHUNT_LEVEL_STRICT] = {SHUNT_NET_RESTRICTED, 0, 512ULL << 20, 0.5, 1024},
	    [SHUNT_LEVEL_PARANOID] = {SHUNT_NET_NONE, 0, 256ULL << 20, 0.25, 512},
	};
	if ((int)level < 0 || (size_t)level >= sizeof(table) / sizeof(table[0]))
		level = SHUNT_LEVEL_BALANCED;
	return table[level];
}
