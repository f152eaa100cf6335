/* shunt gate: where the shim re-routes an exec it will not let through on
 * its own. Same as shunt exec, with the shim's resolved executable
 * (--exe) and source shim. With --shim-blocked first: the shim refused the
 * command itself (and said so) and passes its decision; only write it
 * down. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "record.h"

/* The command: the line, else the words of argv. */
static char *blocked_text(const struct shunt_cmd_input *in)
{
	if (in->line)
		return strdup(in->line);
	struct shunt_buf b = {0};
	for (size_t i = 0; in->argv[i]; i++) {
		if (i)
			shunt_buf_putc(&b, ' ');
		shunt_buf_puts(&b, in->argv[i]);
	}
	return shunt_buf_steal(&b);
}

/* "RISK:SCORE:RULE,RULE..." as the shim wrote it (block_decided in
 * preload/shim_decide.c) into d; rules point into spec, which is cut. */
static int parse_decided(char *spec, struct shunt_decision *d, struct shunt_error **err)
{
	char *score = strchr(spec, ':');
	char *rules = score ? strchr(score + 1, ':') : NULL;
	if (!rules || score != spec + 1 || *spec < '0' || *spec > '0' + SHUNT_RISK_CRITICAL)
		return shunt_args_usage(err, "--decided: expected RISK:SCORE:RULES, got '%s'",
					spec);
	*score++ = '\0';
	*rules++ = '\0';
	char *end = NULL;
	long n = strtol(score, &end, 10);
	if (end == score || *end || n < 0 || n > 100)
		return shunt_args_usage(err, "--decided: bad score '%s'", score);
	d->action = SHUNT_ACTION_BLOCK;
	d->risk = (enum shunt_risk)(*spec - '0');
	d->score = (int)n;
	d->profile = SHUNT_PROFILE_NONE;
	d->runtime = SHUNT_RUNTIME_NONE;
	for (char *save = NULL, *r = strtok_r(rules, ",", &save);
	     r && d->nrules < SHUNT_MAX_RULE_IDS; r = strtok_r(NULL, ",", &save))
		d->rules[d->nrules++] = r;
	return 0;
}

/* Writes down what the shim decided and refused: its decision comes
 * along (--decided, --why), so nothing is decided a second time. */
static int gate_record_block(int argc, char **argv, struct shunt_error **err)
{
	/* the shim has said it on the terminal already */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	enum shunt_source source = SHUNT_SOURCE_SHIM;
	struct shunt_cmd_input in = {0};
	struct shunt_decision d = {0};
	bool decided = false;
	for (int i = 2; i < argc; i++) {
		int t = shunt_args_take_command(argc, argv, &i, &in, err);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--exe") == 0 && i + 1 < argc) {
			i++; /* the record names the command as run */
		} else if (strcmp(argv[i], "--decided") == 0 && i + 1 < argc) {
			if (parse_decided(argv[++i], &d, err) < 0)
				return -1;
			decided = true;
		} else if (strcmp(argv[i], "--why") == 0 && i + 1 < argc) {
			snprintf(d.why, sizeof(d.why), "%s", argv[++i]);
		} else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			int s = shunt_source_parse(argv[++i]);
			if (s < 0)
				return shunt_args_usage(err, "unknown source '%s'", argv[i]);
			source = (enum shunt_source)s;
		} else {
			return shunt_args_usage(err, "unknown option '%s'", argv[i]);
		}
	}
	if (!in.line && !in.argv)
		return shunt_args_usage(err, "--shim-blocked: give -c LINE or -- ARGV...");
	if (!decided)
		return shunt_args_usage(err, "--shim-blocked: give --decided RISK:SCORE:RULES");
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, SHUNT_CTX_NO_RULES, err) < 0)
		return -1;
	_cleanup_free_ char *cmd = blocked_text(&in);
	if (cmd)
		shunt_record_decision(&ctx, source, cmd, &d, NULL, false);
	shunt_ctx_free(&ctx);
	return 126;
}

int shunt_cmd_gate(int argc, char **argv, struct shunt_error **err)
{
	if (argc > 1 && strcmp(argv[1], "--shim-blocked") == 0)
		return gate_record_block(argc, argv, err);
	return shunt_exec_main(argc, argv, true, err);
}
