/* Unit tests for lib/localtree.c: trees made in a temporary folder for
 * each test (nesting, bytewise order, links followed and not, dangling
 * links, loops, unreadable entries, special files, exact times, limits)
 * and the MD5 of known contents. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/localtree.h"
#include "lib/util.h"

#define WARNS_MAX 16

struct warns {
	char *v[WARNS_MAX];
	size_t n;
};

static void collect(void *arg, const char *msg)
{
	struct warns *w = arg;

	if (w->n < WARNS_MAX)
		w->v[w->n] = xstrdup(msg);
	w->n++;
}

static void warns_release(struct warns *w)
{
	size_t i;

	for (i = 0; i < w->n && i < WARNS_MAX; i++)
		free(w->v[i]);
	w->n = 0;
}

/* The one warning there is, which must contain both parts. */
static void assert_one_warning(const struct warns *w, const char *a,
			       const char *b)
{
	if (w->n != 1)
		fail_msg("want 1 warning, got %zu%s%s", w->n,
			 w->n ? ": " : "", w->n ? w->v[0] : "");
	if (!strstr(w->v[0], a) || !strstr(w->v[0], b))
		fail_msg("warning \"%s\" lacks \"%s\" or \"%s\"", w->v[0], a, b);
}

struct fixture {
	char *root;	/* the temporary folder */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;

	if (fs_mkdtemp(&f->root, "localtree-test", &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Give back the permissions the tests took away, then remove. */
static void unlock_tree(const char *path)
{
	char *cmd = xasprintf("chmod -R u+rwx '%s' 2>/dev/null", path);

	if (system(cmd) != 0)
		fprintf(stderr, "note: chmod -R on %s failed\n", path);
	free(cmd);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;

	unlock_tree(f->root);
	if (fs_remove_tree(f->root, &e) < 0)
		fprintf(stderr, "%s\n", e.msg);
	free(f->root);
	free(f);
	return 0;
}

/* Make root/rel (a file with content, folders on the way). */
static void put(const char *root, const char *rel, const char *content)
{
	struct err e = ERR_INIT;
	char *path = fs_join(root, rel), *dir = fs_dirname(path);

	if (fs_mkdirs(dir, 0755, &e) < 0 ||
	    fs_write_file(path, content, strlen(content), 0644, &e) < 0)
		fail_msg("%s", e.msg);
	free(dir);
	free(path);
}

static void mkdir_in(const char *root, const char *rel)
{
	struct err e = ERR_INIT;
	char *path = fs_join(root, rel);

	if (fs_mkdirs(path, 0755, &e) < 0)
		fail_msg("%s", e.msg);
	free(path);
}

static void link_in(const char *root, const char *rel, const char *target)
{
	char *path = fs_join(root, rel);

	if (symlink(target, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
	free(path);
}

static void assert_rels(const struct localtree *t, const char *const *want,
			size_t n)
{
	size_t i;

	if (t->n != n) {
		for (i = 0; i < t->n; i++)
			print_message("  got %s\n", t->files[i].rel);
		fail_msg("want %zu files, got %zu", n, t->n);
	}
	for (i = 0; i < n; i++)
		assert_string_equal(t->files[i].rel, want[i]);
}

static void test_localtree_nested(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = {
		"a.txt", "sub/b.txt", "sub/deep/c.txt", "z",
	};
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;

	put(f->root, "a.txt", "hello");
	put(f->root, "sub/b.txt", "");
	put(f->root, "sub/deep/c.txt", "123");
	put(f->root, "z", "zz");
	mkdir_in(f->root, "empty/also-empty");
	assert_int_equal(localtree_list(&t, f->root, true, collect, &w, &e),
			 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.files[0].size, 5);
	assert_int_equal(t.files[1].size, 0);
	assert_int_equal(t.files[2].size, 3);
	assert_int_equal(t.skipped, 0);
	assert_int_equal(w.n, 0);
	localtree_release(&t);
	assert_null(t.files);
	assert_int_equal(t.n, 0);
	localtree_release(&t);	/* twice is harmless */
}

/* S3 lists keys by their UTF-8 bytes: '-' (2d) < '.' (2e) < '/' (2f), so
 * the file "a.b" sorts between "a-b" and the folder "a"'s "a/b", which a
 * sort folder by folder would get wrong. */
static void test_localtree_sort_bytewise(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = {
		"A", "a-b", "a.b", "a/b", "a/b.c", "a/b/c", "a0", "b", "z",
		"\xc3\xa9",
	};
	struct localtree t;
	struct err e = ERR_INIT;
	size_t i;

	put(f->root, "b", "");
	put(f->root, "a/b/c", "");
	put(f->root, "a/b.c", "");
	put(f->root, "a.b", "");
	put(f->root, "z", "");
	put(f->root, "a0", "");
	put(f->root, "\xc3\xa9", "");
	put(f->root, "a-b", "");
	put(f->root, "A", "");
	/* "a/b" is a folder here, so its file is "a/b/c"; check the file
	 * "a/b" against "a.b" in a second tree */
	assert_int_equal(localtree_list(&t, f->root, true, NULL, NULL, &e), 0);
	assert_int_equal(t.n, ARRAY_SIZE(want) - 1);
	for (i = 0; i + 1 < t.n; i++)
		assert_true(strcmp(t.files[i].rel, t.files[i + 1].rel) < 0);
	assert_string_equal(t.files[1].rel, "a-b");
	assert_string_equal(t.files[2].rel, "a.b");
	assert_string_equal(t.files[3].rel, "a/b.c");
	assert_string_equal(t.files[4].rel, "a/b/c");
	assert_string_equal(t.files[5].rel, "a0");
	localtree_release(&t);

	{
		char *root2 = fs_join(f->root, "second");
		static const char *const want2[] = { "a-b", "a.b", "a/b" };

		put(root2, "a/b", "");
		put(root2, "a.b", "");
		put(root2, "a-b", "");
		assert_int_equal(localtree_list(&t, root2, true, NULL, NULL,
						&e), 0);
		assert_rels(&t, want2, ARRAY_SIZE(want2));
		localtree_release(&t);
		free(root2);
	}
}

/* real/x.txt, and links to it: a folder link, a file link, and a link to
 * a folder outside the root. */
static void make_links(const char *root, const char *outside)
{
	put(root, "real/x.txt", "x");
	put(outside, "o.txt", "oo");
	link_in(root, "link", "real");
	link_in(root, "flink", "real/x.txt");
	link_in(root, "out", outside);
}

static void test_localtree_symlinks_followed(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = {
		"flink", "link/x.txt", "out/o.txt", "real/x.txt",
	};
	char *root = fs_join(f->root, "root"), *outside = fs_join(f->root,
								 "outside");
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;

	make_links(root, outside);
	assert_int_equal(localtree_list(&t, root, true, collect, &w, &e), 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.files[0].size, 1);	/* the target's size */
	assert_int_equal(t.files[2].size, 2);
	assert_int_equal(t.skipped, 0);
	assert_int_equal(w.n, 0);
	localtree_release(&t);
	free(root);
	free(outside);
}

/* Not following: links are skipped silently, as the CLI does. */
static void test_localtree_symlinks_not_followed(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "real/x.txt" };
	char *root = fs_join(f->root, "root"), *outside = fs_join(f->root,
								 "outside");
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;

	make_links(root, outside);
	link_in(root, "dead", "nowhere");
	assert_int_equal(localtree_list(&t, root, false, collect, &w, &e), 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.skipped, 0);
	assert_int_equal(w.n, 0);
	localtree_release(&t);
	free(root);
	free(outside);
}

/* A link that leads nowhere: the CLI's "File does not exist.", with the
 * absolute path even for a relative root with "." and "..". */
static void test_localtree_dangling_link(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "ok.txt" };
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;
	char *cwd = getcwd(NULL, 0), *real = fs_realpath(f->root), *msg;

	assert_non_null(cwd);
	assert_non_null(real);
	put(f->root, "tree/ok.txt", "ok");
	link_in(f->root, "tree/dead", "nowhere");
	assert_int_equal(chdir(real), 0);
	assert_int_equal(localtree_list(&t, "./tree/../tree/", true, collect,
					&w, &e), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.skipped, 1);
	msg = xasprintf("Skipping file %s/tree/dead. File does not exist.",
			real);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.v[0], msg);
	free(msg);
	localtree_release(&t);
	warns_release(&w);
	free(cwd);
	free(real);
}

/* a/loop -> .. (the root again), and a chain x -> y -> x. */
static void test_localtree_loop(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "a/f", "top" };
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;
	size_t i;

	put(f->root, "a/f", "f");
	put(f->root, "top", "t");
	link_in(f->root, "a/loop", "..");
	assert_int_equal(localtree_list(&t, f->root, true, collect, &w, &e),
			 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.skipped, 1);
	assert_one_warning(&w, "/a/loop.", "symbolic link loop");
	localtree_release(&t);
	warns_release(&w);

	link_in(f->root, "x", "y");
	link_in(f->root, "y", "x");
	assert_int_equal(localtree_list(&t, f->root, true, collect, &w, &e),
			 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.skipped, 3);
	assert_int_equal(w.n, 3);
	for (i = 0; i < w.n; i++)
		assert_non_null(strstr(w.v[i], "symbolic link loop"));
	localtree_release(&t);
	warns_release(&w);

	/* not following, there is no loop to see */
	assert_int_equal(localtree_list(&t, f->root, false, collect, &w, &e),
			 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.skipped, 0);
	localtree_release(&t);
}

/* Check the unreadable tree as the current user: 0 when right, else the
 * number of the failed check (a child process reports it as its exit). */
static int check_unreadable(const char *root)
{
	static const char *const want[] = { "ok.txt", "open/in.txt" };
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;
	int ret = 0;
	size_t i;

	if (localtree_list(&t, root, true, collect, &w, &e) < 0)
		return 1;
	if (t.n != ARRAY_SIZE(want))
		ret = 2;
	for (i = 0; !ret && i < t.n; i++)
		if (strcmp(t.files[i].rel, want[i]))
			ret = 3;
	if (!ret && (t.skipped != 2 || w.n != 2))
		ret = 4;
	/* readdir order is the file system's: look for each */
	for (i = 0; !ret && i < w.n; i++)
		if (!strstr(w.v[i], "File/Directory is not readable."))
			ret = 5;
	if (!ret && !((strstr(w.v[0], "/secret.txt.") &&
		       strstr(w.v[1], "/locked.")) ||
		      (strstr(w.v[1], "/secret.txt.") &&
		       strstr(w.v[0], "/locked."))))
		ret = 6;
	localtree_release(&t);
	warns_release(&w);
	return ret;
}

/* A file and a folder with mode 000 are skipped with the CLI's warning.
 * Root reads through mode bits, so as root the check runs in a child
 * that has dropped to nobody (65534); where that is not allowed (no
 * CAP_SETUID in a container) only that check is skipped. */
static void test_localtree_unreadable(void **state)
{
	struct fixture *f = *state;
	char *p;
	pid_t pid;
	int status;

	put(f->root, "ok.txt", "ok");
	put(f->root, "secret.txt", "s");
	put(f->root, "locked/hidden.txt", "h");
	put(f->root, "open/in.txt", "i");
	p = fs_join(f->root, "secret.txt");
	assert_int_equal(chmod(p, 0), 0);
	free(p);
	p = fs_join(f->root, "locked");
	assert_int_equal(chmod(p, 0), 0);
	free(p);

	if (geteuid() != 0) {
		assert_int_equal(check_unreadable(f->root), 0);
		return;
	}
	/* nobody must be able to reach the tree (mkdtemp made it 0700) */
	assert_int_equal(chmod(f->root, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(77);
		_exit(check_unreadable(f->root));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("note: running as root and cannot drop to "
			      "nobody: unreadability not checked\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Devices, sockets and FIFOs are not listed, and are warned about. */
static void test_localtree_special_file(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "plain" };
	char *fifo = fs_join(f->root, "pipe");
	struct localtree t;
	struct warns w = { .n = 0 };
	struct err e = ERR_INIT;

	put(f->root, "plain", "p");
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(localtree_list(&t, f->root, true, collect, &w, &e),
			 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_one_warning(&w, "/pipe.", "FIFO, or socket.");
	localtree_release(&t);
	warns_release(&w);
	free(fifo);
}

static void test_localtree_mtime_ns(void **state)
{
	struct fixture *f = *state;
	const struct timespec ts[2] = {
		{ 1700000000, 5 }, { 1700000000, 123456789 },
	};
	char *p = fs_join(f->root, "t.bin");
	struct localtree t;
	struct err e = ERR_INIT;

	put(f->root, "t.bin", "0123456789");
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(localtree_list(&t, f->root, true, NULL, NULL, &e), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.files[0].size, 10);
	assert_true(t.files[0].mtime_ns == 1700000000123456789LL);
	localtree_release(&t);

	/* before 1970 too */
	{
		const struct timespec old[2] = {
			{ -2, 500000000 }, { -2, 500000000 },
		};

		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
		assert_int_equal(localtree_list(&t, f->root, true, NULL, NULL,
						&e), 0);
		assert_true(t.files[0].mtime_ns == -1500000000LL);
		localtree_release(&t);
	}
	free(p);
}

/* A single-file root is listed as its base name. */
static void test_localtree_single_file(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "file.txt" };
	char *p = fs_join(f->root, "dir/file.txt");
	struct localtree t;
	struct err e = ERR_INIT;

	put(f->root, "dir/file.txt", "abc");
	assert_int_equal(localtree_list(&t, p, false, NULL, NULL, &e), 0);
	assert_rels(&t, want, ARRAY_SIZE(want));
	assert_int_equal(t.files[0].size, 3);
	localtree_release(&t);
	free(p);
}

static void test_localtree_missing_root(void **state)
{
	struct fixture *f = *state;
	char *p = fs_join(f->root, "no-such-dir");
	struct localtree t;
	struct err e = ERR_INIT;

	assert_int_equal(localtree_list(&t, p, true, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, p));
	assert_int_equal(t.n, 0);
	assert_null(t.files);
	localtree_release(&t);
	free(p);
}

/* LOCALTREE_DEPTH_MAX folders deep is listed; one more is ERR_LIMIT. */
static void test_localtree_depth_limit(void **state)
{
	struct fixture *f = *state;
	struct localtree t;
	struct err e = ERR_INIT;
	int fd = open(f->root, O_RDONLY | O_DIRECTORY), next, i;

	assert_true(fd >= 0);
	for (i = 0; i < LOCALTREE_DEPTH_MAX; i++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	next = openat(fd, "f", O_WRONLY | O_CREAT, 0644);
	assert_true(next >= 0);
	close(next);
	assert_int_equal(localtree_list(&t, f->root, true, NULL, NULL, &e), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(strlen(t.files[0].rel), 2 * LOCALTREE_DEPTH_MAX + 1);
	localtree_release(&t);

	assert_int_equal(mkdirat(fd, "d", 0755), 0);
	close(fd);
	assert_int_equal(localtree_list(&t, f->root, true, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	assert_non_null(strstr(e.msg, "folders deep"));
	assert_int_equal(t.n, 0);

	/* fs_remove_tree stops at 256 levels too: take the chain apart */
	{
		struct buf b = BUF_INIT;

		for (i = 0; i <= LOCALTREE_DEPTH_MAX; i++)
			buf_adds(&b, i ? "/d" : "d");
		fd = open(f->root, O_RDONLY | O_DIRECTORY);
		assert_true(fd >= 0);
		for (i = LOCALTREE_DEPTH_MAX; i >= 0; i--) {
			if (i == LOCALTREE_DEPTH_MAX - 1) {
				buf_adds(&b, "/f");
				assert_int_equal(unlinkat(fd, b.ptr, 0), 0);
				buf_truncate(&b, b.len - 2);
			}
			assert_int_equal(unlinkat(fd, b.ptr, AT_REMOVEDIR), 0);
			if (i)
				buf_truncate(&b, b.len - 2);
		}
		close(fd);
		buf_release(&b);
	}
}

static void test_localtree_md5(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *content;
		const char *md5;
	} c[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "The quick brown fox jumps over the lazy dog",
		  "9e107d9d372bb6826bd81d3542a419d6" },
	};
	char out[33], *p = fs_join(f->root, "m");
	struct err e = ERR_INIT;
	size_t i, big = 2500000;
	char *data;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		put(f->root, "m", c[i].content);
		assert_int_equal(localtree_md5(out, p, &e), 0);
		assert_string_equal(out, c[i].md5);
	}
	/* past the 1 MB buffer: 2.5 MB of 'a' */
	data = xmalloc(big);
	memset(data, 'a', big);
	assert_int_equal(fs_write_file(p, data, big, 0644, &e), 0);
	assert_int_equal(localtree_md5(out, p, &e), 0);
	assert_string_equal(out, "810b761e68a4f58192e0448bc415517e");
	free(data);
	free(p);

	p = fs_join(f->root, "missing");
	assert_int_equal(localtree_md5(out, p, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, p));
	free(p);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_localtree_nested),
		T(test_localtree_sort_bytewise),
		T(test_localtree_symlinks_followed),
		T(test_localtree_symlinks_not_followed),
		T(test_localtree_dangling_link),
		T(test_localtree_loop),
		T(test_localtree_unreadable),
		T(test_localtree_special_file),
		T(test_localtree_mtime_ns),
		T(test_localtree_single_file),
		T(test_localtree_missing_root),
		T(test_localtree_depth_limit),
		T(test_localtree_md5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
