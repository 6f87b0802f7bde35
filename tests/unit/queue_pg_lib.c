/* Unit tests for agent/queue_pg_lib.c: libpq is loaded at run time, only
 * for a PostgreSQL queue, and a libpq that cannot be loaded makes opening
 * one fail with a message that says what to install. A process loads
 * libpq once and keeps the outcome, so the cases run in this order in a
 * program of their own: SQLite first (nothing loaded), then a postgres://
 * URL with pg_lib_name_for_test naming a library that is not there. That
 * libpq itself loads is checked by unit_queue (test_queue_pg_unreachable)
 * and by every case against QUEUE_TEST_URL. */
#include "queue_test.h"

#include "agent/queue_pg_int.h"

#include <dlfcn.h>
#include <string.h>

#define MISSING "libpq-gantry-test-missing.so.5"

/* Whether libpq.so.5 is mapped in this process (RTLD_NOLOAD: never
 * loads it; a handle it answers is closed again). */
static bool libpq_mapped(void)
{
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

static void case_sqlite_never_loads(const char *url)
{
	struct queue *q;

	if (!is_sqlite(url))
		return;
	q = open_q(url, "a1");
	add_one(q, "d:1");
	assert_int_equal(claim_one(q, 30), 1);
	assert_int_equal(count_of(q, "running"), 1);
	queue_close(q);
	assert_false(libpq_mapped());
	assert_null(pg_lib.exec);
}

static void test_queue_pg_lib_sqlite_never_loads(void **state)
{
	(void)state;
	/* each_backend would open QUEUE_TEST_URL too: SQLite only, here */
	unsetenv("QUEUE_TEST_URL");
	each_backend(case_sqlite_never_loads);
	assert_false(libpq_mapped());
}

static void test_queue_pg_lib_missing(void **state)
{
	const char *const urls[] = { "postgres://gantry:hunter2@127.0.0.1:1/q",
		"postgresql:///q?host=/nonexistent" };
	struct err e = ERR_INIT;
	struct queue *q = NULL;

	(void)state;
	pg_lib_name_for_test(MISSING);
	for (int i = 0; i < 2; i++) {	/* the failure is kept: twice the same */
		for (size_t u = 0; u < ARRAY_SIZE(urls); u++) {
			err_clear(&e);
			assert_int_equal(queue_open(&q, urls[u], "a1", &e), -1);
			assert_null(q);
			assert_int_equal(e.code, ERR_IO);
			assert_non_null(strstr(e.msg, "cannot load " MISSING " ("
					       MISSING ": cannot open shared object file"));
			assert_non_null(strstr(e.msg, "install libpq5"));
			assert_null(strstr(e.msg, "hunter2"));
		}
	}
	assert_non_null(strstr(e.msg, "queue postgresql:///q?host=/nonexistent: "));
	err_clear(&e);
	assert_int_equal(pg_lib_load(&e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_null(pg_lib.exec);
	assert_false(libpq_mapped());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* in this order: see the top of the file */
		cmocka_unit_test(test_queue_pg_lib_sqlite_never_loads),
		cmocka_unit_test(test_queue_pg_lib_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
