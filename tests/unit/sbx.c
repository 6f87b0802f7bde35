/*
 * Unit tests for sandbox/sbx.c: spawning, output lines, environment, cwd,
 * errors before exec, timeout, cancel, process-group cleanup, threads.
 *
 * Out of scope here: a child that leaves the group (setsid) is not killed
 * by sbx today; that is the PID namespace's job in the sandbox issue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sandbox/sbx.h"

#define MAX_LINES 200000

struct lines {
	char **out;
	size_t nout, aout;
	char **err;
	size_t nerr, aerr;
};

static void on_line(void *ud, enum sbx_stream s, const char *line, size_t len)
{
	struct lines *l = ud;

	assert_null(memchr(line, '\n', len));
	if (s == SBX_STDOUT) {
		assert_true(l->nout < MAX_LINES);
		ALLOC_GROW(l->out, l->nout + 1, l->aout);
		l->out[l->nout++] = xstrndup(line, len);
	} else {
		assert_int_equal(s, SBX_STDERR);
		assert_true(l->nerr < MAX_LINES);
		ALLOC_GROW(l->err, l->nerr + 1, l->aerr);
		l->err[l->nerr++] = xstrndup(line, len);
	}
}

static void lines_release(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->nout; i++)
		free(l->out[i]);
	for (i = 0; i < l->nerr; i++)
		free(l->err[i]);
	free(l->out);
	free(l->err);
	memset(l, 0, sizeof(*l));
}

static const char *const test_env[] = { "PATH=/usr/bin:/bin", "HOME=/tmp",
					NULL };

static void opts_sh(struct sbx_opts *o, const char **argv, const char *script,
		    struct lines *l)
{
	memset(o, 0, sizeof(*o));
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = NULL;
	o->argv = argv;
	o->envp = test_env;
	o->cancel_fd = -1;
	o->on_line = on_line;
	o->ud = l;
}

/* Run a shell script that must start; returns its result. */
static struct sbx_result run_sh(const char *script, struct lines *l)
{
	struct sbx_result res;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];

	opts_sh(&o, argv, script, l);
	if (sbx_run(&res, &o, &e) < 0)
		fail_msg("sbx_run: %s", e.msg);
	return res;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_sbx_exit_codes(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;

	r = run_sh("exit 0", &l);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.term_signal, 0);
	assert_false(r.timed_out);
	assert_false(r.cancelled);
	r = run_sh("exit 3", &l);
	assert_int_equal(r.exit_code, 3);
	r = run_sh("exit 255", &l);
	assert_int_equal(r.exit_code, 255);
	r = run_sh("kill -TERM $$", &l);
	assert_int_equal(r.term_signal, SIGTERM);
	assert_int_equal(r.exit_code, 128 + SIGTERM);
	lines_release(&l);
}

static void test_sbx_stdout_stderr(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;

	r = run_sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2", &l);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 2);
	assert_int_equal(l.nerr, 2);
	assert_string_equal(l.out[0], "out1");
	assert_string_equal(l.out[1], "out2");
	assert_string_equal(l.err[0], "err1");
	assert_string_equal(l.err[1], "err2");
	lines_release(&l);
}

static void test_sbx_line_across_writes(void **state)
{
	struct lines l = { 0 };

	run_sh("printf 'ab'; sleep 0.1; printf 'c\\n'; printf 'x'; sleep 0.05;"
	       " printf 'y\\r\\n'", &l);
	assert_int_equal(l.nout, 2);
	assert_string_equal(l.out[0], "abc");
	assert_string_equal(l.out[1], "xy");
	lines_release(&l);
}

static void test_sbx_long_line(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];

	/* 25 bytes, then exactly 10, then 11 ending in \r, max_line 10. */
	opts_sh(&o, argv, "printf '0123456789abcdefghijKLMNO\\n';"
		"printf '0123456789\\n'; printf '0123456789\\r\\n'; echo end", &l);
	o.max_line = 10;
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	assert_int_equal(l.nout, 6);
	assert_string_equal(l.out[0], "0123456789");
	assert_string_equal(l.out[1], "abcdefghij");
	assert_string_equal(l.out[2], "KLMNO");
	assert_string_equal(l.out[3], "0123456789");
	assert_string_equal(l.out[4], "0123456789");
	assert_string_equal(l.out[5], "end");
	lines_release(&l);
}

static void test_sbx_long_line_default(void **state)
{
	struct lines l = { 0 };

	/* 200000 bytes in one line: pieces of 64 KiB. */
	run_sh("head -c 200000 /dev/zero | tr '\\0' x; echo", &l);
	assert_int_equal(l.nout, 4);
	assert_int_equal(strlen(l.out[0]), 65536);
	assert_int_equal(strlen(l.out[1]), 65536);
	assert_int_equal(strlen(l.out[2]), 65536);
	assert_int_equal(strlen(l.out[3]), 200000 - 3 * 65536);
	lines_release(&l);
}

static void test_sbx_no_trailing_newline(void **state)
{
	struct lines l = { 0 };

	run_sh("printf 'a\\n\\nb'; printf 'tail' >&2", &l);
	assert_int_equal(l.nout, 3);
	assert_string_equal(l.out[0], "a");
	assert_string_equal(l.out[1], "");
	assert_string_equal(l.out[2], "b");
	assert_int_equal(l.nerr, 1);
	assert_string_equal(l.err[0], "tail");
	lines_release(&l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_sbx_env_exact(void **state)
{
	static const char *const env[] = { "PATH=/usr/bin:/bin", "ZZ=last",
					   "A_VAR=one two", NULL };
	static const char *const argv[] = { "env", NULL };
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o = { 0 };

	setenv("GANTRY_SBX_TEST_LEAK", "1", 1);
	o.argv = argv;
	o.envp = env;
	o.cancel_fd = -1;
	o.on_line = on_line;
	o.ud = &l;
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 3);
	qsort(l.out, l.nout, sizeof(*l.out), cmp_str);
	assert_string_equal(l.out[0], "A_VAR=one two");
	assert_string_equal(l.out[1], "PATH=/usr/bin:/bin");
	assert_string_equal(l.out[2], "ZZ=last");
	unsetenv("GANTRY_SBX_TEST_LEAK");
	lines_release(&l);
}

static void test_sbx_path_from_envp(void **state)
{
	static const char *const argv[] = { "true", NULL };
	const char *env[] = { "PATH=/nonexistent-gantry", NULL };
	char dir[] = "/tmp/gantry-sbx-XXXXXX", *prog, *pathvar;
	const char *argv2[] = { "gantry-hello", NULL };
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o = { 0 };
	FILE *f;

	/* gantry's own PATH has "true"; envp's does not. */
	o.argv = argv;
	o.envp = env;
	o.cancel_fd = -1;
	assert_int_equal(sbx_run(&r, &o, &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	assert_string_equal(e.msg, "exec of true: not found in PATH");

	/* A program only envp's PATH knows. */
	assert_non_null(mkdtemp(dir));
	prog = xasprintf("%s/gantry-hello", dir);
	f = fopen(prog, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho hello from \"$0\"\n", f);
	fclose(f);
	chmod(prog, 0755);
	pathvar = xasprintf("PATH=/nonexistent-gantry:%s", dir);
	env[0] = pathvar;
	o.argv = argv2;
	o.on_line = on_line;
	o.ud = &l;
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 1);
	assert_string_equal(l.out[0] + strlen("hello from "), prog);
	unlink(prog);
	rmdir(dir);
	free(prog);
	free(pathvar);
	lines_release(&l);
}

static void test_sbx_cwd(void **state)
{
	char dir[] = "/tmp/gantry-sbx-XXXXXX";
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];

	assert_non_null(mkdtemp(dir));
	opts_sh(&o, argv, "pwd -P", &l);
	o.cwd = dir;
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	assert_int_equal(l.nout, 1);
	assert_string_equal(l.out[0], dir);
	rmdir(dir);
	lines_release(&l);
}

static void test_sbx_not_found(void **state)
{
	static const char *const argv[] = { "gantry-no-such-program", NULL };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o = { 0 };

	o.argv = argv;
	o.envp = test_env;
	o.cancel_fd = -1;
	assert_int_equal(sbx_run(&r, &o, &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	assert_string_equal(e.msg,
			    "exec of gantry-no-such-program: not found in PATH");
}

static void test_sbx_exec_fails(void **state)
{
	static const char *const noexec[] = { "/etc/passwd", NULL };
	static const char *const missing[] = { "/nonexistent/prog", NULL };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o = { 0 };

	o.argv = noexec;
	o.envp = test_env;
	o.cancel_fd = -1;
	assert_int_equal(sbx_run(&r, &o, &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	assert_string_equal(e.msg,
			    "exec of /etc/passwd failed: Permission denied");
	o.argv = missing;
	assert_int_equal(sbx_run(&r, &o, &e), -1);
	assert_string_equal(e.msg, "exec of /nonexistent/prog failed: "
			    "No such file or directory");
	assert_int_equal(e.sys_errno, ENOENT);
}

static void test_sbx_bad_cwd(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];

	opts_sh(&o, argv, "echo should not run", &l);
	o.cwd = "/nonexistent/gantry-dir";
	assert_int_equal(sbx_run(&r, &o, &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	assert_string_equal(e.msg, "chdir to /nonexistent/gantry-dir failed: "
			    "No such file or directory");
	assert_int_equal(l.nout, 0);
}

static void test_sbx_timeout(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];
	double t0 = now_s();

	opts_sh(&o, argv, "echo started; sleep 30", &l);
	o.timeout_ms = 300;
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	assert_true(now_s() - t0 < 5.0);
	assert_true(r.timed_out);
	assert_false(r.cancelled);
	assert_int_equal(r.term_signal, SIGTERM);
	assert_int_equal(r.exit_code, 128 + SIGTERM);
	assert_true(r.duration_ns >= 300000000LL);
	assert_int_equal(l.nout, 1);
	lines_release(&l);
}

static void test_sbx_timeout_grace_kill(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];
	double t0 = now_s(), dt;

	/* SIGTERM ignored by the shell and its sleep: SIGKILL after grace. */
	opts_sh(&o, argv, "trap '' TERM; sleep 30", &l);
	o.timeout_ms = 100;
	o.kill_grace_ms = 300;
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	dt = now_s() - t0;
	assert_true(dt < 5.0);
	assert_true(dt >= 0.4);
	assert_true(r.timed_out);
	assert_int_equal(r.term_signal, SIGKILL);
	assert_int_equal(r.exit_code, 128 + SIGKILL);
}

/* True when pid is gone or a zombie waiting for its new parent. */
static bool pid_dead(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

static void test_sbx_background_killed(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	double t0 = now_s();
	long pid;
	int i;

	r = run_sh("sleep 30 & echo $!; exit 0", &l);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 1);
	assert_int_equal(str_to_long(l.out[0], &pid), 0);
	assert_true(pid > 1);
	for (i = 0; i < 200 && !pid_dead(pid); i++)
		usleep(10000);
	assert_true(pid_dead(pid));
	lines_release(&l);
}

static void test_sbx_drain_bounded(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	double t0 = now_s(), dt;
	long pid;

	/*
	 * A child that left the group keeps stdout open: out of sbx's reach
	 * (the PID namespace's job), but sbx must not wait for it past 1 s.
	 */
	r = run_sh("setsid sleep 5 & p=$!; echo $p; i=0; while [ $i -lt 500 ]"
		   " && [ \"$(cut -d' ' -f6 /proc/$p/stat)\" != $p ]; do"
		   " i=$((i+1)); sleep 0.01; done; echo bye", &l);
	dt = now_s() - t0;
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 2);
	assert_string_equal(l.out[1], "bye");
	assert_int_equal(str_to_long(l.out[0], &pid), 0);
	assert_true(pid > 1);
	kill((pid_t)pid, SIGKILL);
	assert_true(dt >= 0.9);
	assert_true(dt < 8.0);
	lines_release(&l);
}

struct canceller {
	int fd;
	int delay_ms;
};

static void *cancel_thread(void *p)
{
	struct canceller *c = p;

	usleep((useconds_t)c->delay_ms * 1000);
	if (write(c->fd, "x", 1) != 1)
		return (void *)1;
	return NULL;
}

static void test_sbx_cancel(void **state)
{
	struct lines l = { 0 };
	struct canceller c;
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];
	pthread_t th;
	double t0 = now_s();
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	c.fd = fds[1];
	c.delay_ms = 200;
	opts_sh(&o, argv, "sleep 30", &l);
	o.cancel_fd = fds[0];
	o.timeout_ms = 20000;
	assert_int_equal(pthread_create(&th, NULL, cancel_thread, &c), 0);
	assert_int_equal(sbx_run(&r, &o, &e), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(now_s() - t0 < 5.0);
	assert_true(r.cancelled);
	assert_false(r.timed_out);
	assert_int_equal(r.exit_code, 128 + SIGTERM);
	close(fds[0]);
	close(fds[1]);
}

static void test_sbx_new_process_group(void **state)
{
	struct lines l = { 0 };
	long pid, pgid;

	run_sh("echo $$; cut -d' ' -f5 /proc/$$/stat", &l);
	assert_int_equal(l.nout, 2);
	assert_int_equal(str_to_long(l.out[0], &pid), 0);
	assert_int_equal(str_to_long(l.out[1], &pgid), 0);
	assert_int_equal(pgid, pid);
	assert_true(pgid != (long)getpgrp());
	lines_release(&l);
}

static void test_sbx_stdin_devnull(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;
	double t0 = now_s();

	r = run_sh("cat; echo done", &l);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 1);
	assert_string_equal(l.out[0], "done");
	lines_release(&l);
}

static void test_sbx_signals_reset(void **state)
{
	struct lines l = { 0 };
	struct sigaction sa, oldsa;
	sigset_t set, oldset;
	size_t i;

	/* The caller's blocked mask and ignored signals must not leak. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR1, &sa, &oldsa);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, &oldset);
	run_sh("grep -E '^Sig(Blk|Ign)' /proc/self/status", &l);
	pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	sigaction(SIGUSR1, &oldsa, NULL);
	assert_int_equal(l.nout, 2);
	for (i = 0; i < l.nout; i++)
		assert_non_null(strstr(l.out[i], "0000000000000000"));
	lines_release(&l);
}

static void test_sbx_no_fd_leak(void **state)
{
	struct lines l = { 0 };
	int fd = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC on purpose */
	size_t i;

	assert_true(fd >= 0);
	run_sh("ls /proc/self/fd", &l);
	close(fd);
	/* 0, 1, 2 and the directory ls itself is reading. */
	assert_int_equal(l.nout, 4);
	for (i = 0; i < 3; i++) {
		long n;

		assert_int_equal(str_to_long(l.out[i], &n), 0);
		assert_int_equal(n, (long)i);
	}
	lines_release(&l);
}

static void test_sbx_many_lines(void **state)
{
	struct lines l = { 0 };
	struct sbx_result r;

	r = run_sh("seq 1 100000; seq 1 50000 >&2", &l);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.nout, 100000);
	assert_int_equal(l.nerr, 50000);
	assert_string_equal(l.out[0], "1");
	assert_string_equal(l.out[99999], "100000");
	assert_string_equal(l.err[49999], "50000");
	lines_release(&l);
}

struct par {
	const char *script;
	struct lines l;
	struct sbx_result r;
	int rc;
};

static void *par_thread(void *p)
{
	struct par *a = p;
	struct err e = ERR_INIT;
	struct sbx_opts o;
	const char *argv[4];

	opts_sh(&o, argv, a->script, &a->l);
	a->rc = sbx_run(&a->r, &o, &e);
	return NULL;
}

static void test_sbx_parallel(void **state)
{
	struct par a[4] = {
		{ .script = "for i in $(seq 1 500); do echo a$i; done; exit 1" },
		{ .script = "for i in $(seq 1 500); do echo b$i >&2; done; exit 2" },
		{ .script = "sleep 0.2; echo c; exit 3" },
		{ .script = "seq 1 20000; exit 4" },
	};
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, par_thread,
						&a[i]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(a[i].rc, 0);
		assert_int_equal(a[i].r.exit_code, i + 1);
	}
	assert_int_equal(a[0].l.nout, 500);
	assert_string_equal(a[0].l.out[499], "a500");
	assert_int_equal(a[0].l.nerr, 0);
	assert_int_equal(a[1].l.nerr, 500);
	assert_string_equal(a[1].l.err[0], "b1");
	assert_int_equal(a[2].l.nout, 1);
	assert_int_equal(a[3].l.nout, 20000);
	for (i = 0; i < 4; i++)
		lines_release(&a[i].l);
}

static void test_sbx_duration_and_speed(void **state)
{
	static const char *const argv[] = { "true", NULL };
	struct sbx_result r;
	struct err e = ERR_INIT;
	struct sbx_opts o = { 0 };
	double t0;
	int i;

	run_sh("sleep 0.1", &(struct lines){ 0 });
	r = run_sh("sleep 0.1", &(struct lines){ 0 });
	assert_true(r.duration_ns >= 100000000LL);
	assert_true(r.duration_ns < 5000000000LL);

	/* No sleep on the normal path: 200 spawns of true, well bounded. */
	o.argv = argv;
	o.envp = test_env;
	o.cancel_fd = -1;
	t0 = now_s();
	for (i = 0; i < 200; i++) {
		assert_int_equal(sbx_run(&r, &o, &e), 0);
		assert_int_equal(r.exit_code, 0);
	}
	print_message("sbx: %.3f ms per spawn of true (sanitizer build)\n",
		      (now_s() - t0) * 1000.0 / 200);
	assert_true(now_s() - t0 < 10.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbx_exit_codes),
		cmocka_unit_test(test_sbx_stdout_stderr),
		cmocka_unit_test(test_sbx_line_across_writes),
		cmocka_unit_test(test_sbx_long_line),
		cmocka_unit_test(test_sbx_long_line_default),
		cmocka_unit_test(test_sbx_no_trailing_newline),
		cmocka_unit_test(test_sbx_env_exact),
		cmocka_unit_test(test_sbx_path_from_envp),
		cmocka_unit_test(test_sbx_cwd),
		cmocka_unit_test(test_sbx_not_found),
		cmocka_unit_test(test_sbx_exec_fails),
		cmocka_unit_test(test_sbx_bad_cwd),
		cmocka_unit_test(test_sbx_timeout),
		cmocka_unit_test(test_sbx_timeout_grace_kill),
		cmocka_unit_test(test_sbx_background_killed),
		cmocka_unit_test(test_sbx_drain_bounded),
		cmocka_unit_test(test_sbx_cancel),
		cmocka_unit_test(test_sbx_new_process_group),
		cmocka_unit_test(test_sbx_stdin_devnull),
		cmocka_unit_test(test_sbx_signals_reset),
		cmocka_unit_test(test_sbx_no_fd_leak),
		cmocka_unit_test(test_sbx_many_lines),
		cmocka_unit_test(test_sbx_parallel),
		cmocka_unit_test(test_sbx_duration_and_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
