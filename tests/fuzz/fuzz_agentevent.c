/* libFuzzer target for the agents' hook events: the first byte picks the
 * agent, the rest is the event. A parse either fails with a message or
 * yields a shell event with a NUL-free command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct shunt_agent_event ev;
	struct shunt_error *err = NULL;
	int rc = shunt_agentevent_parse((enum shunt_agent)(data[0] % 4), (const char *)data + 1,
					size - 1, &ev, &err);
	if (rc < 0 && !err)
		abort();
	if (rc == 0 && ev.shell && !ev.command)
		abort();
	if (rc == 0 && ev.command)
		(void)strlen(ev.command);
	shunt_error_free(&err);
	shunt_agentevent_free(&ev);
	return 0;
}
