/*
 * attach: the files given with -a and -i, read whole before connecting,
 * each named with its media type by libmagic (the file(1) database),
 * not by a table of extensions here.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "send-email.h"

static magic_t	attach_magic;
static size_t	attach_total;		/* bytes of every file so far */

void
attach_add(struct se_state *st, const char *path, int inline_)
{
	struct mime_part *mp;
	struct buf data = { NULL, 0, 0 };
	const char *type, *name;
	char chunk[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(EXIT_USAGE, "%s", path);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(EXIT_USAGE, "%s", path);
		if (n == 0)
			break;
		attach_total += n;
		if (attach_total > SE_BODY_MAX)
			errx(EXIT_USAGE, "%s: the files together are larger "
			    "than %d bytes", path, SE_BODY_MAX);
		if (buf_add(&data, chunk, n) == -1)
			err(EXIT_TEMP, "%s", path);
	}
	close(fd);

	if (attach_magic == NULL) {
		if ((attach_magic = magic_open(MAGIC_MIME_TYPE |
		    MAGIC_ERROR)) == NULL)
			err(EXIT_TEMP, "magic_open");
		if (magic_load(attach_magic, NULL) == -1)
			errx(EXIT_TEMP, "the magic database: %s",
			    magic_error(attach_magic));
	}
	type = magic_buffer(attach_magic, data.b_data != NULL ? data.b_data :
	    "", data.b_len);
	if (type == NULL || data.b_len == 0)
		type = "application/octet-stream";
	if (inline_ && strncmp(type, "image/", 6) != 0)
		errx(EXIT_USAGE, "-i %s: not an image (%s)", path, type);

	st->se_parts = reallocarray(st->se_parts, st->se_nparts + 1,
	    sizeof(*st->se_parts));
	if (st->se_parts == NULL)
		err(EXIT_TEMP, "%s", path);
	mp = &st->se_parts[st->se_nparts++];
	name = strrchr(path, '/');
	name = name != NULL && name[1] != '\0' ? name + 1 : path;
	if ((mp->mp_name = strdup(name)) == NULL ||
	    (mp->mp_type = strdup(type)) == NULL)
		err(EXIT_TEMP, "%s", path);
	mp->mp_data = (const unsigned char *)data.b_data;
	mp->mp_len = data.b_len;
	mp->mp_inline = inline_;
}
