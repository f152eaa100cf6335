/* `shunt config show`: the effective configuration as YAML or JSON. */
#include <string.h>

#include "buf.h"
#include "config_layer.h"

static void dump_strv_yaml(struct shunt_buf *o, const char *indent, const char *key,
			   const struct shunt_strv *v)
{
	shunt_buf_printf(o, "%s%s:", indent, key);
	if (!v->n) {
		shunt_buf_puts(o, " []\n");
		return;
	}
	shunt_buf_putc(o, '\n');
	for (size_t i = 0; i < v->n; i++) {
		shunt_buf_printf(o, "%s  - ", indent);
		shunt_buf_json_str(o, v->v[i], strlen(v->v[i]));
		shunt_buf_putc(o, '\n');
	}
}

static void dump_strv_json(struct shunt_buf *o, const char *key, const struct shunt_strv *v)
{
	shunt_buf_printf(o, "\"%s\":[", key);
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			shunt_buf_putc(o, ',');
		shunt_buf_json_str(o, v->v[i], strlen(v->v[i]));
	}
	shunt_buf_putc(o, ']');
}

/* Comment lines must stay single lines whatever the text holds. */
static void dump_comment(struct shunt_buf *o, const char *prefix, const char *s)
{
	shunt_buf_puts(o, prefix);
	for (; *s; s++)
		shunt_buf_putc(o, *s == '\n' || *s == '\r' ? ' ' : *s);
	shunt_buf_putc(o, '\n');
}

static void dump_yaml(const struct shunt_config *cfg, struct shunt_buf *o)
{
	const struct shunt_sandbox_config *s = &cfg->sandbox;
	shunt_buf_puts(o, "# effective shunt configuration\n");
	if (!cfg->sources.n)
		shunt_buf_puts(o, "# sources: built-in defaults only\n");
	else
		shunt_buf_puts(o, "# sources (later wins): built-in defaults\n");
	for (size_t i = 0; i < cfg->sources.n; i++)
		dump_comment(o, "#   ", cfg->sources.v[i]);
	for (size_t i = 0; i < cfg->warnings.n; i++)
		dump_comment(o, "# warning: ", cfg->warnings.v[i]);
	shunt_buf_printf(o, "mode: %s\n", shunt_mode_name(cfg->mode));
	shunt_buf_printf(o, "security_level: %s\n", shunt_level_name(cfg->security_level));
	shunt_buf_printf(o, "non_interactive: %s\n",
			 shunt_noninteractive_name(cfg->non_interactive));
	shunt_buf_printf(o, "on_error: %s\n", shunt_onerror_name(cfg->on_error));
	if (cfg->preset != SHUNT_PRESET_NONE)
		shunt_buf_printf(o, "# preset applied: %s\n", shunt_preset_name(cfg->preset));
	shunt_buf_puts(o, "sandbox:\n");
	shunt_buf_printf(o, "  runtime: %s\n",
			 cfg->remote_runtime ? "remote" : shunt_runtime_name(s->runtime));
	if (s->image) {
		shunt_buf_puts(o, "  image: ");
		shunt_buf_json_str(o, s->image, strlen(s->image));
		shunt_buf_putc(o, '\n');
	}
	shunt_buf_printf(o, "  timeout: %u\n", s->timeout);
	shunt_buf_printf(o, "  network_mode: %s%s\n",
			 shunt_netmode_name(shunt_config_effective_net(cfg)),
			 s->network_mode_set ? "" : "  # from security_level");
	dump_strv_yaml(o, "  ", "allow_hosts", &s->allow_hosts);
	shunt_buf_printf(o, "  enable_cache: %s\n", s->enable_cache ? "true" : "false");
	dump_strv_yaml(o, "  ", "cache_dirs", &s->cache_dirs);
	dump_strv_yaml(o, "  ", "env_whitelist", &s->env_whitelist);
	shunt_buf_puts(o, "  bind_mounts:");
	shunt_buf_puts(o, s->nbind_mounts ? "\n" : " []\n");
	for (size_t i = 0; i < s->nbind_mounts; i++) {
		shunt_buf_puts(o, "    - host_path: ");
		shunt_buf_json_str(o, s->bind_mounts[i].host_path,
				   strlen(s->bind_mounts[i].host_path));
		shunt_buf_puts(o, "\n      container_path: ");
		shunt_buf_json_str(o, s->bind_mounts[i].container_path,
				   strlen(s->bind_mounts[i].container_path));
		shunt_buf_printf(o, "\n      read_only: %s\n",
				 s->bind_mounts[i].read_only ? "true" : "false");
	}
	if (s->seccomp_profile) {
		shunt_buf_puts(o, "  seccomp_profile: ");
		shunt_buf_json_str(o, s->seccomp_profile, strlen(s->seccomp_profile));
		shunt_buf_putc(o, '\n');
	}
	shunt_buf_puts(o, "  profiles:\n");
	for (int p = 0; p < 4; p++)
		shunt_buf_printf(o, "    %s: %s\n", shunt_profile_name(p),
				 shunt_runtime_name(s->profile_runtime[p]));
	shunt_buf_printf(o, "  accept_weaker_isolation: %s\n",
			 s->accept_weaker_isolation ? "true" : "false");
	dump_strv_yaml(o, "  ", "hide_paths", &s->hide_paths);
	shunt_buf_printf(o, "  vm_backend: %s\n", shunt_config_vm_backends[s->vm_backend]);
	shunt_buf_puts(o, "policies:\n");
	dump_strv_yaml(o, "  ", "allowlist", &cfg->allowlist);
	dump_strv_yaml(o, "  ", "denylist", &cfg->denylist);
	dump_strv_yaml(o, "", "rules", &cfg->rule_files);
	shunt_buf_puts(o, "risk_floors:");
	shunt_buf_puts(o, cfg->nrisk_floors ? "\n" : " {}\n");
	for (size_t i = 0; i < cfg->nrisk_floors; i++) {
		shunt_buf_puts(o, "  ");
		shunt_buf_json_str(o, cfg->risk_floors[i].rule_id,
				   strlen(cfg->risk_floors[i].rule_id));
		shunt_buf_printf(o, ": %s\n", shunt_risk_name(cfg->risk_floors[i].risk));
	}
	shunt_buf_printf(o, "audit:\n  max_size: %llu\n", cfg->audit_max_bytes);
	if (cfg->audit_forward.url) {
		shunt_buf_puts(o, "  forward:\n    url: ");
		shunt_buf_json_str(o, cfg->audit_forward.url, strlen(cfg->audit_forward.url));
		shunt_buf_printf(o, "\n    format: %s\n    batch: %u\n",
				 cfg->audit_forward.format ? cfg->audit_forward.format : "jsonl",
				 cfg->audit_forward.batch);
		if (cfg->audit_forward.insecure)
			shunt_buf_puts(o, "    insecure: true\n");
	}
	if (cfg->remote_url) {
		shunt_buf_puts(o, "remote:\n  url: ");
		shunt_buf_json_str(o, cfg->remote_url, strlen(cfg->remote_url));
		if (cfg->remote_token_file) {
			shunt_buf_puts(o, "\n  token_file: ");
			shunt_buf_json_str(o, cfg->remote_token_file,
					   strlen(cfg->remote_token_file));
		}
		if (cfg->remote_ca_file) {
			shunt_buf_puts(o, "\n  ca_file: ");
			shunt_buf_json_str(o, cfg->remote_ca_file, strlen(cfg->remote_ca_file));
		}
		shunt_buf_printf(o, "\n  insecure: %s\n", cfg->remote_insecure ? "true" : "false");
	}
	shunt_buf_printf(o, "pool:\n  microvm: %u\n  gvisor: %u\n",
			 cfg->pool_size[SHUNT_RUNTIME_MICROVM],
			 cfg->pool_size[SHUNT_RUNTIME_GVISOR]);
	shunt_buf_printf(o, "prompt:\n  timeout: %u\n", cfg->prompt_timeout);
	shunt_buf_printf(o, "scripts:\n  max_bytes: %zu\n", cfg->script_max);
	if (cfg->npolicy_sources)
		shunt_buf_puts(o, "policy:\n  sources:\n");
	for (size_t i = 0; i < cfg->npolicy_sources; i++) {
		const struct shunt_policy_source *ps = &cfg->policy_sources[i];
		shunt_buf_puts(o, "    - url: ");
		shunt_buf_json_str(o, ps->url, strlen(ps->url));
		shunt_buf_puts(o, "\n");
		if (ps->sha256)
			shunt_buf_printf(o, "      sha256: %s\n", ps->sha256);
		if (ps->insecure)
			shunt_buf_puts(o, "      insecure: true\n");
	}
}

static void dump_json(const struct shunt_config *cfg, struct shunt_buf *o)
{
	const struct shunt_sandbox_config *s = &cfg->sandbox;
	shunt_buf_printf(o,
			 "{\"mode\":\"%s\",\"security_level\":\"%s\",\"non_interactive\":\"%s\","
			 "\"on_error\":\"%s\",",
			 shunt_mode_name(cfg->mode), shunt_level_name(cfg->security_level),
			 shunt_noninteractive_name(cfg->non_interactive),
			 shunt_onerror_name(cfg->on_error));
	if (cfg->preset == SHUNT_PRESET_NONE)
		shunt_buf_puts(o, "\"preset\":null,");
	else
		shunt_buf_printf(o, "\"preset\":\"%s\",", shunt_preset_name(cfg->preset));
	shunt_buf_printf(o, "\"sandbox\":{\"runtime\":\"%s\",\"image\":",
			 cfg->remote_runtime ? "remote" : shunt_runtime_name(s->runtime));
	if (s->image)
		shunt_buf_json_str(o, s->image, strlen(s->image));
	else
		shunt_buf_puts(o, "null");
	shunt_buf_printf(o,
			 ",\"timeout\":%u,\"network_mode\":\"%s\",\"network_mode_source\":\"%s\",",
			 s->timeout, shunt_netmode_name(shunt_config_effective_net(cfg)),
			 s->network_mode_set ? "config" : "security_level");
	dump_strv_json(o, "allow_hosts", &s->allow_hosts);
	shunt_buf_printf(o, ",\"enable_cache\":%s,", s->enable_cache ? "true" : "false");
	dump_strv_json(o, "cache_dirs", &s->cache_dirs);
	shunt_buf_putc(o, ',');
	dump_strv_json(o, "env_whitelist", &s->env_whitelist);
	shunt_buf_puts(o, ",\"bind_mounts\":[");
	for (size_t i = 0; i < s->nbind_mounts; i++) {
		shunt_buf_puts(o, i ? ",{\"host_path\":" : "{\"host_path\":");
		shunt_buf_json_str(o, s->bind_mounts[i].host_path,
				   strlen(s->bind_mounts[i].host_path));
		shunt_buf_puts(o, ",\"container_path\":");
		shunt_buf_json_str(o, s->bind_mounts[i].container_path,
				   strlen(s->bind_mounts[i].container_path));
		shunt_buf_printf(o, ",\"read_only\":%s}",
				 s->bind_mounts[i].read_only ? "true" : "false");
	}
	shunt_buf_puts(o, "],\"seccomp_profile\":");
	if (s->seccomp_profile)
		shunt_buf_json_str(o, s->seccomp_profile, strlen(s->seccomp_profile));
	else
		shunt_buf_puts(o, "null");
	shunt_buf_puts(o, ",\"profiles\":{");
	for (int p = 0; p < 4; p++)
		shunt_buf_printf(o, "%s\"%s\":\"%s\"", p ? "," : "", shunt_profile_name(p),
				 shunt_runtime_name(s->profile_runtime[p]));
	shunt_buf_printf(o, "},\"accept_weaker_isolation\":%s,",
			 s->accept_weaker_isolation ? "true" : "false");
	dump_strv_json(o, "hide_paths", &s->hide_paths);
	shunt_buf_printf(o, ",\"vm_backend\":\"%s\"", shunt_config_vm_backends[s->vm_backend]);
	shunt_buf_puts(o, "},\"policies\":{");
	dump_strv_json(o, "allowlist", &cfg->allowlist);
	shunt_buf_putc(o, ',');
	dump_strv_json(o, "denylist", &cfg->denylist);
	shunt_buf_puts(o, "},");
	dump_strv_json(o, "rules", &cfg->rule_files);
	shunt_buf_puts(o, ",\"risk_floors\":{");
	for (size_t i = 0; i < cfg->nrisk_floors; i++) {
		if (i)
			shunt_buf_putc(o, ',');
		shunt_buf_json_str(o, cfg->risk_floors[i].rule_id,
				   strlen(cfg->risk_floors[i].rule_id));
		shunt_buf_printf(o, ":\"%s\"", shunt_risk_name(cfg->risk_floors[i].risk));
	}
	shunt_buf_printf(o, "},\"audit\":{\"max_size\":%llu", cfg->audit_max_bytes);
	if (cfg->audit_forward.url) {
		shunt_buf_puts(o, ",\"forward\":{\"url\":");
		shunt_buf_json_str(o, cfg->audit_forward.url, strlen(cfg->audit_forward.url));
		shunt_buf_printf(o, ",\"format\":\"%s\",\"batch\":%u,\"insecure\":%s}",
				 cfg->audit_forward.format ? cfg->audit_forward.format : "jsonl",
				 cfg->audit_forward.batch,
				 cfg->audit_forward.insecure ? "true" : "false");
	}
	shunt_buf_puts(o, "},\"policy\":{\"sources\":[");
	for (size_t i = 0; i < cfg->npolicy_sources; i++) {
		const struct shunt_policy_source *ps = &cfg->policy_sources[i];
		shunt_buf_puts(o, i ? ",{\"url\":" : "{\"url\":");
		shunt_buf_json_str(o, ps->url, strlen(ps->url));
		shunt_buf_puts(o, ",\"sha256\":");
		if (ps->sha256)
			shunt_buf_printf(o, "\"%s\"", ps->sha256);
		else
			shunt_buf_puts(o, "null");
		shunt_buf_printf(o, ",\"insecure\":%s}", ps->insecure ? "true" : "false");
	}
	shunt_buf_printf(o, "]},\"pool\":{\"microvm\":%u,\"gvisor\":%u},",
			 cfg->pool_size[SHUNT_RUNTIME_MICROVM],
			 cfg->pool_size[SHUNT_RUNTIME_GVISOR]);
	shunt_buf_printf(o, "\"prompt\":{\"timeout\":%u},", cfg->prompt_timeout);
	shunt_buf_printf(o, "\"scripts\":{\"max_bytes\":%zu},", cfg->script_max);
	dump_strv_json(o, "sources", &cfg->sources);
	shunt_buf_putc(o, ',');
	dump_strv_json(o, "warnings", &cfg->warnings);
	shunt_buf_puts(o, "}\n");
}

void shunt_config_dump(const struct shunt_config *cfg, bool json, struct shunt_buf *out)
{
	if (json)
		dump_json(cfg, out);
	else
		dump_yaml(cfg, out);
}
