/*
 * git_stream: the TCP stream libgit2 fetches over (plain HTTP, git://,
 * and beneath its TLS and SSH transports), registered in place of
 * libgit2 1.5's own.
 *
 * Why: libgit2 1.5 writes an HTTP request's headers and its body in two
 * writes and leaves Nagle's algorithm on, so the body waits for the
 * server's delayed ACK of the headers: 40 ms on every POST of a fetch
 * (two in an incremental fetch). This stream sets TCP_NODELAY, as git's
 * own client (through curl) does. It also bounds the connect: a host
 * that does not answer fails after CONNECT_TIMEOUT_MS, not after the
 * kernel's two minutes of SYN retries.
 *
 * libgit2 1.5's SSH transport hands the stream's socket to libssh2 by
 * reading the private struct git_socket_stream { git_stream parent;
 * char *host; char *port; int s; } (streams/socket.h). struct tcp below
 * begins with the same members in the same order, so SSH keeps working.
 * That layout belongs to the libgit2-1.5 ABI we link against.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/stream.h>

#include "git_int.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 30000

struct tcp {
	git_stream parent;	/* first: libgit2 casts to and from it */
	char *host;		/* these three as libgit2 1.5 lays them out */
	char *port;
	int s;
};

/* Connect fd to addr within CONNECT_TIMEOUT_MS; 0 or an errno. */
static int connect_bounded(int fd, const struct sockaddr *addr,
			   socklen_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int flags = fcntl(fd, F_GETFL), soerr = 0, n;
	socklen_t sl = sizeof(soerr);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, addr, len) < 0) {
		if (errno != EINPROGRESS)
			return errno;
		do
			n = poll(&p, 1, CONNECT_TIMEOUT_MS);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno;
		if (n == 0)
			return ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return errno;
		if (soerr)
			return soerr;
	}
	return fcntl(fd, F_SETFL, flags) < 0 ? errno : 0;
}

static int tcp_connect(git_stream *stream)
{
	struct tcp *t = (struct tcp *)stream;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	int one = 1, rc, why = 0;
	char msg[512];

	rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "could not resolve %s: %s", t->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		git_error_set_str(GIT_ERROR_NET, msg);
		return -1;
	}
	for (ai = res; ai && t->s < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0) {
			why = errno;
			continue;
		}
		why = connect_bounded(fd, ai->ai_addr, ai->ai_addrlen);
		if (why) {
			close(fd);
			continue;
		}
		/* a failure here costs speed only */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		t->s = fd;
	}
	freeaddrinfo(res);
	if (t->s < 0) {
		snprintf(msg, sizeof(msg), "failed to connect to %s port %s: %s",
			 t->host, t->port,
			 why ? strerror(why) : "no address to connect to");
		git_error_set_str(GIT_ERROR_NET, msg);
		return -1;
	}
	return 0;
}

static ssize_t tcp_read(git_stream *stream, void *buf, size_t len)
{
	struct tcp *t = (struct tcp *)stream;
	ssize_t n;

	do
		n = recv(t->s, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		git_error_set_str(GIT_ERROR_NET, strerror(errno));
	return n;
}

static ssize_t tcp_write(git_stream *stream, const char *buf, size_t len,
			 int flags)
{
	struct tcp *t = (struct tcp *)stream;
	ssize_t n;

	(void)flags;
	do
		n = send(t->s, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		git_error_set_str(GIT_ERROR_NET, strerror(errno));
	return n;
}

static int tcp_close(git_stream *stream)
{
	struct tcp *t = (struct tcp *)stream;
	int rc = 0;

	if (t->s >= 0)
		rc = close(t->s);
	t->s = -1;
	return rc;
}

static void tcp_free(git_stream *stream)
{
	struct tcp *t = (struct tcp *)stream;

	tcp_close(stream);
	free(t->host);
	free(t->port);
	free(t);
}

int gitx_stream_new(git_stream **out, const char *host, const char *port)
{
	struct tcp *t = xcalloc(1, sizeof(*t));

	t->parent.version = GIT_STREAM_VERSION;
	t->parent.connect = tcp_connect;
	t->parent.read = tcp_read;
	t->parent.write = tcp_write;
	t->parent.close = tcp_close;
	t->parent.free = tcp_free;
	t->host = xstrdup(host);
	t->port = xstrdup(port);
	t->s = -1;
	*out = &t->parent;
	return 0;
}

int gitx_stream_register(void)
{
	git_stream_registration reg = {
		.version = GIT_STREAM_VERSION,
		.init = gitx_stream_new,
	};

	return git_stream_register(GIT_STREAM_STANDARD, &reg);
}
