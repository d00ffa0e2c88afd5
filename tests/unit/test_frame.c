/* Unit tests for src/frame.c. */
#include "unit.h"

const struct unit_test frame_tests[] = {
	{ NULL, NULL },
};
