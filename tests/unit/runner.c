/* SPDX-License-Identifier: MIT */
/* The unit-test runner: `tests/run` runs every test, `tests/run NAME...`
 * the named ones (a name ending in '*' is a prefix), `tests/run -l` lists
 * them. Exit status 1 when any check failed. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "feature.h"
#include "unit.h"

extern const struct unit_test acl_tests[], alloc_tests[], ca_tests[], cache_tests[], client_tests[], clock_tests[],
    conf_tests[], conn_tests[], fmt_tests[],
    dns_tests[], frame_tests[], log_tests[], loop_tests[], metrics_tests[], pending_tests[],
    query_tests[], qlog_tests[], select_tests[], source_tests[], stats_tests[], tls_tests[], x509_tests[], xfr_tests[];

static const struct unit_test *const tables[] = {
	acl_tests, alloc_tests, ca_tests, cache_tests, client_tests, clock_tests, conf_tests, conn_tests, dns_tests, fmt_tests,
	frame_tests, log_tests,
	loop_tests, metrics_tests, pending_tests, query_tests, qlog_tests, select_tests, source_tests, stats_tests, tls_tests,
	x509_tests, xfr_tests,
};

/* Tests of an optional feature that this build may lack (src/feature.h),
 * by name ('*' at the end: a prefix): skipped, with a line saying so,
 * when it does. */
static const struct {
	const char *name;
	int built;
	const char *why;
} optional[] = {
	{ "metrics_*", FEATURE_METRICS, "built with DTP_NO_METRICS" },
	{ "conf_metrics_address", FEATURE_METRICS, "built with DTP_NO_METRICS" },
	{ "conf_operation_options", FEATURE_METRICS, "built with DTP_NO_METRICS (it sets --metrics)" },
	{ "xfr_*", FEATURE_XFR, "built with DTP_NO_XFR" },
	{ "conf_transfer_options", FEATURE_XFR, "built with DTP_NO_XFR" },
	{ "conf_reload_diff", FEATURE_METRICS && FEATURE_CACHE,
	  "built with DTP_NO_METRICS or DTP_NO_CACHE (it reloads --metrics and --cache-max-ttl)" },
	{ "cache_*", FEATURE_CACHE, "built with DTP_NO_CACHE" },
	{ "conf_cache_options", FEATURE_CACHE, "built with DTP_NO_CACHE" },
	{ "qlog_*", FEATURE_QLOG, "built with DTP_NO_QLOG" },
	{ "select_fastest_*", FEATURE_SELECT, "built with DTP_NO_SELECT" },
	{ "select_round_robin", FEATURE_SELECT, "built with DTP_NO_SELECT" },
	{ "select_retry_servfail", FEATURE_SELECT,
	  "built with DTP_NO_SELECT (it retries by the fastest strategy's order)" },
	{ "conf_reload_file", FEATURE_SELECT, "built with DTP_NO_SELECT (its file sets --strategy)" },
};

/* NULL when the test can run, else why not. */
static const char *
lacking(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		const char *o = optional[i].name;
		size_t n = strlen(o);

		if (optional[i].built)
			continue;
		if (o[n - 1] == '*' ? strncmp(o, name, n - 1) == 0 : strcmp(o, name) == 0)
			return optional[i].why;
	}
	return NULL;
}

int unit_failures;
static const char *current;

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s (%s:%d): ", current, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	unit_failures++;
}

static int
wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2 || strcmp(argv[1], "all") == 0)
		return 1;
	for (i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (strcmp(argv[i], name) == 0 ||
		    (n > 0 && argv[i][n - 1] == '*' && strncmp(argv[i], name, n - 1) == 0))
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	size_t t;
	int ran = 0, failed_tests = 0, list = argc > 1 && strcmp(argv[1], "-l") == 0;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		const struct unit_test *u;

		for (u = tables[t]; u->name != NULL; u++) {
			int before = unit_failures;

			if (list) {
				puts(u->name);
				continue;
			}
			if (!wanted(u->name, argc, argv))
				continue;
			if (lacking(u->name) != NULL) {
				printf("skip %s: %s\n", u->name, lacking(u->name));
				continue;
			}
			current = u->name;
			u->fn();
			ran++;
			if (unit_failures != before)
				failed_tests++;
			else
				printf("ok   %s\n", u->name);
		}
	}
	if (list)
		return 0;
	if (ran == 0) {
		fprintf(stderr, "no test matches\n");
		return 1;
	}
	printf("%d tests, %d failed\n", ran, failed_tests);
	return failed_tests != 0;
}
