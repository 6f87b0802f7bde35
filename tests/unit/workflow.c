/*
 * Tests for workflows/workflow.c and validate.c: every valid fixture loads
 * cleanly and builds the right model; every invalid fixture gives exactly
 * the diagnostics in its NAME.expected ("line:col: message" per line).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "workflows/workflow.h"

#define VALID_DIR "tests/fixtures/valid"
#define INVALID_DIR "tests/fixtures/invalid"

struct uses_log {
	bool strict;		/* accept only ./local and actions/checkout@v4 */
	size_t calls;
	char last_dir[256];
};

static int check_uses(const char *uses, const char *dir, void *ud,
		      struct err *e)
{
	struct uses_log *log = ud;

	log->calls++;
	snprintf(log->last_dir, sizeof(log->last_dir), "%s", dir);
	if (!log->strict || !strcmp(uses, "./local") ||
	    !strcmp(uses, "actions/checkout@v4"))
		return 0;
	return err_set(e, ERR_NOT_FOUND, "unknown action '%s': this test "
		       "accepts ./local and actions/checkout@v4", uses);
}

/* Sorted names of the *.yml files in dir. */
static size_t list_yml(char ***out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, alloc = 0, i, k;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (!str_ends_with(de->d_name, ".yml"))
			continue;
		ALLOC_GROW(v, n + 1, alloc);
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++)	/* insertion sort: a few dozen names */
		for (k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
			char *t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	*out = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static struct workflow *load_valid(const char *name, struct uses_log *log)
{
	struct wf_load_opts opts = { check_uses, log, NULL };
	struct wf_diags d = WF_DIAGS_INIT;
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	char *path = xasprintf("%s/%s", VALID_DIR, name);
	int rc = wf_load(&wf, path, &opts, &d, &e);

	if (rc != 0 || d.n) {
		fprintf(stderr, "%s: %s\n", path, e.msg);
		wf_diags_print(&d, stderr);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(d.n, 0);
	assert_non_null(wf);
	wf_diags_release(&d);
	free(path);
	return wf;
}

static void test_workflow_valid_fixtures(void **state)
{
	char **names;
	size_t n = list_yml(&names, VALID_DIR), i;

	assert_true(n >= 5);
	for (i = 0; i < n; i++) {
		struct uses_log log = { false, 0, { 0 } };

		wf_free(load_valid(names[i], &log));
	}
	free_list(names, n);
}

/* "path:L:C: error: msg" lines become "L:C: msg". */
static char *diags_text(const struct wf_diags *d, const char *path)
{
	char *raw = NULL, *line, *save = NULL;
	size_t len = 0, pl = strlen(path);
	struct buf out = BUF_INIT;
	FILE *f = open_memstream(&raw, &len);

	assert_non_null(f);
	wf_diags_print(d, f);
	fclose(f);
	for (line = strtok_r(raw, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *err;

		if (!strncmp(line, path, pl) && line[pl] == ':')
			line += pl + 1;
		err = strstr(line, ": error: ");
		if (err) {
			buf_add(&out, line, (size_t)(err - line));
			buf_adds(&out, ": ");
			buf_adds(&out, err + strlen(": error: "));
		} else {
			buf_adds(&out, line);
		}
		buf_addch(&out, '\n');
	}
	free(raw);
	return buf_detach(&out, NULL);
}

static void test_workflow_invalid_fixtures(void **state)
{
	char **names;
	size_t n = list_yml(&names, INVALID_DIR), i, failed = 0;

	assert_true(n >= 25);
	for (i = 0; i < n; i++) {
		struct uses_log log = { true, 0, { 0 } };
		struct wf_load_opts opts = { check_uses, &log, NULL };
		struct wf_diags d = WF_DIAGS_INIT;
		struct err e = ERR_INIT;
		struct workflow *wf = NULL;
		struct buf want = BUF_INIT;
		char *path = xasprintf("%s/%s", INVALID_DIR, names[i]);
		char *exp = xasprintf("%.*s.expected", (int)strlen(path) - 4,
				      path);
		char *got;
		struct err fe = ERR_INIT;

		assert_int_equal(wf_load(&wf, path, &opts, &d, &e), -1);
		assert_null(wf);
		assert_true(d.n > 0);
		assert_int_not_equal(e.code, ERR_NONE);
		got = diags_text(&d, path);
		if (fs_read_file(&want, exp, &fe))
			fprintf(stderr, "%s\n", fe.msg);
		if (strcmp(got, want.ptr)) {
			fprintf(stderr, "== %s\n-- want:\n%s-- got:\n%s", path,
				want.ptr, got);
			failed++;
		}
		free(got);
		buf_release(&want);
		wf_diags_release(&d);
		free(path);
		free(exp);
	}
	free_list(names, n);
	assert_int_equal(failed, 0);
}

static const struct yml_node *get(const struct yml_node *m, const char *k)
{
	const struct yml_node *v = yml_get(m, k);

	assert_non_null(v);
	return v;
}

static void test_workflow_full_model(void **state)
{
	struct uses_log log = { false, 0, { 0 } };
	struct workflow *wf = load_valid("full.yml", &log);
	const struct wf_trigger *t;
	const struct wf_job *b, *call;
	const struct wf_input *in;
	const char *const events[] = {
		"push", "pull_request", "pull_request_target", "schedule",
		"release", "issues", "workflow_run", "workflow_dispatch",
	};
	size_t i;

	/* uses: went through the callback with the file's folder */
	assert_int_equal(log.calls, 2);
	assert_string_equal(log.last_dir, VALID_DIR);
	assert_string_equal(wf->path, VALID_DIR "/full.yml");
	assert_string_equal(wf->name->str, "Full feature tour");
	assert_non_null(wf->run_name);
	assert_string_equal(get(wf->env, "APP")->str, "gantry");
	assert_string_equal(get(wf->defaults_run, "shell")->str, "bash");
	assert_string_equal(get(wf->permissions, "id-token")->str, "write");
	assert_string_equal(get(wf->concurrency, "cancel-in-progress")->str,
			    "true");

	/* triggers, in file order */
	assert_int_equal(wf->n_triggers, ARRAY_SIZE(events));
	for (i = 0; i < ARRAY_SIZE(events); i++)
		assert_string_equal(wf->triggers[i].event, events[i]);
	t = wf_find_trigger(wf, "push");
	assert_non_null(t);
	assert_int_equal(get(t->config, "branches")->n_items, 2);
	assert_null(wf_find_trigger(wf, "issues")->config);
	t = wf_find_trigger(wf, "schedule");
	assert_int_equal(t->config->kind, YML_SEQ);
	assert_int_equal(t->config->n_items, 2);
	assert_null(wf_find_trigger(wf, "watch"));

	/* dispatch inputs */
	assert_int_equal(wf->n_dispatch_inputs, 5);
	in = &wf->dispatch_inputs[0];
	assert_string_equal(in->name, "target");
	assert_string_equal(in->type, "choice");
	assert_true(in->required);
	assert_string_equal(in->default_->str, "staging");
	assert_string_equal(in->description->str, "Where to deploy");
	assert_int_equal(in->options->n_items, 2);
	assert_string_equal(wf->dispatch_inputs[1].type, "boolean");
	assert_false(wf->dispatch_inputs[1].required);
	assert_string_equal(wf->dispatch_inputs[2].type, "number");
	assert_string_equal(wf->dispatch_inputs[3].type, "environment");
	/* an input with no settings is a string */
	assert_string_equal(wf->dispatch_inputs[4].name, "note");
	assert_string_equal(wf->dispatch_inputs[4].type, "string");
	assert_null(wf->dispatch_inputs[4].node);
	assert_int_equal(wf->n_call_inputs, 0);

	/* jobs, needs, steps */
	assert_int_equal(wf->n_jobs, 3);
	assert_string_equal(wf->jobs[0].id, "setup");
	b = wf_find_job(wf, "build");
	assert_ptr_equal(b, &wf->jobs[1]);
	assert_int_equal(b->pos.line, 75);
	assert_int_equal(b->pos.col, 3);
	assert_int_equal(b->n_needs, 1);
	assert_string_equal(b->needs[0], "setup");
	assert_non_null(b->if_);
	assert_string_equal(b->runs_on->str, "${{ matrix.os }}");
	assert_string_equal(b->timeout_minutes->str, "30");
	assert_string_equal(get(b->environment, "name")->str, "staging");
	assert_string_equal(get(b->env, "NODE")->str, "${{ matrix.node }}");
	assert_string_equal(get(b->defaults_run, "shell")->str, "sh");
	assert_string_equal(b->fail_fast->str, "false");
	assert_string_equal(b->max_parallel->str, "2");
	assert_string_equal(b->permissions->str, "read-all");
	assert_non_null(b->concurrency);
	assert_string_equal(get(b->container, "image")->str,
			    "node:${{ matrix.node }}");
	assert_non_null(get(b->services, "db"));
	assert_null(b->uses);
	/* the matrix node */
	assert_int_equal(b->matrix->kind, YML_MAP);
	assert_ptr_equal(b->matrix, get(b->strategy, "matrix"));
	assert_int_equal(get(b->matrix, "os")->n_items, 2);
	assert_int_equal(get(b->matrix, "include")->n_items, 1);
	assert_int_equal(b->n_steps, 3);
	assert_null(b->steps[0].id);
	assert_string_equal(b->steps[0].uses, "actions/checkout@v4");
	assert_string_equal(get(b->steps[0].with, "fetch-depth")->str, "0");
	assert_null(b->steps[0].run);
	assert_string_equal(b->steps[1].id, "install");
	assert_null(b->steps[1].uses);
	assert_int_equal(b->steps[1].run->style, YML_BLOCK);
	assert_string_equal(b->steps[1].shell->str, "bash");
	assert_string_equal(b->steps[1].working_directory->str, "web");
	assert_non_null(b->steps[1].env);
	assert_non_null(b->steps[1].name);
	assert_non_null(b->steps[1].if_);
	assert_string_equal(b->steps[1].continue_on_error->str, "true");
	assert_string_equal(b->steps[1].timeout_minutes->str, "10");
	assert_string_equal(b->steps[2].id, "deploy");

	/* the reusable-workflow job */
	call = wf_find_job(wf, "call");
	assert_non_null(call);
	assert_string_equal(call->uses, "./local");
	assert_int_equal(call->n_needs, 2);
	assert_string_equal(call->needs[1], "build");
	assert_string_equal(call->secrets->str, "inherit");
	assert_string_equal(get(call->with, "level")->str, "3");
	assert_int_equal(call->n_steps, 0);
	assert_null(call->runs_on);
	assert_null(wf_find_job(wf, "nope"));
	wf_free(wf);
}

static void test_workflow_reusable_model(void **state)
{
	struct uses_log log = { false, 0, { 0 } };
	struct workflow *wf = load_valid("reusable.yml", &log);
	const struct wf_job *j;

	assert_int_equal(wf->n_triggers, 1);
	assert_string_equal(wf->triggers[0].event, "workflow_call");
	assert_int_equal(wf->n_call_inputs, 2);
	assert_string_equal(wf->call_inputs[0].name, "target");
	assert_string_equal(wf->call_inputs[0].type, "string");
	assert_string_equal(wf->call_inputs[1].type, "boolean");
	assert_false(wf->call_inputs[1].required);
	assert_non_null(get(wf->call_secrets, "token"));
	assert_non_null(get(get(wf->call_outputs, "url"), "value"));
	j = wf_find_job(wf, "nested");
	assert_string_equal(j->uses, "./local");
	assert_int_equal(j->secrets->kind, YML_MAP);
	wf_free(wf);
}

static void test_workflow_job_order(void **state)
{
	struct uses_log log = { false, 0, { 0 } };
	struct workflow *wf = load_valid("needs.yml", &log);
	const char *const want[] = { "setup", "lint", "test", "deploy",
				     "docs" };
	size_t order[5], i;

	assert_int_equal(wf->n_jobs, 5);
	wf_job_order(wf, order);
	for (i = 0; i < 5; i++)
		assert_string_equal(wf->jobs[order[i]].id, want[i]);
	wf_free(wf);
}

static void test_workflow_lists(void **state)
{
	struct uses_log log = { false, 0, { 0 } };
	struct workflow *wf = load_valid("lists.yml", &log);

	assert_int_equal(wf->n_triggers, 3);
	assert_string_equal(wf->triggers[2].event, "workflow_dispatch");
	assert_null(wf->triggers[2].config);
	assert_int_equal(wf->jobs[0].runs_on->kind, YML_SEQ);
	assert_int_equal(wf->jobs[1].runs_on->kind, YML_MAP);
	assert_string_equal(wf->jobs[1].container->str, "alpine:3.20");
	assert_string_equal(wf->jobs[2].id, "_private-job_2");
	wf_free(wf);
}

static void test_workflow_missing_file(void **state)
{
	struct wf_diags d = WF_DIAGS_INIT;
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	char *text;

	assert_int_equal(wf_load(&wf, "tests/fixtures/nope.yml", NULL, &d, &e),
			 -1);
	assert_null(wf);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(d.n, 1);
	text = diags_text(&d, "tests/fixtures/nope.yml");
	assert_non_null(strstr(text, "cannot open"));
	free(text);
	wf_diags_release(&d);
}

static void test_workflow_print_sorted(void **state)
{
	const char *src = "on: push\njobs:\n  b:\n    needs: x\n    steps: []\n"
		"  a:\n    runs_on: z\n";
	struct wf_diags d = WF_DIAGS_INIT;
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	char *text;

	assert_int_equal(wf_load_mem(&wf, "mem.yml", src, strlen(src), NULL,
				     &d, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	text = diags_text(&d, "mem.yml");
	assert_string_equal(text,
		"3:3: job 'b' has no runs-on\n"
		"4:12: job 'b' needs 'x', which does not exist\n"
		"5:12: job 'b' has no steps\n"
		"6:3: job 'a' has neither steps nor uses\n"
		"7:5: unknown key 'runs_on' in job 'a'; did you mean "
		"'runs-on'?\n");
	free(text);
	wf_diags_release(&d);
}

/* A workflow of njobs jobs (each needing the one before) and nsteps
 * steps in the first job. */
static char *big_workflow(size_t njobs, size_t nsteps, size_t *len)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "on: push\njobs:\n");
	for (i = 0; i < njobs; i++) {
		buf_printf(&b, "  job%zu:\n    runs-on: ubuntu-latest\n", i);
		if (i > 0)
			buf_printf(&b, "    needs: [job%zu]\n", i - 1);
		buf_adds(&b, "    steps:\n");
		buf_printf(&b, "      - run: echo ${{ github.sha }} %zu\n", i);
	}
	buf_adds(&b, "  many:\n    runs-on: ubuntu-latest\n    steps:\n");
	for (i = 0; i < nsteps; i++)
		buf_printf(&b, "      - id: s%zu\n        run: echo %zu\n", i,
			   i);
	return buf_detach(&b, len);
}

static void test_workflow_big(void **state)
{
	size_t len, *order;
	char *src = big_workflow(256, 1000, &len);
	struct wf_diags d = WF_DIAGS_INIT;
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	long long t0 = time_mono_ns(), ms;
	size_t i;

	assert_int_equal(wf_load_mem(&wf, "big.yml", src, len, NULL, &d, &e),
			 0);
	ms = (time_mono_ns() - t0) / 1000000;
	/* The budget is 50 ms in a release build; ASan is several times
	 * slower, so this only catches quadratic blow-ups. */
	assert_true(ms < 1000);
	assert_int_equal(wf->n_jobs, 257);
	assert_int_equal(wf->jobs[256].n_steps, 1000);
	order = xcalloc(wf->n_jobs, sizeof(*order));
	wf_job_order(wf, order);
	for (i = 0; i < 256; i++)
		assert_int_equal(order[i], i);
	free(order);
	wf_free(wf);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workflow_valid_fixtures),
		cmocka_unit_test(test_workflow_invalid_fixtures),
		cmocka_unit_test(test_workflow_full_model),
		cmocka_unit_test(test_workflow_reusable_model),
		cmocka_unit_test(test_workflow_job_order),
		cmocka_unit_test(test_workflow_lists),
		cmocka_unit_test(test_workflow_missing_file),
		cmocka_unit_test(test_workflow_print_sorted),
		cmocka_unit_test(test_workflow_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
