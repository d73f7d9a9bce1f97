/* SPDX-License-Identifier: MIT */
/*
 * config.c - the configuration file (format in aoki-init(8)):
 *
 *   # comment                   ('#' or ';' first on a line, or '#' after a blank)
 *   [server NAME]
 *   exec = PROGRAM ARGS...      (split by init_split)
 *   port = NAME [NAME...]       (may repeat)
 *   restart = on-failure        (always | on-failure | never)
 *   backoff-min-ms = 0  backoff-max-ms = 5000  backoff-reset-ms = 10000
 *   crash-limit = 10  crash-window-s = 60  cool-down-s = 0
 *   no-restart-status = 2  stop-timeout-ms = 5000
 *
 * The syntax (comments, sections, keys) is lib/util/ini.h's, shared with
 * the other configuration files of the tree.  Every error names the file
 * and line.  The parser only reads text; the file system is looked at by
 * init_config_check_exec().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ini.h"
#include "init.h"

#define MS_MAX 3600000u		/* an hour: more is a typo */

/* Numeric keys: where they go and their range. */
static const struct num_key {
	const char *name;
	size_t off;
	unsigned min, max;
} num_keys[] = {
	{ "backoff-min-ms", offsetof(struct init_server_conf, backoff_min_ms), 0, MS_MAX },
	{ "backoff-max-ms", offsetof(struct init_server_conf, backoff_max_ms), 0, MS_MAX },
	{ "backoff-reset-ms", offsetof(struct init_server_conf, backoff_reset_ms), 0, MS_MAX },
	{ "crash-limit", offsetof(struct init_server_conf, crash_limit), 0, INIT_CRASH_LIMIT_MAX },
	{ "crash-window-s", offsetof(struct init_server_conf, crash_window_s), 1, 86400 },
	{ "cool-down-s", offsetof(struct init_server_conf, cool_down_s), 0, 86400 },
	{ "no-restart-status", offsetof(struct init_server_conf, no_restart_status), 0, 255 },
	{ "stop-timeout-ms", offsetof(struct init_server_conf, stop_timeout_ms), 0, MS_MAX },
};
#define NUM_KEYS (sizeof(num_keys) / sizeof(num_keys[0]))

/* Bits of "seen" for the keys that may appear once. */
enum { SEEN_EXEC = 1u << NUM_KEYS, SEEN_RESTART = SEEN_EXEC << 1 };

struct parser {
	const char *file;
	unsigned line;
	struct init_config *cfg;
	struct init_server_conf *cur;	/* the open section, or NULL */
	unsigned seen;			/* keys of cur already set */
	char *err;
	size_t errcap;
};

/* "FILE:LINE: what" in p->err; returns -EINVAL. */
#define fail(p, line, ...) ini_error((p)->err, (p)->errcap, (p)->file, (line), __VA_ARGS__)

int init_name_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789_.-");

	return n > 0 && n < INIT_NAME_MAX && !s[n] && s[0] != '.';
}

/* The open section is complete: check what needs the whole section. */
static int end_section(struct parser *p)
{
	struct init_server_conf *s = p->cur;

	p->cur = NULL;
	if (!s)
		return 0;
	if (!s->argv)
		return fail(p, s->line, "server '%s' has no exec", s->name);
	if (s->backoff_min_ms > s->backoff_max_ms)
		return fail(p, s->line, "server '%s': backoff-min-ms (%u) exceeds backoff-max-ms (%u)",
			    s->name, s->backoff_min_ms, s->backoff_max_ms);
	return 0;
}

static const struct init_server_conf *find_server(const struct init_config *cfg,
						  const char *name)
{
	for (unsigned i = 0; i < cfg->nservers; i++)
		if (!strcmp(cfg->servers[i].name, name))
			return &cfg->servers[i];
	return NULL;
}

/* The server (any, this one included) that already has @port, or NULL. */
static const struct init_server_conf *port_owner(const struct init_config *cfg,
						 const char *port)
{
	for (unsigned i = 0; i < cfg->nservers; i++)
		for (unsigned j = 0; j < cfg->servers[i].nports; j++)
			if (!strcmp(cfg->servers[i].ports[j], port))
				return &cfg->servers[i];
	return NULL;
}

/* "[server NAME]": @inner is "server NAME", trimmed. */
static int section(struct parser *p, const char *inner)
{
	struct init_config *cfg = p->cfg;
	struct init_server_conf *s, *grown;
	const struct init_server_conf *dup;
	const char *name;
	int r = end_section(p);

	if (r < 0)
		return r;
	if (strncmp(inner, "server", 6) || (inner[6] != ' ' && inner[6] != '\t'))
		return fail(p, p->line, "unknown section '[%s]' (expected [server NAME])", inner);
	name = inner + 6 + strspn(inner + 6, " \t");
	if (!init_name_ok(name))
		return fail(p, p->line, "bad server name '%s' (1-63 of A-Z a-z 0-9 _ . -, "
			    "not starting with '.')", name);
	dup = find_server(cfg, name);
	if (dup)
		return fail(p, p->line, "server '%s' already defined at line %u", name, dup->line);
	if (cfg->nservers == INIT_MAX_SERVERS)
		return fail(p, p->line, "more than %d servers", INIT_MAX_SERVERS);
	grown = realloc(cfg->servers, (cfg->nservers + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	cfg->servers = grown;
	s = &cfg->servers[cfg->nservers++];
	*s = (struct init_server_conf){
		.restart = INIT_RESTART_ON_FAILURE, .backoff_min_ms = 0,
		.backoff_max_ms = 5000, .backoff_reset_ms = 10000, .crash_limit = 10,
		.crash_window_s = 60, .cool_down_s = 0, .no_restart_status = 2,
		.stop_timeout_ms = 5000, .line = p->line,
	};
	strcpy(s->name, name);	/* fits: init_name_ok */
	p->cur = s;
	p->seen = 0;
	return 0;
}

static int set_ports(struct parser *p, const char *value)
{
	char val[INI_LINE_MAX];

	struct init_server_conf *s = p->cur;
	const struct init_server_conf *owner;

	snprintf(val, sizeof(val), "%s", value);	/* fits: it was a line */
	for (char *save, *w = strtok_r(val, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!init_name_ok(w))
			return fail(p, p->line, "bad port name '%s' (1-63 of A-Z a-z 0-9 _ . -, "
				    "not starting with '.')", w);
		owner = port_owner(p->cfg, w);
		if (owner)
			return fail(p, p->line, "port '%s' already belongs to server '%s'",
				    w, owner->name);
		if (s->nports == INIT_MAX_PORTS)
			return fail(p, p->line, "server '%s' has more than %d ports",
				    s->name, INIT_MAX_PORTS);
		strcpy(s->ports[s->nports++], w);
	}
	return 0;
}

static int set_number(struct parser *p, const struct num_key *k, const char *val)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (*val < '0' || *val > '9' || *end || errno || v < k->min || v > k->max)
		return fail(p, p->line, "%s: '%s' is not a whole number in %u..%u",
			    k->name, val, k->min, k->max);
	*(unsigned *)((char *)p->cur + k->off) = (unsigned)v;
	return 0;
}

static int once(struct parser *p, unsigned bit, const char *key)
{
	if (p->seen & bit)
		return fail(p, p->line, "%s given twice in server '%s'", key, p->cur->name);
	p->seen |= bit;
	return 0;
}

/* "key = value" inside a section. */
static int assignment(struct parser *p, const char *key, const char *val)
{
	static const char *const restarts[] = {
		[INIT_RESTART_ON_FAILURE] = "on-failure",
		[INIT_RESTART_ALWAYS] = "always",
		[INIT_RESTART_NEVER] = "never",
	};
	const char *why;
	int r;

	if (!p->cur)
		return fail(p, p->line, "'%s' outside a [server NAME] section", key);
	if (!*val)
		return fail(p, p->line, "%s: empty value", key);
	if (!strcmp(key, "port"))
		return set_ports(p, val);
	if (!strcmp(key, "exec")) {
		if ((r = once(p, SEEN_EXEC, key)) < 0)
			return r;
		r = init_split(val, &p->cur->argv, &why);
		if (r == -EINVAL)
			return fail(p, p->line, "exec: %s", why);
		p->cur->exec_line = p->line;
		return r < 0 ? r : 0;
	}
	if (!strcmp(key, "restart")) {
		if ((r = once(p, SEEN_RESTART, key)) < 0)
			return r;
		for (unsigned i = 0; i < sizeof(restarts) / sizeof(restarts[0]); i++) {
			if (!strcmp(val, restarts[i])) {
				p->cur->restart = (enum init_restart)i;
				return 0;
			}
		}
		return fail(p, p->line, "restart: '%s' is not always, on-failure or never", val);
	}
	for (unsigned i = 0; i < NUM_KEYS; i++) {
		if (!strcmp(key, num_keys[i].name)) {
			if ((r = once(p, 1u << i, key)) < 0)
				return r;
			return set_number(p, &num_keys[i], val);
		}
	}
	return fail(p, p->line, "unknown key '%s'", key);
}

/* One item of the file (ini_fn); fail() writes the errors. */
static int item(void *ctx, const struct ini_item *it)
{
	struct parser *p = ctx;

	p->line = it->line;
	return it->key ? assignment(p, it->key, it->value) : section(p, it->section);
}

int init_config_parse(FILE *f, const char *fname, struct init_config *cfg,
		      char *err, size_t errcap)
{
	struct parser p = { .file = fname, .cfg = cfg, .err = err, .errcap = errcap };
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (errcap)
		err[0] = 0;
	cfg->file = strdup(fname);
	if (!cfg->file)
		return -ENOMEM;
	r = ini_read(f, fname, item, &p, err, errcap);
	if (r == 0)
		r = end_section(&p);
	if (r == 0 && !cfg->nservers)
		r = fail(&p, p.line ? p.line : 1, "no [server NAME] section");
	if (r == -ENOMEM && errcap)
		snprintf(err, errcap, "%s: out of memory", fname);
	return r;
}

int init_config_load(const char *path, struct init_config *cfg, char *err, size_t errcap)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, errcap, "%s: %s", path, strerror(-r));
		return r;
	}
	r = init_config_parse(f, path, cfg, err, errcap);
	fclose(f);
	return r;
}

int init_config_check_exec(const struct init_config *cfg, char *err, size_t errcap)
{
	for (unsigned i = 0; i < cfg->nservers; i++) {
		const struct init_server_conf *s = &cfg->servers[i];
		const char *prog = s->argv[0];

		if (strchr(prog, '/') && access(prog, X_OK) < 0) {
			int r = -errno;

			snprintf(err, errcap, "%s:%u: exec: %s: %s", cfg->file, s->exec_line,
				 prog, strerror(-r));
			return r;
		}
	}
	return 0;
}

void init_config_free(struct init_config *cfg)
{
	for (unsigned i = 0; i < cfg->nservers; i++)
		free(cfg->servers[i].argv);
	free(cfg->servers);
	free(cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}
