/* libFuzzer target: arbitrary bytes as a rule pack must load or fail with
 * an error, never crash or leak; loaded rules are matched once. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shunt_ruleset rs = {0};
	struct shunt_error *err = NULL;
	if (shunt_rules_load_buf(&rs, "fuzz.yaml", (const char *)data, size, &err) == 0) {
		char buf[32 * 1024];
		struct shunt_arena a;
		shunt_arena_init_fixed(&a, buf, sizeof(buf));
		for (size_t i = 0; i < rs.n; i++) {
			size_t so, eo;
			shunt_rule_match(&rs.rules[i], (const char *)data, size, &a, &so, &eo);
		}
	}
	shunt_error_free(&err);
	shunt_ruleset_free(&rs);
	return 0;
}
