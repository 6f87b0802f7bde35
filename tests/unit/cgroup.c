/*
 * Unit tests for sandbox/cgroup.c: limits written, processes moved in, the
 * memory limit kills a hog and is reported, the pids limit stops a fork
 * bomb, free kills what is left and removes the folders, names differ
 * across threads, the sweep of what killed processes left.
 *
 * The tests need writable cgroups (root on this machine); where
 * sbx_cgroup_new gives no cgroup, or a controller a test needs is missing,
 * the test is skipped with the reason printed. The folders are found
 * independently of cgroup.c: from /proc/<child>/cgroup of a child moved in,
 * and the hierarchy's mount in /proc/self/mountinfo.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "sandbox/cgroup.h"

#define MiB (1024LL * 1024)
#define WAIT_ROUNDS 400		/* 10 ms each: 4 s at most */

static const char *const v1_ctrls[] = { "memory", "pids", "cpu" };

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	if (fs_read_file(&b, path, &e) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static char *slurp_in(const char *dir, const char *file)
{
	char *path = fs_join(dir, file);
	char *s = slurp(path);

	free(path);
	return s;
}

/* Whether tok is one of the comma-separated words of list. */
static bool in_list(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list;

	while (p && *p) {
		if (!strncmp(p, tok, tl) && (p[tl] == ',' || !p[tl]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* The mount point of the v1 hierarchy with ctrl (NULL: cgroup2); only
 * mounts of the hierarchy's root are used. */
static char *mount_of(const char *ctrl)
{
	char *text = slurp("/proc/self/mountinfo"), *line, *save = NULL;
	char *found = NULL;

	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char root[512], point[512], fstype[64], super[512];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", root,
				    point) != 2 ||
		    sscanf(dash, " - %63s %*s %511s", fstype, super) != 2)
			continue;
		if (strcmp(root, "/"))
			continue;
		if (ctrl ? !strcmp(fstype, "cgroup") && in_list(super, ctrl)
			 : !strcmp(fstype, "cgroup2"))
			found = xstrdup(point);
	}
	free(text);
	return found;
}

/* The folder of pid's cgroup in ctrl's hierarchy (NULL: v2), or NULL. */
static char *dir_of(pid_t pid, const char *ctrl)
{
	char path[64], *text, *line, *save = NULL, *dir = NULL, *point;

	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	text = slurp(path);
	assert_non_null(text);
	point = mount_of(ctrl);
	for (line = strtok_r(text, "\n", &save); line && point && !dir;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (ctrl ? in_list(c1 + 1, ctrl) : !strcmp(line, "0:"))
			dir = xasprintf("%s%s", point, c2 + 1);
	}
	free(point);
	free(text);
	return dir;
}

static struct sbx_cgroup *new_or_skip(const struct sbx_limits *l)
{
	struct sbx_cgroup *cg = NULL;
	struct err e = ERR_INIT;

	if (sbx_cgroup_new(&cg, l, &e) < 0)
		fail_msg("sbx_cgroup_new: %s", e.msg);
	if (!cg) {
		print_message("skipped: cgroups are not writable here (uid %ld)\n",
			      (long)getuid());
		skip();
	}
	return cg;
}

/* A child stopped on a pipe until it is in the cgroup, then runs fn. */
struct kid {
	pid_t pid;
	int go;
};

static void kid_start(struct kid *k, struct sbx_cgroup *cg, void (*fn)(void))
{
	struct err e = ERR_INIT;
	int p[2];
	char c = 0;

	assert_int_equal(pipe(p), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		alarm(4);	/* whatever happens, gone within 4 s */
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(100);
		fn();
		_exit(0);
	}
	close(p[0]);
	k->go = p[1];
	assert_int_equal(sbx_cgroup_add(cg, k->pid, &e), 0);
	assert_int_equal(write(k->go, &c, 1), 1);
	close(k->go);
}

/* Wait (bounded) for the child; its wait status, or -1 when it hangs. */
static int kid_wait(struct kid *k)
{
	int st, i;

	for (i = 0; i < WAIT_ROUNDS; i++) {
		pid_t r = waitpid(k->pid, &st, WNOHANG);

		if (r == k->pid)
			return st;
		assert_int_equal(r, 0);
		sleep_ms(10);
	}
	kill(k->pid, SIGKILL);
	waitpid(k->pid, &st, 0);
	return -1;
}

static void body_sleep(void)
{
	int i;

	for (i = 0; i < 400; i++)
		sleep_ms(10);
}

static void body_hog(void)
{
	size_t len = (size_t)(200 * MiB), off;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(101);
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
	_exit(0);
}

/* Fork until the pids limit says EAGAIN (at most 100 times); exit with the
 * number of forks that worked, after killing and reaping them (so that no
 * orphan is left to init). */
static void body_bomb(void)
{
	pid_t kids[100];
	int n, i, code = -1;

	for (n = 0; n < 100 && code < 0; n++) {
		kids[n] = fork();
		if (kids[n] == 0) {
			alarm(3);
			pause();
			_exit(0);
		}
		if (kids[n] < 0)
			code = errno == EAGAIN ? n : 200;
	}
	if (code < 0)
		code = n;
	for (i = 0; i < n; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	_exit(code);
}

static bool is_v2(const struct sbx_cgroup *cg)
{
	return !strcmp(sbx_cgroup_kind(cg), "v2");
}

/* The folder of the child's cgroup for ctrl, or NULL when that hierarchy
 * is not used (v2: one folder for all). */
static char *kid_dir(const struct sbx_cgroup *cg, pid_t pid, const char *ctrl)
{
	char *dir = dir_of(pid, is_v2(cg) ? NULL : ctrl);
	char prefix[64];
	const char *base;

	if (!dir)
		return NULL;
	base = strrchr(dir, '/');
	snprintf(prefix, sizeof(prefix), "gantry-%ld-", (long)getpid());
	if (!base || strncmp(base + 1, prefix, strlen(prefix))) {
		free(dir);
		return NULL;	/* the child stayed where it was */
	}
	return dir;
}

static void assert_file(const char *dir, const char *file, const char *want)
{
	char *got = slurp_in(dir, file);

	assert_non_null(got);
	got[strcspn(got, "\n")] = '\0';
	assert_string_equal(got, want);
	free(got);
}

static bool has_file(const char *dir, const char *file)
{
	char *path = fs_join(dir, file);
	bool yes = fs_exists(path);

	free(path);
	return yes;
}

static void test_cgroup_null_free(void **state)
{
	struct err e = ERR_INIT;

	sbx_cgroup_free(NULL);
	assert_string_equal(sbx_cgroup_kind(NULL), "none");
	assert_false(sbx_cgroup_oom_killed(NULL));
	assert_int_equal(sbx_cgroup_add(NULL, getpid(), &e), 0);
}

static void test_cgroup_limits(void **state)
{
	struct sbx_limits l = { .memory_bytes = 64 * MiB, .pids_max = 20,
				.cpus = 0.5 };
	struct sbx_cgroup *cg = new_or_skip(&l);
	struct kid k;
	char *dir;
	size_t i;

	kid_start(&k, cg, body_sleep);
	print_message("cgroup kind: %s\n", sbx_cgroup_kind(cg));
	if (is_v2(cg)) {
		dir = kid_dir(cg, k.pid, NULL);
		assert_non_null(dir);
		assert_file(dir, "memory.max", "67108864");
		assert_file(dir, "pids.max", "20");
		if (has_file(dir, "memory.swap.max"))
			assert_file(dir, "memory.swap.max", "0");
		if (has_file(dir, "cpu.max"))
			assert_file(dir, "cpu.max", "50000 100000");
		free(dir);
	}
	for (i = 0; !is_v2(cg) && i < ARRAY_SIZE(v1_ctrls); i++) {
		dir = kid_dir(cg, k.pid, v1_ctrls[i]);
		print_message("%s: %s\n", v1_ctrls[i], dir ? dir : "(not used)");
		if (!dir)
			continue;
		if (i == 0) {
			assert_file(dir, "memory.limit_in_bytes", "67108864");
			if (has_file(dir, "memory.memsw.limit_in_bytes"))
				assert_file(dir, "memory.memsw.limit_in_bytes",
					    "67108864");
		} else if (i == 1) {
			assert_file(dir, "pids.max", "20");
		} else {
			assert_file(dir, "cpu.cfs_quota_us", "50000");
			assert_file(dir, "cpu.cfs_period_us", "100000");
		}
		free(dir);
	}
	sbx_cgroup_free(cg);
	assert_int_not_equal(kid_wait(&k), -1);
}

static void test_cgroup_add(void **state)
{
	struct sbx_limits l = { .pids_max = 100 };
	struct sbx_cgroup *cg = new_or_skip(&l);
	struct kid k;
	char want[32];
	size_t i, used = 0;

	kid_start(&k, cg, body_sleep);
	snprintf(want, sizeof(want), "%ld", (long)k.pid);
	for (i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		char *dir = kid_dir(cg, k.pid, v1_ctrls[i]);
		char *procs, *line, *save = NULL;
		bool seen = false;

		if (!dir)
			continue;
		used++;
		procs = slurp_in(dir, "cgroup.procs");
		assert_non_null(procs);
		for (line = strtok_r(procs, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			seen = seen || !strcmp(line, want);
		assert_true(seen);
		free(procs);
		free(dir);
	}
	assert_true(used > 0);
	sbx_cgroup_free(cg);
	assert_int_not_equal(kid_wait(&k), -1);
}

static void test_cgroup_oom(void **state)
{
	struct sbx_limits l = { .memory_bytes = 64 * MiB, .pids_max = 100 };
	struct sbx_cgroup *cg = new_or_skip(&l);
	struct kid k;
	char *dir;
	int st;

	assert_false(sbx_cgroup_oom_killed(cg));
	kid_start(&k, cg, body_hog);
	dir = kid_dir(cg, k.pid, "memory");
	st = kid_wait(&k);
	if (!dir) {
		sbx_cgroup_free(cg);
		print_message("skipped: no memory controller here\n");
		skip();
	}
	free(dir);
	assert_int_not_equal(st, -1);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_true(sbx_cgroup_oom_killed(cg));
	assert_false(sbx_cgroup_oom_killed(cg));
	sbx_cgroup_free(cg);
}

static void test_cgroup_fork_bomb(void **state)
{
	struct sbx_limits l = { .pids_max = 20 };
	struct sbx_cgroup *cg = new_or_skip(&l);
	struct kid k;
	char *dir;
	int st;

	kid_start(&k, cg, body_bomb);
	dir = kid_dir(cg, k.pid, "pids");
	st = kid_wait(&k);
	sbx_cgroup_free(cg);	/* kills the forked children */
	if (!dir) {
		print_message("skipped: no pids controller here\n");
		skip();
	}
	free(dir);
	assert_int_not_equal(st, -1);
	assert_true(WIFEXITED(st));
	print_message("forks before EAGAIN: %d\n", WEXITSTATUS(st));
	assert_true(WEXITSTATUS(st) >= 1);
	assert_true(WEXITSTATUS(st) < 20);
}

static void test_cgroup_free_kills(void **state)
{
	struct sbx_limits l = { .memory_bytes = 256 * MiB, .pids_max = 50,
				.cpus = 1 };
	struct sbx_cgroup *cg = new_or_skip(&l);
	char *dirs[ARRAY_SIZE(v1_ctrls)] = { NULL };
	struct kid k;
	size_t i;
	int st;

	kid_start(&k, cg, body_sleep);
	for (i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		dirs[i] = kid_dir(cg, k.pid, v1_ctrls[i]);
		if (dirs[i])
			assert_true(fs_is_dir(dirs[i]));
	}
	sbx_cgroup_free(cg);
	st = kid_wait(&k);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	for (i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		if (dirs[i])
			assert_false(fs_exists(dirs[i]));
		free(dirs[i]);
	}
}

struct maker {
	struct sbx_cgroup *cg;
	int ret;
};

static void *make_one(void *arg)
{
	struct maker *m = arg;
	struct sbx_limits l = { .memory_bytes = 128 * MiB, .pids_max = 50 };
	struct err e = ERR_INIT;

	m->ret = sbx_cgroup_new(&m->cg, &l, &e);
	return NULL;
}

static void test_cgroup_names_differ(void **state)
{
	struct maker m[2] = { { NULL, -1 }, { NULL, -1 } };
	pthread_t t[2];
	struct kid k[2];
	char *d[2];
	int i;

	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, make_one, &m[i]), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(m[i].ret, 0);
	}
	if (!m[0].cg || !m[1].cg) {
		sbx_cgroup_free(m[0].cg);
		sbx_cgroup_free(m[1].cg);
		print_message("skipped: cgroups are not writable here\n");
		skip();
	}
	for (i = 0; i < 2; i++) {
		kid_start(&k[i], m[i].cg, body_sleep);
		d[i] = kid_dir(m[i].cg, k[i].pid, "pids");
		if (!d[i])
			d[i] = kid_dir(m[i].cg, k[i].pid, "memory");
		assert_non_null(d[i]);
	}
	assert_string_not_equal(d[0], d[1]);
	for (i = 0; i < 2; i++) {
		sbx_cgroup_free(m[i].cg);
		assert_int_not_equal(kid_wait(&k[i]), -1);
		assert_false(fs_exists(d[i]));
		free(d[i]);
	}
}

/* The sweep, on an ordinary folder: only gantry-<pid>-<n> of a gone pid
 * goes; ours, a live process's, other names and non-empty ones stay. */
static void test_cgroup_sweep(void **state)
{
	char tmpl[] = "/tmp/gantry-cgsweep-XXXXXX";
	char *top = mkdtemp(tmpl), *gone, *busy, *ours, *live, *other, *file;
	pid_t pid = fork();
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(top);
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	gone = xasprintf("%s/gantry-%d-1", top, (int)pid);
	busy = xasprintf("%s/gantry-%d-2", top, (int)pid);
	ours = xasprintf("%s/gantry-%d-1", top, (int)getpid());
	live = xasprintf("%s/gantry-%d-1", top, (int)getppid());
	other = xasprintf("%s/gantry-main", top);
	file = xasprintf("%s/x", busy);
	assert_int_equal(fs_mkdirs(gone, 0755, &e), 0);
	assert_int_equal(fs_mkdirs(busy, 0755, &e), 0);
	assert_int_equal(fs_write_file(file, "x", 1, 0644, &e), 0);
	assert_int_equal(fs_mkdirs(ours, 0755, &e), 0);
	assert_int_equal(fs_mkdirs(live, 0755, &e), 0);
	assert_int_equal(fs_mkdirs(other, 0755, &e), 0);
	sbx_cgroup_sweep_once(top);
	assert_false(fs_exists(gone));
	assert_true(fs_exists(busy) && fs_exists(ours) && fs_exists(live) && fs_exists(other));
	/* once per base: a new leftover stays until the next process */
	assert_int_equal(fs_mkdirs(gone, 0755, &e), 0);
	sbx_cgroup_sweep_once(top);
	assert_true(fs_exists(gone));
	sbx_cgroup_sweep(top);
	assert_false(fs_exists(gone));
	fs_remove_tree(top, NULL);
	free(gone);
	free(busy);
	free(ours);
	free(live);
	free(other);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_null_free),
		cmocka_unit_test(test_cgroup_limits),
		cmocka_unit_test(test_cgroup_add),
		cmocka_unit_test(test_cgroup_oom),
		cmocka_unit_test(test_cgroup_fork_bomb),
		cmocka_unit_test(test_cgroup_free_kills),
		cmocka_unit_test(test_cgroup_names_differ),
		cmocka_unit_test(test_cgroup_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
