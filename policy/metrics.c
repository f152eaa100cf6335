/* Aggregation of counters and audit tail for `shunt metrics`. */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "json.h"
#include "types.h"

#define TEXT_RECENT 10

int shunt_metrics_collect(const struct shunt_counters *c, const char *audit_path, size_t nrecent,
			  struct shunt_metrics *m, struct shunt_error **err)
{
	memset(m, 0, sizeof(*m));
	if (c) {
		/* field-wise atomic loads: writers keep adding meanwhile */
		const uint64_t *src = (const uint64_t *)c;
		uint64_t *dst = (uint64_t *)&m->c;
		for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
			dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
	if (!audit_path || !nrecent)
		return 0;
	char **lines = NULL;
	size_t n = 0;
	/* other events (trust-add, net-*) are interleaved: read more lines */
	if (shunt_audit_tail(audit_path, nrecent * 4, &lines, &n, err) < 0)
		return -1;
	m->recent = calloc(nrecent, sizeof(*m->recent));
	if (!m->recent) {
		shunt_audit_lines_free(lines, n);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	/* walk newest first, then reverse to oldest first */
	for (size_t i = n; i > 0 && m->nrecent < nrecent; i--) {
		struct shunt_json *j =
		    shunt_json_parse("audit", lines[i - 1], strlen(lines[i - 1]), NULL);
		if (!j || j->type != SHUNT_JSON_OBJECT) {
			m->skipped++;
			shunt_json_free(j);
			continue;
		}
		const char *ev = shunt_json_str(j, "event", "decision");
		if (strcmp(ev, "decision") != 0 && strcmp(ev, "exec") != 0) {
			shunt_json_free(j);
			continue;
		}
		m->recent[m->nrecent++] = j;
	}
	for (size_t i = 0; i < m->nrecent / 2; i++) {
		struct shunt_json *t = m->recent[i];
		m->recent[i] = m->recent[m->nrecent - 1 - i];
		m->recent[m->nrecent - 1 - i] = t;
	}
	shunt_audit_lines_free(lines, n);
	return 0;
}

void shunt_metrics_free(struct shunt_metrics *m)
{
	for (size_t i = 0; i < m->nrecent; i++)
		shunt_json_free(m->recent[i]);
	free(m->recent);
	memset(m, 0, sizeof(*m));
}

static double pct(uint64_t part, uint64_t total)
{
	return total ? 100.0 * (double)part / (double)total : 0.0;
}

static void line_count(struct shunt_buf *b, const char *label, uint64_t v, uint64_t total)
{
	shunt_buf_printf(b, "%-18s%5llu (%.1f%%)\n", label, (unsigned long long)v, pct(v, total));
}

static void put_json_field(struct shunt_buf *b, const struct shunt_json *j, const char *key)
{
	const struct shunt_json *v = shunt_json_get(j, key);
	shunt_buf_printf(b, "\"%s\":", key);
	if (!v) {
		shunt_buf_puts(b, "null");
		return;
	}
	switch (v->type) {
	case SHUNT_JSON_STRING:
		shunt_buf_json_str(b, v->str, v->len);
		break;
	case SHUNT_JSON_NUMBER:
		shunt_buf_printf(b, "%.15g", v->num);
		break;
	case SHUNT_JSON_BOOL:
		shunt_buf_puts(b, v->b ? "true" : "false");
		break;
	case SHUNT_JSON_ARRAY:
		shunt_buf_putc(b, '[');
		for (size_t i = 0, k = 0; i < v->len; i++) {
			if (v->items[i]->type != SHUNT_JSON_STRING)
				continue;
			if (k++)
				shunt_buf_putc(b, ',');
			shunt_buf_json_str(b, v->items[i]->str, v->items[i]->len);
		}
		shunt_buf_putc(b, ']');
		break;
	default:
		shunt_buf_puts(b, "null");
	}
}

static void put_duration(struct shunt_buf *b, double ms)
{
	if (ms < 1000)
		shunt_buf_printf(b, "%.0f ms", ms);
	else
		shunt_buf_printf(b, "%.1f s", ms / 1000.0);
}

void shunt_metrics_text(const struct shunt_metrics *m, struct shunt_buf *b)
{
	const struct shunt_counters *c = &m->c;
	uint64_t t = c->total;
	shunt_buf_puts(b, "shunt metrics\n=============\n");
	shunt_buf_printf(b, "%-18s%5llu\n", "Total executions:", (unsigned long long)t);
	line_count(b, "  host:", c->by_action[SHUNT_ACTION_HOST], t);
	line_count(b, "  sandbox:", c->by_action[SHUNT_ACTION_SANDBOX], t);
	line_count(b, "  prompted:", c->by_action[SHUNT_ACTION_PROMPT], t);
	line_count(b, "  blocked:", c->by_action[SHUNT_ACTION_BLOCK], t);
	line_count(b, "  trusted:", c->trusted, t);
	shunt_buf_puts(b, "By risk:  ");
	for (size_t i = 0; i < 4; i++)
		shunt_buf_printf(b, "%s%s %llu", i ? " \xc2\xb7 " : "", shunt_risk_name((int)i),
				 (unsigned long long)c->by_risk[i]);
	shunt_buf_puts(b, "\nBy runtime:");
	size_t shown = 0;
	for (size_t i = 0; i < 8; i++) {
		if (!c->by_runtime[i] || i >= shunt_runtime_count)
			continue;
		shunt_buf_printf(b, "%s %s %llu", shown++ ? " \xc2\xb7" : "",
				 shunt_runtime_name((int)i), (unsigned long long)c->by_runtime[i]);
	}
	if (!shown)
		shunt_buf_puts(b, " none");
	shunt_buf_puts(b, "\nBy source: ");
	for (size_t i = 0; i < 3; i++)
		shunt_buf_printf(b, "%s%s %llu", i ? " \xc2\xb7 " : "", shunt_source_name((int)i),
				 (unsigned long long)c->by_source[i]);
	shunt_buf_printf(
	    b, "\nCache hits: %llu\nAverage duration: ", (unsigned long long)c->cache_hits);
	if (c->duration_count)
		put_duration(b, (double)c->duration_ms_total / (double)c->duration_count);
	else
		shunt_buf_puts(b, "n/a");
	shunt_buf_putc(b, '\n');
	if (m->nrecent) {
		size_t from = m->nrecent > TEXT_RECENT ? m->nrecent - TEXT_RECENT : 0;
		shunt_buf_printf(b, "\nRecent executions (last %zu of %zu; --json lists all):\n",
				 m->nrecent - from, m->nrecent);
		for (size_t i = from; i < m->nrecent; i++) {
			const struct shunt_json *j = m->recent[i];
			const char *cmd = shunt_json_str(j, "command", "");
			shunt_buf_printf(
			    b, "  %-24.24s %-7.7s %-8.8s ", shunt_json_str(j, "time", "?"),
			    shunt_json_str(j, "action", "-"), shunt_json_str(j, "risk", "-"));
			size_t len = strlen(cmd);
			for (size_t k = 0; k < len && k < 60; k++)
				shunt_buf_putc(b,
					       (cmd[k] >= 0x20 && cmd[k] != 0x7f) ? cmd[k] : '?');
			if (len > 60)
				shunt_buf_puts(b, "...");
			shunt_buf_putc(b, '\n');
		}
	}
}

void shunt_metrics_json(const struct shunt_metrics *m, struct shunt_buf *b)
{
	const struct shunt_counters *c = &m->c;
	shunt_buf_printf(b,
			 "{\"total\":%llu,\"host\":%llu,\"sandbox\":%llu,\"prompted\":%llu,"
			 "\"blocked\":%llu,\"trusted\":%llu,\"by_risk\":{",
			 (unsigned long long)c->total, (unsigned long long)c->by_action[0],
			 (unsigned long long)c->by_action[1], (unsigned long long)c->by_action[2],
			 (unsigned long long)c->by_action[3], (unsigned long long)c->trusted);
	for (size_t i = 0; i < 4; i++)
		shunt_buf_printf(b, "%s\"%s\":%llu", i ? "," : "", shunt_risk_name((int)i),
				 (unsigned long long)c->by_risk[i]);
	shunt_buf_puts(b, "},\"by_runtime\":{");
	size_t k = 0;
	for (size_t i = 0; i < 8 && i < shunt_runtime_count; i++) {
		if (!c->by_runtime[i])
			continue;
		shunt_buf_printf(b, "%s\"%s\":%llu", k++ ? "," : "", shunt_runtime_name((int)i),
				 (unsigned long long)c->by_runtime[i]);
	}
	shunt_buf_puts(b, "},\"by_source\":{");
	for (size_t i = 0; i < 3; i++)
		shunt_buf_printf(b, "%s\"%s\":%llu", i ? "," : "", shunt_source_name((int)i),
				 (unsigned long long)c->by_source[i]);
	shunt_buf_printf(b,
			 "},\"cache_hits\":%llu,\"duration_count\":%llu,\"average_duration_ms\":",
			 (unsigned long long)c->cache_hits, (unsigned long long)c->duration_count);
	if (c->duration_count)
		shunt_buf_printf(b, "%.1f",
				 (double)c->duration_ms_total / (double)c->duration_count);
	else
		shunt_buf_puts(b, "null");
	if (c->reset_time)
		shunt_buf_printf(b, ",\"reset_time\":%llu", (unsigned long long)c->reset_time);
	else
		shunt_buf_puts(b, ",\"reset_time\":null");
	shunt_buf_puts(b, ",\"recent\":[");
	static const char *const fields[] = {"time",  "event",	 "source",	"action",   "risk",
					     "rules", "command", "duration_ms", "exit_code"};
	for (size_t i = 0; i < m->nrecent; i++) {
		shunt_buf_puts(b, i ? ",{" : "{");
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			if (f)
				shunt_buf_putc(b, ',');
			put_json_field(b, m->recent[i], fields[f]);
		}
		shunt_buf_putc(b, '}');
	}
	shunt_buf_puts(b, "]}\n");
}
