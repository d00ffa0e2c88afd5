/* SPDX-License-Identifier: MIT */
/* Address prefixes and matching, for --allow. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"

/* Loopback, RFC 1918, RFC 6598 (carrier-grade NAT), link-local, IPv6 ULA. */
const char *const acl_default[] = {
	"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"100.64.0.0/10", "169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7", NULL,
};

int
acl_parse(const char *text, struct acl_entry *e)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long bits, max;
	unsigned i;

	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, host, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, e->addr) == 1) {
		e->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	bits = max;
	if (slash != NULL) {
		const char *p = slash + 1;

		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return -1;
		for (bits = 0; *p >= '0' && *p <= '9'; p++)
			bits = bits * 10 + (unsigned long)(*p - '0');
		if (*p != '\0' || bits > max)
			return -1;
	}
	e->prefix = (uint8_t)bits;
	for (i = 0; i < max / 8; i++) {
		unsigned long lo = (unsigned long)i * 8; /* first bit of byte i */
		unsigned keep = bits >= lo + 8 ? 8 : bits > lo ? (unsigned)(bits - lo) : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);

		if (e->addr[i] & ~mask & 0xff)
			return -1;
	}
	return 0;
}

static int
prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, net, whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ net[whole]) & (0xff00u >> rest)) == 0;
}

int
acl_allows(const struct acl_entry *list, int n, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;
	int family = sa->sa_family, i;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (i = 0; i < n; i++)
		if (list[i].family == family && prefix_match(addr, list[i].addr, list[i].prefix))
			return 1;
	return 0;
}

void
acl_format(const struct acl_entry *e, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	inet_ntop(e->family, e->addr, host, sizeof(host));
	snprintf(buf, len, "%s/%u", host, e->prefix);
}
