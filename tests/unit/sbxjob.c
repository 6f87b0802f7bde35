/*
 * The job sandbox (sbx_job_*): namespaces, the file system view, what
 * survives a step (nothing), timeouts, cancel and the errors. The init is
 * gantry's own binary, so these tests use build/asan/gantry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/util.h"
#include "sandbox/sbx.h"

struct lines {
	char out[64][512];
	size_t n;
};

static char *gantry_exe;
static char *work;

static void on_line(void *ud, enum sbx_stream s, const char *line, size_t len)
{
	struct lines *l = ud;

	(void)s;
	if (l->n < 64) {
		snprintf(l->out[l->n], sizeof(l->out[0]), "%.*s", (int)len, line);
		l->n++;
	}
}

static int setup(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	gantry_exe = fs_realpath("build/asan/gantry");
	if (!gantry_exe)
		return -1;
	if (fs_mkdtemp(&work, "gantry-sbxjob", &e) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree(work, NULL);
	free(work);
	free(gantry_exe);
	return 0;
}

static struct sbx_job *job_new(enum sbx_net net)
{
	struct sbx_job_opts o;
	struct sbx_job *j = NULL;
	struct err e = ERR_INIT;

	memset(&o, 0, sizeof(o));
	o.net = net;
	o.workspace = work;
	o.runner_temp = work;
	o.self_exe = gantry_exe;
	sbx_limits_default(&o.limits);
	if (sbx_job_new(&j, &o, &e) < 0)
		fail_msg("sbx_job_new: %s", e.msg);
	return j;
}

static struct sbx_result sh(struct sbx_job *j, const char *script, struct lines *l,
			    long long timeout_ms, int cancel_fd)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", "MARK=x", NULL };
	struct sbx_opts o;
	struct sbx_result r;
	struct err e = ERR_INIT;

	memset(&o, 0, sizeof(o));
	memset(l, 0, sizeof(*l));
	o.argv = argv;
	o.envp = envp;
	o.cwd = work;
	o.timeout_ms = timeout_ms;
	o.cancel_fd = cancel_fd;
	o.kill_grace_ms = 200;
	o.on_line = on_line;
	o.ud = l;
	if (sbx_job_run(j, &r, &o, &e) < 0)
		fail_msg("sbx_job_run: %s", e.msg);
	return r;
}

/* Whether a host process has marker in its command line. */
static bool host_has(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d && (de = readdir(d)) && !found) {
		char path[300], cmd[4096];
		FILE *f;
		size_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n] = '\0';
		if (strstr(cmd, marker))
			found = true;
	}
	if (d)
		closedir(d);
	return found;
}

static void test_sbxjob_runs_a_step(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;

	(void)state;
	r = sh(j, "echo hello; echo err >&2; exit 3", &l, 0, -1);
	assert_int_equal(r.exit_code, 3);
	assert_int_equal(l.n, 2);
	r = sh(j, "echo second step", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(l.out[0], "second step");
	sbx_job_free(j);
}

static void test_sbxjob_namespaces(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;

	(void)state;
	r = sh(j, "hostname; echo $$; ls /proc | grep -c '^[0-9]'", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(l.out[0], "gantry");
	assert_true(strtol(l.out[1], NULL, 10) < 100);
	/* init, the shell, ls and grep at most */
	assert_true(strtol(l.out[2], NULL, 10) <= 4);
	sbx_job_free(j);
}

static void test_sbxjob_privileges(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;

	(void)state;
	r = sh(j, "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.n, 4);
	assert_non_null(strstr(l.out[0], "0000000000000000"));
	assert_non_null(strstr(l.out[1], "0000000000000000"));
	assert_non_null(strstr(l.out[2], "1"));
	assert_non_null(strstr(l.out[3], "2"));
	sbx_job_free(j);
}

static void test_sbxjob_filesystem(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;
	char *p = fs_join(work, "made-inside");

	(void)state;
	r = sh(j, "touch /usr/gantry-sbxjob-x 2>/dev/null && echo usr-writable; "
	       "touch made-inside && echo ws-writable; touch /tmp/t && echo tmp-writable; "
	       "ls /dev | wc -l", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(l.out[0], "ws-writable");
	assert_string_equal(l.out[1], "tmp-writable");
	assert_true(strtol(l.out[2], NULL, 10) <= 16);
	assert_true(fs_exists(p));
	assert_false(fs_exists("/usr/gantry-sbxjob-x"));
	free(p);
	sbx_job_free(j);
}

static void test_sbxjob_nothing_outlives_a_step(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;
	char script[256], marker[64];

	(void)state;
	snprintf(marker, sizeof(marker), "gantry-sbxjob-%d-%ld", (int)getpid(), (long)time(NULL));
	snprintf(script, sizeof(script),
		 "sleep 1000 & setsid sh -c 'sleep 1001 & exec -a %s sleep 1002' & "
		 "sh -c '(exec -a %s sleep 1003 &)'; sleep 0.2; echo started", marker, marker);
	r = sh(j, script, &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	r = sh(j, "ps -e -o comm= | grep -c sleep", &l, 0, -1);
	assert_string_equal(l.out[0], "0");
	assert_false(host_has(marker));
	sbx_job_free(j);
}

static void test_sbxjob_timeout(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;
	long long t0 = time_mono_ns();

	(void)state;
	r = sh(j, "trap '' TERM; sleep 30", &l, 300, -1);
	assert_true(r.timed_out);
	assert_true(r.exit_code >= 128);
	assert_true(time_mono_ns() - t0 < 5000000000LL);
	r = sh(j, "echo still usable", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	sbx_job_free(j);
}

static void *cancel_later(void *arg)
{
	int fd = *(int *)arg;
	ssize_t n;

	usleep(200000);
	n = write(fd, "c", 1);
	(void)n;
	return NULL;
}

static void test_sbxjob_cancel(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;
	pthread_t t;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	pthread_create(&t, NULL, cancel_later, &p[1]);
	r = sh(j, "sleep 30", &l, 0, p[0]);
	pthread_join(t, NULL);
	assert_true(r.cancelled);
	close(p[0]);
	close(p[1]);
	sbx_job_free(j);
}

static void test_sbxjob_exec_errors(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	const char *argv[] = { "no-such-program-gantry", NULL };
	const char *argv2[] = { "true", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct sbx_opts o;
	struct sbx_result r;
	struct err e = ERR_INIT;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.envp = envp;
	o.cancel_fd = -1;
	assert_int_equal(sbx_job_run(j, &r, &o, &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	assert_non_null(strstr(e.msg, "no-such-program-gantry"));
	o.argv = argv2;
	o.cwd = "/nonexistent-gantry-dir";
	assert_int_equal(sbx_job_run(j, &r, &o, &e), -1);
	assert_non_null(strstr(e.msg, "chdir to /nonexistent-gantry-dir failed"));
	sbx_job_free(j);
}

static void test_sbxjob_network(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_NONE);
	struct lines l;
	struct sbx_result r;

	(void)state;
	r = sh(j, "ls /sys/class/net; cat /sys/class/net/lo/flags", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(l.out[0], "lo");
	assert_int_equal(strtol(l.out[1], NULL, 16) & 1, 0);	/* IFF_UP clear */
	sbx_job_free(j);
	j = job_new(SBX_NET_LOOPBACK);
	r = sh(j, "ls /sys/class/net; cat /sys/class/net/lo/flags", &l, 0, -1);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(l.out[0], "lo");
	assert_int_equal(strtol(l.out[1], NULL, 16) & 1, 1);
	sbx_job_free(j);
}

static void test_sbxjob_environment_is_exact(void **state)
{
	struct sbx_job *j = job_new(SBX_NET_HOST);
	struct lines l;
	struct sbx_result r;

	(void)state;
	setenv("GANTRY_SBXJOB_CANARY", "leak", 1);
	r = sh(j, "env | grep -v '^PWD=\\|^SHLVL=\\|^_=' | sort; cat /proc/1/environ 2>/dev/null | wc -c",
	       &l, 0, -1);
	unsetenv("GANTRY_SBXJOB_CANARY");
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.out[0], "MARK=x");
	assert_string_equal(l.out[1], "PATH=/usr/bin:/bin");
	assert_string_equal(l.out[2], "0");
	sbx_job_free(j);
}

static void test_sbxjob_free_null(void **state)
{
	(void)state;
	sbx_job_free(NULL);
	assert_string_equal(sbx_net_name(SBX_NET_LOOPBACK), "loopback");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbxjob_runs_a_step),
		cmocka_unit_test(test_sbxjob_namespaces),
		cmocka_unit_test(test_sbxjob_privileges),
		cmocka_unit_test(test_sbxjob_filesystem),
		cmocka_unit_test(test_sbxjob_nothing_outlives_a_step),
		cmocka_unit_test(test_sbxjob_timeout),
		cmocka_unit_test(test_sbxjob_cancel),
		cmocka_unit_test(test_sbxjob_exec_errors),
		cmocka_unit_test(test_sbxjob_network),
		cmocka_unit_test(test_sbxjob_environment_is_exact),
		cmocka_unit_test(test_sbxjob_free_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
