#include "strv.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strv_push_owned(struct strv *sv, char *s)
{
	ALLOC_GROW(sv->v, sv->n + 2, sv->alloc);
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_owned(sv, xstrdup(s));
}

void strv_pushf(struct strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		BUG("out of memory");
	va_end(ap);
	strv_push_owned(sv, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(struct strv *sv, size_t from)
{
	if (sv->n > from + 1)
		qsort(sv->v + from, sv->n - from, sizeof(*sv->v), cmp_str);
}

void strv_release(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->alloc = 0;
}

static long env_find(const struct strv *sv, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < sv->n; i++)
		if (!strncmp(sv->v[i], name, len) && sv->v[i][len] == '=')
			return (long)i;
	return -1;
}

void strv_setenv(struct strv *sv, const char *name, const char *value)
{
	long i = env_find(sv, name);
	char *s = xasprintf("%s=%s", name, value);

	if (i < 0) {
		strv_push_owned(sv, s);
		return;
	}
	free(sv->v[i]);
	sv->v[i] = s;
}

const char *strv_getenv(const struct strv *sv, const char *name)
{
	long i = env_find(sv, name);

	return i < 0 ? NULL : sv->v[i] + strlen(name) + 1;
}
