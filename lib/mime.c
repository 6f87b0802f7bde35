/*
 * mime: Content-Type by file name. See mime.h.
 *
 * Decisions (the AWS CLI takes Python's mimetypes.guess_type(), which
 * reads /etc/mime.types over its own list and never adds a charset):
 * - Text a browser renders (html, css, js, txt, csv, md, ...) carries
 *   "; charset=utf-8", so a page or a log with non-ASCII text is not read
 *   as windows-1252. Types whose format declares its own encoding or is
 *   UTF-8 by definition (JSON, XML, SVG, YAML, manifests) carry none.
 * - The IANA name where browsers accept it: text/javascript (RFC 9239),
 *   application/xml (RFC 7303), application/yaml (RFC 9512),
 *   image/vnd.microsoft.icon, application/gzip (RFC 6713).
 * - .br is not listed: a Brotli file is nearly always a precompressed
 *   asset ("app.js.br") that wants Content-Encoding: br plus the inner
 *   type, which one type string cannot say; the caller decides.
 * - One whole name without a dot is known: apple-app-site-association,
 *   which Apple requires as application/json.
 * - /etc/mime.types: the last line that names an extension wins (as
 *   Python's mimetypes); its types are returned as written there.
 */
#include "mime.h"
#include "buf.h"
#include "err.h"
#include "fs.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MIME_FILE "/etc/mime.types"
#define MIME_FILE_MAX (8u << 20)
#define MIME_EXT_MAX 32		/* longer extensions are never known */

#define UTF8 "; charset=utf-8"

struct mime_entry {
	const char *ext;	/* lower case, no dot */
	const char *type;
};

/* The web first. Searched in order; keep extensions unique. */
static const struct mime_entry builtin[] = {
	/* pages, styles, scripts */
	{ "html", "text/html" UTF8 },
	{ "htm", "text/html" UTF8 },
	{ "xhtml", "application/xhtml+xml" },
	{ "css", "text/css" UTF8 },
	{ "js", "text/javascript" UTF8 },
	{ "mjs", "text/javascript" UTF8 },
	{ "cjs", "text/javascript" UTF8 },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "jsonld", "application/ld+json" },
	{ "webmanifest", "application/manifest+json" },
	{ "wasm", "application/wasm" },
	{ "xml", "application/xml" },
	{ "rss", "application/rss+xml" },
	{ "atom", "application/atom+xml" },
	/* images */
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "apng", "image/apng" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "jxl", "image/jxl" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "bmp", "image/bmp" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },
	/* fonts */
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "eot", "application/vnd.ms-fontobject" },
	/* text */
	{ "txt", "text/plain" UTF8 },
	{ "text", "text/plain" UTF8 },
	{ "log", "text/plain" UTF8 },
	{ "csv", "text/csv" UTF8 },
	{ "md", "text/markdown" UTF8 },
	{ "markdown", "text/markdown" UTF8 },
	{ "vtt", "text/vtt" UTF8 },
	{ "ics", "text/calendar" UTF8 },
	{ "yaml", "application/yaml" },
	{ "yml", "application/yaml" },
	{ "toml", "application/toml" },
	/* documents and archives */
	{ "pdf", "application/pdf" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tgz", "application/gzip" },
	{ "tar", "application/x-tar" },
	{ "bz2", "application/x-bzip2" },
	{ "xz", "application/x-xz" },
	{ "zst", "application/zstd" },
	{ "7z", "application/x-7z-compressed" },
	/* audio and video */
	{ "mp4", "video/mp4" },
	{ "m4v", "video/mp4" },
	{ "webm", "video/webm" },
	{ "ogv", "video/ogg" },
	{ "mov", "video/quicktime" },
	{ "mp3", "audio/mpeg" },
	{ "m4a", "audio/mp4" },
	{ "aac", "audio/aac" },
	{ "ogg", "audio/ogg" },
	{ "oga", "audio/ogg" },
	{ "opus", "audio/ogg" },
	{ "flac", "audio/flac" },
	{ "wav", "audio/wav" },
	{ "weba", "audio/webm" },
};

/* Whole base names without an extension. */
static const struct mime_entry builtin_names[] = {
	{ "apple-app-site-association", "application/json" },
};

/* The extensions of the loaded mime.types text, sorted by ext, one entry
 * per extension. */
struct loaded_entry {
	const char *ext;	/* into loaded_text, lower case */
	const char *type;	/* into loaded_text */
	size_t seq;		/* order of appearance, for "last wins" */
};

static char *loaded_text;		/* owned */
static struct loaded_entry *loaded;	/* owned */
static size_t loaded_n;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static int loaded_cmp(const void *a, const void *b)
{
	const struct loaded_entry *x = a, *y = b;
	int c = strcmp(x->ext, y->ext);

	if (c)
		return c;
	/* later lines first, so the first of a run is the one that wins */
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Cut the next token off *p (one NUL-terminated line), terminating it in
 * place; NULL at the end of the line. */
static char *next_token(char **p)
{
	char *s = *p, *tok;

	while (is_space(*s))
		s++;
	if (!*s)
		return NULL;
	tok = s;
	while (*s && !is_space(*s))
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return tok;
}

/* mime.types: "type ext1 ext2 ..." per line; '#' to the end of the line
 * is a comment. Takes ownership of text. */
static void load_owned(char *text)
{
	struct loaded_entry *v = NULL;
	size_t n = 0, alloc = 0, seq = 0, i, out;
	char *line = text;

	while (line && *line) {
		char *nl = strchr(line, '\n'), *p = line, *type, *ext;

		if (nl)
			*nl = '\0';
		type = next_token(&p);
		if (type && *type != '#' && strchr(type, '/')) {
			while ((ext = next_token(&p)) && *ext != '#') {
				char *c;

				for (c = ext; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				if (*ext == '.')	/* tolerate ".ext" */
					ext++;
				if (!*ext)
					continue;
				ALLOC_GROW(v, n + 1, alloc);
				v[n].ext = ext;
				v[n].type = type;
				v[n].seq = seq++;
				n++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (n)
		qsort(v, n, sizeof(*v), loaded_cmp);
	for (i = 0, out = 0; i < n; i++)
		if (!out || strcmp(v[out - 1].ext, v[i].ext))
			v[out++] = v[i];

	free(loaded);
	free(loaded_text);
	loaded = v;
	loaded_n = out;
	loaded_text = text;
}

static void load_system(void)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	buf_init(&b, MIME_FILE_MAX);
	if (fs_read_file(&b, MIME_FILE, &e) < 0) {
		buf_release(&b);	/* no file: the built-in table alone */
		return;
	}
	load_owned(buf_detach(&b, NULL));
}

static void load_nothing(void)
{
}

void mime_load_text(const char *text)
{
	/* Mark the system file as done, so it never replaces this text. */
	pthread_once(&load_once, load_nothing);
	if (!text) {
		free(loaded);
		free(loaded_text);
		loaded = NULL;
		loaded_text = NULL;
		loaded_n = 0;
		return;
	}
	load_owned(xstrdup(text));
}

static const char *loaded_find(const char *ext)
{
	size_t lo = 0, hi = loaded_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ext, loaded[mid].ext);

		if (!c)
			return loaded[mid].type;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const char *table_find(const struct mime_entry *t, size_t n,
			      const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(t[i].ext, key))
			return t[i].type;
	return NULL;
}

/* Copy s lower-cased into out (of MIME_EXT_MAX); false when too long. */
static bool lower_copy(char out[MIME_EXT_MAX], const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i + 1 >= MIME_EXT_MAX)
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[i] = '\0';
	return true;
}

const char *mime_type(const char *name)
{
	char key[MIME_EXT_MAX];
	const char *base, *dot, *t;

	if (!name)
		return NULL;
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	/* leading dots belong to the name: ".env" has no extension,
	 * ".eslintrc.json" has "json" */
	for (dot = base; *dot == '.'; dot++)
		;
	dot = strrchr(dot, '.');
	if (!dot) {
		/* README, .env: no extension; only a known whole name */
		if (!*base || !lower_copy(key, base))
			return NULL;
		return table_find(builtin_names, ARRAY_SIZE(builtin_names),
				  key);
	}
	if (!dot[1] || !lower_copy(key, dot + 1))
		return NULL;
	t = table_find(builtin, ARRAY_SIZE(builtin), key);
	if (t)
		return t;
	pthread_once(&load_once, load_system);
	return loaded_find(key);
}
