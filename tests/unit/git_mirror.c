/* Unit tests for lib/git_mirror.c and lib/git_tree.c: mirrors, checkout
 * by branch, tag and SHA, incremental and forced fetches, alternates,
 * clean, locking, crash repair, gc, submodules and a git daemon on
 * loopback. Source repositories are made with the git CLI (git_test.h). */
#include "git_test.h"

static void test_git_clone_branch(void **state)
{
	char *url, *src = make_src("src-branch", &url), *cache = tpath("cache-branch");
	char *w = tpath("w-branch"), *m, *want, *head, sha[41], *full = NULL;
	struct gitx_stats st;
	struct err e = ERR_INIT;

	m = update(cache, url, &st);
	assert_true(st.cloned);
	assert_false(st.rebuilt);
	assert_true(st.received_objects > 0);
	assert_true(exists_in(m, "gantry-last-used"));
	assert_false(exists_in(m, "gantry-fetching"));
	assert_true(gitx_mirror_has(m, "main"));
	assert_true(gitx_mirror_has(m, "v1"));
	assert_false(gitx_mirror_has(m, "nope"));
	assert_int_equal(gitx_resolve(sha, &full, m, url, "feature", &e), 0);
	want = rev(src, "feature");
	assert_string_equal(sha, want);
	assert_string_equal(full, "refs/heads/feature");
	free(full);
	free(want);
	checkout(w, m, url, "main", false);
	head = sh_out("git -C %s symbolic-ref HEAD", w);
	assert_string_equal(head, "refs/heads/main");
	free(head);
	assert_true(exists_in(w, "a.txt"));
	assert_true(exists_in(w, "b.txt"));
	assert_false(exists_in(w, "f.txt"));
	head = sh_out("git -C %s status --porcelain | wc -l", w);
	assert_string_equal(head, "0");
	free(head);
	head = sh_out("git -C %s remote get-url origin", w);
	assert_string_equal(head, url);
	free(head);
	free(m);
	free(w);
	free(cache);
	free(src);
	free(url);
}

static void test_git_checkout_tag(void **state)
{
	char *url, *src = make_src("src-tag", &url), *cache = tpath("cache-tag");
	char *w = tpath("w-tag"), *m = update(cache, url, NULL), *want, *got;

	checkout(w, m, url, "v1", false);
	want = rev(src, "v1");
	got = sh_out("git -C %s rev-parse HEAD", w);
	assert_string_equal(got, want);
	free(got);
	got = sh_out("git -C %s symbolic-ref -q HEAD || echo detached", w);
	assert_string_equal(got, "detached");
	assert_true(exists_in(w, "a.txt"));
	assert_false(exists_in(w, "b.txt"));	/* moved back: removed */
	free(got);
	free(want);
	free(m);
	free(w);
	free(cache);
	free(src);
	free(url);
}

static void test_git_checkout_sha(void **state)
{
	char *url, *src = make_src("src-sha", &url), *cache = tpath("cache-sha");
	char *w = tpath("w-sha"), *m = update(cache, url, NULL);
	char *full_sha = rev(src, "feature"), short_sha[8], *got;
	char sha[41], *full = (char *)"x";
	struct err e = ERR_INIT;

	checkout(w, m, url, full_sha, false);
	assert_true(exists_in(w, "f.txt"));
	snprintf(short_sha, sizeof(short_sha), "%.7s", full_sha);
	assert_int_equal(gitx_resolve(sha, &full, m, url, short_sha, &e), 0);
	assert_string_equal(sha, full_sha);
	assert_null(full);
	free(full_sha);
	full_sha = rev(src, "main~1");
	snprintf(short_sha, sizeof(short_sha), "%.7s", full_sha);
	checkout(w, m, url, short_sha, false);
	got = sh_out("git -C %s rev-parse HEAD", w);
	assert_string_equal(got, full_sha);
	assert_false(exists_in(w, "f.txt"));
	free(got);
	free(full_sha);
	free(m);
	free(w);
	free(cache);
	free(src);
	free(url);
}

static void test_git_unknown_ref(void **state)
{
	char *url, *src = make_src("src-unknown", &url), *cache = tpath("cache-unknown");
	char *m = update(cache, url, NULL), sha[41], *msg;
	struct err e = ERR_INIT;

	assert_int_equal(gitx_resolve(sha, NULL, m, url, "no-such-branch", &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	msg = xasprintf("ref 'no-such-branch' not found in %s", url);
	assert_string_equal(e.msg, msg);
	free(msg);
	err_clear(&e);
	assert_int_equal(gitx_resolve(sha, NULL, m, url, "deadbeefdead", &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	free(m);
	free(cache);
	free(src);
	free(url);
}

static void test_git_incremental_fetch(void **state)
{
	char *url, *src = make_src("src-incr", &url), *cache = tpath("cache-incr");
	char *m, *m2, *want, sha[41];
	struct gitx_stats st;
	size_t first;
	struct err e = ERR_INIT;

	m = update(cache, url, &st);
	first = st.received_objects;
	assert_true(first >= 10);	/* 3 commits, 3 trees, 3 blobs, a tag */
	sh("cd %s && echo three > c.txt && " GIT " add c.txt && " GIT
	   " commit -qm three", src);
	m2 = update(cache, url, &st);
	assert_string_equal(m, m2);
	assert_false(st.cloned);
	/* the new commit, tree and blob, and never the whole history again
	 * (file:// negotiation may send a few known objects along) */
	assert_true(st.received_objects >= 3 && st.received_objects < first);
	want = rev(src, "main");
	assert_int_equal(gitx_resolve(sha, NULL, m, url, "main", &e), 0);
	assert_string_equal(sha, want);
	free(want);
	free(m2);
	free(m);
	free(cache);
	free(src);
	free(url);
}

static void test_git_force_push_and_prune(void **state)
{
	char *url, *src = make_src("src-force", &url), *cache = tpath("cache-force");
	char *m = update(cache, url, NULL), *old, *m2, sha[41];
	struct err e = ERR_INIT;

	old = rev(src, "main~1");
	sh("cd %s && " GIT " reset -q --hard HEAD~1 && " GIT " branch -qD feature", src);
	m2 = update(cache, url, NULL);
	assert_int_equal(gitx_resolve(sha, NULL, m, url, "main", &e), 0);
	assert_string_equal(sha, old);
	assert_false(gitx_mirror_has(m, "refs/heads/feature"));
	free(m2);
	free(old);
	free(m);
	free(cache);
	free(src);
	free(url);
}

static size_t count_packs(const char *mirror)
{
	char *n = sh_out("ls %s/objects/pack | grep -c '\\.pack$'", mirror);
	size_t count = strtoul(n, NULL, 10);

	free(n);
	return count;
}

/* Every fetch leaves a pack; past 32 they become one, and nothing is
 * lost: not the history, not a commit a force-push left behind. */
static void test_git_packs_consolidated(void **state)
{
	char *url, *src = make_src("src-packs", &url), *cache = tpath("cache-packs");
	char *m = update(cache, url, NULL), *gone, *want, *out, sha[41];
	struct err e = ERR_INIT;
	size_t before = 0, after;

	sh("cd %s && echo lost > lost.txt && " GIT " add lost.txt && " GIT
	   " commit -qm lost", src);
	free(update(cache, url, NULL));
	gone = rev(src, "main");
	sh("cd %s && " GIT " reset -q --hard HEAD~1", src);
	for (int i = 0; i < 40; i++) {
		before = count_packs(m);
		sh("cd %s && echo %d > n.txt && " GIT " add n.txt && " GIT
		   " commit -qm n%d", src, i, i);
		free(update(cache, url, NULL));
		after = count_packs(m);
		if (after < before)
			break;
	}
	assert_int_equal(before, 32);	/* the 33rd made them one */
	assert_int_equal(count_packs(m), 1);
	want = rev(src, "main");
	assert_int_equal(gitx_resolve(sha, NULL, m, url, "main", &e), 0);
	assert_string_equal(sha, want);
	sh("git -C %s cat-file -e %s", m, gone);
	out = sh_out("git -C %s fsck --full 2>&1 | grep -v '^dangling' | wc -l", m);
	assert_string_equal(out, "0");
	free(out);
	/* an interrupted consolidation left copies beside the one pack: the
	 * next one writes the same pack again, and must keep it */
	sh("cd %s/objects/pack && p=$(ls pack-*.pack | sed 's/.pack$//') && "
	   "for i in $(seq 10 42); do cp $p.pack pack-00000000000000000000000000000000000000$i.pack && "
	   "cp $p.idx pack-00000000000000000000000000000000000000$i.idx; done", m);
	assert_true(count_packs(m) > 32);
	free(update(cache, url, NULL));
	assert_int_equal(count_packs(m), 1);
	sh("git -C %s cat-file -e %s", m, gone);
	out = sh_out("git -C %s fsck --full 2>&1 | grep -v '^dangling' | wc -l", m);
	assert_string_equal(out, "0");
	free(out);
	free(want);
	free(gone);
	free(m);
	free(cache);
	free(src);
	free(url);
}

static void test_git_alternates(void **state)
{
	char *url, *src = make_src("src-alt", &url), *cache = tpath("cache-alt");
	char *w = tpath("w-alt"), *m = update(cache, url, NULL), *got, *want;

	checkout(w, m, url, "main", false);
	got = sh_out("ls %s/.git/objects/pack | grep -c pack || true", w);
	assert_string_equal(got, "0");
	free(got);
	got = sh_out("cat %s/.git/objects/info/alternates", w);
	want = xasprintf("%s/objects", m);
	assert_string_equal(got, want);
	free(want);
	free(got);
	/* the CLI reads history through the alternates */
	got = sh_out("git -C %s log --oneline | wc -l", w);
	assert_string_equal(got, "2");
	free(got);
	/* a folder that is some other repository is refused */
	{
		char *other = tpath("w-other");
		struct gitx_checkout_opts o = { 0 };
		struct err e = ERR_INIT;

		sh("git init -q %s", other);
		o.dir = other;
		o.mirror = m;
		o.url = url;
		o.sha = "0000000000000000000000000000000000000000";
		assert_int_equal(gitx_checkout(&o, NULL, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		assert_non_null(strstr(e.msg, "is a different repository"));
		free(other);
	}
	free(m);
	free(w);
	free(cache);
	free(src);
	free(url);
}

static void test_git_clean(void **state)
{
	char *url, *src = make_src("src-clean", &url), *cache = tpath("cache-clean");
	char *w = tpath("w-clean"), *m = update(cache, url, NULL), *got;

	checkout(w, m, url, "main", false);
	sh("cd %s && echo junk > untracked.txt && echo changed > a.txt", w);
	checkout(w, m, url, "main", false);
	assert_true(exists_in(w, "untracked.txt"));
	got = sh_out("cat %s/a.txt", w);
	assert_string_equal(got, "one");	/* forced back */
	free(got);
	checkout(w, m, url, "feature", true);
	assert_false(exists_in(w, "untracked.txt"));
	assert_true(exists_in(w, "f.txt"));
	got = sh_out("git -C %s symbolic-ref HEAD", w);
	assert_string_equal(got, "refs/heads/feature");
	free(got);
	free(m);
	free(w);
	free(cache);
	free(src);
	free(url);
}

struct upd_arg {
	const char *cache, *url;
	int rc;
	bool done;
	struct err e;
};

static void *upd_thread(void *p)
{
	struct upd_arg *a = p;
	char *m = NULL;

	a->rc = gitx_mirror_update(&m, a->cache, a->url, NULL, NULL, &a->e);
	free(m);
	__atomic_store_n(&a->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_git_concurrent_updates(void **state)
{
	char *url, *src = make_src("src-conc", &url), *cache = tpath("cache-conc");
	struct upd_arg a = { cache, url, -1, false, ERR_INIT };
	struct upd_arg b = { cache, url, -1, false, ERR_INIT };
	pthread_t ta, tb;
	char *m = gitx_mirror_path(cache, url), *lock = xasprintf("%s.lock", m);
	int fd;

	/* two at once: both succeed */
	pthread_create(&ta, NULL, upd_thread, &a);
	pthread_create(&tb, NULL, upd_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_true(gitx_mirror_has(m, "main"));
	/* one holding the lock makes the other wait */
	fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	a.done = false;
	pthread_create(&ta, NULL, upd_thread, &a);
	usleep(300 * 1000);
	assert_false(__atomic_load_n(&a.done, __ATOMIC_SEQ_CST));
	close(fd);
	pthread_join(ta, NULL);
	assert_true(a.done);
	assert_int_equal(a.rc, 0);
	free(lock);
	free(m);
	free(cache);
	free(src);
	free(url);
}

static void test_git_crash_recovery(void **state)
{
	char *url, *src = make_src("src-crash", &url), *cache = tpath("cache-crash");
	char *w = tpath("w-crash"), *m = update(cache, url, NULL), *m2;
	struct gitx_stats st;

	/* a marker over a healthy mirror: checked, kept */
	sh("touch %s/gantry-fetching", m);
	m2 = update(cache, url, &st);
	assert_false(st.rebuilt);
	free(m2);
	/* a marker and a ref to a missing object: rebuilt */
	sh("touch %s/gantry-fetching && mkdir -p %s/refs/heads && echo "
	   "1234567890123456789012345678901234567890 > %s/refs/heads/main",
	   m, m, m);
	m2 = update(cache, url, &st);
	assert_true(st.rebuilt);
	assert_true(st.cloned);
	assert_false(exists_in(m2, "gantry-fetching"));
	checkout(w, m2, url, "main", false);
	assert_true(exists_in(w, "b.txt"));
	free(m2);
	/* lost pack files: rebuilt too */
	sh("touch %s/gantry-fetching && rm -f %s/objects/pack/*.pack", m, m);
	m2 = update(cache, url, &st);
	assert_true(st.rebuilt);
	assert_true(gitx_mirror_has(m2, "feature"));
	free(m2);
	free(m);
	free(w);
	free(cache);
	free(src);
	free(url);
}

static void test_git_gc(void **state)
{
	char *u1, *u2, *s1 = make_src("src-gc1", &u1), *s2 = make_src("src-gc2", &u2);
	char *cache = tpath("cache-gc"), *m1 = update(cache, u1, NULL);
	char *m2 = update(cache, u2, NULL), *used = fs_join(m1, "gantry-last-used");
	struct timeval old[2] = { { time(NULL) - 10 * 86400, 0 },
				  { time(NULL) - 10 * 86400, 0 } };
	size_t removed = 9, kept = 9;
	struct err e = ERR_INIT;

	assert_int_equal(utimes(used, old), 0);
	assert_int_equal(gitx_cache_gc(cache, 86400, &removed, &kept, &e), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(kept, 1);
	assert_false(fs_exists(m1));
	assert_true(fs_exists(m2));
	/* a busy mirror is kept even when old */
	{
		char *used2 = fs_join(m2, "gantry-last-used");
		char *lock = xasprintf("%s.lock", m2);
		int fd = open(lock, O_RDWR);

		assert_int_equal(utimes(used2, old), 0);
		assert_int_equal(flock(fd, LOCK_EX), 0);
		assert_int_equal(gitx_cache_gc(cache, 86400, &removed, &kept, &e), 0);
		assert_int_equal(removed, 0);
		assert_int_equal(kept, 1);
		close(fd);
		free(lock);
		free(used2);
	}
	/* and a missing cache is empty */
	{
		char *none = tpath("no-cache");

		assert_int_equal(gitx_cache_gc(none, 1, &removed, &kept, &e), 0);
		assert_int_equal(removed + kept, 0);
		free(none);
	}
	free(used);
	free(m1);
	free(m2);
	free(cache);
	free(s1);
	free(s2);
	free(u1);
	free(u2);
}

static void test_git_submodules(void **state)
{
	char *deep = tpath("sm-deep"), *lib = tpath("sm-lib"), *sup = tpath("sm-super");
	char *cache = tpath("cache-sm"), *w = tpath("w-sm"), *url, *m;
	struct err e = ERR_INIT;

	sh(GIT " init -q %s && cd %s && echo d > deep.txt && " GIT " add . && "
	   GIT " commit -qm d", deep, deep);
	sh(GIT " init -q %s && cd %s && echo l > lib.txt && " GIT " add . && "
	   GIT " commit -qm l && " GIT " submodule -q add file://%s deep && "
	   GIT " commit -qm sub", lib, lib, deep);
	/* the super project names lib relatively: ../sm-lib */
	sh(GIT " init -q %s && cd %s && echo s > s.txt && " GIT " add . && "
	   GIT " commit -qm s && " GIT " submodule -q add file://%s lib && "
	   "git config -f .gitmodules submodule.lib.url ../sm-lib && "
	   GIT " add .gitmodules && " GIT " commit -qm sub", sup, sup, lib);
	url = xasprintf("file://%s", sup);
	m = update(cache, url, NULL);
	checkout(w, m, url, "main", false);
	assert_int_equal(gitx_submodules(w, url, cache, false, NULL, &e), 0);
	assert_true(exists_in(w, "lib/lib.txt"));
	assert_false(exists_in(w, "lib/deep/deep.txt"));
	assert_int_equal(gitx_submodules(w, url, cache, true, NULL, &e), 0);
	assert_true(exists_in(w, "lib/deep/deep.txt"));
	{
		char *got = sh_out("git -C %s/lib rev-parse HEAD", w);
		char *want = sh_out("git -C %s rev-parse HEAD:lib", sup);

		assert_string_equal(got, want);
		free(got);
		free(want);
	}
	free(m);
	free(url);
	free(w);
	free(cache);
	free(sup);
	free(lib);
	free(deep);
}

/* The wire blob of an OpenSSH public key line "type base64 comment". */
static pid_t start_daemon(const char *base, int *port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char bp[4096], pa[32];
	pid_t pid;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(s, (struct sockaddr *)&sa, &len);
	close(s);
	*port = ntohs(sa.sin_port);
	snprintf(bp, sizeof(bp), "--base-path=%s", base);
	snprintf(pa, sizeof(pa), "--port=%d", *port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execlp("git", "git", "daemon", "--reuseaddr", bp, "--export-all",
		       "--listen=127.0.0.1", pa, base, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		close(c);
		if (ok)
			return pid;
		usleep(50 * 1000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	fail_msg("git daemon did not start on port %d", *port);
	return -1;
}

static void test_git_daemon(void **state)
{
	char *url, *src = make_src("srv/daemon-src", &url), *base = tpath("srv");
	char *cache = tpath("cache-daemon"), *w = tpath("w-daemon"), *m, *want;
	char *gurl, *bad, sha[41];
	struct err e = ERR_INIT;
	int port;
	pid_t pid = start_daemon(base, &port);

	gurl = xasprintf("git://127.0.0.1:%d/daemon-src", port);
	m = update(cache, gurl, NULL);
	assert_non_null(strstr(m, "127.0.0.1-daemon-src-"));
	checkout(w, m, gurl, "feature", false);
	want = rev(src, "feature");
	assert_int_equal(gitx_resolve(sha, NULL, m, gurl, "feature", &e), 0);
	assert_string_equal(sha, want);
	assert_true(exists_in(w, "f.txt"));
	free(m);
	/* a repository the daemon does not have */
	bad = xasprintf("git://127.0.0.1:%d/missing", port);
	m = NULL;
	assert_int_equal(gitx_mirror_update(&m, cache, bad, NULL, NULL, &e), -1);
	assert_int_not_equal(e.code, ERR_NONE);
	assert_null(m);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(bad);
	free(want);
	free(gurl);
	free(w);
	free(cache);
	free(base);
	free(src);
	free(url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_clone_branch),
		cmocka_unit_test(test_git_checkout_tag),
		cmocka_unit_test(test_git_checkout_sha),
		cmocka_unit_test(test_git_unknown_ref),
		cmocka_unit_test(test_git_incremental_fetch),
		cmocka_unit_test(test_git_force_push_and_prune),
		cmocka_unit_test(test_git_packs_consolidated),
		cmocka_unit_test(test_git_alternates),
		cmocka_unit_test(test_git_clean),
		cmocka_unit_test(test_git_concurrent_updates),
		cmocka_unit_test(test_git_crash_recovery),
		cmocka_unit_test(test_git_gc),
		cmocka_unit_test(test_git_submodules),
		cmocka_unit_test(test_git_daemon),
	};

	return cmocka_run_group_tests(tests, git_test_setup, git_test_teardown);
}
