/* Unit tests for agent/agent_config.c: defaults, the YAML file, the
 * environment over it, KEY_FILE in both, the errors (each naming its
 * source, never a secret) and the printed configuration. Files live in a
 * temporary folder under /tmp, removed at the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent/agent_config.h"
#include "lib/fs.h"
#include "lib/util.h"

#define SECRET "hook-secret-0123456789"
#define TOKEN "api-token-abcdefghij"

static char *tmp;	/* the test folder */

static int setup(void **state)
{
	char templ[] = "/tmp/gantry-agent-config-XXXXXX";

	if (!mkdtemp(templ))
		return -1;
	tmp = xstrdup(templ);
	return 0;
}

static int teardown(void **state)
{
	struct err e = ERR_INIT;
	int ret = fs_remove_tree(tmp, &e);

	free(tmp);
	return ret;
}

/* tmp/name with text in it; the path is the caller's. */
static char *write_tmp(const char *name, const char *text)
{
	char *path = fs_join(tmp, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void load_ok(struct agent_config *c, const char *path,
		    char *const *envp)
{
	struct err e = ERR_INIT;

	if (agent_config_load(c, path, envp, &e) < 0)
		fail_msg("load failed: %s", e.msg);
}

/* Loading fails with a message holding want (and never SECRET). */
static void load_fails(const char *path, char *const *envp, const char *want)
{
	struct agent_config c;
	struct err e = ERR_INIT;

	if (agent_config_load(&c, path, envp, &e) == 0)
		fail_msg("load succeeded, wanted an error with: %s", want);
	if (!strstr(e.msg, want))
		fail_msg("error '%s' does not contain '%s'", e.msg, want);
	assert_null(strstr(e.msg, SECRET));
	assert_null(c.listen);	/* left released */
	assert_null(c.sources);
}

/* The printed configuration; the caller frees it. */
static char *print(const struct agent_config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	agent_config_print(c, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("'%s' not found in:\n%s", want, text);
}

static void test_agent_config_defaults(void **state)
{
	char *env[] = { "WEBHOOK__SECRET=" SECRET, "HOME=/home/u",
			"PATH=/usr/bin", "FOO__BAR=1", NULL };
	const char *dd = geteuid() == 0 ? "/var/lib/gantry"
					 : "/home/u/.local/share/gantry/agent";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char host[256] = "", *want;
	struct agent_config c;

	load_ok(&c, NULL, env);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_string_equal(c.public_url, "http://127.0.0.1:8080");
	assert_int_equal(c.max_body, 26214400);
	assert_string_equal(c.data_dir, dd);
	assert_int_equal(c.retention_days, 30);
	want = xasprintf("sqlite://%s/queue.db", dd);
	assert_string_equal(c.queue_url, want);
	free(want);
	assert_int_equal(c.on_lost, ON_LOST_REQUEUE);
	assert_int_equal(c.lease, 30);
	assert_int_equal(c.max_attempts, 3);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_int_equal(EVP_Digest(dd, strlen(dd), md, &mdlen, EVP_sha256(),
				    NULL), 1);
	want = xasprintf("%s/%02x%02x%02x%02x", host, md[0], md[1], md[2], md[3]);
	assert_string_equal(c.agent_id, want);
	free(want);
	assert_string_equal(c.webhook_secret, SECRET);
	assert_null(c.api_token);
	assert_null(c.git_token);
	assert_null(c.git_ca_bundle);
	assert_null(c.oidc_issuer);
	assert_int_equal(c.oidc_lifetime, 600);
	assert_int_equal(c.workers, 2);
	assert_int_equal(c.grace, 60);
	assert_int_equal(c.jobs, 0);
	assert_string_equal(c.sandbox, "strict");
	assert_string_equal(c.network, "host");
	assert_string_equal(c.memory, "4G");
	want = xasprintf("%s/artifacts", dd);
	assert_string_equal(c.artifacts, want);
	free(want);
	assert_null(c.secrets_file);
	assert_true(c.status);
	assert_null(c.status_api_url);
	assert_string_equal(c.status_context, "gantry");
	assert_non_null(c.sources);
	agent_config_release(&c);
	assert_null(c.listen);
	assert_null(c.sources);
	agent_config_release(&c);	/* twice is harmless */
}

static void test_agent_config_file_values(void **state)
{
	char *path;
	char *env[] = { NULL };
	struct agent_config c;

	path = write_tmp("full.yml",
		"server:\n"
		"  listen: '[::1]:9000'\n"
		"  max_body: 512K\n"
		"data:\n"
		"  dir: /srv/gantry/\n"
		"queue:\n"
		"  url: postgres://db/gantry\n"
		"  on_lost: FAIL\n"
		"  lease: 60\n"
		"  max_attempts: 5\n"
		"agent: {id: runner-1}\n"
		"webhook:\n"
		"  secret: " SECRET "\n"
		"api: {token: " TOKEN "}\n"
		"git: {token: ghp_x, ca_bundle: /etc/ssl/ca.pem}\n"
		"oidc: {issuer: 'https://ci.example', lifetime: 3600}\n"
		"workers: {count: 8, grace: 0, jobs: 4, sandbox: 'off',\n"
		"          network: loopback, memory: 512M}\n"
		"storage: {artifacts: s3://bucket/a, secrets_file: /etc/s}\n"
		"status: {enabled: no, api_url: 'https://api.example',"
		" context: ci/gantry}\n");
	load_ok(&c, path, env);
	assert_string_equal(c.listen, "[::1]:9000");
	assert_string_equal(c.public_url, "http://[::1]:9000");
	assert_int_equal(c.max_body, 512 * 1024);
	assert_string_equal(c.data_dir, "/srv/gantry");
	assert_string_equal(c.queue_url, "postgres://db/gantry");
	assert_int_equal(c.on_lost, ON_LOST_FAIL);
	assert_int_equal(c.lease, 60);
	assert_int_equal(c.max_attempts, 5);
	assert_string_equal(c.agent_id, "runner-1");
	assert_string_equal(c.webhook_secret, SECRET);
	assert_string_equal(c.api_token, TOKEN);
	assert_string_equal(c.git_token, "ghp_x");
	assert_string_equal(c.git_ca_bundle, "/etc/ssl/ca.pem");
	assert_string_equal(c.oidc_issuer, "https://ci.example");
	assert_int_equal(c.oidc_lifetime, 3600);
	assert_int_equal(c.workers, 8);
	assert_int_equal(c.grace, 0);
	assert_int_equal(c.jobs, 4);
	assert_string_equal(c.sandbox, "off");
	assert_string_equal(c.network, "loopback");
	assert_string_equal(c.memory, "512M");
	assert_string_equal(c.artifacts, "s3://bucket/a");
	assert_string_equal(c.secrets_file, "/etc/s");
	assert_false(c.status);
	assert_string_equal(c.status_api_url, "https://api.example");
	assert_string_equal(c.status_context, "ci/gantry");
	agent_config_release(&c);
	free(path);
}

/* The environment wins over the file; computed defaults follow the final
 * values; null and empty sections in the file are no values. */
static void test_agent_config_env_over_file(void **state)
{
	char *path = write_tmp("over.yml",
		"server: {listen: '0.0.0.0:80'}\n"
		"data: {dir: /from/file}\n"
		"workers: {count: 3}\n"
		"git:\n"
		"status: {api_url: ~}\n");
	char *env[] = { "WEBHOOK__SECRET=" SECRET, "WORKERS__COUNT=7",
			"DATA__DIR=/from/env", "STATUS__ENABLED=YES",
			"SERVER__PUBLIC_URL=https://ci.example/", NULL };
	struct agent_config c;

	load_ok(&c, path, env);
	assert_string_equal(c.listen, "0.0.0.0:80");
	assert_string_equal(c.public_url, "https://ci.example/");
	assert_int_equal(c.workers, 7);
	assert_string_equal(c.data_dir, "/from/env");
	assert_string_equal(c.queue_url, "sqlite:///from/env/queue.db");
	assert_string_equal(c.artifacts, "/from/env/artifacts");
	assert_true(c.status);
	assert_null(c.status_api_url);
	agent_config_release(&c);
	free(path);
}

static void test_agent_config_key_file(void **state)
{
	char *hook = write_tmp("hook", SECRET "\n");
	char *tok = write_tmp("tok", TOKEN "\r\n");
	char *count = write_tmp("count", "5\n\n");
	char *sf = write_tmp("sf", "/etc/gantry/secrets\n");
	char *yml, *text, *var1, *var2;
	struct agent_config c;

	text = xasprintf("webhook:\n  secret_file: %s\n"
			 "storage: {secrets_file_file: %s}\n",
			 hook, sf);
	yml = write_tmp("kf.yml", text);
	free(text);
	var1 = xasprintf("API__TOKEN_FILE=%s", tok);
	var2 = xasprintf("WORKERS__GRACE_FILE=%s", count);
	{
		char *env[] = { var1, NULL };

		load_ok(&c, yml, env);
		assert_string_equal(c.webhook_secret, SECRET);
		assert_string_equal(c.api_token, TOKEN);	/* \r\n gone */
		/* a key named *_file takes _file too */
		assert_string_equal(c.secrets_file, "/etc/gantry/secrets");
		text = print(&c);
		assert_null(strstr(text, SECRET));
		assert_null(strstr(text, TOKEN));
		assert_contains(text, "  secret: '***'  # file ");
		assert_contains(text, "kf.yml:2 (secret_file: ");
		assert_contains(text, "  token: '***'  # env API__TOKEN_FILE (");
		free(text);
		agent_config_release(&c);
	}
	{
		/* only one newline is dropped: "5\n" is not a number */
		char *env[] = { "WEBHOOK__SECRET=" SECRET, var2, NULL };

		load_fails(NULL, env, "WORKERS__GRACE_FILE (environment): "
			   "contains a control character");
	}
	free(var1);
	free(var2);
	free(yml);
	free(hook);
	free(tok);
	free(count);
	free(sf);
}

static void test_agent_config_key_and_key_file(void **state)
{
	char *hook = write_tmp("hook2", SECRET);
	char *var = xasprintf("WEBHOOK__SECRET_FILE=%s", hook);
	char *env[] = { "WEBHOOK__SECRET=" SECRET, var, NULL };
	char *text = xasprintf("webhook:\n  secret: %s\n  secret_file: %s\n",
			       SECRET, hook);
	char *yml = write_tmp("both.yml", text);
	char *env2[] = { NULL };

	load_fails(NULL, env, "WEBHOOK__SECRET and WEBHOOK__SECRET_FILE are "
		   "both set");
	load_fails(yml, env2, "both.yml:3:3: both webhook.secret and "
		   "webhook.secret_file are set");
	free(text);
	free(yml);
	free(var);
	free(hook);
}

static void test_agent_config_unknown_in_file(void **state)
{
	char *k = write_tmp("k.yml", "server:\n  listen: 127.0.0.1:1\n"
			    "  listn: x\n");
	char *s = write_tmp("s.yml", "webhook: {secret: " SECRET "}\nsrever: {}\n");
	char *env[] = { NULL };

	load_fails(k, env, "k.yml:3:3: unknown key 'listn' in section server; "
		   "its keys are: listen, public_url, max_body");
	load_fails(s, env, "s.yml:2:1: unknown section 'srever'; the sections "
		   "are: server, data, queue, agent, webhook, api, git, oidc, "
		   "workers, storage, status");
	free(k);
	free(s);
}

/* The file is a mapping of mappings of scalars. */
static void test_agent_config_file_shape(void **state)
{
	static const struct { const char *yml, *want; } cases[] = {
		{ "- a\n- b\n", ":1:1: the configuration is a sequence" },
		{ "server: 8080\n", ":1:9: section server must be a mapping" },
		{ "server:\n  listen: [a, b]\n",
		  ":2:11: server.listen must be a scalar, not a sequence" },
		{ "server: {listen: 1\n", "shape.yml:" },	/* syntax */
	};
	char *env[] = { "WEBHOOK__SECRET=" SECRET, NULL };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = write_tmp("shape.yml", cases[i].yml);

		load_fails(path, env, cases[i].want);
		free(path);
	}
	load_fails("/nonexistent/agent.yml", env, "/nonexistent/agent.yml");
}

static void test_agent_config_unknown_env_key(void **state)
{
	char *env[] = { "WEBHOOK__SECRET=" SECRET, "SERVER__LISTN=1:2", NULL };
	char *env2[] = { "WEBHOOK__SECRET=" SECRET, "server__listn=1", NULL };
	struct agent_config c;

	load_fails(NULL, env, "SERVER__LISTN (environment): unknown key in "
		   "section server; its keys are: LISTEN, PUBLIC_URL, MAX_BODY");
	load_ok(&c, NULL, env2);	/* lower case: not ours */
	agent_config_release(&c);
}

/* Bad values, each with a message naming where it came from. */
static void test_agent_config_bad_values(void **state)
{
	static const struct { const char *var, *want; } cases[] = {
		{ "WORKERS__COUNT=abc",
		  "WORKERS__COUNT (environment): 'abc' is not a number" },
		{ "WORKERS__COUNT=0",
		  "WORKERS__COUNT (environment): 0 is not between 1 and 256" },
		{ "WORKERS__COUNT= 5", "' 5' is not a number" },
		{ "QUEUE__LEASE=4", "QUEUE__LEASE (environment): 4 is not between 5" },
		{ "QUEUE__MAX_ATTEMPTS=101", "101 is not between 1 and 100" },
		{ "OIDC__LIFETIME=59", "OIDC__LIFETIME (environment): 59" },
		{ "WORKERS__GRACE=-1", "-1 is not between 0 and 86400" },
		{ "WORKERS__JOBS=257", "257 is not between 0 and 256" },
		{ "QUEUE__ON_LOST=drop",
		  "QUEUE__ON_LOST (environment): 'drop' is not one of requeue, fail" },
		{ "WORKERS__SANDBOX=loose", "'loose' is not one of strict, off" },
		{ "WORKERS__NETWORK=bridge",
		  "'bridge' is not one of host, loopback, none" },
		{ "WORKERS__MEMORY=lots",
		  "WORKERS__MEMORY (environment): 'lots' is not a size" },
		{ "WORKERS__MEMORY=1M", "1M is not between 16777216" },
		{ "SERVER__MAX_BODY=25Q", "SERVER__MAX_BODY (environment): '25Q'" },
		{ "SERVER__MAX_BODY=", "SERVER__MAX_BODY (environment): is empty" },
		{ "STATUS__ENABLED=maybe", "'maybe' is not true or false" },
		{ "SERVER__LISTEN=localhost",
		  "SERVER__LISTEN (environment): 'localhost' is not HOST:PORT" },
		{ "SERVER__LISTEN=:8080", "':8080' is not HOST:PORT" },
		{ "SERVER__LISTEN=::1:8080", "write an IPv6 address in brackets" },
		{ "SERVER__LISTEN=[::1]8080", "'[::1]8080' is not HOST:PORT" },
		{ "SERVER__LISTEN=host:0", "the port is not a number from 1 to 65535" },
		{ "SERVER__LISTEN=host:65536", "'host:65536': the port" },
		{ "SERVER__PUBLIC_URL=ftp://x",
		  "SERVER__PUBLIC_URL (environment): 'ftp://x' is not an http://" },
		{ "QUEUE__URL=mysql://db",
		  "QUEUE__URL (environment): 'mysql://db' does not start with "
		  "sqlite://, postgres:// or postgresql://" },
		{ "QUEUE__URL=mysql://u:hunter2@db/x?sslmode=no&password=pw2#",
		  "'mysql://u:***@db/x?sslmode=no&password=***#' does not" },
		{ "OIDC__ISSUER=https://", "is not an http:// or https:// URL" },
		{ "DATA__DIR=", "DATA__DIR (environment): is empty" },
		{ "AGENT__ID=a\tb", "AGENT__ID (environment): contains a control" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *env[] = { "WEBHOOK__SECRET=" SECRET, (char *)cases[i].var,
				NULL };

		load_fails(NULL, env, cases[i].want);
	}
}

static void test_agent_config_bad_values_in_file(void **state)
{
	char *path = write_tmp("bad.yml", "webhook: {secret: " SECRET "}\n"
			       "workers:\n  grace: 1\n  count: abc\n");
	char *path2 = write_tmp("bad2.yml", "queue:\n  lease: 2\n");
	char *env[] = { "WEBHOOK__SECRET=" SECRET, NULL };
	char *want = xasprintf("%s:4:10: workers.count: 'abc' is not a number",
			       path);

	load_fails(path, env, want);
	free(want);
	/* a bad value in the file fails even when the environment would
	 * have replaced it */
	{
		char *env2[] = { "WEBHOOK__SECRET=" SECRET, "QUEUE__LEASE=10", NULL };

		load_fails(path2, env2, "bad2.yml:2:10: queue.lease: 2 is not "
			   "between 5 and 3600");
	}
	free(path);
	free(path2);
}

static void test_agent_config_sizes_and_bools(void **state)
{
	static const struct { const char *size; long long want; } sizes[] = {
		{ "25M", 25LL << 20 }, { "512K", 512 << 10 }, { "2048", 2048 },
		{ "1G", 1LL << 30 }, { "64KiB", 64 << 10 }, { "3kb", 3 << 10 },
	};
	static const struct { const char *v; bool want; } bools[] = {
		{ "true", true }, { "FALSE", false }, { "Yes", true },
		{ "no", false }, { "1", true }, { "0", false },
	};
	struct agent_config c;
	char var[64], var2[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *env[] = { "WEBHOOK__SECRET=" SECRET, var, NULL };

		snprintf(var, sizeof(var), "SERVER__MAX_BODY=%s", sizes[i].size);
		load_ok(&c, NULL, env);
		assert_int_equal(c.max_body, sizes[i].want);
		agent_config_release(&c);
	}
	for (i = 0; i < ARRAY_SIZE(bools); i++) {
		char *env[] = { "WEBHOOK__SECRET=" SECRET, var2, NULL };

		snprintf(var2, sizeof(var2), "STATUS__ENABLED=%s", bools[i].v);
		load_ok(&c, NULL, env);
		assert_int_equal(c.status, bools[i].want);
		agent_config_release(&c);
	}
}

static void test_agent_config_secret_rules(void **state)
{
	char *none[] = { "HOME=/h", NULL };
	char *short_env[] = { "WEBHOOK__SECRET=short", NULL };
	char *empty_env[] = { "WEBHOOK__SECRET=", NULL };
	char *tok_env[] = { "WEBHOOK__SECRET=" SECRET, "API__TOKEN=tiny", NULL };
	char *unset_tok[] = { "WEBHOOK__SECRET=" SECRET, "API__TOKEN=", NULL };
	char *path = write_tmp("short.yml", "webhook:\n  secret: 's3cr3t'\n");
	struct agent_config c;
	struct err e = ERR_INIT;

	load_fails(NULL, none, "webhook.secret is not set: set WEBHOOK__SECRET "
		   "or WEBHOOK__SECRET_FILE");
	load_fails(NULL, short_env, "WEBHOOK__SECRET (environment): is 5 bytes; "
		   "at least 16 are needed");
	load_fails(NULL, empty_env, "is 0 bytes; at least 16 are needed");
	load_fails(NULL, tok_env, "API__TOKEN (environment): is 4 bytes");
	assert_int_equal(agent_config_load(&c, NULL, tok_env, &e), -1);
	assert_null(strstr(e.msg, "tiny"));
	assert_int_equal(agent_config_load(&c, path, none, &e), -1);
	assert_null(strstr(e.msg, "s3cr3t"));
	assert_non_null(strstr(e.msg, "short.yml:2:11: webhook.secret: is 6 bytes"));
	if (geteuid() != 0) {	/* root's default folder needs no HOME */
		char *no_home[] = { "WEBHOOK__SECRET=" SECRET, NULL };

		load_fails(NULL, no_home, "data.dir (default): HOME is not "
			   "set: set DATA__DIR");
	}
	load_ok(&c, NULL, unset_tok);	/* empty: not set */
	assert_null(c.api_token);
	agent_config_release(&c);
	free(path);
}

/* A missing KEY_FILE: the error names the variable and the path. */
static void test_agent_config_missing_key_file(void **state)
{
	char *env[] = { "WEBHOOK__SECRET_FILE=/nonexistent/hook", NULL };
	char *path = write_tmp("miss.yml",
			       "webhook: {secret_file: /nonexistent/hook2}\n");
	char *env2[] = { NULL };

	load_fails(NULL, env, "WEBHOOK__SECRET_FILE (environment): cannot "
		   "open /nonexistent/hook");
	load_fails(path, env2, "miss.yml:1:24: webhook.secret_file "
		   "(/nonexistent/hook2): cannot open /nonexistent/hook2");
	free(path);
}

static void test_agent_config_print(void **state)
{
	char *path = write_tmp("p.yml", "workers:\n  count: 4\n"
			       "webhook: {secret: " SECRET "}\n"
			       "status: {context: \"it's: #1\"}\n");
	char *env[] = { "SERVER__LISTEN=0.0.0.0:8080", "GIT__TOKEN=ghp_secret_x",
			"QUEUE__URL=postgres://u:hunter2@db/x",
			"AGENT__ID=true", NULL };
	char *text, *want;
	struct agent_config c;

	load_ok(&c, path, env);
	text = print(&c);
	assert_null(strstr(text, SECRET));
	assert_null(strstr(text, "ghp_secret_x"));
	assert_null(strstr(text, "hunter2"));
	assert_true(str_starts_with(text, "server:\n  listen: "));
	assert_contains(text, "  listen: 0.0.0.0:8080  # env SERVER__LISTEN\n");
	assert_contains(text, "  public_url: http://0.0.0.0:8080  # default\n");
	assert_contains(text, "  max_body: 26214400  # default\n");
	assert_contains(text, "queue:\n  url: postgres://u:***@db/x  # env "
			"QUEUE__URL\n  on_lost: requeue  # default\n");
	assert_contains(text, "  id: 'true'  # env AGENT__ID\n");
	want = xasprintf("  count: 4  # file %s:2\n", path);
	assert_contains(text, want);
	free(want);
	want = xasprintf("webhook:\n  secret: '***'  # file %s:3\n", path);
	assert_contains(text, want);
	free(want);
	assert_contains(text, "api:\n  token: null  # default\n");
	assert_contains(text, "git:\n  token: '***'  # env GIT__TOKEN\n");
	assert_contains(text, "  enabled: true  # default\n");
	assert_contains(text, "  context: 'it''s: #1'  # file ");
	assert_contains(text, "  memory: 4G  # default\n");
	free(text);
	agent_config_release(&c);
	free(path);
}

/* data.retention_days: 30 by default, 0 (keep everything) to 3650, from
 * the file or DATA__RETENTION_DAYS. */
static void test_agent_config_retention(void **state)
{
	char *path = write_tmp("ret.yml", "data: {retention_days: 7}\n"
			       "webhook: {secret: " SECRET "}\n");
	char *env0[] = { NULL };
	char *env1[] = { "DATA__RETENTION_DAYS=0", NULL };
	char *env2[] = { "DATA__RETENTION_DAYS=3650", NULL };
	char *bad1[] = { "WEBHOOK__SECRET=" SECRET, "DATA__RETENTION_DAYS=-1", NULL };
	char *bad2[] = { "WEBHOOK__SECRET=" SECRET, "DATA__RETENTION_DAYS=3651", NULL };
	char *bad3[] = { "WEBHOOK__SECRET=" SECRET, "DATA__RETENTION_DAYS=30d", NULL };
	struct agent_config c;
	char *text;

	load_ok(&c, path, env0);
	assert_int_equal(c.retention_days, 7);
	text = print(&c);
	assert_contains(text, "data:\n");
	assert_contains(text, "  retention_days: 7  # file ");
	free(text);
	agent_config_release(&c);
	load_ok(&c, path, env1);	/* the environment wins */
	assert_int_equal(c.retention_days, 0);
	agent_config_release(&c);
	load_ok(&c, path, env2);
	assert_int_equal(c.retention_days, 3650);
	agent_config_release(&c);
	load_fails(NULL, bad1, "DATA__RETENTION_DAYS (environment): -1 is not "
		   "between 0 and 3650");
	load_fails(NULL, bad2, "3651 is not between 0 and 3650");
	load_fails(NULL, bad3, "DATA__RETENTION_DAYS (environment): '30d' is not "
		   "a number");
	free(path);
}

/* data.dir is made absolute against the current folder, not created. */
static void test_agent_config_relative_data_dir(void **state)
{
	char *env[] = { "WEBHOOK__SECRET=" SECRET, "DATA__DIR=rel/dir/", NULL };
	char cwd[4096], *want;
	struct agent_config c;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	load_ok(&c, NULL, env);
	want = fs_join(cwd, "rel/dir");
	assert_string_equal(c.data_dir, want);
	assert_false(fs_exists(want));
	free(want);
	agent_config_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_config_defaults),
		cmocka_unit_test(test_agent_config_file_values),
		cmocka_unit_test(test_agent_config_env_over_file),
		cmocka_unit_test(test_agent_config_key_file),
		cmocka_unit_test(test_agent_config_key_and_key_file),
		cmocka_unit_test(test_agent_config_unknown_in_file),
		cmocka_unit_test(test_agent_config_file_shape),
		cmocka_unit_test(test_agent_config_unknown_env_key),
		cmocka_unit_test(test_agent_config_bad_values),
		cmocka_unit_test(test_agent_config_bad_values_in_file),
		cmocka_unit_test(test_agent_config_sizes_and_bools),
		cmocka_unit_test(test_agent_config_secret_rules),
		cmocka_unit_test(test_agent_config_missing_key_file),
		cmocka_unit_test(test_agent_config_print),
		cmocka_unit_test(test_agent_config_relative_data_dir),
		cmocka_unit_test(test_agent_config_retention),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
