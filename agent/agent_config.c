/*
 * agent_config: the daemon's configuration from three sources, through one
 * table of keys (keys[] below) that loading, the environment and printing
 * all read.
 *
 * Every value, whatever its source, goes through acv_parse() when it is
 * set, so an error names the source that gave it ("WORKERS__COUNT
 * (environment): ..." or "agent.yml:4:10: workers.count: ..."). After the
 * last source, keys nobody set take their defaults, in table order, so a
 * computed default (queue.url from data.dir) sees the final value of what
 * it is computed from. A value a later source replaces is still checked.
 * An empty value unsets an optional string key (api.token, git.token, ...);
 * control characters are refused in every value but a secret's. Secret
 * values are never shown: messages speak of their length, print writes
 * '***', and their memory is wiped when freed. URLs are shown with their
 * password (user:PASS@, password=) as ***.
 *
 * Parsing and checking one value, redacting URLs and quoting for YAML are
 * in agent_config_value.c; agent_config_int.h is what the two share.
 */
#include "agent_config.h"
#include "agent_config_int.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/crypto.h"
#include "../lib/fs.h"
#include "../lib/util.h"
#include "../workflows/yml.h"

/* A secret file, or any KEY_FILE, is read up to this size. */
#define VALUE_FILE_MAX (1 << 20)

/* The signature of a computed default (from keys earlier in the table). */
#define COMPUTE_FN(fn) static int fn(char **out, const struct agent_config *c, \
				     char *const *envp, struct buf *why)

enum src_kind { SRC_DEFAULT, SRC_FILE, SRC_ENV };

/* Where a key's value came from; c->sources is an array of these, one per
 * key in table order. */
struct src {
	enum src_kind kind;
	bool via_file;		/* read from the file named in path */
	char *name;		/* owned: env variable or config file */
	char *path;		/* owned: via_file's file */
	int line, col;		/* SRC_FILE */
};

COMPUTE_FN(compute_public_url);
COMPUTE_FN(compute_data_dir);
COMPUTE_FN(compute_queue_url);
COMPUTE_FN(compute_agent_id);
COMPUTE_FN(compute_artifacts);

static const char *const on_lost_values[] = { "requeue", "fail", NULL };
static const char *const sandbox_values[] = { "strict", "off", NULL };
static const char *const network_values[] = { "host", "loopback", "none", NULL };

#define KEY(sec, nm, ty, fl, fld) .section = sec, .name = nm, .type = ty, \
	.flags = fl, .off = offsetof(struct agent_config, fld)

static const struct key keys[] = {
	{ KEY("server", "listen", T_STR, 0, listen), .def = "127.0.0.1:8080",
	  .check = acv_check_listen },
	{ KEY("server", "public_url", T_STR, 0, public_url),
	  .compute = compute_public_url, .check = acv_check_http_url },
	{ KEY("server", "max_body", T_SIZE, 0, max_body), .def = "25M",
	  .min = 1024, .max = 1LL << 30 },
	{ KEY("data", "dir", T_STR, 0, data_dir), .compute = compute_data_dir,
	  .check = acv_check_abs_dir },
	{ KEY("data", "retention_days", T_INT, 0, retention_days), .def = "30",
	  .min = 0, .max = 3650 },
	{ KEY("queue", "url", T_STR, F_URL, queue_url),
	  .compute = compute_queue_url, .check = acv_check_queue_url },
	{ KEY("queue", "on_lost", T_ENUM, 0, on_lost), .def = "requeue",
	  .values = on_lost_values },
	{ KEY("queue", "lease", T_INT, 0, lease), .def = "30",
	  .min = 5, .max = 3600 },
	{ KEY("queue", "max_attempts", T_INT, 0, max_attempts), .def = "3",
	  .min = 1, .max = 100 },
	{ KEY("agent", "id", T_STR, 0, agent_id), .compute = compute_agent_id },
	{ KEY("webhook", "secret", T_STR, F_SECRET | F_REQUIRED, webhook_secret),
	  .min = 16 },
	{ KEY("api", "token", T_STR, F_SECRET, api_token), .min = 16 },
	{ KEY("git", "token", T_STR, F_SECRET, git_token) },
	{ KEY("git", "ca_bundle", T_STR, 0, git_ca_bundle) },
	{ KEY("oidc", "issuer", T_STR, 0, oidc_issuer), .check = acv_check_http_url },
	{ KEY("oidc", "lifetime", T_INT, 0, oidc_lifetime), .def = "600",
	  .min = 60, .max = 86400 },
	{ KEY("workers", "count", T_INT, 0, workers), .def = "2",
	  .min = 1, .max = 256 },
	{ KEY("workers", "grace", T_INT, 0, grace), .def = "60",
	  .min = 0, .max = 86400 },
	{ KEY("workers", "jobs", T_INT, 0, jobs), .def = "0",
	  .min = 0, .max = 256 },
	{ KEY("workers", "sandbox", T_ENUM, F_TEXT, sandbox), .def = "strict",
	  .values = sandbox_values },
	{ KEY("workers", "network", T_ENUM, F_TEXT, network), .def = "host",
	  .values = network_values },
	{ KEY("workers", "memory", T_SIZE, F_TEXT, memory), .def = "4G",
	  .min = 16LL << 20, .max = 1LL << 50 },
	{ KEY("workers", "prestart", T_BOOL, 0, prestart), .def = "true" },
	{ KEY("storage", "artifacts", T_STR, 0, artifacts),
	  .compute = compute_artifacts },
	{ KEY("storage", "secrets_file", T_STR, 0, secrets_file) },
	{ KEY("status", "enabled", T_BOOL, 0, status), .def = "true" },
	{ KEY("status", "api_url", T_STR, F_URL, status_api_url),
	  .check = acv_check_http_url },
	{ KEY("status", "context", T_STR, 0, status_context), .def = "gantry" },
};

#define N_KEYS ARRAY_SIZE(keys)

_Static_assert(sizeof(enum on_lost) == sizeof(int),
	       "T_ENUM without F_TEXT is stored as an int");

/* ---- small helpers ---- */

static void *field(const struct agent_config *c, const struct key *k)
{
	return (char *)c + k->off;
}

static void free_secret(char *s, bool secret)
{
	if (s && secret)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void src_release(struct src *s)
{
	free(s->name);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* The upper-case form of s (ASCII) in out. */
static void upper(char *out, size_t outsz, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < outsz; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[i] = '\0';
}

static bool stored_as_text(const struct key *k)
{
	return k->type == T_STR || (k->flags & F_TEXT);
}

/* Move v into c's field for k. */
static void store(struct agent_config *c, const struct key *k, union value *v)
{
	void *f = field(c, k);

	if (stored_as_text(k)) {
		free_secret(*(char **)f, k->flags & F_SECRET);
		*(char **)f = v->s;
	} else if (k->type == T_INT) {
		*(long *)f = v->n;
	} else if (k->type == T_BOOL) {
		*(bool *)f = v->b;
	} else if (k->type == T_ENUM) {
		memcpy(f, &v->idx, sizeof(int));
	} else {
		*(long long *)f = v->size;
	}
	memset(v, 0, sizeof(*v));
}

/* ---- computed defaults ---- */

COMPUTE_FN(compute_public_url)
{
	*out = xasprintf("http://%s", c->listen);
	return 0;
}

COMPUTE_FN(compute_data_dir)
{
	const char *home = env_get(envp, "HOME");

	if (geteuid() == 0) {
		*out = xstrdup("/var/lib/gantry");
		return 0;
	}
	if (!home || !*home) {
		buf_adds(why, "HOME is not set: set DATA__DIR");
		return -1;
	}
	*out = xasprintf("%s/.local/share/gantry/agent", home);
	return 0;
}

COMPUTE_FN(compute_queue_url)
{
	*out = xasprintf("sqlite://%s/queue.db", c->data_dir);
	return 0;
}

COMPUTE_FN(compute_agent_id)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char host[256];

	if (gethostname(host, sizeof(host)) < 0 || !*host)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	crypto_sha256(md, c->data_dir, strlen(c->data_dir));
	*out = xasprintf("%s/%02x%02x%02x%02x", host, md[0], md[1], md[2], md[3]);
	return 0;
}

COMPUTE_FN(compute_artifacts)
{
	*out = xasprintf("%s/artifacts", c->data_dir);
	return 0;
}

/* ---- loading ---- */

struct loader {
	struct agent_config *c;
	struct src *srcs;	/* c->sources */
	char *raw[N_KEYS];	/* owned: the text each source set */
	struct err *e;
};

/* "where: " for a message about k's value from s. */
static void where(struct buf *b, const struct key *k, const struct src *s)
{
	if (s->kind == SRC_FILE && s->via_file)
		buf_printf(b, "%s:%d:%d: %s.%s_file (%s): ", s->name, s->line,
			   s->col, k->section, k->name, s->path);
	else if (s->kind == SRC_FILE)
		buf_printf(b, "%s:%d:%d: %s.%s: ", s->name, s->line, s->col,
			   k->section, k->name);
	else if (s->kind == SRC_ENV)
		buf_printf(b, "%s (environment): ", s->name);
	else
		buf_printf(b, "%s.%s (default): ", k->section, k->name);
}

static int fail_at(struct loader *ld, const struct key *k,
		   const struct src *s, const char *why)
{
	struct buf b = BUF_INIT;

	where(&b, k, s);
	err_set(ld->e, ERR_INVALID, "%s%s", b.ptr, why);
	buf_release(&b);
	return -1;
}

/* The content of path for a KEY_FILE, less one trailing newline. */
static int read_value_file(char **out, const char *path, struct buf *why)
{
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	int ret = -1;

	buf_init(&b, VALUE_FILE_MAX);
	if (fs_read_file(&b, path, &e) < 0) {
		buf_adds(why, e.msg);
		goto done;
	}
	if (memchr(b.ptr, '\0', b.len)) {
		buf_printf(why, "%s contains a NUL byte", path);
		goto done;
	}
	if (str_ends_with(b.ptr, "\r\n"))
		b.len -= 2;
	else if (str_ends_with(b.ptr, "\n"))
		b.len--;
	*out = xstrndup(b.ptr, b.len);
	ret = 0;
done:
	if (b.alloc)
		explicit_bzero(b.ptr, b.alloc);
	buf_release(&b);
	return ret;
}

/* Key ki gets value from s (taken), or with s->via_file the content of
 * the file named value. */
static int set_raw(struct loader *ld, size_t ki, const char *value,
		   struct src *s)
{
	const struct key *k = &keys[ki];
	struct buf why = BUF_INIT;
	char *text = NULL;
	union value v;
	int ret = -1;

	if (s->via_file) {
		s->path = xstrdup(value);
		if (read_value_file(&text, s->path, &why) < 0)
			goto done;
	} else {
		text = xstrdup(value);
	}
	if (acv_parse(k, text, &v, &why) < 0)
		goto done;
	if (stored_as_text(k))
		free_secret(v.s, k->flags & F_SECRET);
	free_secret(ld->raw[ki], k->flags & F_SECRET);
	ld->raw[ki] = text;
	text = NULL;
	src_release(&ld->srcs[ki]);
	ld->srcs[ki] = *s;
	memset(s, 0, sizeof(*s));
	ret = 0;
done:
	if (ret < 0)
		fail_at(ld, k, s, why.ptr);
	free_secret(text, k->flags & F_SECRET);
	src_release(s);
	buf_release(&why);
	return ret;
}

/* The key called name in section, or name less its _file / _FILE suffix
 * (then *via_file). -1 when there is none. */
static long find_key(const char *section, const char *name, bool env,
		     bool *via_file)
{
	const char *suffix = env ? "_FILE" : "_file";
	size_t i, n = strlen(name);
	char up[64];

	for (*via_file = false;; *via_file = true) {
		for (i = 0; i < N_KEYS; i++) {
			if (strcmp(keys[i].section, section))
				continue;
			if (env)
				upper(up, sizeof(up), keys[i].name);
			if (strlen(keys[i].name) == n &&
			    !strncmp(env ? up : keys[i].name, name, n))
				return (long)i;
		}
		if (*via_file || n <= 5 || strcmp(name + n - 5, suffix))
			return -1;
		n -= 5;
	}
}

/* "listen, public_url, max_body" (upper case for the environment). */
static void list_keys(struct buf *b, const char *section, bool env)
{
	char up[64];
	size_t i;
	bool first = true;

	for (i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section))
			continue;
		upper(up, sizeof(up), keys[i].name);
		buf_printf(b, "%s%s", first ? "" : ", ", env ? up : keys[i].name);
		first = false;
	}
}

static const char *find_section(const char *name, size_t n, bool env)
{
	char up[64];
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		upper(up, sizeof(up), keys[i].section);
		if (strlen(up) == n &&
		    !strncmp(env ? up : keys[i].section, name, n))
			return keys[i].section;
	}
	return NULL;
}

static void list_sections(struct buf *b)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (!i || strcmp(keys[i].section, keys[i - 1].section))
			buf_printf(b, "%s%s", i ? ", " : "", keys[i].section);
}

static int pos_fail(struct loader *ld, const struct yml_node *n,
		    struct buf *msg)
{
	err_set(ld->e, ERR_INVALID, "%s:%d:%d: %s", n->pos.file, n->pos.line,
		n->pos.col, msg->ptr);
	buf_release(msg);
	return -1;
}

/* One "key: value" of section sec in the file. */
static int load_file_key(struct loader *ld, const char *sec,
			 const struct yml_pair *p)
{
	struct buf msg = BUF_INIT;
	struct src s = { SRC_FILE, false, NULL, NULL, 0, 0 };
	const struct yml_node *val = p->val;
	long ki;
	int ret;

	ki = find_key(sec, p->key->str, false, &s.via_file);
	if (ki < 0) {
		buf_printf(&msg, "unknown key '%s' in section %s; its keys are: ",
			   p->key->str, sec);
		list_keys(&msg, sec, false);
		buf_adds(&msg, " (each may also be written KEY_file: PATH)");
		return pos_fail(ld, p->key, &msg);
	}
	if (yml_is_null(val))
		return 0;
	if (val->kind != YML_SCALAR) {
		buf_printf(&msg, "%s.%s%s must be a scalar, not a %s", sec,
			   keys[ki].name, s.via_file ? "_file" : "",
			   yml_kind_name(val));
		return pos_fail(ld, val, &msg);
	}
	if (strlen(val->str) != val->len) {
		buf_printf(&msg, "%s.%s contains a NUL byte", sec, keys[ki].name);
		return pos_fail(ld, val, &msg);
	}
	if (ld->srcs[ki].kind == SRC_FILE) {
		buf_printf(&msg, "both %s.%s and %s.%s_file are set; keep one",
			   sec, keys[ki].name, sec, keys[ki].name);
		return pos_fail(ld, p->key, &msg);
	}
	s.name = xstrdup(val->pos.file);
	s.line = val->pos.line;
	s.col = val->pos.col;
	ret = set_raw(ld, (size_t)ki, val->str, &s);
	/* the document's copy of a secret goes too */
	if ((keys[ki].flags & F_SECRET) && !s.via_file)
		explicit_bzero(val->str, val->len);
	return ret;
}

/* The file: a mapping of sections, each a mapping of scalar keys. */
static int load_file(struct loader *ld, const char *path)
{
	struct yml_doc *doc = NULL;
	const struct yml_node *root;
	struct buf msg = BUF_INIT;
	const char *sec;
	size_t i, j;
	int ret = -1;

	if (yml_load_file(&doc, path, NULL, ld->e) < 0)
		goto done;
	root = doc->root;
	if (yml_is_null(root)) {
		ret = 0;
		goto done;
	}
	if (root->kind != YML_MAP) {
		buf_printf(&msg, "the configuration is a %s, not a mapping of "
			   "sections (", yml_kind_name(root));
		list_sections(&msg);
		buf_adds(&msg, ")");
		pos_fail(ld, root, &msg);
		goto done;
	}
	for (i = 0; i < root->n_pairs; i++) {
		const struct yml_pair *p = &root->pairs[i];

		sec = find_section(p->key->str, p->key->len, false);
		if (!sec) {
			buf_printf(&msg, "unknown section '%s'; the sections are: ",
				   p->key->str);
			list_sections(&msg);
			pos_fail(ld, p->key, &msg);
			goto done;
		}
		if (yml_is_null(p->val))
			continue;
		if (p->val->kind != YML_MAP) {
			buf_printf(&msg, "section %s must be a mapping of keys, "
				   "not a %s", sec, yml_kind_name(p->val));
			pos_fail(ld, p->val, &msg);
			goto done;
		}
		for (j = 0; j < p->val->n_pairs; j++)
			if (load_file_key(ld, sec, &p->val->pairs[j]) < 0)
				goto done;
	}
	ret = 0;
done:
	buf_release(&msg);
	yml_doc_free(doc);
	return ret;
}

/* One NAME=VALUE of the environment; NAME is SECTION__KEY[_FILE]. */
static int load_env_var(struct loader *ld, const char *var)
{
	const char *eq = strchr(var, '='), *us = strstr(var, "__"), *sec;
	struct src s = { SRC_ENV, false, NULL, NULL, 0, 0 };
	struct buf msg = BUF_INIT;
	char *name;
	long ki;
	int ret = -1;

	if (!eq || !us || us > eq)
		return 0;
	sec = find_section(var, (size_t)(us - var), true);
	if (!sec)
		return 0;
	name = xstrndup(var, (size_t)(eq - var));
	ki = find_key(sec, name + (us - var) + 2, true, &s.via_file);
	if (ki < 0) {
		buf_printf(&msg, "%s (environment): unknown key in section %s; "
			   "its keys are: ", name, sec);
		list_keys(&msg, sec, true);
		buf_adds(&msg, " (each may also end in _FILE)");
		err_set(ld->e, ERR_INVALID, "%s", msg.ptr);
		goto done;
	}
	if (ld->srcs[ki].kind == SRC_ENV && strcmp(ld->srcs[ki].name, name)) {
		err_set(ld->e, ERR_INVALID, "%s and %s are both set in the "
			"environment; keep one", ld->srcs[ki].name, name);
		goto done;
	}
	s.name = name;
	name = NULL;
	ret = set_raw(ld, (size_t)ki, eq + 1, &s);
done:
	free(name);
	buf_release(&msg);
	return ret;
}

/* Keys no source set take their defaults; then all go into c. */
static int finish(struct loader *ld, char *const *envp)
{
	struct buf why = BUF_INIT;
	size_t i;
	int ret = -1;

	for (i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		char *computed = NULL;
		const char *text = ld->raw[i];
		union value v;

		if (!text && k->compute &&
		    k->compute(&computed, ld->c, envp, &why) < 0) {
			fail_at(ld, k, &ld->srcs[i], why.ptr);
			goto done;
		}
		if (!text)
			text = computed ? computed : k->def;
		if (!text && (k->flags & F_REQUIRED)) {
			char up[64], sec[64];

			upper(sec, sizeof(sec), k->section);
			upper(up, sizeof(up), k->name);
			err_set(ld->e, ERR_INVALID, "%s.%s is not set: set %s__%s "
				"or %s__%s_FILE (or %s.%s_file in the config file)",
				k->section, k->name, sec, up, sec, up,
				k->section, k->name);
			goto done;
		}
		if (!text)
			continue;
		if (acv_parse(k, text, &v, &why) < 0) {
			fail_at(ld, k, &ld->srcs[i], why.ptr);
			free(computed);
			goto done;
		}
		free(computed);
		store(ld->c, k, &v);
	}
	ret = 0;
done:
	buf_release(&why);
	return ret;
}

int agent_config_load(struct agent_config *out, const char *path,
		      char *const *envp, struct err *e)
{
	struct loader ld;
	char *const *p;
	size_t i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&ld, 0, sizeof(ld));
	if (!envp)
		envp = environ;
	ld.c = out;
	ld.e = e;
	ld.srcs = xcalloc(N_KEYS, sizeof(*ld.srcs));
	out->sources = ld.srcs;
	if (path && load_file(&ld, path) < 0)
		goto done;
	for (p = envp; *p; p++)
		if (load_env_var(&ld, *p) < 0)
			goto done;
	if (finish(&ld, envp) < 0)
		goto done;
	ret = 0;
done:
	for (i = 0; i < N_KEYS; i++)
		free_secret(ld.raw[i], keys[i].flags & F_SECRET);
	if (ret < 0)
		agent_config_release(out);
	return ret;
}

void agent_config_release(struct agent_config *c)
{
	struct src *srcs = c->sources;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (stored_as_text(&keys[i]))
			free_secret(*(char **)field(c, &keys[i]),
				    keys[i].flags & F_SECRET);
		if (srcs)
			src_release(&srcs[i]);
	}
	free(srcs);
	memset(c, 0, sizeof(*c));
}

/* ---- printing ---- */

static void print_value(FILE *f, const struct agent_config *c,
			const struct key *k)
{
	const void *fp = field(c, k);
	int idx;

	if (stored_as_text(k)) {
		const char *s = *(char *const *)fp;
		char *red;

		if (!s) {
			fputs("null", f);
		} else if (k->flags & F_SECRET) {
			fputs("'***'", f);
		} else if (k->flags & F_URL) {
			red = acv_redact_url(s);
			acv_print_string(f, red);
			free(red);
		} else {
			acv_print_string(f, s);
		}
	} else if (k->type == T_INT) {
		fprintf(f, "%ld", *(const long *)fp);
	} else if (k->type == T_BOOL) {
		fputs(*(const bool *)fp ? "true" : "false", f);
	} else if (k->type == T_ENUM) {
		memcpy(&idx, fp, sizeof(int));
		fputs(k->values[idx], f);
	} else {
		fprintf(f, "%lld", *(const long long *)fp);
	}
}

void agent_config_print(const struct agent_config *c, FILE *f)
{
	const struct src *srcs = c->sources;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		const struct src *s = srcs ? &srcs[i] : NULL;

		if (!i || strcmp(k->section, keys[i - 1].section))
			fprintf(f, "%s:\n", k->section);
		fprintf(f, "  %s: ", k->name);
		print_value(f, c, k);
		if (!s || s->kind == SRC_DEFAULT)
			fputs("  # default\n", f);
		else if (s->kind == SRC_FILE && s->via_file)
			fprintf(f, "  # file %s:%d (%s_file: %s)\n", s->name,
				s->line, k->name, s->path);
		else if (s->kind == SRC_FILE)
			fprintf(f, "  # file %s:%d\n", s->name, s->line);
		else if (s->via_file)
			fprintf(f, "  # env %s (%s)\n", s->name, s->path);
		else
			fprintf(f, "  # env %s\n", s->name);
	}
}
