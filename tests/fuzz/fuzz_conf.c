/* SPDX-License-Identifier: MIT */
/* Fuzz target: the config-file loader. Any text either fails with an error
 * line naming the file, or loads; a loaded configuration printed with
 * conf_print (what --check shows) loads again to the same printout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
print(const struct conf *conf, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (f == NULL)
		abort();
	conf_print(conf, f);
	fclose(f);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf a, b;
	char err[CONF_ERR_MAX];
	char *text, *first, *second;
	size_t len1, len2;

	if (size > 8192 || memchr(data, '\0', size) != NULL)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	conf_defaults(&a);
	err[0] = '\0';
	if (conf_parse_text(&a, text, "fuzz.conf", err, sizeof(err)) != 0 ||
	    conf_finish(&a, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.conf:", 10) != 0 && strncmp(err, "--", 2) != 0)
			abort();
		free(text);
		return 0;
	}
	first = print(&a, &len1);
	conf_defaults(&b);
	if (conf_parse_text(&b, first, "printed", err, sizeof(err)) != 0 ||
	    conf_finish(&b, err, sizeof(err)) != 0)
		abort();
	second = print(&b, &len2);
	if (len1 != len2 || memcmp(first, second, len1) != 0)
		abort();
	free(first);
	free(second);
	free(text);
	return 0;
}
