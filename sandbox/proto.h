/*
 * proto: the messages between gantry and a job's sandbox init, over a
 * stream socketpair. A message is a header { u32 type; u32 len } and len
 * bytes of payload; file descriptors travel with the header (SCM_RIGHTS).
 * Payloads are NUL-separated strings, numbers as decimal text, so there is
 * no binary layout to get wrong. Sizes are capped (PROTO_MAX) and a short
 * read is an error: the peer is either gantry or gantry's own init, and
 * either side going away ends the job.
 */
#ifndef GANTRY_PROTO_H
#define GANTRY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"

#define PROTO_MAX (16u << 20)
#define PROTO_MAX_FDS 4

enum proto_type {
	PROTO_CONFIG = 1,	/* gantry -> init: key=value strings */
	PROTO_READY,		/* init -> gantry: set up, waiting for steps */
	PROTO_ERROR,		/* init -> gantry: set-up failed: the message */
	PROTO_RUN,		/* gantry -> init: path, cwd, argv, env; fds 0 1 2 */
	PROTO_STARTED,		/* init -> gantry: the step's pid in the job */
	PROTO_FAILED,		/* init -> gantry: what failed, errno */
	PROTO_EXITED,		/* init -> gantry: wait status of the step */
	PROTO_SIGNAL,		/* gantry -> init: signal everything in the job */
};

/* 0, or -1 with errno set. */
int proto_send(int fd, enum proto_type type, const void *payload, size_t len,
	       const int *fds, size_t nfds);
/*
 * Receive one message into payload (reset first; NUL-terminated). Returns
 * 1 with *type, 0 at end of stream, -1 on error (errno set). Received fds
 * are stored in fds[] (close-on-exec), *nfds their count.
 */
int proto_recv(int fd, enum proto_type *type, struct buf *payload, int *fds,
	       size_t *nfds);

/* Append a string and its NUL. */
void proto_add(struct buf *b, const char *s);
/* The next NUL-terminated string at *pos in payload, or NULL at the end. */
const char *proto_next(const struct buf *payload, size_t *pos);

#endif
