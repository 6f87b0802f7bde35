/*
 * xfer: many AWS requests at once on one libcurl multi handle, for S3's
 * bulk work (a sync's uploads, a multipart upload's parts, a parallel
 * download's ranges).
 *
 * An operation is an aws_req plus where its body comes from (memory, or a
 * region of a file, read as it is sent: memory stays bounded whatever the
 * file sizes) and where the answer's body goes (memory, capped; or a
 * region of a file, written at its offset). Each attempt is signed anew;
 * a failure is retried as aws_call retries (the client's max_attempts,
 * full-jitter backoff) without blocking the others. When an operation
 * ends for good, its done callback runs, in aws_xfer_run's thread; the
 * callback may add more operations (the parts after a multipart create,
 * the complete after the last part). Everything is single-threaded: one
 * thread drives the multi handle; connections are kept and reused.
 */
#ifndef GANTRY_AWS_XFER_H
#define GANTRY_AWS_XFER_H

#include <stdbool.h>
#include <sys/types.h>

#include "aws.h"

#define AWS_XFER_ACTIVE_DEFAULT 64

struct aws_xfer;
struct aws_xfer_op;

typedef void (*aws_xfer_done_fn)(struct aws_xfer *x, struct aws_xfer_op *op);

struct aws_xfer_op {
	/* in: the request (its strings must live until done runs) */
	struct aws_req req;
	int src_fd;		/* >= 0: the body is src_len bytes of this file
				 * from src_off, sent as UNSIGNED-PAYLOAD */
	off_t src_off, src_len;
	int dst_fd;		/* >= 0: a 2xx answer's body goes to this file
				 * at dst_off (errors still go to resp.body) */
	off_t dst_off;
	aws_xfer_done_fn done;	/* may be NULL */
	void *arg;
	/* out, when done runs */
	int rc;			/* 0 or -1 */
	struct err e;
	struct aws_resp resp;
	/* private */
	struct aws_xfer_op *next;
	struct aws_xfer_op *anext;	/* the active list */
	int attempt;
	long long not_before_ns;
	off_t sent, got;
	void *h;		/* CURL * while active */
	struct curl_slist *hl;
	char errbuf[256];
	char *url;
	struct strv headers;
};

/* An engine for client c (borrowed) with at most max_active requests in
 * flight (0: AWS_XFER_ACTIVE_DEFAULT). */
int aws_xfer_new(struct aws_xfer **out, struct aws_client *c, int max_active,
		 struct err *e);
void aws_xfer_free(struct aws_xfer *x);

/* Initialise op (no fds, no callback) before filling it in. */
void aws_xfer_op_init(struct aws_xfer_op *op);
/* Release what an ended op holds (its resp). */
void aws_xfer_op_release(struct aws_xfer_op *op);

/* Queue op; it starts when a slot is free. */
void aws_xfer_add(struct aws_xfer *x, struct aws_xfer_op *op);

/* Run until nothing is queued, waiting or active. -1 only when the
 * engine itself fails (libcurl); operations report through op->rc, and
 * even then every operation ends (rc -1) and its done callback runs, so
 * that callers clean up (abort a multipart upload, remove a file). */
int aws_xfer_run(struct aws_xfer *x, struct err *e);
/* Stop starting new operations (after a failure that makes the rest
 * pointless): queued ones end with rc -1, ERR_CANCELLED. */
void aws_xfer_cancel(struct aws_xfer *x);

#endif
