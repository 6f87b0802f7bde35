/* Unit tests for lib/git.c and lib/git_mirror.c: mirrors, checkout,
 * locking, crash repair, gc, submodules, known_hosts and redaction.
 * Source repositories are made with the git CLI under a temporary folder
 * and served over file:// (and once by a git daemon on loopback). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/git.h"
#include "lib/git_int.h"
#include "lib/util.h"

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main " \
	"-c protocol.file.allow=always -c advice.detachedHead=false"

static char *root;	/* the temporary folder of this run */

/* Full stacks for malloc, so that lib/git.c's suppression of libgit2 1.5's
 * own leaks (symbols inside libgit2, built without frame pointers) applies. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* The first line a command prints. Caller frees. */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	char cmd[8192], line[4096] = "";
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	line[strcspn(line, "\n")] = '\0';
	return xstrdup(line);
}

static char *tpath(const char *name)
{
	return fs_join(root, name);
}

/* A source repository: main = two commits (tag v1 on the first), feature
 * one commit further. Returns its path; *url (caller frees) its URL. */
static char *make_src(const char *name, char **url)
{
	char *dir = tpath(name);

	sh(GIT " init -q %s", dir);
	sh("cd %s && echo one > a.txt && " GIT " add a.txt && " GIT
	   " commit -qm one && " GIT " tag -a v1 -m v1 && echo two > b.txt && "
	   GIT " add b.txt && " GIT " commit -qm two && " GIT
	   " checkout -qb feature && echo f > f.txt && " GIT " add f.txt && "
	   GIT " commit -qm f && " GIT " checkout -q main", dir);
	*url = xasprintf("file://%s", dir);
	return dir;
}

static char *rev(const char *dir, const char *ref)
{
	return sh_out("git -C %s rev-parse '%s^{commit}'", dir, ref);
}

/* Mirror url into cache, asserting success. */
static char *update(const char *cache, const char *url, struct gitx_stats *st)
{
	struct err e = ERR_INIT;
	char *m = NULL;

	if (gitx_mirror_update(&m, cache, url, NULL, st, &e) < 0)
		fail_msg("mirror update: %s", e.msg);
	return m;
}

static void checkout(const char *dir, const char *mirror, const char *url,
		     const char *ref, bool clean)
{
	struct gitx_checkout_opts o = { 0 };
	struct err e = ERR_INIT;
	char sha[41], *full = NULL;

	if (gitx_resolve(sha, &full, mirror, url, ref, &e) < 0)
		fail_msg("resolve %s: %s", ref, e.msg);
	o.dir = dir;
	o.mirror = mirror;
	o.url = url;
	o.sha = sha;
	o.ref = full;
	o.clean = clean;
	if (gitx_checkout(&o, NULL, &e) < 0)
		fail_msg("checkout %s: %s", ref, e.msg);
	free(full);
}

static bool exists_in(const char *dir, const char *name)
{
	char *p = fs_join(dir, name);
	bool r = fs_exists(p);

	free(p);
	return r;
}

static void test_git_mirror_path(void **state)
{
	char *a = gitx_mirror_path("/c", "https://github.com/org/repo.git");
	char *b = gitx_mirror_path("/c", "https://x-access-token:s3cr3t@github.com/org/repo.git");
	char *c = gitx_mirror_path("/c", "git@github.com:org/repo.git");

	assert_true(str_starts_with(a, "/c/github.com-org-repo-"));
	assert_true(str_ends_with(a, ".git"));
	assert_int_equal(strlen(a), strlen("/c/github.com-org-repo-") + 8 + 4);
	assert_string_equal(a, b);	/* credentials do not make a new mirror */
	assert_null(strstr(b, "s3cr3t"));
	assert_true(str_starts_with(c, "/c/github.com-org-repo-"));
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

static void test_git_url_parse(void **state)
{
	struct gitx_url u;
	struct err e = ERR_INIT;

	assert_int_equal(gitx_url_parse(&u, "https://me:pw@h.example:8443/o/r.git", &e), 0);
	assert_string_equal(u.scheme, "https");
	assert_string_equal(u.user, "me");
	assert_string_equal(u.host, "h.example");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.path, "o/r.git");
	gitx_url_release(&u);
	assert_int_equal(gitx_url_parse(&u, "git@github.com:org/r.git", &e), 0);
	assert_string_equal(u.scheme, "ssh");
	assert_string_equal(u.user, "git");
	assert_string_equal(u.host, "github.com");
	assert_string_equal(u.path, "org/r.git");
	gitx_url_release(&u);
	assert_int_equal(gitx_url_parse(&u, "ssh://[::1]:2222/r", &e), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 2222);
	gitx_url_release(&u);
	assert_int_equal(gitx_url_parse(&u, "file:///srv/r", &e), 0);
	assert_string_equal(u.host, "");
	assert_string_equal(u.path, "srv/r");
	gitx_url_release(&u);
	assert_int_equal(gitx_url_parse(&u, "https://u:p@h:99999/r", &e), -1);
	assert_null(strstr(e.msg, "u:p"));
}

static void test_git_redact(void **state)
{
	char *r = gitx_redact("cannot fetch https://user:hunter2@h/x.git and "
			      "http://tok@h2/y, not ssh://h3/z or a@b");

	assert_string_equal(r, "cannot fetch https://h/x.git and http://h2/y, "
			    "not ssh://h3/z or a@b");
	free(r);
}

/* An unreachable remote: ERR_REMOTE, and the password is nowhere. */
static void test_git_unreachable_no_secrets(void **state)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct err e = ERR_INIT;
	char *cache = tpath("cache-unreach"), *url, *m = NULL;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(s, (struct sockaddr *)&sa, &len);
	close(s);	/* nothing listens there now */
	url = xasprintf("http://user:hunter2@127.0.0.1:%d/x.git", ntohs(sa.sin_port));
	assert_int_equal(gitx_mirror_update(&m, cache, url, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_REMOTE);
	assert_non_null(strstr(e.msg, "cannot reach http://127.0.0.1:"));
	assert_non_null(strstr(e.msg, "check the URL and the network"));
	assert_null(strstr(e.msg, "hunter2"));
	assert_null(strstr(e.msg, "user:"));
	assert_null(m);
	free(url);
	free(cache);
}

/* An HTTP server on loopback that answers every request with 401 and
 * records the Authorization headers it was sent. */
struct stub401 {
	int fd, port;
	bool stop;
	char auth[4096];	/* Authorization lines, '\n'-separated */
	pthread_t t;
};

static void *stub_thread(void *p)
{
	static const char resp[] = "HTTP/1.1 401 Unauthorized\r\n"
		"WWW-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n"
		"Connection: close\r\n\r\n";
	struct stub401 *s = p;

	for (int i = 0; i < 200 && !__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST); i++) {
		struct pollfd pf = { s->fd, POLLIN, 0 };
		char req[16384];
		size_t n = 0;
		int c;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		for (int j = 0; j < 100 && n + 1 < sizeof(req); j++) {
			ssize_t r = read(c, req + n, sizeof(req) - 1 - n);

			if (r <= 0)
				break;
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n] = '\0';
		{
			char *a = strcasestr(req, "\nAuthorization: ");
			size_t used = strlen(s->auth);

			if (a)
				snprintf(s->auth + used, sizeof(s->auth) - used, "%.*s\n",
					 (int)strcspn(a + 1, "\r\n"), a + 1);
		}
		if (write(c, resp, sizeof(resp) - 1) < 0)
			i = 200;
		close(c);
	}
	return NULL;
}

static void stub_start(struct stub401 *s)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	getsockname(s->fd, (struct sockaddr *)&sa, &len);
	s->port = ntohs(sa.sin_port);
	pthread_create(&s->t, NULL, stub_thread, s);
}

static void stub_stop(struct stub401 *s)
{
	__atomic_store_n(&s->stop, true, __ATOMIC_SEQ_CST);
	pthread_join(s->t, NULL);
	close(s->fd);
}

/* One fetch against the stub with creds: its error, headers seen. */
static void fetch_401(const struct gitx_creds *c, const char *want_msg,
		      const char *want_auth)
{
	struct stub401 s;
	struct err e = ERR_INIT;
	char *cache = tpath("cache-401"), *url, *m = NULL, *msg;

	stub_start(&s);
	url = xasprintf("http://127.0.0.1:%d/o/r.git", s.port);
	assert_int_equal(gitx_mirror_update(&m, cache, url, c, NULL, &e), -1);
	stub_stop(&s);
	assert_int_equal(e.code, ERR_AUTH);
	msg = xasprintf(want_msg, "127.0.0.1");
	assert_string_equal(e.msg, msg);
	assert_null(strstr(e.msg, "s3cr3t"));
	if (want_auth)
		assert_non_null(strstr(s.auth, want_auth));
	else
		assert_string_equal(s.auth, "");
	free(msg);
	free(url);
	free(cache);
}

static void test_git_auth_refused(void **state)
{
	struct gitx_creds c = { 0 };

	c.token = "s3cr3t";
	/* x-access-token:s3cr3t, tried once */
	fetch_401(&c, "authentication to %s was refused with the token",
		  "Authorization: Basic eC1hY2Nlc3MtdG9rZW46czNjcjN0");
	c.token_bearer = true;
	fetch_401(&c, "authentication to %s was refused with the token",
		  "Authorization: Bearer s3cr3t");
	c.token = NULL;
	c.token_bearer = false;
	c.username = "me";
	c.password = "s3cr3t";
	fetch_401(&c, "authentication to %s was refused with the username "
		  "and password", "Authorization: Basic bWU6czNjcjN0");
	fetch_401(NULL, "%s asked for credentials and none that it accepts "
		  "were given: give a token, or a username and password", NULL);
}

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
static size_t pub_blob(unsigned char *out, size_t cap, const char *line)
{
	const char *b = strchr(line, ' ') + 1;
	size_t n = strcspn(b, " \n");
	int len;

	assert_true(n * 3 / 4 + 3 <= cap);
	len = EVP_DecodeBlock(out, (const unsigned char *)b, (int)n);
	assert_true(len > 0);
	while (n > 0 && b[n - 1] == '=') {
		n--;
		len--;
	}
	return (size_t)len;
}

static void test_git_known_hosts(void **state)
{
	char *k1 = tpath("hk1"), *k2 = tpath("hk2"), *kh = tpath("known_hosts");
	char *p1, *p2, *hashed, text[8192];
	unsigned char b1[512], b2[512];
	size_t l1, l2;

	sh("ssh-keygen -q -t ed25519 -N '' -f %s && ssh-keygen -q -t ed25519 "
	   "-N '' -f %s", k1, k2);
	p1 = sh_out("cat %s.pub", k1);
	p2 = sh_out("cat %s.pub", k2);
	l1 = pub_blob(b1, sizeof(b1), p1);
	l2 = pub_blob(b2, sizeof(b2), p2);

	snprintf(text, sizeof(text), "# comment\n\nexample.com,other.org %s\n"
		 "[alt.example]:2222 %s\n*.wild.example,!bad.wild.example %s\n"
		 "changed.example %s\n@revoked revoked.example %s\n"
		 "revoked.example %s\n", p1, p1, p1, p2, p1, p1);
	assert_int_equal(gitx_known_hosts_match(text, "example.com", 22, b1, l1), GITX_KH_MATCH);
	assert_int_equal(gitx_known_hosts_match(text, "Other.ORG", 0, b1, l1), GITX_KH_MATCH);
	assert_int_equal(gitx_known_hosts_match(text, "example.com", 22, b2, l2), GITX_KH_MISMATCH);
	assert_int_equal(gitx_known_hosts_match(text, "nobody.example", 22, b1, l1), GITX_KH_UNKNOWN);
	assert_int_equal(gitx_known_hosts_match(text, "alt.example", 2222, b1, l1), GITX_KH_MATCH);
	assert_int_equal(gitx_known_hosts_match(text, "alt.example", 22, b1, l1), GITX_KH_UNKNOWN);
	assert_int_equal(gitx_known_hosts_match(text, "example.com", 2222, b1, l1), GITX_KH_UNKNOWN);
	assert_int_equal(gitx_known_hosts_match(text, "a.wild.example", 22, b1, l1), GITX_KH_MATCH);
	assert_int_equal(gitx_known_hosts_match(text, "bad.wild.example", 22, b1, l1), GITX_KH_UNKNOWN);
	assert_int_equal(gitx_known_hosts_match(text, "changed.example", 22, b1, l1), GITX_KH_MISMATCH);
	assert_int_equal(gitx_known_hosts_match(text, "revoked.example", 22, b1, l1), GITX_KH_MISMATCH);

	/* hashed by ssh-keygen -H itself */
	sh("printf '%%s\\n' 'hashed.example %s' '[hashed.example]:2200 %s' > %s && "
	   "ssh-keygen -q -H -f %s >/dev/null 2>&1", p1, p2, kh, kh);
	hashed = sh_out("cat %s", kh);
	assert_true(str_starts_with(hashed, "|1|"));
	assert_null(strstr(hashed, "hashed.example"));
	free(hashed);
	{
		struct buf t = BUF_INIT;
		struct err e = ERR_INIT;

		assert_int_equal(fs_read_file(&t, kh, &e), 0);
		assert_int_equal(gitx_known_hosts_match(t.ptr, "hashed.example", 22, b1, l1), GITX_KH_MATCH);
		assert_int_equal(gitx_known_hosts_match(t.ptr, "hashed.example", 22, b2, l2), GITX_KH_MISMATCH);
		assert_int_equal(gitx_known_hosts_match(t.ptr, "hashed.example", 2200, b2, l2), GITX_KH_MATCH);
		assert_int_equal(gitx_known_hosts_match(t.ptr, "else.example", 22, b1, l1), GITX_KH_UNKNOWN);
		buf_release(&t);
	}
	free(p1);
	free(p2);
	free(kh);
	free(k1);
	free(k2);
}

static void test_git_key_is_rsa(void **state)
{
	char *k = tpath("rsa1"), *kp = tpath("rsa2"), *ke = tpath("ed1");
	struct buf t = BUF_INIT;
	struct err e = ERR_INIT;

	sh("ssh-keygen -q -t rsa -b 1024 -N '' -f %s && ssh-keygen -q -t rsa "
	   "-b 1024 -m PEM -N '' -f %s && ssh-keygen -q -t ed25519 -N '' -f %s",
	   k, kp, ke);
	assert_int_equal(fs_read_file(&t, k, &e), 0);
	assert_true(gitx_key_is_rsa(t.ptr));
	buf_reset(&t);
	assert_int_equal(fs_read_file(&t, kp, &e), 0);
	assert_true(gitx_key_is_rsa(t.ptr));
	buf_reset(&t);
	assert_int_equal(fs_read_file(&t, ke, &e), 0);
	assert_false(gitx_key_is_rsa(t.ptr));
	assert_false(gitx_key_is_rsa("not a key"));
	buf_release(&t);
	free(k);
	free(kp);
	free(ke);
}

/* A git daemon on a free loopback port, up within 5 seconds. */
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

static int setup(void **state)
{
	struct err e = ERR_INIT;

	if (gitx_init(&e) < 0 || fs_mkdtemp(&root, "gantry-git-test", &e) < 0)
		return -1;
	sh("mkdir -p %s/srv", root);
	return 0;
}

static int teardown(void **state)
{
	struct err e = ERR_INIT;

	fs_remove_tree(root, &e);
	free(root);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_mirror_path),
		cmocka_unit_test(test_git_url_parse),
		cmocka_unit_test(test_git_redact),
		cmocka_unit_test(test_git_unreachable_no_secrets),
		cmocka_unit_test(test_git_auth_refused),
		cmocka_unit_test(test_git_clone_branch),
		cmocka_unit_test(test_git_checkout_tag),
		cmocka_unit_test(test_git_checkout_sha),
		cmocka_unit_test(test_git_unknown_ref),
		cmocka_unit_test(test_git_incremental_fetch),
		cmocka_unit_test(test_git_force_push_and_prune),
		cmocka_unit_test(test_git_alternates),
		cmocka_unit_test(test_git_clean),
		cmocka_unit_test(test_git_concurrent_updates),
		cmocka_unit_test(test_git_crash_recovery),
		cmocka_unit_test(test_git_gc),
		cmocka_unit_test(test_git_submodules),
		cmocka_unit_test(test_git_known_hosts),
		cmocka_unit_test(test_git_key_is_rsa),
		cmocka_unit_test(test_git_daemon),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
