/* Unit tests for the child's protocol (agent/forge_status.c,
 * forge_status.h) with stand-ins for gantry: one that never answers is
 * killed at the deadline, the child's own error comes through, what is not
 * an answer is said, every child is reaped; and the request's format. */
#include "forge_status_test.h"

/* A child that never answers is killed at the deadline, and reaped. */
static void test_forge_status_child_timeout(void **state)
{
	struct forge_status_req q;
	struct buf line = BUF_INIT;
	struct err e = ERR_INIT;
	char *dir, *exe;
	long long t0;

	assert_int_equal(fs_mkdtemp(&dir, "forge-status", &e), 0);
	exe = fake_exe(dir, "gantry", "#!/bin/sh\nexec sleep 60\n");
	req_init(&q);
	t0 = time_mono_ns();
	assert_int_equal(forge_status_child(exe, &q, 300, &line, &e), -1);
	assert_true(time_mono_ns() - t0 < 5000000000LL);
	assert_int_equal(e.code, ERR_TIMEOUT);
	assert_non_null(strstr(e.msg, "commit status for o/r@0123456: "));
	assert_non_null(strstr(e.msg, "__forge-status did not answer in 0.3 s; "
			       "it was killed"));
	assert_all_reaped();
	forge_status_req_release(&q);
	buf_release(&line);
	fs_remove_tree(dir, NULL);
	free(exe);
	free(dir);
}

/* Started, then finished once the deadline has passed (a pending status
 * collected after a long run): an answer that came in time is read, and
 * one still missing at the deadline is not waited for. */
static void test_forge_status_child_halves(void **state)
{
	struct forge_status_call *c;
	struct forge_status_req q;
	struct buf line = BUF_INIT;
	struct err e = ERR_INIT;
	struct timespec pause = { 0, 500000000 };
	char *dir, *quick, *slow;
	long long t0;

	assert_int_equal(fs_mkdtemp(&dir, "forge-status", &e), 0);
	quick = fake_exe(dir, "quick", "#!/bin/sh\ncat >/dev/null\n"
			 "printf '0\\000commit status: posted\\000'\n");
	slow = fake_exe(dir, "slow", "#!/bin/sh\nexec sleep 60\n");
	req_init(&q);
	assert_int_equal(forge_status_child_start(&c, quick, &q, 200, &e), 0);
	nanosleep(&pause, NULL);
	assert_int_equal(forge_status_child_finish(c, &line, &e), 0);
	assert_string_equal(line.ptr, "commit status: posted");
	assert_all_reaped();
	assert_int_equal(forge_status_child_start(&c, slow, &q, 200, &e), 0);
	nanosleep(&pause, NULL);
	t0 = time_mono_ns();
	assert_int_equal(forge_status_child_finish(c, &line, &e), -1);
	assert_true(time_mono_ns() - t0 < 2000000000LL);
	assert_int_equal(e.code, ERR_TIMEOUT);
	assert_all_reaped();
	forge_status_req_release(&q);
	buf_release(&line);
	fs_remove_tree(dir, NULL);
	free(quick);
	free(slow);
	free(dir);
}

/* Its own error comes through as it is; what is not an answer is said. */
static void test_forge_status_child_answers(void **state)
{
	struct {
		const char *script;
		enum err_code code;
		const char *msg;
	} cases[] = {
		{ "cat >/dev/null; printf '%d\\000commit status: boom\\000'",
		  ERR_REMOTE, "commit status: boom" },
		{ "cat >/dev/null; exit 3", ERR_SANDBOX, "__forge-status ended with status 3" },
		{ "cat >/dev/null; printf nonsense", ERR_SANDBOX,
		  "__forge-status gave no answer" },
		{ "cat >/dev/null; printf '99\\000x\\000'", ERR_SANDBOX,
		  "__forge-status gave no answer" },
		{ "kill -9 $$", ERR_SANDBOX, "__forge-status was killed by signal 9" },
		{ "exec 0<&- 1>&-; exit 0", ERR_SANDBOX, "__forge-status gave no answer" },
	};
	struct forge_status_req q;
	struct err e = ERR_INIT;
	char *dir;

	assert_int_equal(fs_mkdtemp(&dir, "forge-status", &e), 0);
	req_init(&q);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf line = BUF_INIT;
		char *text = xasprintf("#!/bin/sh\n%s\n", cases[i].script);
		char *body = xasprintf(text, (int)ERR_REMOTE);
		char *name = xasprintf("gantry%zu", i);
		char *exe = fake_exe(dir, name, body);

		err_clear(&e);
		assert_int_equal(forge_status_child(exe, &q, 10000, &line, &e), -1);
		assert_int_equal(e.code, cases[i].code);
		assert_non_null(strstr(e.msg, cases[i].msg));
		assert_int_equal(line.len, 0);
		assert_all_reaped();
		buf_release(&line);
		free(exe);
		free(name);
		free(body);
		free(text);
	}
	forge_status_req_release(&q);
	fs_remove_tree(dir, NULL);
	free(dir);
}

/* The request's format: what is encoded is decoded; what is malformed is
 * refused. */
static void test_forge_status_request(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "", 0 },
		{ "GFS2\0forge=github\0", 18 },
		{ "GFS1\0forge=github\0context=c\0repo=o/r\0sha=1234567\0token=t", 56 },
		{ "GFS1\0forge=github\0context=c\0repo=o/r\0sha=1234567\0", 50 },
		{ "GFS1\0forge=GitHub\0context=c\0repo=o/r\0sha=1234567\0token=t\0", 57 },
		{ "GFS1\0forge=gitlab\0forge=github\0context=c\0repo=o/r\0"
		  "sha=1234567\0token=t\0", 70 },
		{ "GFS1\0context=c\0repo=o/r\0sha=1234567\0token=t\0", 45 },
		{ "GFS1\0forge=github\0context=c\0repo=o/r\0sha=1234567\0token=t\0"
		  "token=u\0", 65 },
		{ "GFS1\0forge=github\0context=c\0repo=o/r\0sha=1234567\0token=t\0"
		  "port=1\0", 64 },
		{ "GFS1\0forge=github\0context=c\0repo=o/r\0sha=1234567\0token=t\0"
		  "nokey\0", 63 },
	};
	struct forge_status_req q, back;
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	req_init(&q);
	for (enum forge f = FORGE_GITHUB; f <= FORGE_GITLAB; f++) {
		q.forge = f;
		forge_status_req_encode(&b, &q);
		assert_int_equal(forge_status_req_decode(&back, b.ptr, b.len, &e), 0);
		assert_int_equal(back.forge, f);
		forge_status_req_release(&back);
		buf_reset(&b);
	}
	q.forge = FORGE_GITEA;
	q.description = xstrdup("a\nb=c");
	forge_status_req_encode(&b, &q);
	assert_int_equal(forge_status_req_decode(&back, b.ptr, b.len, &e), 0);
	assert_int_equal(back.forge, FORGE_GITEA);
	assert_string_equal(back.state, "success");
	assert_string_equal(back.description, "a\nb=c");
	assert_null(back.target_url);
	assert_null(back.api_url);
	assert_null(back.ca_bundle);
	assert_string_equal(back.context, "gantry");
	assert_string_equal(back.repo, "o/r");
	assert_string_equal(back.sha, SHA);
	assert_string_equal(back.url, q.url);
	assert_string_equal(back.clone_url, q.clone_url);
	assert_string_equal(back.token, TOKEN);
	forge_status_req_release(&back);
	forge_status_req_release(&q);
	buf_release(&b);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(forge_status_req_decode(&back, bad[i].bytes, bad[i].len,
							 &e), -1);
		assert_int_equal(e.code, ERR_SYNTAX);
		assert_null(back.token);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forge_status_child_timeout),
		cmocka_unit_test(test_forge_status_child_halves),
		cmocka_unit_test(test_forge_status_child_answers),
		cmocka_unit_test(test_forge_status_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
