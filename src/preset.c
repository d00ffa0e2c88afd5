/* SPDX-License-Identifier: MIT */
/* The preset table: one line per provider, "NAME CERTNAME IPV4,... IPV6,...",
 * as docs/resolvers.md lists them with the source of each fact. A line is
 * read when used, so the table costs only its text. */
#include <stdio.h>
#include <string.h>

#include "preset.h"

static const char presets[] =
	"cloudflare cloudflare-dns.com 1.1.1.1,1.0.0.1 2606:4700:4700::1111,2606:4700:4700::1001\n"
	"quad9 dns.quad9.net 9.9.9.9,149.112.112.112 2620:fe::fe,2620:fe::9\n"
	"google dns.google 8.8.8.8,8.8.4.4 2001:4860:4860::8888,2001:4860:4860::8844\n"
	"adguard dns.adguard-dns.com 94.140.14.14,94.140.15.15 2a10:50c0::ad1:ff,2a10:50c0::ad2:ff\n"
	"cleanbrowsing security-filter-dns.cleanbrowsing.org 185.228.168.9,185.228.169.9 "
	    "2a0d:2a00:1::2,2a0d:2a00:2::2\n"
	"mullvad dns.mullvad.net 194.242.2.2 2a07:e340::2\n"
	"nextdns dns.nextdns.io 45.90.28.0,45.90.30.0 2a07:a8c0::,2a07:a8c1::\n"
	"controld p0.freedns.controld.com 76.76.2.0,76.76.10.0 2606:1a40::,2606:1a40:1::\n"
	"dnssb dns.sb 185.222.222.222,45.11.45.11 2a09::,2a11::\n"
	"dns4eu unfiltered.joindns4.eu 86.54.11.100,86.54.11.200 "
	    "2a13:1001::86:54:11:100,2a13:1001::86:54:11:200\n"
	"cira private.canadianshield.cira.ca 149.112.121.10,149.112.122.10 "
	    "2620:10a:80bb::10,2620:10a:80bc::10\n"
	"digitalegesellschaft dns.digitale-gesellschaft.ch 185.95.218.42,185.95.218.43 "
	    "2a05:fc84::42,2a05:fc84::43\n"
	"libredns dot.libredns.gr 116.202.176.26 2a01:4f8:1c0c:8274::1\n"
	"appliedprivacy dot1.applied-privacy.net 146.255.56.98 2a02:1b8:10:234::2\n";

/* Field n (0: the name, 1: the certificate name, 2: IPv4, 3: IPv6) of the
 * line at line: its start and length. */
static const char *
field(const char *line, int n, size_t *len)
{
	for (; n > 0; n--)
		line += strcspn(line, " ") + 1;
	*len = strcspn(line, " \n");
	return line;
}

/* The next line of the table, or NULL at its end. */
static const char *
next_line(const char *line)
{
	line = line == NULL ? presets : line + strcspn(line, "\n") + 1;
	return *line != '\0' ? line : NULL;
}

int
preset_expand(const char *name, int (*add)(void *arg, const char *item), void *arg)
{
	size_t n = strlen(name), alen, len, authlen;
	int v6 = n > 3 && strcmp(name + n - 3, "-v6") == 0;
	const char *line = NULL, *auth, *a;

	while ((line = next_line(line)) != NULL) {
		if (field(line, 0, &len) != line || len != (v6 ? n - 3 : n) ||
		    memcmp(line, name, len) != 0)
			continue;
		auth = field(line, 1, &authlen);
		for (a = field(line, v6 ? 3 : 2, &len);; a += alen + 1) {
			char item[PRESET_ITEM_MAX];
			int r;

			alen = strcspn(a, ", \n");
			snprintf(item, sizeof(item), v6 ? "[%.*s]:853:%.*s" : "%.*s:853:%.*s",
			    (int)alen, a, (int)authlen, auth);
			if ((r = add(arg, item)) != 0 || a[alen] != ',')
				return r;
		}
	}
	return 1;
}

int
preset_for_address(const char *address, char *name, size_t namelen, char *auth,
    size_t authlen)
{
	size_t n = strlen(address), len;
	const char *line = NULL, *a, *end;
	int f;

	while ((line = next_line(line)) != NULL)
		for (f = 2; f <= 3; f++)
			for (a = field(line, f, &len), end = a + len; a < end; a += strcspn(a, ",") + 1) {
				if (strcspn(a, ", \n") != n || memcmp(a, address, n) != 0)
					continue;
				a = field(line, 1, &len);
				snprintf(auth, authlen, "%.*s", (int)len, a);
				snprintf(name, namelen, "%.*s%s", (int)strcspn(line, " "), line,
				    f == 3 ? "-v6" : "");
				return 0;
			}
	return -1;
}

const char *
preset_name(size_t i, char *buf, size_t buflen)
{
	const char *line = next_line(NULL);

	for (; line != NULL && i > 0; i--)
		line = next_line(line);
	if (line == NULL)
		return NULL;
	snprintf(buf, buflen, "%.*s", (int)strcspn(line, " "), line);
	return buf;
}
