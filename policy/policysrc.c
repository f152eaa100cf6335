/* Cache locations of fetched policy sources. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "paths.h"
#include "policysrc.h"
#include "sha256.h"

char *shunt_policysrc_cache_path(const char *url)
{
	uint8_t d[32];
	char hex[65], name[64];
	shunt_sha256(url, strlen(url), d);
	shunt_sha256_hex(d, hex);
	snprintf(name, sizeof(name), "policy/%.16s.yaml", hex);
	return shunt_paths_file(SHUNT_DIR_CACHE, name);
}
