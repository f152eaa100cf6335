/* libFuzzer target: the config layer parser, as a normal and as a
 * workspace (tighten-only) layer. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int tighten = 0; tighten < 2; tighten++) {
		struct shunt_config cfg;
		struct shunt_error *err = NULL;
		shunt_config_defaults(&cfg);
		(void)shunt_config_apply_buf(&cfg, "fuzz.yaml", (const char *)data, size, tighten,
					     &err);
		shunt_error_free(&err);
		shunt_config_free(&cfg);
	}
	return 0;
}
