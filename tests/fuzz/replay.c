/* SPDX-License-Identifier: MIT */
/* Standalone replayer for the fuzz targets: runs every file named on the
 * command line (or every file in the named directories) through
 * LLVMFuzzerTestOneInput, so `make test` replays the committed corpus and
 * crash reproducers without libFuzzer. A failing input aborts, naming it. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long runs;
static const char *current = "?";

/* Name the input that failed: the target aborts (or a sanitizer does). */
static void
on_crash(int sig)
{
	static const char msg[] = "replay: FAILED on input: ";

	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	current = path;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	runs++;
}

int
main(int argc, char **argv)
{
	int i;

	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: no such file\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			run_file(argv[i]);
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((e = readdir(d)) != NULL) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			run_file(path);
		}
		closedir(d);
	}
	printf("replay: %lu inputs, no failure\n", runs);
	return 0;
}
