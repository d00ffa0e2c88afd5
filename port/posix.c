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
	int on = 1, level = -1, name = -1;

	if (family == AF_INET) {
#if defined(IP_PKTINFO)
		level = IPPROTO_IP;
		name = IP_PKTINFO;
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
		level = IPPROTO_IP;
		name = IP_RECVDSTADDR;
#endif
	} else {
#if defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
		level = IPPROTO_IPV6;
		name = IPV6_RECVPKTINFO;
#endif
	}
	if (level == -1) {
		errno = ENOPROTOOPT;
		return -1;
	}
	return setsockopt(fd, level, name, &on, sizeof(on));
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

/* The control message that makes a reply leave from l. */
static void
local_to(const struct port_local *l, struct msghdr *m, union port_cmsg *ctl)
{
	struct cmsghdr *cm;
	size_t size;

	memset(ctl, 0, sizeof(*ctl));
	m->msg_control = ctl->buf;
	cm = (struct cmsghdr *)(void *)ctl->buf;
	if (l->family == AF_INET) {
#if defined(IP_PKTINFO)
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = l->addr.v4;
		size = sizeof(pi);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		memcpy(CMSG_DATA(cm), &pi, size);
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
		size = sizeof(l->addr.v4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_SENDSRCADDR;
		memcpy(CMSG_DATA(cm), &l->addr.v4, size);
#else
		m->msg_control = NULL;
		return;
#endif
	} else {
#if defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = l->addr.v6;
		/* A link-local source means nothing without its link. */
		if (IN6_IS_ADDR_LINKLOCAL(&l->addr.v6))
			pi.ipi6_ifindex = l->ifindex;
		size = sizeof(pi);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		memcpy(CMSG_DATA(cm), &pi, size);
#else
		m->msg_control = NULL;
		return;
#endif
	}
	cm->cmsg_len = CMSG_LEN(size);
	m->msg_controllen = CMSG_SPACE(size);
}

int
port_recv_batch(int fd, struct port_dgram *d, unsigned n)
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
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		got = recvmsg(fd, &msg, 0);
		if (got < 0) {
			if (i > 0 || errno == EAGAIN || errno == EWOULDBLOCK)
				return (int)i;
			return -1;
		}
		d[i].len = (size_t)got;
		d[i].truncated = (msg.msg_flags & MSG_TRUNC) != 0;
		d[i].addrlen = msg.msg_namelen;
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
