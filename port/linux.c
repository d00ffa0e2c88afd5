/* Linux back end: getrandom(2), SOCK_NONBLOCK/SOCK_CLOEXEC at creation and
 * accept4(2) save a system call per socket; the rest is plain POSIX. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
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
port_chroot(const char *dir)
{
	return chroot(dir) == 0 && chdir("/") == 0 ? 0 : -1;
}

int
port_set_groups(gid_t gid)
{
	return setgroups(1, &gid);
}
