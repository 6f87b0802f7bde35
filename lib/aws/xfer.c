/*
 * xfer: concurrent AWS requests on one libcurl multi handle (xfer.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../util.h"
#include "client_int.h"
#include "xfer.h"

#define POOL_MAX 256
#define POLL_MS 100

struct aws_xfer {
	struct aws_client *c;
	CURLM *m;
	int max_active, n_active;
	struct aws_xfer_op *head, *tail;	/* queued, FIFO */
	struct aws_xfer_op *waiting;		/* retries not due yet */
	struct aws_xfer_op *active;		/* in libcurl's hands */
	CURL *pool[POOL_MAX];
	int n_pool;
	bool cancelled;
};

int aws_xfer_new(struct aws_xfer **out, struct aws_client *c, int max_active,
		 struct err *e)
{
	struct aws_xfer *x = xcalloc(1, sizeof(*x));

	*out = NULL;
	x->c = c;
	x->max_active = max_active > 0 ? max_active : AWS_XFER_ACTIVE_DEFAULT;
	x->m = curl_multi_init();
	if (!x->m) {
		free(x);
		return err_set(e, ERR_INTERNAL, "libcurl could not make a multi "
			       "handle");
	}
	/* one connection per active request, kept for the next ones */
	curl_multi_setopt(x->m, CURLMOPT_MAXCONNECTS, (long)x->max_active);
	*out = x;
	return 0;
}

void aws_xfer_free(struct aws_xfer *x)
{
	if (!x)
		return;
	for (int i = 0; i < x->n_pool; i++)
		curl_easy_cleanup(x->pool[i]);
	curl_multi_cleanup(x->m);
	free(x);
}

void aws_xfer_op_init(struct aws_xfer_op *op)
{
	memset(op, 0, sizeof(*op));
	op->src_fd = -1;
	op->dst_fd = -1;
	aws_resp_init(&op->resp);
}

void aws_xfer_op_release(struct aws_xfer_op *op)
{
	aws_resp_release(&op->resp);
	free(op->url);
	op->url = NULL;
	strv_release(&op->headers);
}

void aws_xfer_add(struct aws_xfer *x, struct aws_xfer_op *op)
{
	op->next = NULL;
	if (x->tail)
		x->tail->next = op;
	else
		x->head = op;
	x->tail = op;
}

void aws_xfer_cancel(struct aws_xfer *x)
{
	x->cancelled = true;
}

static long long now_ns(void)
{
	return time_mono_ns();
}

static void finish(struct aws_xfer *x, struct aws_xfer_op *op, int rc)
{
	op->rc = rc;
	if (op->done)
		op->done(x, op);
}

/* The body of an upload from a file, read as libcurl sends it. */
static size_t read_src(char *buf, size_t size, size_t nmemb, void *p)
{
	struct aws_xfer_op *op = p;
	size_t want = size * nmemb;
	off_t left = op->src_len - op->sent;
	ssize_t n;

	if ((off_t)want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	do
		n = pread(op->src_fd, buf, want, op->src_off + op->sent);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT;	/* shrank or unreadable */
	op->sent += n;
	return (size_t)n;
}

/* A 2xx body to the file at its offset; an error's to memory. */
static size_t write_dst(char *data, size_t size, size_t nmemb, void *p)
{
	struct aws_xfer_op *op = p;
	size_t n = size * nmemb, done = 0;
	long status = 0;

	curl_easy_getinfo(op->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300)
		return buf_add(&op->resp.body, data, n) < 0 ? 0 : n;
	while (done < n) {
		ssize_t w = pwrite(op->dst_fd, data + done, n - done,
				   op->dst_off + op->got);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		done += (size_t)w;
		op->got += w;
	}
	return n;
}

static CURL *take_handle(struct aws_xfer *x)
{
	CURL *h = x->n_pool ? x->pool[--x->n_pool] : curl_easy_init();

	if (h)
		curl_easy_reset(h);
	return h;
}

static void give_handle(struct aws_xfer *x, CURL *h)
{
	if (x->n_pool < POOL_MAX)
		x->pool[x->n_pool++] = h;
	else
		curl_easy_cleanup(h);
}

static void schedule_retry(struct aws_xfer *x, struct aws_xfer_op *op)
{
	op->not_before_ns = now_ns() +
		(long long)aws_backoff_ms(x->c, op->attempt) * 1000000LL;
	op->next = x->waiting;
	x->waiting = op;
}

/* Start one attempt of op; on a failure to even start, it ends. */
static void start(struct aws_xfer *x, struct aws_xfer_op *op)
{
	struct aws_prepared p;
	CURL *h;

	if (x->cancelled) {
		err_set(&op->e, ERR_CANCELLED, "%s %s: cancelled",
			op->req.service, op->req.operation);
		finish(x, op, -1);
		return;
	}
	aws_resp_reset(&op->resp);
	op->attempt++;
	op->resp.attempts = op->attempt;
	op->sent = op->got = 0;
	if (op->src_fd >= 0) {
		/* the body is sent from the file: signed as UNSIGNED-PAYLOAD,
		 * with Content-MD5 (the caller's) guarding it */
		op->req.body = NULL;
		op->req.body_len = 0;
		op->req.payload_hash = AWS_UNSIGNED_PAYLOAD;
	}
	if (aws_prepare(&p, x->c, &op->req, &op->e) < 0) {
		finish(x, op, -1);
		return;
	}
	h = take_handle(x);
	if (!h) {
		aws_prepared_release(&p);
		err_set(&op->e, ERR_INTERNAL, "libcurl could not make a handle");
		finish(x, op, -1);
		return;
	}
	op->h = h;
	op->hl = NULL;
	op->errbuf[0] = '\0';
	aws_curl_setup(h, x->c, &op->req, &p, &op->resp, &op->hl, op->errbuf);
	aws_prepared_release(&p);
	if (op->src_fd >= 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_src);
		curl_easy_setopt(h, CURLOPT_READDATA, op);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)op->src_len);
		/* a long upload is fine; a stalled one is not */
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	}
	if (op->dst_fd >= 0) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_dst);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, op);
	}
	curl_easy_setopt(h, CURLOPT_PRIVATE, op);
	if (curl_multi_add_handle(x->m, h) != CURLM_OK) {
		curl_slist_free_all(op->hl);
		give_handle(x, h);
		err_set(&op->e, ERR_INTERNAL, "libcurl refused a transfer");
		finish(x, op, -1);
		return;
	}
	x->n_active++;
	op->anext = x->active;
	x->active = op;
}

static void unlink_active(struct aws_xfer *x, struct aws_xfer_op *op)
{
	for (struct aws_xfer_op **pp = &x->active; *pp; pp = &(*pp)->anext)
		if (*pp == op) {
			*pp = op->anext;
			break;
		}
}

/* An attempt came back: done, retried later, or failed for good. */
static void complete(struct aws_xfer *x, CURL *h, CURLcode cc)
{
	struct aws_xfer_op *op = NULL;
	bool again;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&op);
	curl_multi_remove_handle(x->m, h);
	curl_slist_free_all(op->hl);
	op->hl = NULL;
	op->h = NULL;
	x->n_active--;
	unlink_active(x, op);
	if (cc != CURLE_OK) {
		aws_transport_error(&op->e, &op->req, cc, op->errbuf);
		give_handle(x, h);
		op->resp.status = 0;
		if (op->e.code != ERR_LIMIT && op->attempt < x->c->max_attempts &&
		    !x->cancelled) {
			schedule_retry(x, op);
			return;
		}
		if (op->attempt > 1) {
			size_t n = strlen(op->e.msg);

			snprintf(op->e.msg + n, sizeof(op->e.msg) - n,
				 " (%d attempts)", op->attempt);
		}
		finish(x, op, -1);
		return;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &op->resp.status);
	give_handle(x, h);
	aws_request_id(&op->resp);
	if (op->resp.status >= 200 && op->resp.status < 300) {
		finish(x, op, 0);
		return;
	}
	aws_error_parse(&op->resp, op->req.proto);
	again = aws_retryable(op->resp.status, op->resp.code);
	if (again && op->attempt < x->c->max_attempts && !x->cancelled) {
		schedule_retry(x, op);
		return;
	}
	aws_error_message(&op->e, &op->req, &op->resp, again);
	finish(x, op, -1);
}

/* Waiting retries that are due go to the front of the queue; the time
 * until the next one, in ms (POLL_MS when none). */
static int release_due(struct aws_xfer *x)
{
	struct aws_xfer_op **pp = &x->waiting;
	long long now = now_ns(), next = -1;

	while (*pp) {
		struct aws_xfer_op *op = *pp;

		if (op->not_before_ns <= now || x->cancelled) {
			*pp = op->next;
			op->next = x->head;
			x->head = op;
			if (!x->tail)
				x->tail = op;
		} else {
			if (next < 0 || op->not_before_ns - now < next)
				next = op->not_before_ns - now;
			pp = &op->next;
		}
	}
	if (next < 0 || next / 1000000 > POLL_MS)
		return POLL_MS;
	return (int)(next / 1000000) + 1;
}

/* The engine failed: end every operation, active, waiting or queued,
 * so that every done callback runs. */
static int fail_all(struct aws_xfer *x, struct err *e)
{
	x->cancelled = true;
	while (x->active) {
		struct aws_xfer_op *op = x->active;

		x->active = op->anext;
		curl_multi_remove_handle(x->m, op->h);
		curl_slist_free_all(op->hl);
		op->hl = NULL;
		give_handle(x, op->h);
		op->h = NULL;
		x->n_active--;
		op->e = *e;
		finish(x, op, -1);
	}
	while (x->head || x->waiting) {
		release_due(x);
		while (x->head) {
			struct aws_xfer_op *op = x->head;

			x->head = op->next;
			if (!x->head)
				x->tail = NULL;
			start(x, op);	/* cancelled: ends at once */
		}
	}
	return -1;
}

int aws_xfer_run(struct aws_xfer *x, struct err *e)
{
	while (x->head || x->waiting || x->n_active) {
		int running = 0, left = 0, wait_ms;
		CURLMsg *msg;
		CURLMcode mc;

		wait_ms = release_due(x);
		while (x->head && x->n_active < x->max_active) {
			struct aws_xfer_op *op = x->head;

			x->head = op->next;
			if (!x->head)
				x->tail = NULL;
			start(x, op);
		}
		mc = curl_multi_perform(x->m, &running);
		if (mc != CURLM_OK) {
			err_set(e, ERR_INTERNAL, "libcurl: %s",
				curl_multi_strerror(mc));
			return fail_all(x, e);
		}
		while ((msg = curl_multi_info_read(x->m, &left)))
			if (msg->msg == CURLMSG_DONE)
				complete(x, msg->easy_handle, msg->data.result);
		if (x->n_active && (!x->head || x->n_active >= x->max_active)) {
			mc = curl_multi_poll(x->m, NULL, 0, wait_ms, NULL);
			if (mc != CURLM_OK) {
				err_set(e, ERR_INTERNAL, "libcurl: %s",
					curl_multi_strerror(mc));
				return fail_all(x, e);
			}
		} else if (!x->n_active && !x->head && x->waiting) {
			struct timespec ts = { 0, (long)wait_ms * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
