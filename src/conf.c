/* SPDX-License-Identifier: MIT */
/* The option table and its four sources: defaults, config file, environment
 * and command line (in rising precedence). Start-up code only: errors come
 * back as one line naming the option, never as a half-applied setting. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "feature.h"
#include "preset.h"
#include "select.h"
#include "version.h"

enum arg_kind {
	ARG_FLAG,   /* -t on the command line; "tcp yes" in a file; ENABLE_TCP=1 */
	ARG_VALUE,  /* takes a value everywhere */
	ARG_ACTION, /* command line only: --help, --version, --check, --config */
};

/* Pointers first, then the narrow fields: 56 bytes an option, not 72. */
struct option_def {
	const char *name;
	const char *env;
	int (*set)(struct conf *, const struct option_def *, const char *, char *, size_t);
	const char *metavar;
	const char *help;
	unsigned min, max;
	unsigned short offset; /* of the field the generic setters write */
	char short_name;
	unsigned char kind;    /* enum arg_kind */
};

static int set_nameserver(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_listen(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_pin(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_allow(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_allow_transfer(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_user(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_uint(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_seconds(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_flag(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_path(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_metrics(struct conf *, const struct option_def *, const char *, char *, size_t);
static int set_strategy(struct conf *, const struct option_def *, const char *, char *, size_t);

#define F(field) offsetof(struct conf, field)
_Static_assert(sizeof(struct conf) <= 0xffff, "option_def.offset is 16 bits");
/* --help of an option whose feature this build lacks (feature.h). */
#define NOT_BUILT "not in this build (see --version)"

static const struct option_def options[] = {
	{ "nameserver", "NAMESERVERS", set_nameserver, "IP:PORT:NAME",
	  "a DoT server and its certificate's name, or a preset", 0, 0, 0, 'n', ARG_VALUE },
	{ "listen", "LISTEN", set_listen, "ADDR",
	  "an address to listen on", 0, 0, 0, 'a', ARG_VALUE },
	{ "pin", "PINS", set_pin, "NAME=sha256/BASE64",
	  "accept NAME only with this public key (RFC 7858 4.2)", 0, 0, 0, 0, ARG_VALUE },
	{ "allow", "ALLOW", set_allow, "CIDR",
	  "clients to answer; others get REFUSED", 0, 0, 0, 0, ARG_VALUE },
	{ "allow-transfer", "ALLOW_TRANSFER", set_allow_transfer, "CIDR",
	  FEATURE_XFR ? "clients whose zone transfers are relayed" : NOT_BUILT, 0, 0, 0, 0, ARG_VALUE },
	{ "port", "PORT", set_uint, "PORT",
	  "the port to listen on", 1, 65535, F(port), 'p', ARG_VALUE },
	{ "udp", "ENABLE_UDP", set_flag, NULL,
	  "run the UDP listener (neither -u nor -t: both run)", 0, 0, F(udp), 'u', ARG_FLAG },
	{ "tcp", "ENABLE_TCP", set_flag, NULL,
	  "run the TCP listener", 0, 0, F(tcp), 't', ARG_FLAG },
	{ "logfile", "LOGFILE", set_path, "FILE",
	  "log to FILE, not stderr (SIGHUP reopens it)", 0, 0, F(logfile), 'l', ARG_VALUE },
	{ "verbose", "VERBOSE", set_flag, NULL,
	  "log lifecycle events", 0, 0, F(verbose), 'v', ARG_FLAG },
	{ "debug", "DEBUG", set_flag, NULL,
	  "log every query and the memory plan", 0, 0, F(debug), 'd', ARG_FLAG },
	{ "stats", "ENABLE_STATS", set_flag, NULL,
	  "log stats every --stats-interval and on SIGUSR1", 0, 0, F(stats), 's', ARG_FLAG },
	{ "stats-interval", "STATS_INTERVAL", set_uint, "SECONDS",
	  "time between stats lines", 1, 86400, F(stats_interval_s), 0, ARG_VALUE },
	{ "pool-size", "POOL_SIZE", set_uint, "N",
	  "TLS connections per nameserver, at most", 1, MAX_POOL_SIZE, F(pool_size), 0, ARG_VALUE },
	{ "user", "DROP_USER", set_user, "NAME",
	  "after binding, drop root and run as this user", 0, 0, F(user), 0, ARG_VALUE },
	{ "chroot", "CHROOT_DIR", set_path, "DIR",
	  "after binding, confine the process to DIR", 0, 0, F(chroot), 0, ARG_VALUE },
	{ "ca-file", "CA_FILE", set_path, "FILE",
	  "trust the PEM roots in FILE, not the built-in ones", 0, 0, F(ca_file), 0, ARG_VALUE },
	{ "time-file", "TIME_FILE", set_path, "FILE",
	  "keep the last trusted time in FILE (no clock)", 0, 0, F(time_file), 0, ARG_VALUE },
	{ "timeout", "TIMEOUT", set_seconds, "SECONDS",
	  "SERVFAIL when no upstream answered within this", 100, 60000, F(timeout_ms), 0, ARG_VALUE },
	{ "connect-timeout", "CONNECT_TIMEOUT", set_seconds, "SECONDS",
	  "give up a connect plus TLS handshake after this", 100, 60000, F(connect_timeout_ms), 0, ARG_VALUE },
	{ "idle-timeout", "IDLE_TIMEOUT", set_seconds, "SECONDS",
	  "close an idle upstream connection after this", 100, 3600000, F(up_idle_ms), 0, ARG_VALUE },
	{ "tcp-idle-timeout", "TCP_IDLE_TIMEOUT", set_seconds, "SECONDS",
	  "close a TCP client idle this long", 100, 3600000, F(tcp_idle_ms), 0, ARG_VALUE },
	{ "transfer-timeout", "TRANSFER_TIMEOUT", set_seconds, "SECONDS",
	  FEATURE_XFR ? "give up a zone transfer silent this long" : NOT_BUILT, 1000, 3600000, F(transfer_idle_ms), 0, ARG_VALUE },
	{ "max-inflight", "MAX_INFLIGHT", set_uint, "N",
	  "queries in flight at once, all clients together", 1, MAX_MAX_INFLIGHT, F(max_inflight), 0, ARG_VALUE },
	{ "max-tcp-clients", "MAX_TCP_CLIENTS", set_uint, "N",
	  "TCP client connections at once", 1, MAX_MAX_TCP_CLIENTS, F(max_tcp_clients), 0, ARG_VALUE },
	{ "max-tcp-per-client", "MAX_TCP_PER_CLIENT", set_uint, "N",
	  "TCP connections per client (IPv4, IPv6 /64)", 1, MAX_MAX_TCP_CLIENTS, F(max_tcp_per_client), 0, ARG_VALUE },
	{ "max-inflight-per-client", "MAX_INFLIGHT_PER_CLIENT", set_uint, "N",
	  "queries in flight per client; more get SERVFAIL", 1, MAX_MAX_INFLIGHT, F(max_inflight_per_client), 0, ARG_VALUE },
	{ "max-udp-size", "MAX_UDP_SIZE", set_uint, "BYTES",
	  "largest answer sent over UDP; bigger ones get TC", DNS_UDP_MIN, UDP_PAYLOAD_MAX, F(max_udp_size), 0, ARG_VALUE },
	{ "batch-window", "BATCH_WINDOW", set_uint, "USEC",
	  "under load, wait up to USEC between wake-ups", 0, MAX_BATCH_WINDOW_US, F(batch_window_us), 0, ARG_VALUE },
	{ "metrics", "METRICS", set_metrics, "ADDR:PORT",
	  FEATURE_METRICS ? "serve /metrics and /stats.json over HTTP" : NOT_BUILT, 0, 0, 0, 0, ARG_VALUE },
	{ "log-queries", "LOG_QUERIES", set_flag, NULL,
	  FEATURE_QLOG ? "log a line per query" : NOT_BUILT, 0, 0, F(log_queries), 0, ARG_FLAG },
	{ "strategy", "STRATEGY", set_strategy, "NAME",
	  FEATURE_SELECT ? "fastest, order or round-robin nameserver" : NOT_BUILT, 0, 0, F(strategy), 0, ARG_VALUE },
	{ "retry-servfail", "RETRY_SERVFAIL", set_flag, NULL,
	  "after SERVFAIL or REFUSED, ask another provider once", 0, 0, F(retry_servfail), 0, ARG_FLAG },
	{ "cache-size", "CACHE_SIZE", set_uint, "KIB",
	  FEATURE_CACHE ? "answer cache memory, reserved; 0: none" : NOT_BUILT, 0, MAX_CACHE_KIB, F(cache_kib), 0, ARG_VALUE },
	{ "cache-min-ttl", "CACHE_MIN_TTL", set_uint, "SECONDS",
	  FEATURE_CACHE ? "keep positive answers at least this long" : NOT_BUILT, 0, MAX_CACHE_TTL, F(cache_min_ttl), 0, ARG_VALUE },
	{ "cache-max-ttl", "CACHE_MAX_TTL", set_uint, "SECONDS",
	  FEATURE_CACHE ? "keep answers at most this long" : NOT_BUILT, 1, MAX_CACHE_TTL, F(cache_max_ttl), 0, ARG_VALUE },
	{ "stale-answer-timeout", "STALE_ANSWER_TIMEOUT", set_seconds, "SECONDS",
	  FEATURE_CACHE ? "give an expired answer after this (RFC 8767)" : NOT_BUILT, 0, 60000, F(stale_answer_timeout_ms), 0, ARG_VALUE },
	{ "stale-max", "STALE_MAX", set_uint, "SECONDS",
	  FEATURE_CACHE ? "give answers up to this long past expiry; 0: never" : NOT_BUILT, 0, MAX_CACHE_TTL, F(stale_max_s), 0, ARG_VALUE },
	{ "config", NULL, NULL, "FILE",
	  "read options from FILE (SIGHUP reads it again)", 0, 0, 0, 'c', ARG_ACTION },
	{ "check", NULL, NULL, NULL,
	  "check the configuration, print the settings, exit", 0, 0, 0, 0, ARG_ACTION },
	{ "help", NULL, NULL, NULL,
	  "print this help and exit", 0, 0, 0, 'h', ARG_ACTION },
	{ "version", NULL, NULL, NULL,
	  "print the version and exit", 0, 0, 0, 'V', ARG_ACTION },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= sizeof(((struct conf *)0)->source), "conf.source too small");

static void
errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
parse_ip(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static void
set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Strict unsigned decimal: digits only, no sign, at most 9 digits (every
 * number we take is far below that, and it cannot overflow). */
static int
parse_uint(const char *s, unsigned long *out)
{
	const char *p = s;

	for (*out = 0; *p >= '0' && *p <= '9' && p - s < 9; p++)
		*out = *out * 10 + (unsigned long)(*p - '0');
	return p == s || *p != '\0' ? -1 : 0;
}

/* A DNS host name as certificates carry it (RFC 1123 §2.1): labels of
 * letters, digits and inner hyphens, 1 to 63 long, joined by single dots. */
static int
valid_hostname(const char *s)
{
	size_t n = strlen(s), label = 0;
	char prev = '.';

	if (n == 0 || n > 253)
		return 0;
	for (; *s != '\0'; prev = *s++) {
		if (*s == '.') {
			if (label == 0 || prev == '-')
				return 0;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || (*s == '-' && prev != '.')) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && prev != '-';
}

/* An address where a name should be: IPv6, or a last label of digits
 * only (IPv4, and never a top-level domain). */
static int
is_address(const char *name)
{
	const char *p, *last = name;
	struct sockaddr_storage ss;
	socklen_t len;

	for (p = name; *p != '\0'; p++)
		if (*p == '.')
			last = p + 1;
	return parse_ip(name, &ss, &len) == 0 ||
	    (*last != '\0' && strspn(last, "0123456789") == strlen(last));
}

int
conf_parse_nameserver(const char *spec, struct conf_nameserver *ns, char *err, size_t errlen)
{
	char buf[CONF_NAME_MAX + 80];
	char *host = buf, *port, *name;
	unsigned long portnum;

	if (strlen(spec) >= sizeof(buf)) {
		errf(err, errlen, "'%.40s...' is too long", spec);
		return -1;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (close == NULL || close[1] != ':') {
			errf(err, errlen, "'%s': expected [IPV6]:PORT:NAME", spec);
			return -1;
		}
		host = buf + 1;
		*close = '\0';
		port = close + 2;
	} else {
		port = strchr(buf, ':');
		if (port == NULL) {
			errf(err, errlen, "'%s': expected IP:PORT:NAME", spec);
			return -1;
		}
		*port++ = '\0';
	}
	name = strchr(port, ':');
	if (name == NULL) {
		errf(err, errlen, "'%s': expected IP:PORT:NAME (NAME is the name the "
		    "server's certificate must carry)", spec);
		return -1;
	}
	*name++ = '\0';
	if (parse_ip(host, &ns->addr, &ns->addrlen) != 0) {
		errf(err, errlen, "'%s': '%s' is not an IPv4 or IPv6 address", spec, host);
		return -1;
	}
	if (parse_uint(port, &portnum) != 0 || portnum < 1 || portnum > 65535) {
		errf(err, errlen, "'%s': '%s' is not a port number (1-65535)", spec, port);
		return -1;
	}
	/* A fully qualified name may end in a dot; certificates carry it without. */
	if (name[0] != '\0' && name[strlen(name) - 1] == '.')
		name[strlen(name) - 1] = '\0';
	/* BearSSL matches DNS names only (and an all-digit top label is never
	 * one, RFC 1123 2.1): say what NAME should be. */
	if (is_address(name)) {
		char preset[32], auth[CONF_NAME_MAX], use[CONF_NAME_MAX + 80];

		if (preset_for_address(host, preset, sizeof(preset), auth, sizeof(auth)) == 0)
			snprintf(use, sizeof(use), ns->addr.ss_family == AF_INET6 ?
			    ": use [%s]:%lu:%s or -n %s" : ": use %s:%lu:%s or -n %s", host, portnum,
			    auth, preset);
		else
			snprintf(use, sizeof(use), " (e.g. 9.9.9.9:853:dns.quad9.net)");
		errf(err, errlen, "'%s': NAME must be the DNS name the certificate carries, not "
		    "an address%s", spec, use);
		return -1;
	}
	if (!valid_hostname(name)) {
		errf(err, errlen, "'%.80s': '%.60s' is not a host name (letters, digits, "
		    "inner hyphens, dots; at most 253 characters)", spec, name);
		return -1;
	}
	set_port(&ns->addr, (unsigned)portnum);
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	snprintf(ns->text, sizeof(ns->text), ns->addr.ss_family == AF_INET6 ?
	    "[%s]:%lu:%s" : "%s:%lu:%s", host, portnum, name);
	return 0;
}

/* List options take comma-separated values from every source. */
static int
for_each_item(struct conf *conf, const char *value, char *err, size_t errlen,
    int (*add)(struct conf *, const char *, char *, size_t))
{
	char item[CONF_NAME_MAX + 80];
	const char *p = value;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(item)) {
			errf(err, errlen, "'%.40s...' is too long", p);
			return -1;
		}
		if (n == 0) {
			errf(err, errlen, "empty item in '%s'", value);
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (add(conf, item, err, errlen) != 0)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

struct ns_adder {
	struct conf *conf;
	char *err;
	size_t errlen;
};

static int
add_one_nameserver(void *arg, const char *item)
{
	struct ns_adder *a = arg;

	if (a->conf->ns_count >= MAX_NAMESERVERS) {
		errf(a->err, a->errlen, "more than %d nameservers", MAX_NAMESERVERS);
		return -1;
	}
	if (conf_parse_nameserver(item, &a->conf->ns[a->conf->ns_count], a->err, a->errlen) != 0)
		return -1;
	a->conf->ns_count++;
	return 0;
}

/* The presets' line(s), in --check as a comment and in --help. */
#define PRESETS "# presets (-n NAME, NAME-v6):"

/* The preset names in lines of at most 78 characters, each after prefix. */
static void
print_presets(FILE *out, const char *prefix, const char *more)
{
	char name[32];
	size_t i, col = 0;

	for (i = 0; preset_name(i, name, sizeof(name)) != NULL; i++) {
		if (col == 0 || col + 1 + strlen(name) > 78)
			col = (size_t)fprintf(out, "%s%s", col > 0 ? "\n" : "", col > 0 ? more : prefix) -
			    (col > 0);
		col += (size_t)fprintf(out, " %s", name);
	}
	fputc('\n', out);
}

/* IP:PORT:NAME, or a preset's name (no colon), which stands for several. */
static int
add_nameserver(struct conf *conf, const char *item, char *err, size_t errlen)
{
	struct ns_adder a = { conf, err, errlen };
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	if (strchr(item, ':') != NULL || parse_ip(item, &ss, &len) == 0 ||
	    (r = preset_expand(item, add_one_nameserver, &a)) == 1) {
		if (strchr(item, ':') != NULL || parse_ip(item, &ss, &len) == 0)
			return add_one_nameserver(&a, item);
		errf(err, errlen, "'%.60s' is neither IP:PORT:NAME nor a preset (--help lists them)",
		    item);
		return -1;
	}
	return r;
}

static int
set_nameserver(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	(void)o;
	return for_each_item(conf, v, err, errlen, add_nameserver);
}

static int
add_listen(struct conf *conf, const char *item, char *err, size_t errlen)
{
	struct conf_listen *l;
	char host[64];
	size_t n = strlen(item);

	if (conf->listen_count >= MAX_LISTEN) {
		errf(err, errlen, "more than %d listen addresses", MAX_LISTEN);
		return -1;
	}
	l = &conf->listen[conf->listen_count];
	/* Brackets around an IPv6 address are welcome but not needed. */
	if (n >= 2 && item[0] == '[' && item[n - 1] == ']' && n - 2 < sizeof(host)) {
		memcpy(host, item + 1, n - 2);
		host[n - 2] = '\0';
	} else if (n < sizeof(host)) {
		memcpy(host, item, n + 1);
	} else {
		host[0] = '\0';
	}
	if (parse_ip(host, &l->addr, &l->addrlen) != 0) {
		errf(err, errlen, "'%s' is not an IPv4 or IPv6 address", item);
		return -1;
	}
	snprintf(l->text, sizeof(l->text), "%s", host);
	conf->listen_count++;
	return 0;
}

static int
set_listen(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	(void)o;
	return for_each_item(conf, v, err, errlen, add_listen);
}

static int
add_pin(struct conf *conf, const char *item, char *err, size_t errlen)
{
	struct conf_pin *p;
	const char *eq = strchr(item, '=');
	size_t n = eq != NULL ? (size_t)(eq - item) : 0;

	if (conf->pin_count >= MAX_PINS) {
		errf(err, errlen, "more than %d pins", MAX_PINS);
		return -1;
	}
	p = &conf->pins[conf->pin_count];
	if (eq == NULL || n == 0 || n >= sizeof(p->name)) {
		errf(err, errlen, "'%.80s': expected NAME=sha256/BASE64", item);
		return -1;
	}
	memcpy(p->name, item, n);
	p->name[n] = '\0';
	if (p->name[n - 1] == '.')
		p->name[n - 1] = '\0';
	if (!valid_hostname(p->name)) {
		errf(err, errlen, "'%.80s': '%s' is not a host name", item, p->name);
		return -1;
	}
	if (tls_parse_pin(eq + 1, &p->key) != 0) {
		errf(err, errlen, "'%.80s': '%.60s' is not sha256/ and the base64 of 32 bytes "
		    "(openssl ... | openssl dgst -sha256 -binary | base64)", item, eq + 1);
		return -1;
	}
	snprintf(p->text, sizeof(p->text), "%s", item);
	conf->pin_count++;
	return 0;
}

static int
set_pin(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	(void)o;
	return for_each_item(conf, v, err, errlen, add_pin);
}

static int
add_allow(struct conf *conf, const char *item, char *err, size_t errlen)
{
	if (conf->allow_count >= MAX_ALLOW) {
		errf(err, errlen, "more than %d prefixes", MAX_ALLOW);
		return -1;
	}
	if (acl_parse(item, &conf->allow[conf->allow_count]) != 0) {
		errf(err, errlen, "'%.60s' is not an address or ADDR/BITS prefix "
		    "(with no host bits set)", item);
		return -1;
	}
	conf->allow_count++;
	return 0;
}

static int
set_allow(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	(void)o;
	return for_each_item(conf, v, err, errlen, add_allow);
}

static int
add_allow_transfer(struct conf *conf, const char *item, char *err, size_t errlen)
{
	if (conf->allow_transfer_count >= MAX_ALLOW) {
		errf(err, errlen, "more than %d prefixes", MAX_ALLOW);
		return -1;
	}
	if (acl_parse(item, &conf->allow_transfer[conf->allow_transfer_count]) != 0) {
		errf(err, errlen, "'%.60s' is not an address or ADDR/BITS prefix "
		    "(with no host bits set)", item);
		return -1;
	}
	conf->allow_transfer_count++;
	return 0;
}

static int
set_allow_transfer(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	(void)o;
	if (!FEATURE_XFR) {
		errf(err, errlen, FEATURE_MISSING, "zone-transfer relay", "DTP_NO_XFR");
		return -1;
	}
	return for_each_item(conf, v, err, errlen, add_allow_transfer);
}

static int
set_user(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);

	(void)o;
	if (n == 0 || n >= sizeof(conf->user) || strpbrk(v, " \t#/") != NULL) {
		errf(err, errlen, "'%.60s' is not a user name", v);
		return -1;
	}
	memcpy(conf->user, v, n + 1);
	return 0;
}

static int
set_uint(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	unsigned long n;

	if (parse_uint(v, &n) != 0 || n < o->min || n > o->max) {
		errf(err, errlen, "'%s' is not a whole number from %u to %u", v, o->min, o->max);
		return -1;
	}
	*(unsigned *)(void *)((char *)conf + o->offset) = (unsigned)n;
	return 0;
}

/* Seconds, with an optional fraction ("2.5") or an "ms" suffix ("1500ms"). */
static int
set_seconds(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	uint64_t whole = 0, ms;
	const char *p = v;
	unsigned frac_digits = 0, frac = 0;

	while (*p >= '0' && *p <= '9' && whole < 100000000)
		whole = whole * 10 + (uint64_t)(*p++ - '0');
	if (p == v && !(p[0] == '.' && p[1] >= '0' && p[1] <= '9'))
		goto bad;
	if (strcmp(p, "ms") == 0) {
		ms = whole;
	} else {
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				if (frac_digits < 3) {
					frac = frac * 10 + (unsigned)(*p - '0');
					frac_digits++;
				}
				p++;
			}
			while (frac_digits < 3) {
				frac *= 10;
				frac_digits++;
			}
		}
		if (*p == 's')
			p++;
		if (*p != '\0')
			goto bad;
		ms = whole * 1000 + frac;
	}
	if (ms < o->min || ms > o->max)
		goto bad;
	*(unsigned *)(void *)((char *)conf + o->offset) = (unsigned)ms;
	return 0;
bad:
	errf(err, errlen, "'%s' is not a duration from %u.%u to %u seconds (e.g. 2.5 or 2500ms)",
	    v, (unsigned)(o->min + 50) / 1000, (unsigned)(o->min + 50) / 100 % 10, o->max / 1000);
	return -1;
}

static int
set_flag(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	int *field = (int *)(void *)((char *)conf + o->offset);

	if (strcasecmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0)
		*field = 1;
	else if (strcasecmp(v, "0") == 0 || strcasecmp(v, "no") == 0 ||
	    strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0)
		*field = 0;
	else {
		errf(err, errlen, "'%s' is not a yes/no value (1/0, yes/no, true/false, on/off)", v);
		return -1;
	}
	return 0;
}

/* Does '#' follow a blank somewhere in s (a comment in a config file)? */
static int
comment_after_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if ((s[0] == ' ' || s[0] == '\t') && s[1] == '#')
			return 1;
	return 0;
}

static int
set_path(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	char *field = (char *)conf + o->offset;

	size_t n = strlen(v);

	if (n >= CONF_PATH_MAX || n == 0) {
		errf(err, errlen, "'%.40s' is not a usable path", v);
		return -1;
	}
	/* Such a path could not be written back in a config file (--check). */
	if (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    comment_after_blank(v)) {
		errf(err, errlen, "'%.40s': a path may not start or end with a blank, "
		    "nor have '#' after a blank", v);
		return -1;
	}
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

/* ADDR:PORT, IPv6 as [ADDR]:PORT. */
static int
set_metrics(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	char host[64];
	const char *colon, *h = v;
	size_t hlen;
	unsigned long port;

	(void)o;
	if (!FEATURE_METRICS) {
		errf(err, errlen, FEATURE_MISSING, "metrics endpoint", "DTP_NO_METRICS");
		return -1;
	}
	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		colon = close != NULL && close[1] == ':' ? close + 1 : NULL;
		h = v + 1;
		hlen = close != NULL ? (size_t)(close - h) : 0;
	} else {
		colon = strrchr(v, ':');
		hlen = colon != NULL ? (size_t)(colon - v) : 0;
		if (colon != NULL && memchr(v, ':', hlen) != NULL)
			colon = NULL; /* an IPv6 address needs its brackets */
	}
	if (colon == NULL || hlen == 0 || hlen >= sizeof(host)) {
		errf(err, errlen, "'%.60s' is not ADDR:PORT (IPv6 as [ADDR]:PORT)", v);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (parse_ip(host, &conf->metrics.addr, &conf->metrics.addrlen) != 0 ||
	    (v[0] == '[') != (conf->metrics.addr.ss_family == AF_INET6)) {
		conf->metrics.addrlen = 0;
		errf(err, errlen, "'%.60s': '%s' is not an IPv4 or [IPv6] address", v, host);
		return -1;
	}
	if (parse_uint(colon + 1, &port) != 0 || port < 1 || port > 65535) {
		conf->metrics.addrlen = 0;
		errf(err, errlen, "'%.60s': '%s' is not a port number (1-65535)", v, colon + 1);
		return -1;
	}
	set_port(&conf->metrics.addr, (unsigned)port);
	snprintf(conf->metrics.text, sizeof(conf->metrics.text),
	    conf->metrics.addr.ss_family == AF_INET6 ? "[%s]:%lu" : "%s:%lu", host, port);
	return 0;
}

static int
set_strategy(struct conf *conf, const struct option_def *o, const char *v, char *err, size_t errlen)
{
	int s = select_strategy_parse(v);

	if (s < 0) {
		errf(err, errlen, "'%.40s' is not fastest, order or round-robin", v);
		return -1;
	}
	*(unsigned *)(void *)((char *)conf + o->offset) = (unsigned)s;
	return 0;
}

/* Apply one option from a source. A list set by a stronger source than the
 * one that last set it starts afresh. */
static int
apply(struct conf *conf, const struct option_def *o, const char *value,
    enum conf_source src, char *err, size_t errlen)
{
	size_t idx = (size_t)(o - options);

	if (conf->source[idx] < src) {
		if (o->set == set_nameserver)
			conf->ns_count = 0;
		else if (o->set == set_listen)
			conf->listen_count = 0;
		else if (o->set == set_pin)
			conf->pin_count = 0;
		else if (o->set == set_allow)
			conf->allow_count = 0;
		else if (o->set == set_allow_transfer)
			conf->allow_transfer_count = 0;
	}
	conf->source[idx] = (unsigned char)src;
	return o->set(conf, o, value, err, errlen);
}

static const struct option_def *
find_long(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

static const struct option_def *
find_short(char c)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (options[i].short_name == c)
			return &options[i];
	return NULL;
}

void
conf_defaults(struct conf *conf)
{
	static const char *const default_ns[] = {
		"1.1.1.1:853:cloudflare-dns.com",
		"1.0.0.1:853:cloudflare-dns.com",
		"9.9.9.9:853:dns.quad9.net",
	};
	char err[CONF_ERR_MAX];
	size_t i;

	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < sizeof(default_ns) / sizeof(default_ns[0]); i++)
		(void)add_nameserver(conf, default_ns[i], err, sizeof(err));
	(void)add_listen(conf, "127.0.0.1", err, sizeof(err));
	for (i = 0; acl_default[i] != NULL; i++)
		(void)add_allow(conf, acl_default[i], err, sizeof(err));
	conf->port = 15353;
	conf->tcp = conf->udp = -1; /* not given: see conf_finish */
	conf->stats_interval_s = DEF_STATS_INTERVAL_S;
	conf->pool_size = DEF_POOL_SIZE;
	conf->timeout_ms = DEF_QUERY_TIMEOUT_MS;
	conf->connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	conf->up_idle_ms = DEF_UP_IDLE_MS;
	conf->tcp_idle_ms = DEF_TCP_IDLE_MS;
	conf->transfer_idle_ms = DEF_TRANSFER_IDLE_MS;
	conf->max_inflight = DEF_MAX_INFLIGHT;
	conf->max_tcp_clients = DEF_MAX_TCP_CLIENTS;
	conf->max_tcp_per_client = DEF_MAX_TCP_PER_CLIENT;
	conf->max_udp_size = DEF_MAX_UDP_SIZE;
	conf->batch_window_us = DEF_BATCH_WINDOW_US;
	conf->strategy = FEATURE_SELECT ? SELECT_FASTEST : SELECT_ORDER;
	conf->retry_servfail = -1; /* not given: see conf_finish */
	conf->cache_kib = DEF_CACHE_KIB;
	conf->cache_min_ttl = DEF_CACHE_MIN_TTL;
	conf->cache_max_ttl = DEF_CACHE_MAX_TTL;
	conf->stale_answer_timeout_ms = DEF_STALE_ANSWER_TIMEOUT_MS;
	conf->stale_max_s = DEF_STALE_MAX_S;
}

int
conf_parse_text(struct conf *conf, const char *text, const char *fname, char *err, size_t errlen)
{
	char msg[CONF_ERR_MAX];
	const char *p = text;
	unsigned lineno = 0;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char line[CONF_PATH_MAX + 128];
		char *key, *value, *hash, *end;
		const struct option_def *o;

		lineno++;
		if (n >= sizeof(line)) {
			errf(err, errlen, "%s:%u: line too long", fname, lineno);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = eol != NULL ? eol + 1 : p + n;
		/* A comment starts with '#' at the start of a line or after a
		 * blank, so a path may contain '#'. */
		for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++) {
			if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
				*hash = '\0';
				break;
			}
		}
		key = line + strspn(line, " \t\r");
		end = key + strlen(key);
		while (end > key && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (*key == '\0')
			continue;
		value = key + strcspn(key, " \t");
		if (*value != '\0') {
			*value++ = '\0';
			value += strspn(value, " \t");
		}
		o = find_long(key, strlen(key));
		if (o == NULL || o->kind == ARG_ACTION) {
			errf(err, errlen, "%s:%u: %s: unknown option", fname, lineno, key);
			return -1;
		}
		if (*value == '\0') {
			if (o->kind != ARG_FLAG) {
				errf(err, errlen, "%s:%u: %s: needs a value (%s)", fname,
				    lineno, key, o->metavar);
				return -1;
			}
			value = "yes";
		}
		if (apply(conf, o, value, CONF_SRC_FILE, msg, sizeof(msg)) != 0) {
			errf(err, errlen, "%s:%u: %s: %s", fname, lineno, key, msg);
			return -1;
		}
	}
	return 0;
}

static int
load_file(struct conf *conf, const char *path, char *err, size_t errlen)
{
	/* A config file is a few lines; 64 KiB is far more than one needs. */
	static char text[65536];
	size_t n = 0;
	ssize_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		errf(err, errlen, "--config: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (n < sizeof(text) - 1 &&
	    ((got = read(fd, text + n, sizeof(text) - 1 - n)) > 0 || (got == -1 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	close(fd);
	if (got == -1 || n == sizeof(text) - 1) {
		errf(err, errlen, "--config: %s: %s", path,
		    got == -1 ? strerror(errno) : "file too large (64 KiB at most)");
		return -1;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n) != NULL) {
		errf(err, errlen, "--config: %s: not a text file", path);
		return -1;
	}
	return conf_parse_text(conf, text, path, err, errlen);
}

/* One line an option; the man page (dns-tls-proxy(8)) has the long text,
 * and --check the values in force, the defaults included. */
static void
print_help(FILE *out)
{
	size_t i;

	fprintf(out, "usage: dns-tls-proxy [options]\n"
	    "Forward plain DNS (UDP, TCP) to DNS-over-TLS resolvers (RFC 7858). Options also\n"
	    "come from the environment [env] and a --config file (long names); the command\n"
	    "line wins, then the environment. --check prints the settings in force, defaults\n"
	    "included; dns-tls-proxy(8) explains each option.\n\n");
	for (i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];
		char left[64];

		snprintf(left, sizeof(left), "%c%c%c --%s%s%s", o->short_name != 0 ? '-' : ' ',
		    o->short_name != 0 ? o->short_name : ' ', o->short_name != 0 ? ',' : ' ', o->name,
		    o->metavar ? " " : "", o->metavar ? o->metavar : "");
		fprintf(out, "  %-30s %s%s%s%s\n", left, o->help, o->env != NULL ? " [env: " : "",
		    o->env != NULL ? o->env : "", o->env != NULL ? "]" : "");
	}
	fputc('\n', out);
	print_presets(out, &PRESETS[2], "   ");
}

/* Split the command line into options. For each, call back with its value
 * (NULL for a flag). Returns -1 with err set on a usage error. */
static int
scan_cli(int argc, char **argv,
    int (*cb)(const struct option_def *, const char *, void *), void *arg,
    char *err, size_t errlen)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct option_def *o;
		const char *value = NULL;

		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0') {
			errf(err, errlen, "unexpected argument '%s' (see --help)", a);
			return -1;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);

			if ((o = find_long(a + 2, n)) == NULL) {
				errf(err, errlen, "unknown option '%s' (see --help)", a);
				return -1;
			}
			if (o->metavar != NULL) {
				if (eq != NULL)
					value = eq + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else {
					errf(err, errlen, "--%s: needs a value (%s)", o->name, o->metavar);
					return -1;
				}
			} else if (eq != NULL && o->kind == ARG_FLAG) {
				value = eq + 1; /* --retry-servfail=no */
			} else if (eq != NULL) {
				errf(err, errlen, "--%s: takes no value", o->name);
				return -1;
			}
			if (cb(o, value, arg) != 0)
				return -1;
			continue;
		}
		/* Short options: flags may be grouped (-tu); a value may follow
		 * directly (-p53) or as the next argument. */
		for (a++; *a != '\0'; a++) {
			if ((o = find_short(*a)) == NULL) {
				errf(err, errlen, "unknown option '-%c' (see --help)", *a);
				return -1;
			}
			if (o->metavar != NULL) {
				if (a[1] != '\0')
					value = a + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else {
					errf(err, errlen, "-%c: needs a value (%s)", *a, o->metavar);
					return -1;
				}
				if (cb(o, value, arg) != 0)
					return -1;
				break;
			}
			if (cb(o, NULL, arg) != 0)
				return -1;
		}
	}
	return 0;
}

struct cli_state {
	struct conf *conf;
	FILE *out;
	int exit_now;
	int pass;      /* 0: actions only; 1: options */
	char *err;
	size_t errlen;
};

static int
cli_option(const struct option_def *o, const char *value, void *arg)
{
	struct cli_state *st = arg;
	char msg[CONF_ERR_MAX];

	if (o->kind == ARG_ACTION) {
		if (st->pass != 0 || st->exit_now)
			return 0;
		if (strcmp(o->name, "help") == 0) {
			print_help(st->out);
			st->exit_now = 1;
		} else if (strcmp(o->name, "version") == 0) {
			char when[CLOCK_TEXT_MAX];

			/* The floor, for people and for tests that make certificates
			 * around it (tests/integration/lib.sh). */
			fprintf(st->out, "dns-tls-proxy %s\nclock floor: %lld (%s, the build time)\n%s\n",
			    DNS_TLS_PROXY_VERSION, (long long)clock_build_time,
			    clock_format(clock_build_time, when), FEATURE_LINE);
			st->exit_now = 1;
		} else if (strcmp(o->name, "check") == 0) {
			st->conf->check = 1;
		} else if (value == NULL || strlen(value) >= CONF_PATH_MAX) {
			errf(st->err, st->errlen, "--config: path too long");
			return -1;
		} else {
			memcpy(st->conf->config_file, value, strlen(value) + 1);
		}
		return 0;
	}
	if (st->pass == 0)
		return 0;
	if (apply(st->conf, o, value != NULL ? value : "yes", CONF_SRC_CLI, msg, sizeof(msg)) != 0) {
		errf(st->err, st->errlen, "--%s: %s", o->name, msg);
		return -1;
	}
	return 0;
}

enum conf_result
conf_load(struct conf *conf, int argc, char **argv, conf_getenv_fn get_env,
    FILE *out, char *err, size_t errlen)
{
	struct cli_state st = { conf, out, 0, 0, err, errlen };
	char msg[CONF_ERR_MAX];
	size_t i;

	conf_defaults(conf);
	/* First pass: --help, --version, --check and --config, so that the file
	 * is read before the environment and the rest of the command line. */
	if (scan_cli(argc, argv, cli_option, &st, err, errlen) != 0)
		return CONF_ERROR;
	if (st.exit_now)
		return CONF_EXIT;
	if (conf->config_file[0] != '\0' && load_file(conf, conf->config_file, err, errlen) != 0)
		return CONF_ERROR;
	for (i = 0; i < N_OPTIONS; i++) {
		const char *v;

		if (options[i].env == NULL || (v = get_env(options[i].env)) == NULL || *v == '\0')
			continue;
		if (apply(conf, &options[i], v, CONF_SRC_ENV, msg, sizeof(msg)) != 0) {
			errf(err, errlen, "%s (environment): %s", options[i].env, msg);
			return CONF_ERROR;
		}
	}
	st.pass = 1;
	if (scan_cli(argc, argv, cli_option, &st, err, errlen) != 0)
		return CONF_ERROR;
	return conf_finish(conf, err, errlen) == 0 ? CONF_OK : CONF_ERROR;
}

/* Settings derived from others, and those capped by others: at the end of
 * conf_finish, and again after a reload kept a running value. */
static void
settle_limits(struct conf *conf)
{
	/* A client's share: a quarter of the table unless given, and never
	 * more than the whole (a forwarder asking for everyone may have it). */
	if (conf->max_inflight_per_client == 0)
		conf->max_inflight_per_client = conf->max_inflight / INFLIGHT_CLIENT_SHARE;
	if (conf->max_inflight_per_client == 0)
		conf->max_inflight_per_client = 1;
	if (conf->max_inflight_per_client > conf->max_inflight)
		conf->max_inflight_per_client = conf->max_inflight;
	if (conf->max_tcp_per_client > conf->max_tcp_clients)
		conf->max_tcp_per_client = conf->max_tcp_clients;
	if (conf->connect_timeout_ms > conf->timeout_ms) {
		/* A connection that takes longer than a query may wait is no use. */
		conf->connect_timeout_ms = conf->timeout_ms;
	}
}

/* In a build without an optional feature (feature.h), its options keep
 * their defaults, which is all --check prints and reads back; any other
 * value is refused, naming the option. (--metrics and --allow-transfer are
 * refused in their setters, for any value.) Each test compiles away when
 * its feature is built. */
static int
refuse(char *err, size_t errlen, const char *option, const char *feature, const char *macro)
{
	errf(err, errlen, "--%s: " FEATURE_MISSING, option, feature, macro);
	return -1;
}

static int
missing_feature(const struct conf *conf, char *err, size_t errlen)
{
	if (!FEATURE_CACHE) {
		const char *o = conf->cache_kib != 0 ? "cache-size" :
		    conf->cache_min_ttl != DEF_CACHE_MIN_TTL ? "cache-min-ttl" :
		    conf->cache_max_ttl != DEF_CACHE_MAX_TTL ? "cache-max-ttl" :
		    conf->stale_answer_timeout_ms != DEF_STALE_ANSWER_TIMEOUT_MS ? "stale-answer-timeout" :
		    conf->stale_max_s != DEF_STALE_MAX_S ? "stale-max" : NULL;

		if (o != NULL)
			return refuse(err, errlen, o, "answer cache", "DTP_NO_CACHE");
	}
	if (!FEATURE_XFR && conf->transfer_idle_ms != DEF_TRANSFER_IDLE_MS)
		return refuse(err, errlen, "transfer-timeout", "zone-transfer relay", "DTP_NO_XFR");
	if (!FEATURE_QLOG && conf->log_queries)
		return refuse(err, errlen, "log-queries", "query log", "DTP_NO_QLOG");
	if (!FEATURE_SELECT && conf->strategy != SELECT_ORDER)
		return refuse(err, errlen, "strategy", "resolver choice; it takes the first usable "
		    "nameserver in the order given", "DTP_NO_SELECT");
	return 0;
}

int
conf_finish(struct conf *conf, char *err, size_t errlen)
{
	int i;

	if (conf->ns_count == 0) {
		errf(err, errlen, "--nameserver: no nameserver configured");
		return -1;
	}
	if (conf->listen_count == 0) {
		errf(err, errlen, "--listen: no listen address configured");
		return -1;
	}
	/* -t/-u name the listeners to run; with neither turned on, both run
	 * except one turned off explicitly (ENABLE_TCP=0). */
	if (conf->tcp == 1 || conf->udp == 1) {
		conf->tcp = conf->tcp == 1;
		conf->udp = conf->udp == 1;
	} else {
		conf->tcp = conf->tcp != 0;
		conf->udp = conf->udp != 0;
	}
	if (!conf->tcp && !conf->udp) {
		errf(err, errlen, "--tcp/--udp: both listeners are turned off");
		return -1;
	}
	/* Asking another provider after a SERVFAIL helps only when there is
	 * one: 1.1.1.1 and 1.0.0.1 give the same answers. */
	if (conf->retry_servfail == -1)
		conf->retry_servfail = select_providers(conf->ns, (unsigned)conf->ns_count, NULL) >= 2;
	settle_limits(conf);
	if (missing_feature(conf, err, errlen) != 0)
		return -1;
	if (conf->cache_kib != 0 && conf->cache_kib < CACHE_MIN_KIB) {
		errf(err, errlen, "--cache-size: %u KiB holds too few answers: 0 (off) or %d to %d",
		    conf->cache_kib, CACHE_MIN_KIB, MAX_CACHE_KIB);
		return -1;
	}
	if (conf->cache_min_ttl > conf->cache_max_ttl) {
		errf(err, errlen, "--cache-min-ttl: %u is above --cache-max-ttl %u",
		    conf->cache_min_ttl, conf->cache_max_ttl);
		return -1;
	}
	for (i = 0; i < conf->listen_count; i++)
		set_port(&conf->listen[i].addr, conf->port);
	if (conf->chroot[0] != '\0' && conf->user[0] == '\0') {
		errf(err, errlen, "--chroot: needs --user (a root process can leave a chroot)");
		return -1;
	}
	/* A pin for a name no nameserver has is surely a typo: say so. */
	for (i = 0; i < conf->pin_count; i++) {
		int j, used = 0;

		for (j = 0; j < conf->ns_count; j++)
			used |= strcasecmp(conf->pins[i].name, conf->ns[j].name) == 0;
		if (!used) {
			errf(err, errlen, "--pin: no nameserver has the name '%s'", conf->pins[i].name);
			return -1;
		}
	}
	return 0;
}

static void
print_list(const struct conf *conf, const struct option_def *o, FILE *out)
{
	char text[64];
	int i;

	if (o->set == set_nameserver)
		for (i = 0; i < conf->ns_count; i++)
			fprintf(out, "%s %s\n", o->name, conf->ns[i].text);
	else if (o->set == set_listen)
		for (i = 0; i < conf->listen_count; i++)
			fprintf(out, "%s %s\n", o->name, conf->listen[i].text);
	else if (o->set == set_pin)
		for (i = 0; i < conf->pin_count; i++)
			fprintf(out, "%s %s\n", o->name, conf->pins[i].text);
	else if (o->set == set_allow)
		for (i = 0; i < conf->allow_count; i++) {
			acl_format(&conf->allow[i], text, sizeof(text));
			fprintf(out, "%s %s\n", o->name, text);
		}
	else if (o->set == set_allow_transfer)
		for (i = 0; i < conf->allow_transfer_count; i++) {
			acl_format(&conf->allow_transfer[i], text, sizeof(text));
			fprintf(out, "%s %s\n", o->name, text);
		}
	else /* a setter added without a way to print it: say so, loudly */
		fprintf(out, "# %s: conf_print cannot show this option\n", o->name);
}

/* Every option in the table's order, in config-file syntax, each printed
 * by the kind of its setter: what --check shows is what the table holds, and
 * conf_parse_text reads it back to the same settings. Options with no value
 * (an unset path or user) are left out. */
void
conf_print(const struct conf *conf, FILE *out)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];
		const void *field = (const char *)conf + o->offset;

		if (o->kind == ARG_ACTION)
			continue;
		if (o->set == set_uint) {
			fprintf(out, "%s %u\n", o->name, *(const unsigned *)field);
		} else if (o->set == set_seconds) {
			unsigned ms = *(const unsigned *)field, frac = ms % 1000, digits = 3;


			/* The fewest digits that say it: 1.8, 2.25, 7.001. */
			while (frac != 0 && frac % 10 == 0) {
				frac /= 10;
				digits--;
			}
			if (frac == 0)
				fprintf(out, "%s %u\n", o->name, ms / 1000);
			else
				fprintf(out, "%s %u.%0*u\n", o->name, ms / 1000, (int)digits, frac);
		} else if (o->set == set_flag) {
			fprintf(out, "%s %s\n", o->name, *(const int *)field ? "yes" : "no");
		} else if (o->set == set_path || o->set == set_user) {
			if (*(const char *)field != '\0')
				fprintf(out, "%s %s\n", o->name, (const char *)field);
		} else if (o->set == set_metrics) {
			if (conf->metrics.addrlen != 0)
				fprintf(out, "%s %s\n", o->name, conf->metrics.text);
		} else if (o->set == set_strategy) {
			fprintf(out, "%s %s\n", o->name,
			    select_strategy_name((enum select_strategy)*(const unsigned *)field));
		} else {
			print_list(conf, o, out);
		}
	}
	print_presets(out, PRESETS, "#  ");
}

/* Reloading (SIGHUP). Options whose value is bound into what start-up
 * made: a socket (listen, port, udp, tcp, metrics), a file opened as root
 * (logfile, time-file), the process (user, chroot), memory reserved
 * (pool-size, max-inflight, max-tcp-clients, cache-size) or trust anchors
 * read before a chroot (ca-file). Every other option takes effect at once. */
static const char *const restart_options[] = {
	"listen", "port", "udp", "tcp", "logfile", "pool-size", "user", "chroot", "ca-file",
	"time-file", "max-inflight", "max-tcp-clients", "metrics", "cache-size",
};
static const char *const live_options[] = {
	"nameserver", "pin", "allow", "allow-transfer", "verbose", "debug", "stats",
	"stats-interval", "timeout", "connect-timeout", "idle-timeout", "tcp-idle-timeout",
	"transfer-timeout", "max-tcp-per-client", "max-inflight-per-client", "max-udp-size",
	"batch-window", "log-queries", "strategy", "retry-servfail", "cache-min-ttl",
	"cache-max-ttl", "stale-answer-timeout", "stale-max",
};

static int
listed(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

int
conf_reload_class(const char *option)
{
	if (listed(option, restart_options, sizeof(restart_options) / sizeof(restart_options[0])))
		return CONF_RELOAD_RESTART;
	if (listed(option, live_options, sizeof(live_options) / sizeof(live_options[0])))
		return CONF_RELOAD_LIVE;
	return -1;
}

static int
acl_list_equal(const struct acl_entry *a, int na, const struct acl_entry *b, int nb)
{
	char ta[64], tb[64];
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		acl_format(&a[i], ta, sizeof(ta));
		acl_format(&b[i], tb, sizeof(tb));
		if (strcmp(ta, tb) != 0)
			return 0;
	}
	return 1;
}

/* Does option o have the same value in a and b? By the kind of its setter,
 * as conf_print shows it. */
static int
option_equal(const struct option_def *o, const struct conf *a, const struct conf *b)
{
	const char *fa = (const char *)a + o->offset, *fb = (const char *)b + o->offset;
	int i;

	if (o->set == set_uint || o->set == set_seconds || o->set == set_strategy)
		return *(const unsigned *)(const void *)fa == *(const unsigned *)(const void *)fb;
	if (o->set == set_flag)
		return *(const int *)(const void *)fa == *(const int *)(const void *)fb;
	if (o->set == set_path || o->set == set_user)
		return strcmp(fa, fb) == 0;
	if (o->set == set_metrics)
		return a->metrics.addrlen == b->metrics.addrlen &&
		    (a->metrics.addrlen == 0 || strcmp(a->metrics.text, b->metrics.text) == 0);
	if (o->set == set_nameserver) {
		if (a->ns_count != b->ns_count)
			return 0;
		for (i = 0; i < a->ns_count; i++)
			if (strcmp(a->ns[i].text, b->ns[i].text) != 0)
				return 0;
		return 1;
	}
	if (o->set == set_listen) {
		if (a->listen_count != b->listen_count)
			return 0;
		for (i = 0; i < a->listen_count; i++)
			if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
				return 0;
		return 1;
	}
	if (o->set == set_pin) {
		if (a->pin_count != b->pin_count)
			return 0;
		for (i = 0; i < a->pin_count; i++)
			if (strcmp(a->pins[i].text, b->pins[i].text) != 0)
				return 0;
		return 1;
	}
	if (o->set == set_allow)
		return acl_list_equal(a->allow, a->allow_count, b->allow, b->allow_count);
	if (o->set == set_allow_transfer)
		return acl_list_equal(a->allow_transfer, a->allow_transfer_count,
		    b->allow_transfer, b->allow_transfer_count);
	return 0; /* a setter this does not know: call it changed */
}

/* Append name to the ", "-separated list in buf (truncated to fit). */
static void
add_name(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "", name);
}

int
conf_reload_diff(const struct conf *run, const struct conf *next, unsigned ns_reserved,
    struct conf_reload *r, char *err, size_t errlen)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	/* Each nameserver's connections were reserved at start-up. */
	if ((unsigned)next->ns_count > ns_reserved) {
		errf(err, errlen, "--nameserver: %d nameservers, but start-up reserved "
		    "connections for %u (restart to add more)", next->ns_count, ns_reserved);
		return -1;
	}
	for (i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];

		if (o->kind == ARG_ACTION || option_equal(o, run, next))
			continue;
		/* An option no list names needs a restart: the safe side. */
		if (conf_reload_class(o->name) == CONF_RELOAD_LIVE) {
			add_name(r->changed, sizeof(r->changed), o->name);
			r->nchanged++;
		} else {
			add_name(r->restart, sizeof(r->restart), o->name);
			r->nrestart++;
		}
	}
	return 0;
}

void
conf_reload_keep(struct conf *next, const struct conf *run)
{
	size_t i, per_client = 0;

	for (i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];
		size_t size;

		if (strcmp(o->name, "max-inflight-per-client") == 0)
			per_client = i;
		if (o->kind == ARG_ACTION || conf_reload_class(o->name) == CONF_RELOAD_LIVE)
			continue;
		if (o->set == set_uint || o->set == set_seconds || o->set == set_strategy)
			size = sizeof(unsigned);
		else if (o->set == set_flag)
			size = sizeof(int);
		else if (o->set == set_path)
			size = CONF_PATH_MAX;
		else if (o->set == set_user)
			size = sizeof(run->user);
		else if (o->set == set_metrics) {
			next->metrics = run->metrics;
			continue;
		} else if (o->set == set_listen) {
			memcpy(next->listen, run->listen, sizeof(next->listen));
			next->listen_count = run->listen_count;
			continue;
		} else {
			continue; /* the lists above are all live */
		}
		memcpy((char *)next + o->offset, (const char *)run + o->offset, size);
	}
	/* A share derived from a kept table size is derived again. */
	if (next->source[per_client] == CONF_SRC_DEFAULT)
		next->max_inflight_per_client = 0;
	settle_limits(next);
}

int
conf_reload(struct conf *next, const struct conf *run, int argc, char **argv,
    conf_getenv_fn get_env, unsigned ns_reserved, struct conf_reload *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	/* The command line had no --help nor --version, or the process would
	 * not be running: nothing is printed. */
	if (conf_load(next, argc, argv, get_env, stdout, err, errlen) != CONF_OK)
		return -1;
	if (conf_reload_diff(run, next, ns_reserved, r, err, errlen) != 0)
		return -1;
	conf_reload_keep(next, run);
	return 0;
}
