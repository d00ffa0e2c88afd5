/* SPDX-License-Identifier: MIT */
/* The query log (--log-queries): one line per query with the client, the
 * question, the answer's rcode, the time taken and where the answer came
 * from. Pure formatting; the caller writes the line (log_query). Every byte
 * a client chose is escaped, so a query cannot forge or split a log line. */
#ifndef QLOG_H
#define QLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bounds.h"

/* Where an answer came from. */
enum qlog_source {
	QLOG_NAMESERVER, /* an upstream answer: qlog_entry.nameserver names it */
	QLOG_CACHE,      /* the cache, fresh */
	QLOG_STALE,      /* the cache, past its TTL (RFC 8767) */
	QLOG_PROXY,      /* made by the proxy: SERVFAIL on timeout, FORMERR, REFUSED... */
};

struct qlog_entry {
	const struct sockaddr *client; /* NULL when not known */
	int tcp;                       /* the client asked over TCP */
	const uint8_t *query;          /* the query as the client sent it */
	size_t query_len;
	int rcode;                     /* of the reply sent */
	uint64_t time_us;              /* from arrival to reply */
	enum qlog_source source;
	const char *nameserver;        /* QLOG_NAMESERVER: its "IP:PORT:NAME" */
};

/* The line, without a newline, into buf (at most cap - 1 characters and a
 * NUL; QLOG_LINE_MAX always holds a whole one). Returns its length. */
size_t qlog_format(char *buf, size_t cap, const struct qlog_entry *e);

/* The question's name in presentation form with dig's escapes (\. and \\
 * and the like for special characters, \DDD for bytes outside printable
 * ASCII), ending in a dot. Returns the length, or 0 when the message has
 * no readable question (then buf holds "-"). cap >= 2. */
size_t qlog_name(char *buf, size_t cap, const uint8_t *msg, size_t len);

#endif
