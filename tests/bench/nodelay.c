/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for the benchmark's upstream (BENCH_UPSTREAM_NODELAY=1):
 * sets TCP_NODELAY on every accepted connection. unbound 1.17 leaves Nagle's
 * algorithm on for its DNS-over-TLS connections; a client that batches its
 * queries (and so sends few segments to piggyback ACKs on) then sees answers
 * held back until its delayed ACK (40 ms on Linux). With the shim the
 * upstream answers at once, which isolates the proxy's own cost. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int
nodelay(int fd)
{
	int on = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

int
accept(int s, struct sockaddr *a, socklen_t *l)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "accept");
	return nodelay(real(s, a, l));
}

int
accept4(int s, struct sockaddr *a, socklen_t *l, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "accept4");
	return nodelay(real(s, a, l, flags));
}
