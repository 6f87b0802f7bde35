/*
 * fuzz_expr: the input is a template (a string with ${{ }} in it), run
 * through the syntax check, interpolation against a small fixed context
 * (with strings for fromJSON to parse), expr_eval_if, and once more as a
 * dry run with steps and needs unknown. Nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "workflows/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ctx_text[] =
	"{\"github\": {\"event_name\": \"push\", \"ref\": \"refs/heads/main\","
	" \"event\": {\"commits\": [{\"id\": \"a\"}, {\"id\": \"b\"}]}},"
	" \"env\": {\"JSON\": \"{\\\"a\\\": [1, 2.5, null, true]}\","
	"  \"BAD\": \"{\\\"a\\\": \", \"NUM\": \"0x1f\", \"EMPTY\": \"\"},"
	" \"matrix\": {\"os\": \"linux\", \"n\": 3},"
	" \"steps\": {\"s\": {\"outputs\": {\"o\": \"[1,[2,[3]]]\"}}},"
	" \"needs\": {\"j\": {\"result\": \"success\"}}}";

static int fake_hash(char **out, void *ud, const char *const *pats, size_t n,
		     struct err *e)
{
	if (n && !strcmp(pats[0], "fail"))
		return err_set(e, ERR_IO, "no");
	*out = xstrdup(n && pats[0][0] ? "abc" : "");
	return 0;
}

static void run(const char *s, const struct expr_env *env)
{
	struct err e = ERR_INIT;
	size_t off = 0;
	char *out = NULL;
	json_t *v = NULL;
	bool b;

	expr_check_template(s, &off, &e);
	if (expr_interpolate(&out, s, env, &e) >= 0)
		free(out);
	if (expr_interpolate_value(&v, s, env, &e) >= 0)
		json_decref(v);
	expr_eval_if(&b, s, env, &e);
	expr_check_if(s, &off, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rt[] = { "steps", "needs", NULL };
	static json_t *ctx;
	struct expr_env env = { 0 };
	struct expr *x = NULL;
	struct err e = ERR_INIT;
	json_t *v = NULL;
	char *s;

	if (size > 100000)
		return 0;
	if (!ctx)
		ctx = json_loads(ctx_text, 0, NULL);
	s = xstrndup((const char *)data, size);
	env.contexts = ctx;
	env.hash_files = fake_hash;
	run(s, &env);
	env.unknown = rt;
	env.status_unknown = true;
	run(s, &env);
	/* the whole input as one expression, too */
	if (expr_parse(&x, (const char *)data, size, &e) == 0) {
		if (expr_eval(&v, x, &env, &e) == 0)
			json_decref(v);
		expr_free(x);
	}
	free(s);
	return 0;
}
