/* shunt gate: where the shim re-routes an exec it will not let through on
 * its own. Same as shunt exec, with the shim's resolved executable
 * (--exe) and source shim. */
#include "act.h"
#include "commands.h"

int shunt_cmd_gate(int argc, char **argv, struct shunt_error **err)
{
	return shunt_exec_main(argc, argv, true, err);
}
