/* SPDX-License-Identifier: MIT */
/* Unit tests for clock.c: the decision of the time a chain is checked
 * against (a pure function of the clock, the floors and the chain's
 * dates), ISO 8601 output, and the time file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "unit.h"
#include "x509.h"

#define DAY 86400
/* 2026-01-01, 2027-01-01: a build time, and a time saved after it. */
#define B 1767225600LL
#define S 1798761600LL

static const struct judge_case {
	const char *what;
	int64_t now, build, saved, newest_nb, oldest_na;
	enum clock_basis basis;
	int64_t at;
	int valid;
} judge_cases[] = {
	{ "clock set, valid", B + 10 * DAY, B, 0, B, B + 90 * DAY, CLOCK_SYSTEM, B + 10 * DAY, 1 },
	{ "clock set, expired", B + 100 * DAY, B, 0, B, B + 90 * DAY, CLOCK_SYSTEM,
	  B + 100 * DAY, 0 },
	{ "clock set, not yet valid", B + 10 * DAY, B, 0, B + 20 * DAY, B + 90 * DAY,
	  CLOCK_SYSTEM, B + 10 * DAY, 0 },
	{ "clock at the floor exactly", B, B, 0, B - DAY, B + DAY, CLOCK_SYSTEM, B, 1 },
	{ "1970, issued before the build", DAY, B, 0, B - 30 * DAY, B + 60 * DAY, CLOCK_BUILD,
	  B, 1 },
	{ "1970, issued 90 days after the build", DAY, B, 0, B + 90 * DAY, B + 180 * DAY,
	  CLOCK_CERT, B + 90 * DAY, 1 },
	{ "1970, expired before the build", DAY, B, 0, B - 60 * DAY, B - 30 * DAY, CLOCK_BUILD, B,
	  0 },
	{ "1970, expires at the build exactly", DAY, B, 0, B - 60 * DAY, B, CLOCK_BUILD, B, 1 },
	{ "1970, one certificate expired before another was issued", DAY, B, 0, B + 90 * DAY,
	  B + 30 * DAY, CLOCK_CERT, B + 90 * DAY, 0 },
	{ "1970, saved time later than the build", DAY, B, S, B + 90 * DAY, S + 90 * DAY,
	  CLOCK_SAVED, S, 1 },
	{ "1970, expired before the saved time", DAY, B, S, B + 90 * DAY, B + 180 * DAY,
	  CLOCK_SAVED, S, 0 },
	{ "1970, saved time earlier than the build", DAY, S, B, S - DAY, S + DAY, CLOCK_BUILD, S,
	  1 },
	{ "1970, issued after the saved time", DAY, B, S, S + DAY, S + 90 * DAY, CLOCK_CERT,
	  S + DAY, 1 },
	{ "clock past the build, below the saved time", B + DAY, B, S, B, S + DAY, CLOCK_SAVED,
	  S, 1 },
	{ "clock past the saved time", S + DAY, B, S, B, S + 90 * DAY, CLOCK_SYSTEM, S + DAY, 1 },
};

static void
test_judge(void)
{
	size_t i;

	for (i = 0; i < sizeof(judge_cases) / sizeof(judge_cases[0]); i++) {
		const struct judge_case *k = &judge_cases[i];
		struct clock_verdict v = clock_judge(k->now, k->build, k->saved, k->newest_nb,
		    k->oldest_na);

		CHECK(v.basis == k->basis && v.at == k->at && v.valid == k->valid,
		    "%s: basis %d at %lld valid %d, want %d %lld %d", k->what, (int)v.basis,
		    (long long)v.at, v.valid, (int)k->basis, (long long)k->at, k->valid);
	}
}

static void
test_format(void)
{
	static const struct { int64_t t; const char *text; } cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ -1, "1969-12-31T23:59:59Z" },
		{ 951825600, "2000-02-29T12:00:00Z" },
		{ 4107542400, "2100-03-01T00:00:00Z" },
		{ 253402300799, "9999-12-31T23:59:59Z" },
		{ 253402300800, "out of range" },
		{ -62167219200, "0000-01-01T00:00:00Z" },
		{ -62167219201, "out of range" },
		{ INT64_MIN, "out of range" },
	};
	char buf[CLOCK_TEXT_MAX];
	size_t i;
	int64_t t;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(strcmp(clock_format(cases[i].t, buf), cases[i].text) == 0,
		    "%lld: \"%s\", want \"%s\"", (long long)cases[i].t, buf, cases[i].text);
	/* Formatting and x509.c's parsing agree, day by day over centuries. */
	for (t = -62167219200; t < 253402300799; t += 7 * DAY + 3601) {
		char gt[16];
		int64_t back = 0;

		clock_format(t, buf);
		memcpy(gt, buf, 4);
		memcpy(gt + 4, buf + 5, 2);
		memcpy(gt + 6, buf + 8, 2);
		memcpy(gt + 8, buf + 11, 2);
		memcpy(gt + 10, buf + 14, 2);
		memcpy(gt + 12, buf + 17, 3);
		if (x509_parse_time(0x18, (const unsigned char *)gt, 15, &back) != 0 || back != t) {
			unit_fail(__FILE__, __LINE__, "%lld: %s read back as %lld", (long long)t,
			    buf, (long long)back);
			break;
		}
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* The whole life of a time file in one test: the module keeps one. */
static void
test_time_file(void)
{
	char path[] = "/tmp/dtp-unit-time.XXXXXX", err[256], text[64];
	int64_t now = clock_build_time + 100 * DAY;
	int fd = mkstemp(path);

	if (fd == -1) {
		unit_fail(__FILE__, __LINE__, "mkstemp");
		return;
	}
	close(fd);
	write_file(path, "garbage\n");
	CHECK_EQ_INT(clock_open_file(path, err, sizeof(err)), 1);
	CHECK(strstr(err, "holds no time; ignored") != NULL, "garbage: \"%s\"", err);
	snprintf(text, sizeof(text), "%lld\n", (long long)(clock_build_time + CLOCK_SAVED_MAX_S + 1));
	write_file(path, text);
	CHECK_EQ_INT(clock_open_file(path, err, sizeof(err)), 1);
	CHECK(strstr(err, "over 20 years after the build") != NULL, "far future: \"%s\"", err);
	CHECK_EQ_INT(clock_saved(), 0);
	CHECK_EQ_INT(clock_floor(), clock_build_time);

	snprintf(text, sizeof(text), "%lld\n", (long long)(now - 10 * DAY));
	write_file(path, text);
	CHECK_EQ_INT(clock_open_file(path, err, sizeof(err)), 0);
	CHECK_EQ_INT(clock_saved(), now - 10 * DAY);
	CHECK_EQ_INT(clock_floor(), now - 10 * DAY);

	/* Nothing is written until a chain has confirmed the clock. */
	CHECK_EQ_INT(clock_save(now, 1), 0);
	read_file(path, text, sizeof(text));
	CHECK(atoll(text) == now - 10 * DAY, "written before confirmation: %s", text);
	clock_confirm(now);
	CHECK_EQ_INT(clock_save(now, 0), 0);
	read_file(path, text, sizeof(text));
	CHECK(atoll(text) == now, "first write after confirmation: %s", text);
	/* Then at most hourly, and at stop; never a time going back. */
	CHECK_EQ_INT(clock_save(now + 60, 0), 0);
	read_file(path, text, sizeof(text));
	CHECK(atoll(text) == now, "written within the hour: %s", text);
	CHECK_EQ_INT(clock_save(now + CLOCK_SAVE_INTERVAL_S, 0), 0);
	read_file(path, text, sizeof(text));
	CHECK(atoll(text) == now + CLOCK_SAVE_INTERVAL_S, "hourly write: %s", text);
	CHECK_EQ_INT(clock_save(now + CLOCK_SAVE_INTERVAL_S + 5, 1), 0);
	read_file(path, text, sizeof(text));
	CHECK(atoll(text) == now + CLOCK_SAVE_INTERVAL_S + 5, "final write: %s", text);
	CHECK_EQ_INT(clock_save(now, 1), 0);
	read_file(path, text, sizeof(text));
	CHECK(atoll(text) == now + CLOCK_SAVE_INTERVAL_S + 5, "went back: %s", text);
	unlink(path);
}

const struct unit_test clock_tests[] = {
	{ "clock_judge", test_judge },
	{ "clock_format", test_format },
	{ "clock_time_file", test_time_file },
	{ NULL, NULL },
};
