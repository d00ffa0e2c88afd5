/* SPDX-License-Identifier: MIT */
/* Access control: which client addresses the proxy answers. An open
 * forwarder on a WAN address is an amplification tool, so the default list
 * holds only loopback and private ranges. */
#ifndef ACL_H
#define ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct acl_entry {
	uint8_t family;    /* AF_INET or AF_INET6 */
	uint8_t prefix;    /* bits that must match */
	uint8_t addr[16];  /* network address, 4 or 16 bytes used */
};

/* "ADDR/BITS" or a single "ADDR", IPv4 or IPv6. Returns 0, or -1. Host bits
 * set beyond the prefix are an error (a typo more often than not). */
int acl_parse(const char *text, struct acl_entry *e);
/* Is the address in one of the n entries? IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) are checked as the IPv4 address they carry. */
int acl_allows(const struct acl_entry *list, int n, const struct sockaddr *sa);
/* Print an entry as "ADDR/BITS" into buf. */
void acl_format(const struct acl_entry *e, char *buf, size_t len);

/* The default list, as text, NULL-terminated. */
extern const char *const acl_default[];

#endif
