#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

#define LINE_FD_MAX (4u << 20)

/* the --line-fd text; lives until exit */
static char *line_from_fd;

__attribute__((destructor)) static void line_free(void)
{
	free(line_from_fd);
}

static int read_line_fd(const char *arg, struct shunt_cmd_input *in, struct shunt_error **err)
{
	char *end = NULL;
	long fd = strtol(arg, &end, 10);
	if (!*arg || *end || fd < 0 || fd > 1023)
		return shunt_args_usage(err, "--line-fd: expected a descriptor, got '%s'", arg);
	struct shunt_buf b = {0};
	char chunk[65536];
	for (;;) {
		ssize_t r = read((int)fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			shunt_buf_free(&b);
			return shunt_error_sys(err, e, "--line-fd %ld", fd);
		}
		if (r == 0)
			break;
		shunt_buf_append(&b, chunk, (size_t)r);
		if (b.len > LINE_FD_MAX) {
			shunt_buf_free(&b);
			return shunt_args_usage(err, "--line-fd: the line is over %u bytes",
						LINE_FD_MAX);
		}
	}
	close((int)fd);
	if (b.oom || (b.len && memchr(b.data, '\0', b.len))) {
		shunt_buf_free(&b);
		return shunt_args_usage(err, "--line-fd: the line holds a NUL byte");
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	free(line_from_fd);
	line_from_fd = b.data ? shunt_buf_steal(&b) : strdup("");
	in->line = line_from_fd;
	return in->line ? 1 : shunt_args_usage(err, "out of memory");
}

int shunt_args_usage(struct shunt_error **err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	shunt_error_set(err, 0, "%s", msg);
	if (err && *err)
		(*err)->exitcode = 2;
	return -1;
}

int shunt_args_take_command(int argc, char **argv, int *i, struct shunt_cmd_input *in,
			    struct shunt_error **err)
{
	const char *a = argv[*i];
	if (strcmp(a, "-c") == 0) {
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "-c needs a command line");
		if (in->line || in->argv)
			return shunt_args_usage(err, "give one command: -c LINE or -- ARGV...");
		in->line = argv[++*i];
		return 1;
	}
	if (strcmp(a, "--line-fd") == 0) {
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "--line-fd needs a descriptor");
		if (in->line || in->argv)
			return shunt_args_usage(err, "give one command: -c LINE or -- ARGV...");
		return read_line_fd(argv[++*i], in, err);
	}
	if (strcmp(a, "--") == 0) {
		if (in->line || in->argv)
			return shunt_args_usage(err, "give one command: -c LINE or -- ARGV...");
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "-- needs a command");
		in->argv = &argv[*i + 1];
		*i = argc;
		return 1;
	}
	return 0;
}
