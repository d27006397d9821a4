/*
 * forkd's config parser (inetd.conf(5) syntax with forkd's modes) over a
 * whole file: the input is the file, read through a memfd's path so that
 * conf_parse() reads it as it reads any. A parsed list is printed (to
 * /dev/null) and its services compared, as a reload does.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../supervisor/forkd.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static FILE *null;
	static char path[64];
	struct servtab *list, *sep;
	char err[2048];

	if (fd == -1) {
		if ((fd = memfd_create("forkd.conf", MFD_CLOEXEC)) == -1 ||
		    (null = fopen("/dev/null", "w")) == NULL)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	if (conf_parse(path, &list, err, sizeof(err)) == -1) {
		if (list != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	conf_print(null, list);
	for (sep = list; sep != NULL; sep = sep->se_next)
		(void)(conf_same_listener(sep, list) +
		    conf_same_handler(sep, list));
	conf_free(list);
	return 0;
}
