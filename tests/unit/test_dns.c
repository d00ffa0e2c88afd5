/* Unit tests for src/dns.c. */
#include "unit.h"

const struct unit_test dns_tests[] = {
	{ NULL, NULL },
};
