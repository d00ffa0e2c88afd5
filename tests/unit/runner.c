/* SPDX-License-Identifier: MIT */
/* The unit-test runner: `tests/run` runs every test, `tests/run NAME...`
 * the named ones (a name ending in '*' is a prefix), `tests/run -l` lists
 * them. Exit status 1 when any check failed. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

extern const struct unit_test acl_tests[], ca_tests[], cache_tests[], clock_tests[], conf_tests[],
    conn_tests[],
    dns_tests[], frame_tests[], log_tests[], loop_tests[], metrics_tests[], pending_tests[],
    query_tests[], qlog_tests[], select_tests[], source_tests[], stats_tests[], tls_tests[], x509_tests[], xfr_tests[];

static const struct unit_test *const tables[] = {
	acl_tests, ca_tests, cache_tests, clock_tests, conf_tests, conn_tests, dns_tests, frame_tests, log_tests,
	loop_tests, metrics_tests, pending_tests, query_tests, qlog_tests, select_tests, source_tests, stats_tests, tls_tests,
	x509_tests, xfr_tests,
};

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
