#include "jsonx.h"
#include "util.h"

#include <string.h>

json_t *jsonx_get_ci(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v)
		return v;
	json_object_foreach((json_t *)obj, k, v)
		if (!str_casecmp(k, key))
			return v;
	return NULL;
}

void jsonx_set_str(json_t *obj, const char *key, const char *value)
{
	json_object_set_new(obj, key, json_string(value ? value : ""));
}

const char *jsonx_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

char *jsonx_dump(const json_t *v, int pretty)
{
	size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;
	char *s;

	flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
	s = json_dumps(v, flags);
	if (!s)
		return xstrdup("null");
	/* hand back memory from our allocator so callers use free() */
	{
		char *copy = xstrdup(s);

		free(s);
		return copy;
	}
}

json_t *jsonx_obj(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}
