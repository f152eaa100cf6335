/* SHUNT_NOTICE_FORMAT=json notices (see notice.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "notice.h"
#include "types.h"

bool shunt_notice_json_wanted(void)
{
	const char *f = getenv("SHUNT_NOTICE_FORMAT");
	return f && strcmp(f, "json") == 0;
}

static void put_str(struct shunt_buf *b, const char *key, const char *v)
{
	shunt_buf_printf(b, ",\"%s\":", key);
	if (v)
		shunt_buf_json_str(b, v, strlen(v));
	else
		shunt_buf_puts(b, "null");
}

void shunt_notice_json(const char *notice, const struct shunt_decision *d, const char *cmd,
		       const char *runtime, const char *profile)
{
	struct shunt_buf b = {0}, instead = {0};
	shunt_buf_puts(&b, "{\"shunt\":1");
	put_str(&b, "notice", notice);
	put_str(&b, "command", cmd);
	shunt_buf_puts(&b, ",\"rules\":[");
	for (size_t i = 0; i < d->nrules; i++) {
		if (i)
			shunt_buf_putc(&b, ',');
		shunt_buf_json_str(&b, d->rules[i], strlen(d->rules[i]));
	}
	shunt_buf_putc(&b, ']');
	put_str(&b, "why", d->why);
	put_str(&b, "risk", shunt_risk_name(d->risk));
	put_str(&b, "effect", d->remote_effect ? "remote" : "local");
	if (runtime) {
		shunt_buf_puts(&b, ",\"contained\":{\"runtime\":");
		shunt_buf_json_str(&b, runtime, strlen(runtime));
		put_str(&b, "profile", profile);
		shunt_buf_putc(&b, '}');
		shunt_buf_puts(&instead, "nothing: it runs in the sandbox; its changes outside the "
					 "workspace and its network are limited by the profile");
	} else {
		shunt_buf_puts(&b, ",\"contained\":null");
		shunt_buf_puts(&instead, "do not retry it another way; tell the person, who may "
					 "allow it with: shunt trust add ");
		shunt_buf_put_shquoted(&instead, cmd);
	}
	put_str(&b, "instead", instead.data);
	shunt_buf_puts(&b, "}\n");
	fputs(b.data, stderr);
	shunt_buf_free(&b);
	shunt_buf_free(&instead);
}
