/* SPDX-License-Identifier: MIT */
/* What differs between platforms: clocks, entropy, socket flags. One back end
 * is compiled in (port/linux.c or port/posix.c, chosen by the Makefile), each
 * behind this same small API, so src/ stays free of platform conditionals. */
#ifndef PORT_H
#define PORT_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Most datagrams one batch call moves. */
#define PORT_BATCH_MAX 64

/* Monotonic time in microseconds; only differences mean anything. */
uint64_t port_now_us(void);

/* Fill buf with len bytes from the system's cryptographic random source.
 * Returns 0, or -1 with errno set. */
int port_entropy(void *buf, size_t len);

/* A non-blocking, close-on-exec socket, or -1 with errno set. */
int port_socket(int domain, int type);

/* accept() returning a non-blocking, close-on-exec socket, or -1. */
int port_accept(int lfd, struct sockaddr *sa, socklen_t *salen);

/* The local end of a datagram: the address a query was sent to, which a
 * socket bound to a wildcard address (0.0.0.0, ::) learns from the kernel
 * (port_udp_local), so that its reply leaves from that same address; a
 * client drops a reply from any other. family 0: not known, and a reply
 * leaves from the address the kernel picks, right for a bound socket. */
struct port_local {
	sa_family_t family;
	unsigned ifindex;              /* IPv6: the interface it came in on */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

/* One datagram for the batch calls below. */
struct port_dgram {
	void *buf;
	size_t cap;                    /* receive: the buffer's size */
	size_t len;                    /* receive: bytes received; send: bytes to send */
	int truncated;                 /* receive: the datagram was bigger than cap */
	struct sockaddr_storage addr;  /* receive: the sender; send: the destination */
	socklen_t addrlen;
	struct port_local local;       /* receive: where it was sent; send: where from */
};

/* Receive up to n datagrams without blocking (recvmmsg(2) where there is
 * one), with their local address when want_local (a socket set up with
 * port_udp_local; else local.family is 0). Returns how many (0 when none
 * waits), or -1 with errno set. */
int port_recv_batch(int fd, struct port_dgram *d, unsigned n, int want_local);
/* Send n datagrams (sendmmsg(2) where there is one). Returns how many were
 * handed to the kernel (the rest would block or failed), or -1 with errno
 * set when not even the first went. */
int port_send_batch(int fd, struct port_dgram *d, unsigned n);

/* Have the kernel tell, for each datagram received on fd (a UDP socket of
 * this family bound to a wildcard address), which local address it was
 * sent to (IP_PKTINFO, IPV6_RECVPKTINFO). Returns 0, or -1 with errno set
 * where the platform cannot: replies could then leave from another
 * address, so such a listener must not run. */
int port_udp_local(int fd, int family);

/* Socket options for a listening socket (address reuse after restart). */
void port_listen_opts(int fd, int family);

/* Disable Nagle on a TCP socket: DNS messages are small and latency-bound. */
void port_tcp_nodelay(int fd);

/* Acknowledge received data at once rather than after the delayed-ACK
 * timer (Linux TCP_QUICKACK, which the kernel clears again by itself: call
 * it each time data was read and nothing sent since, which would have
 * carried the ACK). A server that leaves Nagle on holds its next answer
 * until our ACK; pipelined queries make that a 40 ms stall. No-op where
 * the platform has no such option. */
void port_tcp_quickack(int fd);

/* Confine the process to dir (chroot(2) and chdir("/")), then leave every
 * supplementary group but gid. Outside POSIX, present on every Unix. Both
 * return 0, or -1 with errno set. */
int port_chroot(const char *dir);
int port_set_groups(gid_t gid);

/* The uid and gid of a user: NAME from the password file, or a number
 * ("65534", "65534:65534"). Only /etc/passwd is read, not NSS: a router or
 * container has no other source, and a numeric id works for any user.
 * Returns 0, or -1 when there is no such user. */
int port_lookup_user(const char *name, uid_t *uid, gid_t *gid);

/* Name of this back end, for --version and the debug memory plan. */
const char *port_name(void);

#endif
