/* Unit tests for lib/git.c: mirror names, URL parsing and redaction,
 * credentials refused (a stub HTTP server answering 401), known_hosts
 * matching and RSA key detection. Helpers in git_test.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <git2/sys/stream.h>

#include "git_test.h"

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

/* A submodule on another server gets none of the repository's HTTPS
 * credentials; one on the same server (any case, same port) gets them. */
static void test_git_creds_for(void **state)
{
	struct gitx_creds c = { .token = "tok", .username = "u", .password = "pw",
				.ssh_key = "KEY" }, sc;

	(void)state;
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git",
		       "https://GIT.example/o/sub.git");
	assert_string_equal(sc.token, "tok");
	assert_string_equal(sc.password, "pw");
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git",
		       "https://evil.example/o/sub.git");
	assert_null(sc.token);
	assert_null(sc.username);
	assert_null(sc.password);
	assert_string_equal(sc.ssh_key, "KEY");
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git",
		       "http://git.example/o/sub.git");
	assert_null(sc.token);
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git",
		       "https://git.example:8443/o/sub.git");
	assert_null(sc.token);
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git", "not a url");
	assert_null(sc.token);
	assert_true(gitx_same_origin("git@h:o/r.git", "ssh://git@h/o/s.git"));
	/* the authority ends at '?' and '#' too, as libgit2 reads it */
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git",
		       "https://evil.example?@git.example/o/sub.git");
	assert_null(sc.token);
	gitx_creds_for(&sc, &c, "https://git.example/o/r.git",
		       "https://evil.example#@git.example/o/sub.git");
	assert_null(sc.token);
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

/* The stream libgit2 fetches through: TCP_NODELAY on (else every POST
 * of a fetch waits 40 ms for a delayed ACK), data both ways, the socket
 * where libgit2 1.5's SSH transport reads it, and errors that name the
 * host and port. */
static void test_git_stream(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd, fd;
	int nodelay = 0;
	socklen_t ol = sizeof(nodelay);
	char port[16], buf[8];
	git_stream *st;
	const git_error *ge;
	struct {
		git_stream parent;
		char *host, *port;
		int s;
	} *view;

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));

	assert_int_equal(gitx_stream_new(&st, "127.0.0.1", port), 0);
	assert_int_equal(st->connect(st), 0);
	view = (void *)st;
	fd = view->s;
	assert_true(fd >= 0);
	assert_string_equal(view->host, "127.0.0.1");
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &ol), 0);
	assert_true(nodelay);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(st->write(st, "ping", 4, 0), 4);
	assert_int_equal(read(cfd, buf, sizeof(buf)), 4);
	assert_int_equal(write(cfd, "pong", 4), 4);
	assert_int_equal(st->read(st, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	close(cfd);
	assert_int_equal(st->read(st, buf, sizeof(buf)), 0);	/* EOF */
	st->close(st);
	st->free(st);

	/* nobody listens there any more */
	close(lfd);
	assert_int_equal(gitx_stream_new(&st, "127.0.0.1", port), 0);
	assert_true(st->connect(st) < 0);
	ge = git_error_last();
	assert_non_null(ge);
	assert_non_null(strstr(ge->message, "failed to connect to 127.0.0.1 port"));
	assert_non_null(strstr(ge->message, port));
	assert_non_null(strstr(ge->message, "refused"));
	st->free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_mirror_path),
		cmocka_unit_test(test_git_stream),
		cmocka_unit_test(test_git_url_parse),
		cmocka_unit_test(test_git_redact),
		cmocka_unit_test(test_git_creds_for),
		cmocka_unit_test(test_git_unreachable_no_secrets),
		cmocka_unit_test(test_git_auth_refused),
		cmocka_unit_test(test_git_known_hosts),
		cmocka_unit_test(test_git_key_is_rsa),
	};

	return cmocka_run_group_tests(tests, git_test_setup, git_test_teardown);
}
