#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/util.h"

static void test_buf_init_is_empty_string(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_buf_add_and_printf(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_adds(&b, "hello"), 0);
	assert_int_equal(buf_addch(&b, ' '), 0);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.ptr, "hello 42-x");
	assert_int_equal(b.len, 10);
	buf_release(&b);
}

static void test_buf_cap_refuses_and_keeps_content(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "12345"), 0);
	assert_int_equal(buf_adds(&b, "6789"), -1);
	assert_string_equal(b.ptr, "12345");
	assert_int_equal(buf_printf(&b, "%s", "abcdef"), -1);
	assert_string_equal(b.ptr, "12345");
	assert_int_equal(buf_adds(&b, "678"), 0);
	assert_int_equal(b.len, 8);
	buf_release(&b);
}

static void test_buf_grow_many(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_addch(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.ptr[10000], '\0');
	buf_release(&b);
}

static void test_buf_binary_data(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.ptr, "a\0b", 3);
	buf_release(&b);
}

static void test_buf_truncate_consume(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_adds(&b, "abcdef");
	buf_consume(&b, 2);
	assert_string_equal(b.ptr, "cdef");
	buf_truncate(&b, 1);
	assert_string_equal(b.ptr, "c");
	buf_reset(&b);
	assert_string_equal(b.ptr, "");
	buf_release(&b);
}

static void test_buf_detach(void **state)
{
	struct buf b = BUF_INIT;
	size_t n;
	char *s;

	(void)state;
	s = buf_detach(&b, &n);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);
	buf_adds(&b, "owned");
	s = buf_detach(&b, &n);
	assert_string_equal(s, "owned");
	assert_int_equal(n, 5);
	assert_string_equal(b.ptr, "");
	free(s);
	buf_release(&b);
}

static void test_buf_err_wrap(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(err_set(&e, ERR_AUTH, "HTTP %d", 401), -1);
	err_wrap(&e, "fetch");
	err_wrap(&e, "checkout of %s", "org/repo@main");
	assert_string_equal(e.msg, "checkout of org/repo@main: fetch: HTTP 401");
	assert_int_equal(e.code, ERR_AUTH);
	assert_string_equal(err_code_name(ERR_AUTH), "auth");
}

static void test_buf_util_strings(void **state)
{
	long v;

	(void)state;
	assert_true(str_starts_with("refs/heads/main", "refs/heads/"));
	assert_true(str_ends_with("a.yml", ".yml"));
	assert_false(str_ends_with("yml", ".yml"));
	assert_int_equal(str_casecmp("Hello", "hELLO"), 0);
	assert_true(str_casecmp("a", "b") < 0);
	assert_int_equal(str_to_long("123", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(str_to_long("12x", &v), -1);
	assert_int_equal(str_to_long("", &v), -1);
}

static void test_str_to_size(void **state)
{
	static const struct {
		const char *s;
		long long v;
	} ok[] = {
		{ "0", 0 }, { "512", 512 }, { "64K", 64LL << 10 }, { "64k", 64LL << 10 },
		{ "512M", 512LL << 20 }, { "4G", 4LL << 30 }, { "4GiB", 4LL << 30 },
		{ "2KB", 2048 }, { "2kb", 2048 }, { "1T", 1LL << 40 }, { "100B", 100 },
		{ "1.5G", 3LL << 29 }, { "0.5K", 512 }, { "1.25", 1 },
		{ "0.000000001T", 1099 }, { "8388607T", 8388607LL << 40 },
		{ "9223372036854775807", 9223372036854775807LL },
	};
	static const char *const bad[] = {
		"", "x", "5X", "1.", ".5", "1e3", " 5", "5 ", "-1", "+1", "0x10",
		"1.0000000001K", "8388608T", "99999999999999999999", "9223372036854775808", "5Kx", "5iB",
		"5bb", "nan", "inf",
	};
	long long v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = -1;
		assert_int_equal(str_to_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(str_to_size(bad[i], &v), -1);
}

static void test_hex_lower(void **state)
{
	static const unsigned char b[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[9];

	hex_lower(out, b, sizeof(b));
	assert_string_equal(out, "000fa5ff");
	hex_lower(out, b, 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_init_is_empty_string),
		cmocka_unit_test(test_str_to_size),
		cmocka_unit_test(test_hex_lower),
		cmocka_unit_test(test_buf_add_and_printf),
		cmocka_unit_test(test_buf_cap_refuses_and_keeps_content),
		cmocka_unit_test(test_buf_grow_many),
		cmocka_unit_test(test_buf_binary_data),
		cmocka_unit_test(test_buf_truncate_consume),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_buf_err_wrap),
		cmocka_unit_test(test_buf_util_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
