/* SPDX-License-Identifier: MIT */
/* Portable POSIX back end: what any Unix offers. A datagram's local
 * address (for a wildcard listener) is past POSIX: RFC 3542's
 * IPV6_RECVPKTINFO for IPv6, IP_PKTINFO or BSD's IP_RECVDSTADDR and
 * IP_SENDSRCADDR for IPv4. Systems hide them under strict POSIX, so this
 * file takes the system's default namespace; where one is missing, a
 * wildcard UDP listener of that family is refused (port_udp_local). */
#undef _POSIX_C_SOURCE
#define _GNU_SOURCE /* glibc and musl: struct in6_pktinfo */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
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

#if defined(IP_PKTINFO)
#define V4_INFO_SIZE sizeof(struct in_pktinfo)
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
#define V4_INFO_SIZE sizeof(struct in_addr)
#else
#define V4_INFO_SIZE 0
#endif
#if defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
#define V6_INFO_SIZE sizeof(struct in6_pktinfo)
#else
#define V6_INFO_SIZE 0
#endif

/* Room for one packet-info control message, either family. */
union port_cmsg {
	char buf[CMSG_SPACE(V4_INFO_SIZE > V6_INFO_SIZE ? V4_INFO_SIZE : V6_INFO_SIZE)];
	struct cmsghdr align;
};

int
port_udp_local(int fd, int family)
{
	int on = 1;

#if defined(IP_PKTINFO)
	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_RECVDSTADDR, &on, sizeof(on));
#endif
#if defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
#endif
	(void)fd;
	(void)family;
	(void)on;
	errno = ENOPROTOOPT;
	return -1;
}

static void
local_from(struct msghdr *m, struct port_local *l)
{
	struct cmsghdr *cm;

	l->family = 0;
	for (cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) {
#if defined(IP_PKTINFO)
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			l->family = AF_INET;
			l->ifindex = 0;
			l->addr.v4 = pi.ipi_spec_dst;
		}
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVDSTADDR) {
			memcpy(&l->addr.v4, CMSG_DATA(cm), sizeof(l->addr.v4));
			l->family = AF_INET;
			l->ifindex = 0;
		}
#endif
#if defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			l->family = AF_INET6;
			l->ifindex = (unsigned)pi.ipi6_ifindex;
			l->addr.v6 = pi.ipi6_addr;
		}
#endif
	}
}

/* Put one control message of this level, type and data in ctl, for m. */
static void
put_cmsg(struct msghdr *m, union port_cmsg *ctl, int level, int type, const void *data,
    size_t size)
{
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(*ctl));
	m->msg_control = ctl->buf;
	m->msg_controllen = CMSG_SPACE(size);
	cm = CMSG_FIRSTHDR(m);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(size);
	memcpy(CMSG_DATA(cm), data, size);
}

/* The control message that makes a reply leave from l, where the platform
 * has one for its family (else the reply goes without). */
static void
local_to(const struct port_local *l, struct msghdr *m, union port_cmsg *ctl)
{
	if (l->family == AF_INET) {
#if defined(IP_PKTINFO)
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = l->addr.v4;
		put_cmsg(m, ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
		put_cmsg(m, ctl, IPPROTO_IP, IP_SENDSRCADDR, &l->addr.v4, sizeof(l->addr.v4));
#endif
		return;
	}
#if defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
	{
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = l->addr.v6;
		/* A link-local source means nothing without its link. */
		if (IN6_IS_ADDR_LINKLOCAL(&l->addr.v6))
			pi.ipi6_ifindex = l->ifindex;
		put_cmsg(m, ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
#endif
}

int
port_recv_batch(int fd, struct port_dgram *d, unsigned n, int want_local)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct iovec iov = { d[i].buf, d[i].cap };
		union port_cmsg ctl;
		struct msghdr msg;
		ssize_t got;

		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &d[i].addr;
		msg.msg_namelen = sizeof(d[i].addr);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (want_local) {
			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
		}
		got = recvmsg(fd, &msg, 0);
		if (got < 0) {
			if (i > 0 || errno == EAGAIN || errno == EWOULDBLOCK)
				return (int)i;
			return -1;
		}
		d[i].len = (size_t)got;
		d[i].truncated = (msg.msg_flags & MSG_TRUNC) != 0;
		d[i].addrlen = msg.msg_namelen;
		d[i].local.family = 0;
		if (want_local)
			local_from(&msg, &d[i].local);
	}
	return (int)n;
}

int
port_send_batch(int fd, struct port_dgram *d, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct iovec iov = { d[i].buf, d[i].len };
		union port_cmsg ctl;
		struct msghdr msg;

		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &d[i].addr;
		msg.msg_namelen = d[i].addrlen;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (d[i].local.family != 0)
			local_to(&d[i].local, &msg, &ctl);
		if (sendmsg(fd, &msg, 0) < 0)
			return i > 0 ? (int)i : -1;
	}
	return (int)n;
}

void
port_tcp_quickack(int fd)
{
	(void)fd;
}
