/* shunt off: turns the line hook off for the current shell session only.
 * A child process cannot change its shell, so the `shunt` function that
 * `shunt init` defines runs `shunt off --hook SHELL` and flips its own
 * state when this exits 0. The confirmation is read from /dev/tty, never
 * from stdin, so a program piping "off" into it cannot turn the hook off.
 * The exec shim stays active either way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cleanup.h"
#include "agent.h"
#include "commands.h"

static const char off_usage[] =
    "usage: shunt off\n"
    "Turns shunt's line hook off for this shell session, after you type 'off' on the\n"
    "terminal. The exec shim stays on (a program cannot turn protection off by\n"
    "unsetting LD_PRELOAD or by a variable). `shunt on` turns the hook back on.\n"
    "Works in shells set up with eval \"$(shunt init bash)\" (or zsh).\n";

/* Asks on the terminal; returns 1 when the user typed "off". */
static int confirm_on_tty(void)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	static const char q[] = "shunt: turn the line hook off for this shell session?\n"
				"       (the exec shim stays on) Type 'off' to confirm: ";
	if (write(fd, q, sizeof(q) - 1) < 0)
		return -1;
	char buf[64];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return strcmp(buf, "off") == 0;
}

int shunt_cmd_off(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(off_usage, stdout);
		return 0;
	}
	if (shunt_agent_refuse("shunt off", err) < 0)
		return -1;
	const char *shell = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hook") == 0 && i + 1 < argc)
			shell = argv[++i];
		else
			return shunt_args_usage(err, "unknown argument '%s'\n%s", argv[i],
						off_usage);
	}
	if (!shell)
		return shunt_error_set(
		    err, 0,
		    "this shell has no shunt line hook to turn off (run it in a shell set up "
		    "with eval \"$(shunt init bash)\"); the exec shim cannot be turned off "
		    "from inside a session");
	int c = confirm_on_tty();
	if (c < 0)
		return shunt_error_set(err, 0,
				       "needs a terminal to confirm; the line hook stays on");
	if (c == 0) {
		fprintf(stderr, "shunt: not confirmed; the line hook stays on\n");
		return 1;
	}
	fprintf(stderr,
		"shunt: line hook off for this %s session (exec shim still on); `shunt on` "
		"turns it back on\n",
		shell);
	return 0;
}
