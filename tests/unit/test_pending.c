/* Unit tests for src/pending.c. */
#include "unit.h"

const struct unit_test pending_tests[] = {
	{ NULL, NULL },
};
