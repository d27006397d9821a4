/*
 * replay: a main() for a fuzz harness without libFuzzer, so that any C
 * compiler builds it and `make check` runs every input of a corpus
 * through LLVMFuzzerTestOneInput() once (a crash fixed stays fixed).
 *
 *   replay-NAME file|directory ...
 *
 * Prints "NAME: N inputs" on stdout and exits 0; exits 1 when a file
 * cannot be read. A crash in the code under test ends it with that
 * signal, or with the sanitizer's report in the sanitizer build.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* A harness may set itself up once, as libFuzzer lets it. */
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static long	replay_inputs;

static int
replay_file(const char *path)
{
	unsigned char *buf;
	size_t len;
	FILE *fp;
	long n;

	if ((fp = fopen(path, "rb")) == NULL) {
		warn("%s", path);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1) {
		warn("%s", path);
		fclose(fp);
		return -1;
	}
	len = (size_t)n;
	/* An exact-size copy, so ASan sees a read past the input. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		err(1, "malloc");
	if (len > 0 && fread(buf, 1, len, fp) != len) {
		warn("%s", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	replay_inputs++;
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static int
replay_dir(const char *path)
{
	struct dirent *de;
	char **names = NULL, *p;
	size_t n = 0, i;
	DIR *dir;
	int r = 0;

	if ((dir = opendir(path)) == NULL) {
		warn("%s", path);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((names = reallocarray(names, n + 1, sizeof(*names))) ==
		    NULL || asprintf(&p, "%s/%s", path, de->d_name) == -1)
			err(1, "malloc");
		names[n++] = p;
	}
	closedir(dir);
	/* The same order on every run. */
	qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++) {
		if (replay_file(names[i]) == -1)
			r = -1;
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char *argv[])
{
	struct stat sb;
	const char *name;
	int i, r = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == -1) {
			warn("%s", argv[i]);
			r = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			if (replay_dir(argv[i]) == -1)
				r = -1;
		} else if (replay_file(argv[i]) == -1)
			r = -1;
	}
	printf("%s: %ld inputs\n", name, replay_inputs);
	return r == 0 ? 0 : 1;
}
