/*
 * mime: the Content-Type of a file by its name, for uploads. A built-in
 * table that knows the web first (.wasm application/wasm, .js and .mjs
 * text/javascript, .css, .json, .svg, .webp, .avif, .woff2, .map, .html,
 * .txt, ... with "; charset=utf-8" on text types as browsers expect), then
 * /etc/mime.types (read once, thread-safe), else NULL. Extensions match
 * case-insensitively; only the last extension counts (a.tar.gz: .gz).
 * Leading dots belong to the name: ".env" and "README" have no extension
 * and are NULL unless the table knows the whole name (it knows
 * "apple-app-site-association"); ".eslintrc.json" is JSON. The choices
 * (which types get a charset, IANA names) are listed atop mime.c.
 */
#ifndef GANTRY_MIME_H
#define GANTRY_MIME_H

/* The type for name (a path or a file name), or NULL when unknown.
 * Borrowed, static. */
const char *mime_type(const char *name);

/* Load types from a mime.types file's text instead of /etc/mime.types
 * (tests); NULL for no file at all (the built-in table alone). The text
 * is copied. Not thread-safe with mime_type, and a type returned earlier
 * from a loaded file is freed by the next call. */
void mime_load_text(const char *text);

#endif
