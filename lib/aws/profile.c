/*
 * profile: AWS's shared config and credentials files (see profile.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../buf.h"
#include "../fs.h"
#include "../util.h"
#include "aws.h"
#include "profile.h"

#define PROFILE_FILE_MAX (1u << 20)

const char *aws_profile_name(const struct strv *env, const char *name)
{
	const char *v;

	if (name && *name)
		return name;
	v = aws_getenv(env, "AWS_PROFILE");
	return v && *v ? v : "default";
}

static char *trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* A value ends at '#' or ';' that follows whitespace. */
static size_t value_len(const char *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if ((v[i] == '#' || v[i] == ';') &&
		    (v[i - 1] == ' ' || v[i - 1] == '\t'))
			return i;
	return n;
}

static void set_kv(struct strv *kv, const char *key, const char *value)
{
	char *lk = xstrdup(key);

	for (char *p = lk; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	strv_setenv(kv, lk, value);
	free(lk);
}

/* file   := { line "\n" }
 * line   := blank | comment | "[" section "]" | key "=" value
 *         | indent key "=" value		(a sub-setting of the last key)
 * comment:= ("#" | ";") any */
int aws_ini_section(struct strv *kv, const char *text, const char *section,
		    bool *found, const char *file, struct err *e)
{
	const char *p = text;
	bool in = false;
	char *parent = NULL;
	int line = 0, rc = -1;

	*found = false;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char *l = trim(p, n);
		bool indented = n && (p[0] == ' ' || p[0] == '\t');

		line++;
		p += n + (eol != NULL);
		if (!*l || l[0] == '#' || l[0] == ';') {
			free(l);
			continue;
		}
		if (l[0] == '[') {
			char *close = strchr(l, ']'), *name;

			if (!close) {
				err_set(e, ERR_SYNTAX, "%s:%d: a section header "
					"without ']'", file, line);
				free(l);
				goto done;
			}
			name = trim(l + 1, (size_t)(close - l - 1));
			in = strcmp(name, section) == 0;
			*found = *found || in;
			free(name);
			free(l);
			free(parent);
			parent = NULL;
			continue;
		}
		{
			char *eq = strchr(l, '='), *key, *val;

			if (!eq) {
				err_set(e, ERR_SYNTAX, "%s:%d: expected "
					"'key = value' or '[section]'", file, line);
				free(l);
				goto done;
			}
			key = trim(l, (size_t)(eq - l));
			val = trim(eq + 1, value_len(eq + 1, strlen(eq + 1)));
			if (in && indented && parent) {
				char *full = xasprintf("%s.%s", parent, key);

				set_kv(kv, full, val);
				free(full);
			} else if (in) {
				set_kv(kv, key, val);
				free(parent);
				parent = *val ? NULL : xstrdup(key);
			}
			free(key);
			free(val);
			free(l);
		}
	}
	rc = 0;
done:
	free(parent);
	return rc;
}

static char *file_path(const struct strv *env, const char *var,
		       const char *def)
{
	const char *v = aws_getenv(env, var), *home;

	if (v && *v) {
		if (v[0] == '~' && v[1] == '/' &&
		    (home = aws_getenv(env, "HOME")))
			return xasprintf("%s%s", home, v + 1);
		return xstrdup(v);
	}
	home = aws_getenv(env, "HOME");
	return home ? xasprintf("%s/.aws/%s", home, def) : NULL;
}

static int load_file(struct strv *kv, bool *found, const struct strv *env,
		     const char *var, const char *def, const char *section,
		     struct err *e)
{
	char *path = file_path(env, var, def);
	struct buf b = BUF_INIT;
	struct err ignore = ERR_INIT;
	int rc = 0;

	*found = false;
	if (!path || !fs_exists(path))
		goto done;
	buf_init(&b, PROFILE_FILE_MAX);
	if (fs_read_file(&b, path, &ignore) < 0) {
		rc = err_set(e, ERR_IO, "cannot read the AWS %s file %s "
			     "(over 1 MB, or unreadable)", def, path);
		goto done;
	}
	rc = aws_ini_section(kv, b.ptr, section, found, path, e);
done:
	buf_release(&b);
	free(path);
	return rc;
}

int aws_profile_load(struct aws_profile *out, const struct strv *env,
		     const char *name, struct err *e)
{
	struct strv creds = STRV_INIT;
	char *section;
	bool f1 = false, f2 = false;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->name = xstrdup(aws_profile_name(env, name));
	section = strcmp(out->name, "default") == 0 ?
		xstrdup("default") : xasprintf("profile %s", out->name);
	if (load_file(&out->kv, &f1, env, "AWS_CONFIG_FILE", "config",
		      section, e) < 0)
		goto done;
	/* "[default]" may also be written "[profile default]" */
	if (!f1 && strcmp(out->name, "default") == 0 &&
	    load_file(&out->kv, &f1, env, "AWS_CONFIG_FILE", "config",
		      "profile default", e) < 0)
		goto done;
	if (load_file(&creds, &f2, env, "AWS_SHARED_CREDENTIALS_FILE",
		      "credentials", out->name, e) < 0)
		goto done;
	for (size_t i = 0; i < creds.n; i++) {
		char *eq = strchr(creds.v[i], '=');

		*eq = '\0';
		strv_setenv(&out->kv, creds.v[i], eq + 1);
		*eq = '=';
	}
	out->found = f1 || f2;
	rc = 0;
done:
	if (rc < 0)
		aws_profile_release(out);
	strv_release(&creds);
	free(section);
	return rc;
}

void aws_profile_release(struct aws_profile *p)
{
	free(p->name);
	strv_release(&p->kv);
	memset(p, 0, sizeof(*p));
}

const char *aws_profile_get(const struct aws_profile *p, const char *key)
{
	const char *v = strv_getenv(&p->kv, key);

	return v && *v ? v : NULL;
}
