/* SPDX-License-Identifier: MIT */
/* Build-time generator for the compiled-in root bundle:
 *	ca_gen OUT.c SYMBOL FILE.pem...
 * loads the PEM files in the order given and writes OUT.c atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

static void
usage(void)
{
	fputs("usage: ca_gen OUT.c SYMBOL FILE.pem...\n", stderr);
	exit(2);
}

/* The input names, one a line, for the generated header comment. */
static char *
join_lines(char **names, int n)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	len = 0;
	for (i = 0; i < n; i++) {
		size_t k = strlen(names[i]);

		if (i > 0)
			s[len++] = '\n';
		memcpy(s + len, names[i], k);
		len += k;
	}
	s[len] = '\0';
	return s;
}

/* Write to OUT.tmp and rename, so make never sees half a file. */
static int
write_atomically(const char *path, const br_x509_trust_anchor *tas,
    size_t count, const char *symbol, const char *source)
{
	char *tmp;
	size_t len = strlen(path) + sizeof ".tmp";
	FILE *out;
	int rc = -1;

	if ((tmp = malloc(len)) == NULL) {
		fprintf(stderr, "ca_gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(tmp, len, "%s.tmp", path);
	if ((out = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "ca_gen: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (ca_emit_c(out, tas, count, symbol, source) == -1) {
		if (errno == EINVAL)
			fprintf(stderr, "ca_gen: %s: not a C identifier\n",
			    symbol);
		else
			fprintf(stderr, "ca_gen: %s: %s\n", tmp,
			    strerror(errno));
		fclose(out);
		goto out;
	}
	if (fclose(out) == EOF) {
		fprintf(stderr, "ca_gen: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "ca_gen: %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		remove(tmp);
	free(tmp);
	return rc;
}

int
main(int argc, char **argv)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[512], *source;
	int i, rc;

	if (argc < 4)
		usage();
	for (i = 3; i < argc; i++) {
		if (ca_load_file(argv[i], &tas, &count, err,
		    sizeof err) == -1) {
			fprintf(stderr, "ca_gen: %s\n", err);
			ca_free(tas, count);
			return 1;
		}
	}
	if ((source = join_lines(argv + 3, argc - 3)) == NULL) {
		fprintf(stderr, "ca_gen: %s\n", strerror(errno));
		ca_free(tas, count);
		return 1;
	}
	rc = write_atomically(argv[1], tas, count, argv[2], source);
	free(source);
	ca_free(tas, count);
	return rc == 0 ? 0 : 1;
}
