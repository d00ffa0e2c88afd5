/* SPDX-License-Identifier: MIT */
/* Portable POSIX back end: what any Unix offers. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "port.h"

int
port_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	close(fd);
	return 0;
}

static int
set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
port_socket(int domain, int type)
{
	int fd = socket(domain, type, 0);

	return fd == -1 ? -1 : set_flags(fd);
}

int
port_accept(int lfd, struct sockaddr *sa, socklen_t *salen)
{
	int fd = accept(lfd, sa, salen);

	return fd == -1 ? -1 : set_flags(fd);
}



const char *
port_name(void)
{
	return "posix";
}

int
port_recv_batch(int fd, struct port_dgram *d, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct iovec iov = { d[i].buf, d[i].cap };
		struct msghdr msg;
		ssize_t got;

		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &d[i].addr;
		msg.msg_namelen = sizeof(d[i].addr);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		got = recvmsg(fd, &msg, 0);
		if (got < 0) {
			if (i > 0 || errno == EAGAIN || errno == EWOULDBLOCK)
				return (int)i;
			return -1;
		}
		d[i].len = (size_t)got;
		d[i].truncated = (msg.msg_flags & MSG_TRUNC) != 0;
		d[i].addrlen = msg.msg_namelen;
	}
	return (int)n;
}

int
port_send_batch(int fd, struct port_dgram *d, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (sendto(fd, d[i].buf, d[i].len, 0, (struct sockaddr *)&d[i].addr,
		    d[i].addrlen) < 0)
			return i > 0 ? (int)i : -1;
	}
	return (int)n;
}

void
port_tcp_quickack(int fd)
{
	(void)fd;
}
