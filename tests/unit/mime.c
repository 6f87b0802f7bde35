/* Unit tests for lib/mime.c: the built-in table, case, names without an
 * extension, and the mime.types fallback (the system file first, while
 * nothing has been loaded yet; then texts given by mime_load_text). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mime.h"
#include "lib/util.h"

struct mime_case {
	const char *name;
	const char *want;	/* NULL: unknown */
};

static void run_cases(const struct mime_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *got = mime_type(c[i].name);

		if (!c[i].want && !got)
			continue;
		if (!c[i].want || !got || strcmp(got, c[i].want))
			fail_msg("%s: want %s, got %s", c[i].name,
				 c[i].want ? c[i].want : "NULL",
				 got ? got : "NULL");
	}
}

#define THREADS 8

static void *lookup_thread(void *arg)
{
	const char **out = arg;

	*out = mime_type("doc.odt");
	return NULL;
}

/* First, before any mime_load_text: threads racing to the first lookup
 * of an extension the table does not know all get the same answer, the
 * system file's (read once). */
static void test_mime_system_file_once(void **state)
{
	const char *got[THREADS];
	pthread_t th[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lookup_thread,
						&got[i]), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 1; i < THREADS; i++)
		assert_ptr_equal(got[i], got[0]);
	if (access("/etc/mime.types", R_OK) != 0) {
		assert_null(got[0]);	/* no file: the table alone */
		return;
	}
	/* Debian's and Fedora's mime.types both name .odt; a system whose
	 * file does not is not a failure of ours */
	if (got[0])
		assert_string_equal(got[0],
			"application/vnd.oasis.opendocument.text");
	else
		print_message("note: /etc/mime.types has no .odt\n");
}

/* The web first, whatever the system file says. */
static void test_mime_table(void **state)
{
	static const struct mime_case c[] = {
		{ "index.html", "text/html; charset=utf-8" },
		{ "index.htm", "text/html; charset=utf-8" },
		{ "site.css", "text/css; charset=utf-8" },
		{ "app.js", "text/javascript; charset=utf-8" },
		{ "app.mjs", "text/javascript; charset=utf-8" },
		{ "app.cjs", "text/javascript; charset=utf-8" },
		{ "app.js.map", "application/json" },
		{ "data.json", "application/json" },
		{ "app.wasm", "application/wasm" },
		{ "logo.svg", "image/svg+xml" },
		{ "a.png", "image/png" },
		{ "a.jpg", "image/jpeg" },
		{ "a.jpeg", "image/jpeg" },
		{ "a.gif", "image/gif" },
		{ "a.webp", "image/webp" },
		{ "a.avif", "image/avif" },
		{ "favicon.ico", "image/vnd.microsoft.icon" },
		{ "f.woff", "font/woff" },
		{ "f.woff2", "font/woff2" },
		{ "f.ttf", "font/ttf" },
		{ "f.otf", "font/otf" },
		{ "f.eot", "application/vnd.ms-fontobject" },
		{ "notes.txt", "text/plain; charset=utf-8" },
		{ "build.log", "text/plain; charset=utf-8" },
		{ "feed.xml", "application/xml" },
		{ "doc.pdf", "application/pdf" },
		{ "a.zip", "application/zip" },
		{ "a.gz", "application/gzip" },
		{ "v.mp4", "video/mp4" },
		{ "v.webm", "video/webm" },
		{ "s.mp3", "audio/mpeg" },
		{ "s.ogg", "audio/ogg" },
		{ "s.wav", "audio/wav" },
		{ "t.csv", "text/csv; charset=utf-8" },
		{ "README.md", "text/markdown; charset=utf-8" },
		{ "ci.yaml", "application/yaml" },
		{ "ci.yml", "application/yaml" },
		{ "site.webmanifest", "application/manifest+json" },
		/* only the last extension counts */
		{ "a.tar.gz", "application/gzip" },
		{ "app.min.js", "text/javascript; charset=utf-8" },
		{ "v1.2/app.css", "text/css; charset=utf-8" },
		/* a path: the folder's dots do not count */
		{ "dist/assets.v2/app.wasm", "application/wasm" },
		{ "/abs/path/to/index.html", "text/html; charset=utf-8" },
	};

	run_cases(c, ARRAY_SIZE(c));
}

static void test_mime_case_insensitive(void **state)
{
	static const struct mime_case c[] = {
		{ "INDEX.HTML", "text/html; charset=utf-8" },
		{ "Photo.JPG", "image/jpeg" },
		{ "App.Wasm", "application/wasm" },
		{ "FONT.WOFF2", "font/woff2" },
	};

	run_cases(c, ARRAY_SIZE(c));
}

/* No extension, dotfiles, trailing dots and slashes. */
static void test_mime_no_extension(void **state)
{
	static const struct mime_case c[] = {
		{ "README", NULL },
		{ "Makefile", NULL },
		{ "dir.d/README", NULL },
		{ ".env", NULL },
		{ ".html", NULL },		/* a dotfile, not an extension */
		{ "..html", NULL },
		{ "dir/.gitignore", NULL },
		{ ".eslintrc.json", "application/json" },
		{ "name.", NULL },
		{ "dir/", NULL },
		{ "", NULL },
		{ NULL, NULL },
		/* a whole name the table knows */
		{ ".well-known/apple-app-site-association",
		  "application/json" },
		{ "Apple-App-Site-Association", "application/json" },
		/* an extension far too long to be one */
		{ "a.abcdefghijklmnopqrstuvwxyzabcdefghijklmnop", NULL },
	};

	run_cases(c, ARRAY_SIZE(c));
}

static const char test_types[] =
	"# a comment line\n"
	"\n"
	"application/x-test-one\t\tone uno\n"
	"  application/x-test-two   TWO # dos: a comment\n"
	"application/x-first\t\tdup\n"
	"application/x-last\t\tdup\n"
	"text/x-crlf crlf\r\n"
	"application/x-no-exts\n"
	"not-a-type ignored\n"
	"#text/x-commented commented\n"
	"application/x-html html\n"
	"application/x-noeol noeol";

static void test_mime_load_text(void **state)
{
	static const struct mime_case c[] = {
		{ "a.one", "application/x-test-one" },
		{ "a.uno", "application/x-test-one" },
		{ "a.ONE", "application/x-test-one" },
		{ "a.two", "application/x-test-two" },	/* "TWO" in the file */
		{ "a.dos", NULL },
		{ "a.dup", "application/x-last" },	/* the last line wins */
		{ "a.crlf", "text/x-crlf" },
		{ "a.ignored", NULL },
		{ "a.commented", NULL },
		{ "a.noeol", "application/x-noeol" },
		{ "a.odt", NULL },		/* the system file is replaced */
		/* the table still comes first */
		{ "a.html", "text/html; charset=utf-8" },
		{ "README", NULL },
	};

	mime_load_text(test_types);
	run_cases(c, ARRAY_SIZE(c));

	mime_load_text("image/x-other one\n");
	assert_string_equal(mime_type("x.one"), "image/x-other");
	assert_null(mime_type("x.uno"));

	mime_load_text(NULL);	/* no file: the table alone */
	assert_null(mime_type("x.one"));
	assert_string_equal(mime_type("x.css"), "text/css; charset=utf-8");
	mime_load_text("");
	assert_null(mime_type("x.one"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_system_file_once),
		cmocka_unit_test(test_mime_table),
		cmocka_unit_test(test_mime_case_insensitive),
		cmocka_unit_test(test_mime_no_extension),
		cmocka_unit_test(test_mime_load_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
