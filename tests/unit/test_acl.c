/* SPDX-License-Identifier: MIT */
/* acl.c: prefixes parsed strictly (no host bits, no stray characters),
 * matched bit by bit at every prefix length, IPv4-mapped IPv6 clients judged
 * by the IPv4 address they carry, and the default list private only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "unit.h"

static struct sockaddr_storage
addr_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return ss;
}

static int
allowed_by(const char *prefix, const char *client)
{
	struct acl_entry e;
	struct sockaddr_storage ss = addr_of(client);

	if (acl_parse(prefix, &e) != 0)
		return -1;
	return acl_allows(&e, 1, (const struct sockaddr *)&ss);
}

static void
test_acl_parse(void)
{
	static const struct { const char *text; int ok; unsigned prefix; } cases[] = {
		{ "10.0.0.0/8", 1, 8 }, { "192.168.1.7", 1, 32 }, { "0.0.0.0/0", 1, 0 },
		{ "::/0", 1, 0 }, { "fe80::/10", 1, 10 }, { "::1", 1, 128 },
		{ "2001:db8::/32", 1, 32 }, { "172.16.0.0/12", 1, 12 },
		/* host bits beyond the prefix are a typo */
		{ "10.0.0.1/8", 0, 0 }, { "172.17.0.0/12", 0, 0 }, { "fe80::1/10", 0, 0 },
		/* not a prefix at all */
		{ "", 0, 0 }, { "/8", 0, 0 }, { "10.0.0.0/", 0, 0 }, { "10.0.0.0/33", 0, 0 },
		{ "::/129", 0, 0 }, { "10.0.0.0/8x", 0, 0 }, { "10.0.0.0/-1", 0, 0 },
		{ "10.0.0.0/0008", 0, 0 }, { "10.0.0", 0, 0 }, { "host.example/8", 0, 0 },
		{ "1.2.3.4.5", 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct acl_entry e;
		int ok = acl_parse(cases[i].text, &e) == 0;

		CHECK(ok == cases[i].ok, "acl_parse(\"%s\") %s", cases[i].text,
		    ok ? "accepted" : "refused");
		if (ok && cases[i].ok)
			CHECK_EQ_INT(e.prefix, cases[i].prefix);
	}
}

static void
test_acl_match(void)
{
	static const struct { const char *prefix, *client; int allowed; } cases[] = {
		{ "10.0.0.0/8", "10.255.255.255", 1 }, { "10.0.0.0/8", "11.0.0.0", 0 },
		{ "172.16.0.0/12", "172.31.0.1", 1 }, { "172.16.0.0/12", "172.32.0.1", 0 },
		{ "192.168.1.0/25", "192.168.1.127", 1 }, { "192.168.1.0/25", "192.168.1.128", 0 },
		{ "192.168.1.7", "192.168.1.7", 1 }, { "192.168.1.7", "192.168.1.6", 0 },
		{ "0.0.0.0/0", "203.0.113.9", 1 },
		{ "fe80::/10", "febf::1", 1 }, { "fe80::/10", "fec0::1", 0 },
		{ "fc00::/7", "fdff::1", 1 }, { "fc00::/7", "fe00::1", 0 },
		{ "::1", "::1", 1 }, { "::1", "::2", 0 },
		/* An IPv4-mapped client is its IPv4 address, not a v6 one. */
		{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 }, { "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
		{ "::/0", "::ffff:203.0.113.9", 0 },
		/* A family never matches the other. */
		{ "0.0.0.0/0", "2001:db8::1", 0 }, { "::/0", "192.0.2.1", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(allowed_by(cases[i].prefix, cases[i].client) == cases[i].allowed,
		    "%s in %s: want %s", cases[i].client, cases[i].prefix,
		    cases[i].allowed ? "allowed" : "refused");
}

/* Every prefix length splits the space where it says: the last address
 * inside and the first outside. */
static void
test_acl_every_length(void)
{
	unsigned bits;

	for (bits = 1; bits <= 32; bits++) {
		struct acl_entry e;
		struct sockaddr_in in;
		/* 10.0.0.0 has no host bits from /7 on; shorter prefixes start at 0. */
		uint32_t net = bits >= 7 ? 0x0a000000u : 0, size = bits == 32 ? 1 : 1u << (32 - bits);
		char text[32];

		snprintf(text, sizeof(text), "%u.0.0.0/%u", net >> 24, bits);
		CHECK(acl_parse(text, &e) == 0, "acl_parse(\"%s\")", text);
		memset(&in, 0, sizeof(in));
		in.sin_family = AF_INET;
		in.sin_addr.s_addr = htonl(net + size - 1);
		CHECK(acl_allows(&e, 1, (struct sockaddr *)&in), "/%u: last address inside", bits);
		in.sin_addr.s_addr = htonl(net + size);
		CHECK(!acl_allows(&e, 1, (struct sockaddr *)&in), "/%u: first address outside", bits);
	}
}

static void
test_acl_default_private(void)
{
	static const char *const inside[] = {
		"127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.0.10", "100.64.1.1",
		"169.254.1.1", "::1", "fe80::1", "fd12:3456::1", "::ffff:192.168.1.2",
	};
	static const char *const outside[] = {
		"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2001:4860::8888",
		"::ffff:8.8.8.8", "::", "0.0.0.0",
	};
	struct acl_entry list[16];
	int n = 0;
	size_t i;

	for (i = 0; acl_default[i] != NULL; i++)
		CHECK(acl_parse(acl_default[i], &list[n++]) == 0, "default %s", acl_default[i]);
	for (i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		struct sockaddr_storage ss = addr_of(inside[i]);

		CHECK(acl_allows(list, n, (struct sockaddr *)&ss), "%s refused by default", inside[i]);
	}
	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		struct sockaddr_storage ss = addr_of(outside[i]);

		CHECK(!acl_allows(list, n, (struct sockaddr *)&ss), "%s allowed by default", outside[i]);
	}
}

static void
test_acl_format_round_trip(void)
{
	static const char *const texts[] = { "10.0.0.0/8", "192.168.1.7/32", "fe80::/10", "::1/128",
		"0.0.0.0/0", "2001:db8:1::/48" };
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct acl_entry e;
		char out[64];

		CHECK(acl_parse(texts[i], &e) == 0, "parse %s", texts[i]);
		acl_format(&e, out, sizeof(out));
		CHECK(strcmp(out, texts[i]) == 0, "format %s gave %s", texts[i], out);
	}
}

const struct unit_test acl_tests[] = {
	{ "acl_parse", test_acl_parse },
	{ "acl_match", test_acl_match },
	{ "acl_every_length", test_acl_every_length },
	{ "acl_default_private", test_acl_default_private },
	{ "acl_format_round_trip", test_acl_format_round_trip },
	{ NULL, NULL },
};
