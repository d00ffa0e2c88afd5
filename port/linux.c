/* SPDX-License-Identifier: MIT */
/* Linux back end: getrandom(2), SOCK_NONBLOCK/SOCK_CLOEXEC at creation and
 * accept4(2) save a system call per socket; recvmmsg(2)/sendmmsg(2) move a
 * batch of datagrams, with IP_PKTINFO / IPV6_PKTINFO for their local
 * address; the rest is plain POSIX. */
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

/* Room for one packet-info control message, either family. */
union port_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr align;
};

int
port_udp_local(int fd, int family)
{
	int on = 1;

	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
}

static void
local_from(struct msghdr *m, struct port_local *l)
{
	struct cmsghdr *cm;

	l->family = 0;
	for (cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			/* ipi_spec_dst: the local address to answer from (for a
			 * query sent to a broadcast address, the interface's). */
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			l->family = AF_INET;
			l->ifindex = 0;
			l->addr.v4 = pi.ipi_spec_dst;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			l->family = AF_INET6;
			l->ifindex = (unsigned)pi.ipi6_ifindex;
			l->addr.v6 = pi.ipi6_addr;
		}
	}
}

/* The control message that makes a reply leave from l. */
static void
local_to(const struct port_local *l, struct msghdr *m, union port_cmsg *ctl)
{
	struct cmsghdr *cm;

	if (l->family == 0)
		return;
	memset(ctl, 0, sizeof(*ctl));
	m->msg_control = ctl->buf;
	if (l->family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = l->addr.v4; /* the source; routing picks the interface */
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(m);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = l->addr.v6;
		/* A link-local source means nothing without its link. */
		if (IN6_IS_ADDR_LINKLOCAL(&l->addr.v6))
			pi.ipi6_ifindex = l->ifindex;
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(m);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

int
port_recv_batch(int fd, struct port_dgram *d, unsigned n, int want_local)
{
	struct mmsghdr msgs[PORT_BATCH_MAX];
	struct iovec iov[PORT_BATCH_MAX];
	union port_cmsg ctl[PORT_BATCH_MAX];
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
		if (want_local) {
			memset(&ctl[i], 0, sizeof(ctl[i]));
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
	}
	got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (i = 0; i < (unsigned)got; i++) {
		d[i].len = msgs[i].msg_len;
		d[i].truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		d[i].addrlen = msgs[i].msg_hdr.msg_namelen;
		d[i].local.family = 0;
		if (want_local)
			local_from(&msgs[i].msg_hdr, &d[i].local);
	}
	return got;
}

int
port_send_batch(int fd, struct port_dgram *d, unsigned n)
{
	struct mmsghdr msgs[PORT_BATCH_MAX];
	struct iovec iov[PORT_BATCH_MAX];
	union port_cmsg ctl[PORT_BATCH_MAX];
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
			local_to(&d[done + i].local, &msgs[i].msg_hdr, &ctl[i]);
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
