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

/* The --version line: +name built in, -name left out. */
#define FEATURE_LINE "features:" FEATURE_METRICS_TEXT FEATURE_XFR_TEXT

/* The error for an option that asks for a feature the build lacks. */
#define FEATURE_MISSING "this build has no %s (built with %s: make static TINY=1 leaves it out)"

#endif
