/* SPDX-License-Identifier: MIT */
/* The parts of the port layer that every Unix covers alike; the back ends
 * (linux.c, posix.c) hold only what differs. chroot(2) and setgroups(2)
 * are outside POSIX but on every Unix: the feature macros reveal them. */
#define _DEFAULT_SOURCE
#define _BSD_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "port.h"

uint64_t
port_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
port_listen_opts(int fd, int family)
{
	int on = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
}

void
port_tcp_nodelay(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* A decimal id; returns the end of the digits, or NULL when there are none
 * or it does not fit. */
static const char *
parse_id(const char *p, unsigned long *out)
{
	const char *start = p;

	for (*out = 0; *p >= '0' && *p <= '9'; p++) {
		*out = *out * 10 + (unsigned long)(*p - '0');
		if (*out > 0x7fffffffUL)
			return NULL;
	}
	return p == start ? NULL : p;
}

int
port_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	static char text[65536]; /* /etc/passwd; start-up only */
	unsigned long u = 0, g = 0;
	const char *p = parse_id(name, &u);
	size_t n = 0, len = strlen(name);
	ssize_t got = 0;
	int fd;

	/* "UID" or "UID:GID" */
	if (p != NULL && *p == '\0') {
		*uid = (uid_t)u;
		*gid = (gid_t)u;
		return 0;
	}
	if (p != NULL && *p == ':' && (p = parse_id(p + 1, &g)) != NULL && *p == '\0') {
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	if ((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (n < sizeof(text) - 1 &&
	    ((got = read(fd, text + n, sizeof(text) - 1 - n)) > 0 || (got == -1 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	close(fd);
	text[n] = '\0';
	/* name:password:uid:gid:... one a line */
	for (p = text; *p != '\0'; p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : p + strlen(p)) {
		const char *f = p;

		if (strncmp(f, name, len) != 0 || f[len] != ':')
			continue;
		f = strchr(f + len + 1, ':');
		if (f == NULL || (f = parse_id(f + 1, &u)) == NULL || *f != ':' ||
		    (f = parse_id(f + 1, &g)) == NULL || *f != ':')
			return -1;
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	return -1;
}

int
port_chroot(const char *dir)
{
	return chroot(dir) == 0 && chdir("/") == 0 ? 0 : -1;
}

int
port_set_groups(gid_t gid)
{
	return setgroups(1, &gid);
}
