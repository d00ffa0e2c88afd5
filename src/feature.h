/* SPDX-License-Identifier: MIT */
/* Optional features, each left out of a build by one macro (port/router.mk
 * sets them for TINY=1): the module then compiles to small stubs, so call
 * sites need no #if, and the option that asks for the feature is refused at
 * start-up with one line saying the build lacks it. --version lists them. */
#ifndef FEATURE_H
#define FEATURE_H

/* DTP_NO_METRICS: no metrics endpoint (--metrics); metrics.c is stubs. */
#if defined(DTP_NO_METRICS)
#define FEATURE_METRICS 0
#define FEATURE_METRICS_TEXT " -metrics"
#else
#define FEATURE_METRICS 1
#define FEATURE_METRICS_TEXT " +metrics"
#endif

/* DTP_NO_XFR: no zone-transfer relay (--allow-transfer); xfr.c still tells
 * a transfer query from others (so that it is refused), the rest is stubs. */
#if defined(DTP_NO_XFR)
#define FEATURE_XFR 0
#define FEATURE_XFR_TEXT " -xfr"
#else
#define FEATURE_XFR 1
#define FEATURE_XFR_TEXT " +xfr"
#endif

/* DTP_NO_CACHE: no answer cache (--cache-size other than 0, and the cache's
 * TTL and stale options, are refused; the default cache size is 0). cache.c
 * is stubs: every lookup misses, nothing is stored. */
#if defined(DTP_NO_CACHE)
#define FEATURE_CACHE 0
#define FEATURE_CACHE_TEXT " -cache"
#else
#define FEATURE_CACHE 1
#define FEATURE_CACHE_TEXT " +cache"
#endif

/* DTP_NO_QLOG: no query log (--log-queries refused); qlog.c is stubs. */
#if defined(DTP_NO_QLOG)
#define FEATURE_QLOG 0
#define FEATURE_QLOG_TEXT " -qlog"
#else
#define FEATURE_QLOG 1
#define FEATURE_QLOG_TEXT " +qlog"
#endif

/* DTP_NO_SELECT: no choice of resolver (--strategy other than "order"
 * refused): queries go to the first usable nameserver in the order given,
 * which is then the default. select.c keeps that strategy and the retry. */
#if defined(DTP_NO_SELECT)
#define FEATURE_SELECT 0
#define FEATURE_SELECT_TEXT " -select"
#else
#define FEATURE_SELECT 1
#define FEATURE_SELECT_TEXT " +select"
#endif

/* The --version line: +name built in, -name left out. */
#define FEATURE_LINE "features:" FEATURE_METRICS_TEXT FEATURE_XFR_TEXT FEATURE_CACHE_TEXT \
	FEATURE_QLOG_TEXT FEATURE_SELECT_TEXT

/* The error for an option that asks for a feature the build lacks. */
#define FEATURE_MISSING "this build has no %s (built with %s: make static TINY=1 leaves it out)"

#endif
