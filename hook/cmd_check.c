/* shunt check (not implemented yet). */
#include "commands.h"

int shunt_cmd_check(int argc, char **argv, struct shunt_error **err)
{
	(void)argc;
	(void)argv;
	return shunt_error_set(err, 0, "not implemented yet");
}
