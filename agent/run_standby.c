/*
 * run_standby: the request that turns a standby `gantry run` into a run
 * (the format is in run_standby.h). Both ends are gantry (after an
 * upgrade in place, perhaps not the same version): a malformed request is
 * refused cleanly.
 */
#include "run_standby.h"

#include "../lib/buf.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char magic[4] = { 'G', 'S', 'R', '1' };

static int send_all(int sock, const char *p, size_t n, struct err *e)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = send(sock, p + off, n - off, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, ERR_IO, "cannot hand the run to its process");
		if (r == 0)
			return err_set(e, ERR_IO, "cannot hand the run to its process: "
				       "nothing was sent");
		off += (size_t)r;
	}
	return 0;
}

int run_standby_send(int sock, const struct strv *argv, const struct strv *env,
		     int log_fd, struct err *e)
{
	struct buf b = BUF_INIT;
	char head[8], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	uint32_t len;
	ssize_t n;
	int rc = -1;

	buf_printf(&b, "%zu", argv->n);
	buf_addch(&b, '\0');
	buf_printf(&b, "%zu", env->n);
	buf_addch(&b, '\0');
	for (size_t i = 0; i < argv->n; i++)
		buf_add(&b, argv->v[i], strlen(argv->v[i]) + 1);
	for (size_t i = 0; i < env->n; i++)
		buf_add(&b, env->v[i], strlen(env->v[i]) + 1);
	if (b.len > RUN_STANDBY_MAX) {
		err_set(e, ERR_INVALID, "the run's arguments are %zu bytes; at most %u",
			b.len, RUN_STANDBY_MAX);
		goto done;
	}
	len = (uint32_t)b.len;
	memcpy(head, magic, 4);
	for (int i = 0; i < 4; i++)
		head[4 + i] = (char)((len >> (8 * i)) & 0xff);
	/* the header carries the log's descriptor */
	iov.iov_base = head;
	iov.iov_len = sizeof(head);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(ctl, 0, sizeof(ctl));
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &log_fd, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err_sys(e, ERR_IO, "cannot hand the run to its process");
		goto done;
	}
	/* 8 bytes into an empty socket: never short (the receiver takes the
	 * header, with its descriptor, in one piece) */
	if (n != (ssize_t)sizeof(head)) {
		err_set(e, ERR_IO, "cannot hand the run to its process: a short write");
		goto done;
	}
	if (send_all(sock, b.ptr, b.len, e) < 0)
		goto done;
	rc = 0;
done:
	/* the variables may hold the git token */
	explicit_bzero(b.ptr, b.len);
	buf_release(&b);
	return rc;
}

/* n bytes, or 0 at EOF before any, or -1 */
static ssize_t read_full(int fd, char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got ? -1 : r;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* the next NUL-terminated string at *off of p[0..len), or NULL */
static const char *next_str(const char *p, size_t len, size_t *off)
{
	const char *s = p + *off;
	const char *nul;

	if (*off >= len)
		return NULL;
	nul = memchr(s, '\0', len - *off);
	if (!nul)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

static int parse_request(const char *p, size_t len, struct strv *argv,
			 struct strv *env, struct err *e)
{
	const char *sa, *se;
	long na, ne;
	size_t off = 0;

	sa = next_str(p, len, &off);
	se = next_str(p, len, &off);
	if (!sa || !se || str_to_long(sa, &na) < 0 || str_to_long(se, &ne) < 0 ||
	    na < 1 || ne < 0)
		return err_set(e, ERR_SYNTAX, "--standby: a malformed request");
	for (long i = 0; i < na; i++) {
		const char *s = next_str(p, len, &off);

		if (!s)
			return err_set(e, ERR_SYNTAX, "--standby: a request cut short");
		strv_push(argv, s);
	}
	for (long i = 0; i < ne; i++) {
		const char *s = next_str(p, len, &off);
		const char *eq = s ? strchr(s, '=') : NULL;

		if (!eq || eq == s)
			return err_set(e, ERR_SYNTAX, "--standby: a malformed variable");
		strv_push(env, s);
	}
	if (off != len)
		return err_set(e, ERR_SYNTAX, "--standby: bytes after the request");
	return 0;
}

/* an env strv may hold the token: wiped before it is freed */
void run_standby_env_release(struct strv *env)
{
	for (size_t i = 0; i < env->n; i++)
		explicit_bzero(env->v[i], strlen(env->v[i]));
	strv_release(env);
}

int run_standby_wait(struct strv *argv, struct strv *env, int fd, struct err *e)
{
	char head[8], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = head, .iov_len = sizeof(head) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	char *body = NULL;
	uint32_t len = 0;
	int log_fd = -1, rc = -1;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t nfd = cm->cmsg_len > CMSG_LEN(0) ?
			     (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		/* one descriptor is the log; any other is closed */
		for (size_t i = 0; i < nfd; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (log_fd < 0 && nfd == 1)
				log_fd = got;
			else
				close(got);
		}
	}
	if (n == 0) {
		rc = 1;
		goto done;
	}
	if (n < 0) {
		err_sys(e, ERR_IO, "--standby: reading the request");
		goto done;
	}
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, 4) || log_fd < 0 ||
	    (mh.msg_flags & MSG_CTRUNC)) {
		err_set(e, ERR_SYNTAX, "--standby: a malformed request");
		goto done;
	}
	for (int i = 0; i < 4; i++)
		len |= (uint32_t)(unsigned char)head[4 + i] << (8 * i);
	if (len > RUN_STANDBY_MAX) {
		err_set(e, ERR_SYNTAX, "--standby: a request of %u bytes", len);
		goto done;
	}
	body = xmalloc(len + 1);
	if (read_full(fd, body, len) != (ssize_t)len) {
		err_set(e, ERR_SYNTAX, "--standby: a request cut short");
		goto done;
	}
	if (parse_request(body, len, argv, env, e) < 0) {
		strv_release(argv);
		run_standby_env_release(env);
		goto done;
	}
	if (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
		err_sys(e, ERR_IO, "--standby: the run's log");
		strv_release(argv);
		run_standby_env_release(env);
		goto done;
	}
	rc = 0;
done:
	if (body) {
		explicit_bzero(body, len);
		free(body);
	}
	if (log_fd >= 0)
		close(log_fd);
	close(fd);
	return rc;
}
