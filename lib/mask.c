/*
 * mask: the set of secret values and the function that hides them.
 *
 * The values are kept sorted longest first behind a read-write lock:
 * mask_add() takes it for writing, mask_apply() and mask_count() for
 * reading, so masking from many threads never waits on another reader.
 * A 256-entry table of first bytes lets mask_apply() skip every byte that
 * cannot start a secret with one lookup, which is the common case.
 *
 * Matching: at each position the longest value that matches wins, and
 * occurrences that overlap are merged into one "***", so a secret that
 * contains or overlaps another is hidden whole. Occurrences that only touch
 * ("tokentoken") stay two "***".
 */
#include "mask.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define MASK_REPL "***"

struct mask_value {
	char *s;	/* owned */
	size_t len;
};

struct mask {
	pthread_rwlock_t lock;
	struct mask_value *v;	/* owned; sorted by len, longest first */
	size_t n, alloc;
	bool first[256];	/* first[c]: some value starts with byte c */
};

void mask_new(struct mask **out)
{
	struct mask *m = xcalloc(1, sizeof(*m));

	if (pthread_rwlock_init(&m->lock, NULL))
		BUG("pthread_rwlock_init failed");
	*out = m;
}

void mask_free(struct mask *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].s);
	free(m->v);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

/* The lock is not part of the value a const struct mask promises to keep. */
static pthread_rwlock_t *mask_lock(const struct mask *m)
{
	return (pthread_rwlock_t *)&m->lock;
}

/* Insert s[0..len) unless empty or already present. Lock held for writing. */
static void mask_insert(struct mask *m, const char *s, size_t len)
{
	size_t i, at;

	if (!len)
		return;
	at = m->n;
	for (i = 0; i < m->n; i++) {
		if (m->v[i].len == len && !memcmp(m->v[i].s, s, len))
			return;
		if (m->v[i].len < len && at == m->n)
			at = i;
	}
	ALLOC_GROW(m->v, m->n + 1, m->alloc);
	memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof(*m->v));
	m->v[at].s = xstrndup(s, len);
	m->v[at].len = len;
	m->n++;
	m->first[(unsigned char)s[0]] = true;
}

void mask_add(struct mask *m, const char *value)
{
	const char *p, *nl;
	size_t len;

	if (!m || !value || !*value)
		return;
	pthread_rwlock_wrlock(&m->lock);
	mask_insert(m, value, strlen(value));
	if (strpbrk(value, "\r\n")) {
		for (p = value; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				nl = p + strlen(p);
			len = (size_t)(nl - p);
			if (len && p[len - 1] == '\r')
				len--;
			if (len >= 2)
				mask_insert(m, p, len);
			if (!*nl)
				break;
		}
	}
	pthread_rwlock_unlock(&m->lock);
}

size_t mask_count(const struct mask *m)
{
	size_t n;

	if (!m)
		return 0;
	pthread_rwlock_rdlock(mask_lock(m));
	n = m->n;
	pthread_rwlock_unlock(mask_lock(m));
	return n;
}

/* Length of the longest value matching at s[i..len), 0 if none. */
static size_t mask_match(const struct mask *m, const char *s, size_t i,
			 size_t len)
{
	size_t k;

	if (!m->first[(unsigned char)s[i]])
		return 0;
	for (k = 0; k < m->n; k++) {
		const struct mask_value *v = &m->v[k];

		if (v->len <= len - i && !memcmp(s + i, v->s, v->len))
			return v->len;
	}
	return 0;
}

/* Append s[0..len) to b with every masked value replaced. Lock held. */
static void mask_replace(struct buf *b, const struct mask *m, const char *s,
			 size_t len)
{
	size_t i, run = 0, end, j, k;

	for (i = 0; i < len; i++) {
		k = mask_match(m, s, i, len);
		if (!k)
			continue;
		/* Grow the hidden range over every occurrence that overlaps it. */
		end = i + k;
		for (j = i + 1; j < end; j++) {
			k = mask_match(m, s, j, len);
			if (j + k > end)
				end = j + k;
		}
		buf_add(b, s + run, i - run);
		buf_add(b, MASK_REPL, sizeof(MASK_REPL) - 1);
		run = end;
		i = end - 1;
	}
	buf_add(b, s + run, len - run);
}

char *mask_apply(const struct mask *m, const char *s, size_t len,
		 size_t *outlen)
{
	struct buf b = BUF_INIT;

	if (!s)
		len = 0;
	buf_grow(&b, len);
	if (!m) {
		buf_add(&b, s, len);
		return buf_detach(&b, outlen);
	}
	pthread_rwlock_rdlock(mask_lock(m));
	if (m->n)
		mask_replace(&b, m, s, len);
	else
		buf_add(&b, s, len);
	pthread_rwlock_unlock(mask_lock(m));
	return buf_detach(&b, outlen);
}

char *mask_str(const struct mask *m, const char *s)
{
	return mask_apply(m, s, s ? strlen(s) : 0, NULL);
}
