/* Built-in allowlist presets (see netpresets.h). Entries without a port
 * allow 80 and 443 only. */
#include <string.h>

#include "netpresets.h"

struct preset {
	const char *name;
	const char *const hosts[8];
};

static const struct preset presets[] = {
    {"npm", {"registry.npmjs.org", "registry.yarnpkg.com", NULL}},
    {"pypi", {"pypi.org", "files.pythonhosted.org", NULL}},
    {"crates", {"crates.io", "index.crates.io", "static.crates.io", NULL}},
    {"go", {"proxy.golang.org", "sum.golang.org", NULL}},
    {"rubygems", {"rubygems.org", "index.rubygems.org", NULL}},
    {"debian", {"deb.debian.org", "security.debian.org", NULL}},
};

static const char *const names[] = {"@npm",	 "@pypi",   "@crates", "@go",
				    "@rubygems", "@debian", NULL};

const char *const *shunt_netpresets_get(const char *name)
{
	if (name[0] == '@')
		name++;
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, name) == 0)
			return presets[i].hosts;
	return NULL;
}

const char *const *shunt_netpresets_names(void)
{
	return names;
}
