/*
 * buf: a growable byte buffer.
 *
 * Rules that always hold: after BUF_INIT or buf_init() the pointer is never
 * NULL and the content is always NUL-terminated (the NUL is not counted in
 * len). A buffer may carry a size cap (max, 0 for none): an append that
 * would pass it fails with -1 and leaves the buffer as it was, which is how
 * untrusted input (webhook bodies, remote answers, step output) is bounded.
 * The memory is the buffer's until buf_detach() hands it to the caller.
 */
#ifndef GANTRY_BUF_H
#define GANTRY_BUF_H

#include <stdarg.h>
#include <stddef.h>

extern char buf_slop[1];

struct buf {
	char *ptr;	/* owned unless it points at buf_slop */
	size_t len;
	size_t alloc;
	size_t max;	/* cap on len, 0 for none */
};

#define BUF_INIT { buf_slop, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Make room for extra more bytes; -1 when that passes the cap. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_truncate(struct buf *b, size_t len);
/* Remove the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hand the content to the caller (free() it); the buffer is reset. */
char *buf_detach(struct buf *b, size_t *len);

#endif
