#include "buf.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char buf_slop[1];

void buf_init(struct buf *b, size_t max)
{
	b->ptr = buf_slop;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->ptr);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t need;

	if (b->max && (extra > b->max || b->len > b->max - extra))
		return -1;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	if (need < b->alloc * 2)
		need = b->alloc * 2;
	if (need < 64)
		need = 64;
	if (b->alloc) {
		b->ptr = xrealloc(b->ptr, need);
	} else {
		b->ptr = xmalloc(need);
		b->ptr[0] = '\0';
	}
	b->alloc = need;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_grow(b, len) < 0)
		return -1;
	if (len)
		memmove(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	size_t room = b->alloc ? b->alloc - b->len - 1 : 0;
	va_list cp;
	int n;

	/* one pass when the text fits in the room already there */
	va_copy(cp, ap);
	n = room ? vsnprintf(b->ptr + b->len, room + 1, fmt, cp) :
		vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		goto fail;
	if ((size_t)n <= room && (!b->max || b->len + (size_t)n <= b->max)) {
		b->len += (size_t)n;
		return 0;
	}
	if (buf_grow(b, (size_t)n) < 0)
		goto fail;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
fail:
	if (b->alloc)
		b->ptr[b->len] = '\0';
	return -1;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		BUG("buf_truncate past the end (%zu > %zu)", len, b->len);
	b->len = len;
	if (b->alloc)
		b->ptr[len] = '\0';
}

void buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		BUG("buf_consume past the end (%zu > %zu)", n, b->len);
	if (!n)
		return;
	memmove(b->ptr, b->ptr + n, b->len - n);
	buf_truncate(b, b->len - n);
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	if (!b->alloc)
		p = xstrdup("");
	else
		p = b->ptr;
	buf_init(b, b->max);
	return p;
}
