/* shunt log [-n N] [--json] [--follow]: show the audit log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "json.h"

static const char usage_text[] =
    "usage: shunt log [-n N] [--json] [--follow]\n"
    "\n"
    "Shows the last N (default 20) audit records: time, event/action, risk,\n"
    "rule ids, command and why. --json prints the raw JSON lines. --follow\n"
    "keeps printing new records until interrupted. Corrupt lines are skipped\n"
    "with a warning on stderr.\n"
    "Log: $XDG_STATE_HOME/shunt/audit.jsonl (SHUNT_AUDIT_LOG overrides).\n";

/* Copies at most max bytes of s, replacing control bytes so one record
 * stays one line on the terminal. */
static void put_clean(struct shunt_buf *b, const char *s, size_t len, size_t max)
{
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		shunt_buf_putc(b, (c < 0x20 || c == 0x7f) ? '?' : (char)c);
	}
	if (len > max)
		shunt_buf_puts(b, "...");
}

/* Prints one line; returns false when it is not a valid record. */
static bool print_line(const char *line, bool json)
{
	size_t len = strlen(line);
	if (len == 0)
		return true;
	struct shunt_json *j = shunt_json_parse("audit", line, len, NULL);
	if (!j || j->type != SHUNT_JSON_OBJECT) {
		shunt_json_free(j);
		return false;
	}
	if (json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
		shunt_json_free(j);
		return true;
	}
	struct shunt_buf b = {0};
	const char *event = shunt_json_str(j, "event", "decision");
	const char *what = shunt_json_str(j, "action", NULL);
	if (strcmp(event, "decision") != 0 && strcmp(event, "exec") != 0)
		what = event;
	shunt_buf_printf(&b, "%-24s %-12s %-8s", shunt_json_str(j, "time", "?"),
			 what ? what : event, shunt_json_str(j, "risk", "-"));
	const struct shunt_json *rules = shunt_json_get(j, "rules");
	shunt_buf_puts(&b, " [");
	for (size_t i = 0; rules && rules->type == SHUNT_JSON_ARRAY && i < rules->len; i++) {
		if (rules->items[i]->type != SHUNT_JSON_STRING)
			continue;
		if (i)
			shunt_buf_putc(&b, ',');
		put_clean(&b, rules->items[i]->str, rules->items[i]->len, 64);
	}
	shunt_buf_puts(&b, "] ");
	const struct shunt_json *cmd = shunt_json_get(j, "command");
	if (cmd && cmd->type == SHUNT_JSON_STRING)
		put_clean(&b, cmd->str, cmd->len, 72);
	const struct shunt_json *why = shunt_json_get(j, "why");
	if (why && why->type == SHUNT_JSON_STRING && why->len) {
		shunt_buf_puts(&b, "  -- ");
		put_clean(&b, why->str, why->len, 120);
	}
	shunt_buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	shunt_buf_free(&b);
	shunt_json_free(j);
	return true;
}

static bool line_valid(const char *line)
{
	struct shunt_json *j = shunt_json_parse("audit", line, strlen(line), NULL);
	bool v = j && j->type == SHUNT_JSON_OBJECT;
	shunt_json_free(j);
	return v;
}

static void warn_bad(size_t bad)
{
	if (bad)
		fprintf(stderr, "shunt log: warning: skipped %zu corrupt line%s\n", bad,
			bad == 1 ? "" : "s");
}

/* Polls the log for appended lines; follows rotation (inode change or
 * shrink) by starting again at the top of the new file. */
static int follow(const char *path, off_t off, ino_t ino, bool json)
{
	char *pending = NULL;
	size_t plen = 0;
	for (;;) {
		struct stat st;
		if (stat(path, &st) == 0) {
			if (st.st_ino != ino || st.st_size < off) {
				ino = st.st_ino;
				off = 0;
				plen = 0;
			}
			if (st.st_size > off) {
				int fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd >= 0) {
					char buf[65536];
					ssize_t r;
					while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
						off += r;
						char *np = realloc(pending, plen + (size_t)r + 1);
						if (!np)
							break;
						pending = np;
						memcpy(pending + plen, buf, (size_t)r);
						plen += (size_t)r;
					}
					close(fd);
					size_t start = 0, bad = 0;
					for (size_t i = 0; i < plen; i++) {
						if (pending[i] != '\n')
							continue;
						pending[i] = '\0';
						if (!print_line(pending + start, json))
							bad++;
						start = i + 1;
					}
					memmove(pending, pending + start, plen - start);
					plen -= start;
					warn_bad(bad);
					fflush(stdout);
				}
			}
		}
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	free(pending);
	return 0;
}

int shunt_cmd_log(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	long n = 20;
	bool json = false, fol = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
			fol = true;
		} else if (strcmp(a, "-n") == 0 || strncmp(a, "-n", 2) == 0) {
			const char *v = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
			char *end;
			if (!v)
				return shunt_args_usage(err, "-n needs a number");
			errno = 0;
			n = strtol(v, &end, 10);
			if (errno || *end || n < 0 || n > 1000000)
				return shunt_args_usage(err, "bad -n value '%s'", v);
		} else {
			return shunt_args_usage(err, "unexpected argument '%s' (see --help)", a);
		}
	}
	_cleanup_free_ char *path = shunt_audit_path();
	if (!path)
		return shunt_error_set(err, ENOMEM, "out of memory");
	struct stat st;
	off_t off = 0;
	ino_t ino = 0;
	if (stat(path, &st) == 0) {
		off = st.st_size;
		ino = st.st_ino;
	}
	/* Corrupt lines do not count towards N: read further back until N
	 * valid records or the start of the log. */
	char **lines = NULL;
	size_t count = 0, want = (size_t)n, valid = 0, bad = 0;
	for (;;) {
		if (shunt_audit_tail(path, want, &lines, &count, err) < 0)
			return -1;
		valid = 0;
		for (size_t i = 0; i < count; i++)
			valid += line_valid(lines[i]);
		bad = count - valid;
		if (valid >= (size_t)n || count < want)
			break;
		shunt_audit_lines_free(lines, count);
		want += (size_t)n - valid;
	}
	size_t skip = valid > (size_t)n ? valid - (size_t)n : 0;
	size_t shown = 0;
	for (size_t i = 0; i < count; i++) {
		if (!line_valid(lines[i]))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		print_line(lines[i], json);
		shown++;
	}
	shunt_audit_lines_free(lines, count);
	warn_bad(bad);
	if (shown == 0 && !json && !fol)
		fprintf(stderr, "shunt log: no records in %s\n", path);
	fflush(stdout);
	if (fol)
		return follow(path, off, ino, json);
	return 0;
}
