/*
 * util: allocation that never returns NULL, and the BUG() macro.
 *
 * Running out of memory and broken internal invariants are the two cases
 * where gantry aborts outside agent/main.c: neither can be handled by a
 * caller, and carrying on would be worse.
 */
#ifndef GANTRY_UTIL_H
#define GANTRY_UTIL_H

#include <stddef.h>
#include <stdbool.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* All return memory the caller owns and frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *p (of *alloc elements of size sz) to hold at least n elements. */
#define ALLOC_GROW(p, n, alloc) \
	do { \
		if ((size_t)(n) > (alloc)) { \
			size_t na_ = (alloc) ? (alloc) * 2 : 8; \
			while (na_ < (size_t)(n)) \
				na_ *= 2; \
			(p) = xrealloc((p), na_ * sizeof(*(p))); \
			(alloc) = na_; \
		} \
	} while (0)

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* Case-insensitive ASCII comparison, as GitHub compares strings. */
int str_casecmp(const char *a, const char *b);
/* Parse a whole decimal integer; 0 on success, -1 when s is not one. */
int str_to_long(const char *s, long *out);
/* Parse a size: digits with an optional fraction of up to 9 digits, then
 * K, M, G or T (powers of 1024, any case; "Ki", "KiB", "KB" too) or
 * none, an optional "B": 512, 64K, 1.5G, 4GiB. The fraction of a byte is
 * dropped. 0 on success, -1 when s is not one or over LLONG_MAX. */
int str_to_size(const char *s, long long *out);

/* data[0..n) as 2n lower-case hex digits and a NUL in out. */
void hex_lower(char *out, const void *data, size_t n);

/* Monotonic clock in nanoseconds. */
long long time_mono_ns(void);
/* Wall clock as ISO 8601 UTC "2026-11-22T13:03:33Z" into out (>= 21 bytes). */
void time_iso8601(char *out, size_t outsz, long long unix_sec);

#endif
