/* SPDX-License-Identifier: MIT */
/* Unit tests for source.c: which addresses make one client (IPv4 by
 * address, IPv4-mapped IPv6 as IPv4, IPv6 by /64), entries that live while
 * they count something, and a table that never grows past its size. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "source.h"
#include "unit.h"

static struct sockaddr_storage ss;

static const struct sockaddr *
addr(const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(1234);
	}
	return (const struct sockaddr *)&ss;
}

static void
test_source_clients(void)
{
	int a, b, c, d;

	CHECK_EQ_INT(source_init(16), 0);
	a = source_get(addr("192.0.2.1"));
	CHECK(a >= 0, "no entry for an IPv4 client");
	CHECK_EQ_INT(source_get(addr("192.0.2.1")), a);
	CHECK_EQ_INT(source_get(addr("::ffff:192.0.2.1")), a);
	b = source_get(addr("192.0.2.2"));
	CHECK(b >= 0 && b != a, "another IPv4 address shares an entry");
	c = source_get(addr("2001:db8:1:2::1"));
	CHECK(c >= 0 && c != a && c != b, "no entry of its own for an IPv6 client");
	CHECK_EQ_INT(source_get(addr("2001:db8:1:2:ffff:ffff:ffff:ffff")), c);
	d = source_get(addr("2001:db8:1:3::1"));
	CHECK(d >= 0 && d != c, "another /64 shares an entry");
	/* An IPv6 /64 whose bits read like an IPv4 address is not that one. */
	CHECK(source_get(addr("::c000:201")) != a, "::192.0.2.1 counted as 192.0.2.1");
	{
		struct sockaddr other;

		memset(&other, 0, sizeof(other));
		other.sa_family = AF_UNIX;
		CHECK_EQ_INT(source_get(&other), -1);
	}
}

static void
test_source_lifetime(void)
{
	int a, again;

	CHECK_EQ_INT(source_init(4), 0);
	a = source_get(addr("198.51.100.7"));
	source_count(a)->tcp = 2;
	source_put(a);
	CHECK_EQ_INT(source_used(), 1);
	CHECK_EQ_INT(source_get(addr("198.51.100.7")), a);
	CHECK_EQ_INT(source_count(a)->tcp, 2);
	source_count(a)->tcp = 0;
	source_count(a)->inflight = 1;
	source_put(a);
	CHECK_EQ_INT(source_used(), 1);
	source_count(a)->inflight = 0;
	source_put(a);
	CHECK_EQ_INT(source_used(), 0);
	/* A second put of a freed entry does nothing. */
	source_put(a);
	CHECK_EQ_INT(source_used(), 0);
	again = source_get(addr("198.51.100.7"));
	CHECK(again >= 0, "no entry after the last was freed");
	CHECK_EQ_INT(source_count(again)->tcp, 0);
	CHECK_EQ_INT(source_count(again)->inflight, 0);
}

static void
test_source_full(void)
{
	char text[64];
	int ids[64], i;

	CHECK_EQ_INT(source_init(64), 0);
	/* Many clients, chained in few buckets or not: each found again. */
	for (i = 0; i < 64; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x::1", i);
		ids[i] = source_get(addr(text));
		CHECK(ids[i] >= 0, "client %d: no entry", i);
		source_count(ids[i])->inflight = 1;
	}
	CHECK_EQ_INT(source_used(), 64);
	CHECK_EQ_INT(source_get(addr("192.0.2.99")), -1);
	for (i = 0; i < 64; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x::2", i);
		CHECK_EQ_INT(source_get(addr(text)), ids[i]);
	}
	/* Free every other one: their room serves new clients. */
	for (i = 0; i < 64; i += 2) {
		source_count(ids[i])->inflight = 0;
		source_put(ids[i]);
	}
	CHECK_EQ_INT(source_used(), 32);
	for (i = 1; i < 64; i += 2) {
		snprintf(text, sizeof(text), "2001:db8:%x::3", i);
		CHECK_EQ_INT(source_get(addr(text)), ids[i]);
	}
	for (i = 0; i < 32; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		CHECK(source_get(addr(text)) >= 0, "freed room not reused (%d)", i);
	}
	CHECK_EQ_INT(source_get(addr("203.0.113.1")), -1);
}

const struct unit_test source_tests[] = {
	{ "source_clients", test_source_clients },
	{ "source_lifetime", test_source_lifetime },
	{ "source_full", test_source_full },
	{ NULL, NULL },
};
