/* Unit tests for agent/run_standby.c: a request sent on a socket pair and
 * taken in a child process (arguments with spaces, newlines, UTF-8 and
 * empty ones; a variable, returned and not set in the environment; the
 * log descriptor becoming stdout and
 * stderr), the agent hanging up without a request, malformed requests
 * refused, a request too large, and a peer that is gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../agent/run_standby.h"
#include "../../lib/buf.h"
#include "../../lib/fs.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* In a child: wait on fd, then print what came to stdout and stderr; exits
 * 10 + the wait's result (10: a request, 11: hung up, 9: refused) */
static pid_t waiter(int fd, int other)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct strv argv = STRV_INIT, env = STRV_INIT;
		struct err e = ERR_INIT;
		const char *tok;
		int r;

		close(other);
		unsetenv("GITHUB_TOKEN");
		r = run_standby_wait(&argv, &env, fd, &e);
		tok = strv_getenv(&env, "GITHUB_TOKEN");

		if (r < 0)
			_exit(9);
		if (r == 0) {
			for (size_t i = 0; i < argv.n; i++)
				printf("[%s]", argv.v[i]);
			/* the variables come back; the environment is not changed */
			printf("\ntoken=%s env=%s\n", tok ? tok : "(none)",
			       getenv("GITHUB_TOKEN") ? "changed" : "unchanged");
			fflush(stdout);
			fputs("on stderr\n", stderr);
		}
		_exit(10 + r);
	}
	return pid;
}

static int exit_of(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_standby_roundtrip(void **state)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct err e = ERR_INIT;
	struct buf got = BUF_INIT;
	char chunk[512];
	int sv[2], log[2];
	ssize_t n;
	pid_t pid;

	(void)state;
	pair(sv);
	assert_int_equal(pipe(log), 0);
	pid = waiter(sv[1], sv[0]);
	close(sv[1]);
	strv_push(&argv, "run");
	strv_push(&argv, "push");
	strv_push(&argv, "--input=who=a b\nc");
	strv_push(&argv, "");
	strv_push(&argv, "--directory=/tmp/\xc3\xbcnic\xc3\xb6" "de");
	strv_push(&env, "GITHUB_TOKEN=ghs_t0ken=with=equals");
	assert_int_equal(run_standby_send(sv[0], &argv, &env, log[1], &e), 0);
	close(sv[0]);
	close(log[1]);
	while ((n = read(log[0], chunk, sizeof(chunk))) > 0)
		buf_add(&got, chunk, (size_t)n);
	close(log[0]);
	assert_int_equal(exit_of(pid), 10);
	assert_string_equal(got.ptr, "[run][push][--input=who=a b\nc][][--directory=/tmp/"
			    "\xc3\xbcnic\xc3\xb6" "de]\ntoken=ghs_t0ken=with=equals env=unchanged\n"
			    "on stderr\n");
	buf_release(&got);
	strv_release(&argv);
	strv_release(&env);
}

static void test_standby_hangup(void **state)
{
	int sv[2];
	pid_t pid;

	(void)state;
	pair(sv);
	pid = waiter(sv[1], sv[0]);
	close(sv[1]);
	close(sv[0]);
	assert_int_equal(exit_of(pid), 11);
}

/* what a broken sender might put on the socket, with or without a descriptor */
static void send_raw(int sock, const char *magic, uint32_t len, const char *body,
		     size_t body_len, bool with_fd)
{
	char head[8], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = head, .iov_len = sizeof(head) };
	struct msghdr mh = { 0 };
	int fd = 1;

	memcpy(head, magic, 4);
	for (int i = 0; i < 4; i++)
		head[4 + i] = (char)((len >> (8 * i)) & 0xff);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (with_fd) {
		struct cmsghdr *cm;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)sizeof(head));
	if (body_len)
		assert_int_equal(send(sock, body, body_len, MSG_NOSIGNAL), (ssize_t)body_len);
}

static void refused(const char *magic, uint32_t len, const char *body, size_t body_len,
		    bool with_fd, const char *want)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct err e = ERR_INIT;
	int sv[2];

	pair(sv);
	send_raw(sv[0], magic, len, body, body_len, with_fd);
	close(sv[0]);
	assert_int_equal(run_standby_wait(&argv, &env, sv[1], &e), -1);
	assert_non_null(strstr(e.msg, want));
	assert_int_equal(argv.n + env.n, 0);
	strv_release(&argv);
	err_clear(&e);
}

static void test_standby_malformed(void **state)
{
	static const char ok[] = "1\0" "0\0" "run";	/* and its NUL */
	static const char var[] = "1\0" "1\0" "run\0" "NOEQUALS";

	(void)state;
	refused("XXXX", sizeof(ok), ok, sizeof(ok), true, "malformed request");
	refused("GSR1", sizeof(ok), ok, sizeof(ok), false, "malformed request");
	refused("GSR1", RUN_STANDBY_MAX + 1, ok, sizeof(ok), true, "a request of");
	refused("GSR1", 100, ok, sizeof(ok), true, "cut short");
	refused("GSR1", 4, "x\0y", 4, true, "malformed request");
	refused("GSR1", 4, "0\0" "0", 4, true, "malformed request");
	refused("GSR1", 6, "3\0" "0\0" "a", 6, true, "cut short");
	refused("GSR1", sizeof(var), var, sizeof(var), true, "malformed variable");
	refused("GSR1", sizeof(ok) + 2, "1\0" "0\0" "run\0" "xx", sizeof(ok) + 2, true,
		"bytes after");
}

static void test_standby_too_large(void **state)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct err e = ERR_INIT;
	char *big = malloc(RUN_STANDBY_MAX + 1);
	char one;
	int sv[2];

	(void)state;
	pair(sv);
	memset(big, 'a', RUN_STANDBY_MAX);
	big[RUN_STANDBY_MAX] = '\0';
	strv_push(&argv, "run");
	strv_push_owned(&argv, big);
	assert_int_equal(run_standby_send(sv[0], &argv, &env, 1, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* nothing was sent */
	close(sv[0]);
	assert_int_equal(read(sv[1], &one, 1), 0);
	close(sv[1]);
	strv_release(&argv);
	err_clear(&e);
}

static void test_standby_peer_gone(void **state)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct err e = ERR_INIT;
	int sv[2];

	(void)state;
	pair(sv);
	close(sv[1]);
	strv_push(&argv, "run");
	assert_int_equal(run_standby_send(sv[0], &argv, &env, 1, &e), -1);
	assert_true(e.sys_errno == EPIPE || e.sys_errno == ECONNRESET);
	close(sv[0]);
	strv_release(&argv);
	err_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standby_roundtrip),
		cmocka_unit_test(test_standby_hangup),
		cmocka_unit_test(test_standby_malformed),
		cmocka_unit_test(test_standby_too_large),
		cmocka_unit_test(test_standby_peer_gone),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
