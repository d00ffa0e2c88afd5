/* Unit tests for src/conf.c. */
#include "unit.h"

const struct unit_test conf_tests[] = {
	{ NULL, NULL },
};
