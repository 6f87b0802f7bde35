/* Unit tests for agent/agent_retention.c: a sweep over a data folder in a
 * temporary folder (logs, run folders and git mirrors of various ages,
 * set with utimensat) and an SQLite queue beside it, with an agent built
 * by hand (one worker, which holds run 7). Checks what is left. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../lib/fs.h"
#include "../../lib/util.h"

#define DAY 86400L
#define LIVE_RUN 7

struct fixture {
	char *dir;		/* the temporary folder: DATA_DIR */
	char *outside;		/* dir/outside: what links point to */
	char *url;		/* the queue */
	struct agent ag;
	struct worker worker;
	struct queue *q;
};

static struct fixture *fx;

static void set_age(const char *path, long age_s)
{
	struct timespec ts[2] = { { time(NULL) - age_s, 0 },
				  { time(NULL) - age_s, 0 } };

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("utimensat %s: %s", path, strerror(errno));
}

/* dir/rel, a file (or a folder when rel ends in '/') age_s old. */
static char *make(const char *rel, long age_s)
{
	char *path = fs_join(fx->dir, rel);
	size_t len = strlen(path);
	struct err e = ERR_INIT;

	if (path[len - 1] == '/') {
		path[len - 1] = '\0';
		assert_int_equal(fs_mkdirs(path, 0700, &e), 0);
	} else {
		assert_int_equal(fs_write_file(path, "x", 1, 0600, &e), 0);
	}
	set_age(path, age_s);
	return path;
}

static void make_free(const char *rel, long age_s)
{
	free(make(rel, age_s));
}

/* dir/rel, a symbolic link to target, age_s old itself. */
static void make_link(const char *rel, const char *target, long age_s)
{
	char *path = fs_join(fx->dir, rel);

	assert_int_equal(symlink(target, path), 0);
	set_age(path, age_s);
	free(path);
}

static bool there(const char *rel)
{
	char *path = fs_join(fx->dir, rel);
	bool r = fs_exists(path);

	free(path);
	return r;
}

static int setup(void **state)
{
	struct err e = ERR_INIT;

	fx = xcalloc(1, sizeof(*fx));
	if (fs_mkdtemp(&fx->dir, "gantry-retention-test", &e) < 0)
		return -1;
	fx->outside = fs_join(fx->dir, "outside");
	fx->url = xasprintf("sqlite://%s/queue.db", fx->dir);
	fx->ag.cfg.retention_days = 30;
	fx->ag.cache_dir = fs_join(fx->dir, "git");
	fx->ag.logs_dir = fs_join(fx->dir, "logs");
	fx->ag.runs_dir = fs_join(fx->dir, "runs");
	pthread_rwlock_init(&fx->ag.cfg_lock, NULL);
	pthread_mutex_init(&fx->ag.lock, NULL);
	fx->worker.ag = &fx->ag;
	fx->worker.run_id = LIVE_RUN;
	fx->ag.workers = &fx->worker;
	fx->ag.n_workers = 1;
	if (fs_mkdirs(fx->ag.logs_dir, 0700, &e) < 0 ||
	    fs_mkdirs(fx->ag.runs_dir, 0700, &e) < 0 ||
	    fs_mkdirs(fx->ag.cache_dir, 0700, &e) < 0 ||
	    fs_mkdirs(fx->outside, 0700, &e) < 0 ||
	    queue_open(&fx->q, fx->url, "a1", &e) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct err e = ERR_INIT;
	int r;

	queue_close(fx->q);
	r = fs_remove_tree(fx->dir, &e);
	pthread_rwlock_destroy(&fx->ag.cfg_lock);
	pthread_mutex_destroy(&fx->ag.lock);
	free(fx->ag.cache_dir);
	free(fx->ag.logs_dir);
	free(fx->ag.runs_dir);
	free(fx->outside);
	free(fx->url);
	free(fx->dir);
	free(fx);
	return r;
}

/* A run of delivery d, cancelled age_s ago (its finished_ms moved back
 * behind the queue's back), or left queued when age_s < 0. */
static long long add_run(const char *d, long age_s)
{
	struct queue_new n = {
		.delivery = d, .forge = "github", .event = "push",
		.repo = "org/app", .clone_url = "https://git.example/org/app.git",
		.ref = "refs/heads/main", .payload = "{}",
	};
	struct err e = ERR_INIT;
	long long id = 0;
	bool dup;
	sqlite3 *db;
	char *sql;

	assert_int_equal(queue_add(fx->q, &n, 1, &id, &dup, &e), 0);
	if (age_s < 0)
		return id;
	assert_int_equal(queue_cancel(fx->q, id, &e), 1);
	sql = xasprintf("UPDATE runs SET finished_ms = %lld WHERE id = %lld",
			queue_now_ms() - age_s * 1000LL, id);
	assert_int_equal(sqlite3_open(fx->url + strlen("sqlite://"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);
	return id;
}

static bool run_exists(long long id)
{
	struct err e = ERR_INIT;
	json_t *run = NULL;
	int r = queue_get(fx->q, id, &run, &e);

	json_decref(run);
	if (r < 0)
		assert_int_equal(e.code, ERR_NOT_FOUND);
	return r == 0;
}

static void test_agent_retention_sweep(void **state)
{
	long long old_run, recent_run, queued_run;
	char *target, *mirror;

	old_run = add_run("d:old", 40 * DAY);
	recent_run = add_run("d:recent", 10 * DAY);
	queued_run = add_run("d:queued", -1);

	/* logs */
	make_free("logs/1.log.gz", 40 * DAY);		/* out of retention */
	make_free("logs/2.log.gz", 10 * DAY);
	make_free("logs/3.log.gz", 2 * DAY);		/* compressed: the .log */
	make_free("logs/3.log", 2 * DAY);		/* is a leftover */
	make_free("logs/4.log", 2 * DAY);		/* the only copy: kept */
	make_free("logs/5.log", 40 * DAY);		/* ... for the retention */
	make_free("logs/7.log", 40 * DAY);		/* live: a worker holds 7 */
	make_free("logs/6.log.gz.tmp", 2 * 3600);	/* half written */
	make_free("logs/8.log.gz.tmp", 600);		/* being written */
	make_free("logs/notes.txt", 40 * DAY);		/* not the agent's names */
	make_free("logs/abc.log.gz", 40 * DAY);
	make_free("logs/12x.log.gz", 40 * DAY);
	make_free("logs/1234567890123456789.log.gz", 40 * DAY);
	make_free("logs/10.log.gz/", 40 * DAY);	/* not a file */
	target = make("outside/old.log.gz", 40 * DAY);
	make_link("logs/9.log.gz", target, 40 * DAY);	/* a link: kept */
	/* run folders */
	make_free("runs/11/", 2 * DAY);
	make_free("runs/11/event.json", 2 * DAY);
	make_free("runs/11/", 2 * DAY);			/* its date again */
	make_free("runs/12/", 3600);			/* recent */
	make_free("runs/7/", 2 * DAY);			/* live */
	make_free("runs/x14/", 2 * DAY);		/* not a run's name */
	make_free("outside/run/", 2 * DAY);
	make_free("outside/run/keep.json", 2 * DAY);
	make_link("runs/13", fx->outside, 2 * DAY);	/* a link: kept */
	/* git mirrors: by their last-used marker */
	mirror = make("git/old.git/", 40 * DAY);
	make_free("git/old.git/gantry-last-used", 40 * DAY);
	make_free("git/new.git/", 40 * DAY);
	make_free("git/new.git/gantry-last-used", DAY);

	/* 0: keep everything */
	fx->ag.cfg.retention_days = 0;
	agent_retention_sweep(&fx->ag, fx->q);
	assert_true(there("logs/1.log.gz"));
	assert_true(there("logs/3.log"));
	assert_true(there("logs/6.log.gz.tmp"));
	assert_true(there("runs/11"));
	assert_true(there("git/old.git"));
	assert_true(run_exists(old_run));

	fx->ag.cfg.retention_days = 30;
	agent_retention_sweep(&fx->ag, fx->q);
	assert_false(run_exists(old_run));
	assert_true(run_exists(recent_run));
	assert_true(run_exists(queued_run));
	assert_false(there("logs/1.log.gz"));
	assert_true(there("logs/2.log.gz"));
	assert_true(there("logs/3.log.gz"));
	assert_false(there("logs/3.log"));
	assert_true(there("logs/4.log"));
	assert_false(there("logs/5.log"));
	assert_true(there("logs/7.log"));
	assert_false(there("logs/6.log.gz.tmp"));
	assert_true(there("logs/8.log.gz.tmp"));
	assert_true(there("logs/notes.txt"));
	assert_true(there("logs/abc.log.gz"));
	assert_true(there("logs/12x.log.gz"));
	assert_true(there("logs/1234567890123456789.log.gz"));
	assert_true(there("logs/10.log.gz"));
	assert_true(there("logs/9.log.gz"));
	assert_true(fs_exists(target));
	assert_false(there("runs/11"));
	assert_true(there("runs/12"));
	assert_true(there("runs/7"));
	assert_true(there("runs/x14"));
	assert_true(there("runs/13"));
	assert_true(there("outside/run/keep.json"));
	assert_false(fs_exists(mirror));
	assert_true(there("git/new.git"));

	/* a shorter retention, reloaded: the rest goes too */
	fx->ag.cfg.retention_days = 5;
	agent_retention_sweep(&fx->ag, fx->q);
	assert_false(run_exists(recent_run));
	assert_true(run_exists(queued_run));
	assert_false(there("logs/2.log.gz"));
	assert_true(there("logs/3.log.gz"));
	assert_true(there("logs/7.log"));
	free(target);
	free(mirror);
}

/* At most 10,000 removals a sweep: the rest is the next one's. */
static void test_agent_retention_bounded(void **state)
{
	char name[64];
	size_t left = 0;
	struct dirent *de;
	DIR *d;

	fx->ag.cfg.retention_days = 1;
	for (int i = 0; i < 10005; i++) {
		snprintf(name, sizeof(name), "logs/%d.log.gz", 100000 + i);
		make_free(name, 3 * DAY);
	}
	agent_retention_sweep(&fx->ag, fx->q);
	d = opendir(fx->ag.logs_dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		left += str_starts_with(de->d_name, "1") &&
			strlen(de->d_name) == strlen("100000.log.gz");
	closedir(d);
	assert_int_equal(left, 5);
	agent_retention_sweep(&fx->ag, fx->q);
	for (int i = 0; i < 10005; i++) {
		snprintf(name, sizeof(name), "logs/%d.log.gz", 100000 + i);
		assert_false(there(name));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_agent_retention_sweep, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_agent_retention_bounded, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
