#include "proto.h"
#include "../lib/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct proto_hdr {
	uint32_t type;
	uint32_t len;
};

static int read_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int proto_send(int fd, enum proto_type type, const void *payload, size_t len,
	       const int *fds, size_t nfds)
{
	struct proto_hdr h = { (uint32_t)type, (uint32_t)len };
	char cbuf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m;
	ssize_t w;

	if (len > PROTO_MAX || nfds > PROTO_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	if ((size_t)w < sizeof(h) &&
	    fs_write_all(fd, (const char *)&h + w, sizeof(h) - (size_t)w) < 0)
		return -1;
	return len ? fs_write_all(fd, payload, len) : 0;
}

int proto_recv(int fd, enum proto_type *type, struct buf *payload, int *fds,
	       size_t *nfds)
{
	struct proto_hdr h;
	char cbuf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m;
	struct cmsghdr *c;
	ssize_t r;

	*nfds = 0;
	buf_reset(payload);
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	do
		r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (n > PROTO_MAX_FDS)
				n = PROTO_MAX_FDS;
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
			*nfds = n;
		}
	}
	if ((size_t)r < sizeof(h) &&
	    read_all(fd, (char *)&h + r, sizeof(h) - (size_t)r) < 0)
		return -1;
	if (h.len > PROTO_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	*type = (enum proto_type)h.type;
	if (buf_grow(payload, h.len) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (h.len && read_all(fd, payload->ptr, h.len) < 0)
		return -1;
	payload->len = h.len;
	payload->ptr[h.len] = '\0';
	return 1;
}

void proto_add(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s) + 1);
}

const char *proto_next(const struct buf *payload, size_t *pos)
{
	const char *s;

	if (*pos >= payload->len)
		return NULL;
	s = payload->ptr + *pos;
	*pos += strnlen(s, payload->len - *pos) + 1;
	return s;
}
