/* SPDX-License-Identifier: MIT */
/* Linux back end: getrandom(2), SOCK_NONBLOCK/SOCK_CLOEXEC at creation and
 * accept4(2) save a system call per socket; the rest is plain POSIX. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/random.h>
#include <unistd.h>

#include "port.h"

int
port_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
port_socket(int domain, int type)
{
	return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int
port_accept(int lfd, struct sockaddr *sa, socklen_t *salen)
{
	return accept4(lfd, sa, salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
}



const char *
port_name(void)
{
	return "linux";
}

int
port_recv_batch(int fd, struct port_dgram *d, unsigned n)
{
	struct mmsghdr msgs[PORT_BATCH_MAX];
	struct iovec iov[PORT_BATCH_MAX];
	unsigned i;
	int got;

	if (n > PORT_BATCH_MAX)
		n = PORT_BATCH_MAX;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = d[i].buf;
		iov[i].iov_len = d[i].cap;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &d[i].addr;
		msgs[i].msg_hdr.msg_namelen = sizeof(d[i].addr);
	}
	got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (i = 0; i < (unsigned)got; i++) {
		d[i].len = msgs[i].msg_len;
		d[i].truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		d[i].addrlen = msgs[i].msg_hdr.msg_namelen;
	}
	return got;
}

int
port_send_batch(int fd, struct port_dgram *d, unsigned n)
{
	struct mmsghdr msgs[PORT_BATCH_MAX];
	struct iovec iov[PORT_BATCH_MAX];
	unsigned i, done = 0;

	while (done < n) {
		unsigned k = n - done;
		int sent;

		if (k > PORT_BATCH_MAX)
			k = PORT_BATCH_MAX;

		for (i = 0; i < k; i++) {
			iov[i].iov_base = d[done + i].buf;
			iov[i].iov_len = d[done + i].len;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &d[done + i].addr;
			msgs[i].msg_hdr.msg_namelen = d[done + i].addrlen;
		}
		sent = sendmmsg(fd, msgs, k, MSG_DONTWAIT);
		if (sent <= 0)
			return done > 0 ? (int)done : -1;
		done += (unsigned)sent;
		if ((unsigned)sent < k)
			break;
	}
	return (int)done;
}

void
port_tcp_quickack(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}
