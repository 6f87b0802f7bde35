/* Unit tests for lib/mask.c: secret values replaced by "***". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mask.h"

/* mask_str() on s, compared with want. */
static void check(const struct mask *m, const char *s, const char *want)
{
	char *got = mask_str(m, s);

	assert_string_equal(got, want);
	free(got);
}

static void test_mask_single(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "hunter2");
	assert_int_equal(mask_count(m), 1);
	check(m, "password is hunter2.", "password is ***.");
	check(m, "hunter2hunter2", "******");
	check(m, "hunter", "hunter");
	check(m, "", "");
	mask_free(m);
}

static void test_mask_multiple(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "AKIAEXAMPLE");
	mask_add(m, "s3cr3t");
	check(m, "key=AKIAEXAMPLE secret=s3cr3t end",
	      "key=*** secret=*** end");
	check(m, "s3cr3tAKIAEXAMPLE", "******");
	mask_free(m);
}

static void test_mask_longest_first(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "abc");
	mask_add(m, "abc123");
	check(m, "x abc123 y abc z", "x *** y *** z");
	mask_free(m);

	/* Same with the other insertion order. */
	mask_new(&m);
	mask_add(m, "abc123");
	mask_add(m, "abc");
	check(m, "abc123abc", "******");
	mask_free(m);
}

static void test_mask_overlapping(void **state)
{
	struct mask *m;

	/* "abc" and "bcdef" overlap in "abcdef": nothing of either shows. */
	mask_new(&m);
	mask_add(m, "abc");
	mask_add(m, "bcdef");
	check(m, "abcdef!", "***!");
	check(m, "xbcdefx", "x***x");
	mask_free(m);

	/* A secret inside a longer one, starting later. */
	mask_new(&m);
	mask_add(m, "123");
	mask_add(m, "0123456");
	check(m, "a0123456b", "a***b");
	mask_free(m);
}

static void test_mask_multiline(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "line one\r\nline two\nx\n\nthree");
	/* whole value, "line one", "line two", "three"; "x" is too short. */
	assert_int_equal(mask_count(m), 4);
	check(m, "got line one", "got ***");
	check(m, "line two\n", "***\n");
	check(m, "three x", "*** x");
	check(m, "line one\r\nline two\nx\n\nthree", "***");
	mask_free(m);
}

static void test_mask_nul_bytes(void **state)
{
	static const char in[] = "a\0tok\0en\0token\0b";
	static const char want[] = "a\0tok\0en\0***\0b";
	struct mask *m;
	size_t n = 0;
	char *out;

	mask_new(&m);
	mask_add(m, "token");
	out = mask_apply(m, in, sizeof(in) - 1, &n);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], '\0');
	free(out);
	mask_free(m);
}

static void test_mask_empty_ignored(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "");
	mask_add(m, NULL);
	assert_int_equal(mask_count(m), 0);
	check(m, "nothing to hide", "nothing to hide");
	mask_free(m);
}

static void test_mask_duplicates(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "dup");
	mask_add(m, "dup");
	mask_add(m, "dup\ndup");
	/* "dup", "dup\ndup"; the lines are "dup" again. */
	assert_int_equal(mask_count(m), 2);
	check(m, "dup dup\ndup", "*** ***");
	mask_free(m);
}

static void test_mask_null_mask(void **state)
{
	static const char in[] = "plain\0copy";
	size_t n = 0;
	char *out;

	out = mask_apply(NULL, in, sizeof(in) - 1, &n);
	assert_int_equal(n, sizeof(in) - 1);
	assert_memory_equal(out, in, n);
	free(out);
	check(NULL, "as is", "as is");
	assert_int_equal(mask_count(NULL), 0);
	mask_free(NULL);
}

static void test_mask_single_char(void **state)
{
	struct mask *m;

	/* A one-character value is still a value; only lines need two. */
	mask_new(&m);
	mask_add(m, "z");
	check(m, "pizza", "pi******a");
	mask_free(m);
}

static void test_mask_regex_chars_literal(void **state)
{
	struct mask *m;

	mask_new(&m);
	mask_add(m, "a.*b");
	check(m, "axxb a.*b", "axxb ***");
	mask_free(m);
}

static void test_mask_long_input(void **state)
{
	struct mask *m;
	size_t len = 1 << 20, n, i, stars = 0;
	char *in, *out;

	mask_new(&m);
	mask_add(m, "needle");
	in = malloc(len);
	assert_non_null(in);
	memset(in, 'n', len);
	for (i = 1000; i + 6 < len; i += 100000)
		memcpy(in + i, "needle", 6);
	out = mask_apply(m, in, len, &n);
	for (i = 0; i + 3 <= n; i++)
		if (!memcmp(out + i, "***", 3))
			stars++;
	assert_int_equal(stars, 11);
	assert_null(memmem(out, n, "needle", 6));
	free(in);
	free(out);
	mask_free(m);
}

struct mask_thread_arg {
	struct mask *m;
	int id;
};

static void *mask_thread(void *p)
{
	struct mask_thread_arg *a = p;
	char val[32], line[64], *out;
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(val, sizeof(val), "secret-%d-%d", a->id, i);
		mask_add(a->m, val);
		snprintf(line, sizeof(line), "[%s]", val);
		out = mask_str(a->m, line);
		if (strcmp(out, "[***]")) {
			free(out);
			return (void *)1;
		}
		free(out);
	}
	return NULL;
}

static void test_mask_threads(void **state)
{
	struct mask_thread_arg args[4];
	pthread_t th[4];
	struct mask *m;
	void *ret;
	int i;

	mask_new(&m);
	for (i = 0; i < 4; i++) {
		args[i].m = m;
		args[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, mask_thread,
						&args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(mask_count(m), 800);
	check(m, "secret-3-199 secret-0-0", "*** ***");
	mask_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_single),
		cmocka_unit_test(test_mask_multiple),
		cmocka_unit_test(test_mask_longest_first),
		cmocka_unit_test(test_mask_overlapping),
		cmocka_unit_test(test_mask_multiline),
		cmocka_unit_test(test_mask_nul_bytes),
		cmocka_unit_test(test_mask_empty_ignored),
		cmocka_unit_test(test_mask_duplicates),
		cmocka_unit_test(test_mask_null_mask),
		cmocka_unit_test(test_mask_single_char),
		cmocka_unit_test(test_mask_regex_chars_literal),
		cmocka_unit_test(test_mask_long_input),
		cmocka_unit_test(test_mask_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
