/* SPDX-License-Identifier: MIT */
/* Fuzz target: the metrics endpoint's request parser, fed what a client
 * could have sent by the time the buffer is full. Checks that "more" is
 * only said while the buffer has room, that every verdict is one the
 * server knows how to answer, that a served request is a GET or HEAD of one
 * of the two paths, whole (ending in an empty line) and no longer than the
 * input, and that the verdict is the same whatever follows the head and
 * "more" for every shorter prefix of it. Then the query log gets the same
 * bytes as a DNS query: its line is one line of printable ASCII. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "feature.h"
#include "metrics.h"
#include "qlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_qlog(const uint8_t *data, size_t size)
{
	static char line[QLOG_LINE_MAX];
	struct qlog_entry e;
	size_t n, i;

	memset(&e, 0, sizeof(e));
	e.query = data;
	e.query_len = size;
	e.rcode = size > 0 ? data[0] : 0;
	e.time_us = size;
	e.source = QLOG_NAMESERVER;
	e.nameserver = size > 2 ? (const char *)data + 2 : "";
	/* The nameserver text is a C string (only when the input holds a
	 * NUL) of the length a configured one can have (its bytes are escaped
	 * to at most four each). */
	if (memchr(e.nameserver, '\0', size > 2 ? size - 2 : 1) == NULL ||
	    strlen(e.nameserver) > 80)
		e.nameserver = "x";
	n = qlog_format(line, sizeof(line), &e);
	if (n != strlen(line) || n >= sizeof(line) - 1)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct metrics_request req, again;
	size_t skip = 0;
	int r;

	if (!FEATURE_METRICS) /* a build without it (src/feature.h): nothing to try */
		return 0;

	check_qlog(data, size);
	if (size > METRICS_REQ_MAX)
		size = METRICS_REQ_MAX;
	r = metrics_http_parse(text, size, &req);
	if (r == 0) {
		if (size >= METRICS_REQ_MAX)
			abort();
		return 0;
	}
	if (r != 1)
		abort();
	switch (req.status) {
	case 200: case 400: case 404: case 405: case 413: case 414: case 431: case 505:
		break;
	default:
		abort();
	}
	if (req.used > size)
		abort();
	if (req.used == 0) {
		/* Decided before the head ended: a longer input decides the same. */
		if (req.status == 200 || req.status == 404 || req.status == 413 || req.status == 505)
			abort();
		return 0;
	}
	if (text[req.used - 1] != '\n')
		abort();
	if (req.status == 200) {
		while (skip < req.used && (text[skip] == '\r' || text[skip] == '\n'))
			skip++;
		if (req.head_only ? strncmp(text + skip, "HEAD /", 6) != 0 :
		    strncmp(text + skip, "GET /", 5) != 0)
			abort();
		if (req.page != METRICS_PAGE_PROMETHEUS && req.page != METRICS_PAGE_JSON)
			abort();
	}
	/* The head alone gives the same verdict; any prefix of it, "more". */
	if (metrics_http_parse(text, req.used, &again) != 1 || again.status != req.status ||
	    again.used != req.used || again.page != req.page || again.head_only != req.head_only)
		abort();
	if (metrics_http_parse(text, req.used - 1, &again) != 0)
		abort();
	if (metrics_http_parse(text, req.used / 2, &again) != 0)
		abort();
	return 0;
}
