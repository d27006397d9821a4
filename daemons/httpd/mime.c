/*
 * mime: Content-Type from a file name's extension (RFC 9110 8.3), from
 * the system's mime.types(5) when present, a built-in table otherwise.
 * Loaded before the sandbox; looked up with bsearch(3) after.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

struct mime_ent {
	char	*me_ext;
	char	*me_type;
};

static const struct {
	const char	*ext;
	const char	*type;
} mime_builtin[] = {
	{ "css", "text/css" },		{ "csv", "text/csv" },
	{ "gif", "image/gif" },		{ "gz", "application/gzip" },
	{ "htm", "text/html" },		{ "html", "text/html" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "jpeg", "image/jpeg" },	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript" },	{ "json", "application/json" },
	{ "mp4", "video/mp4" },		{ "pdf", "application/pdf" },
	{ "png", "image/png" },		{ "svg", "image/svg+xml" },
	{ "tar", "application/x-tar" },	{ "txt", "text/plain" },
	{ "wasm", "application/wasm" },	{ "webp", "image/webp" },
	{ "woff", "font/woff" },	{ "woff2", "font/woff2" },
	{ "xml", "application/xml" },	{ "zip", "application/zip" },
};

#define MIME_DEFAULT	"application/octet-stream"
#define MIME_MAX	4096	/* extensions kept from the file */

static struct mime_ent	*mime_tab;
static size_t		 mime_n;

static int	mime_cmp(const void *, const void *);
static void	mime_add(const char *, const char *);

static int
mime_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct mime_ent *)a)->me_ext,
	    ((const struct mime_ent *)b)->me_ext);
}

static void
mime_add(const char *ext, const char *type)
{
	struct mime_ent *n;

	if (mime_n >= MIME_MAX)
		return;
	if ((n = reallocarray(mime_tab, mime_n + 1, sizeof(*n))) == NULL)
		return;
	mime_tab = n;
	if ((n[mime_n].me_ext = strdup(ext)) == NULL ||
	    (n[mime_n].me_type = strdup(type)) == NULL) {
		free(n[mime_n].me_ext);
		return;
	}
	mime_n++;
}

void
mime_init(const char *file)
{
	FILE *fp;
	char line[1024], *p, *type, *ext;
	size_t i, j;

	if ((fp = fopen(file, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			if ((p = strchr(line, '#')) != NULL)
				*p = '\0';
			p = line;
			if ((type = strsep(&p, " \t\r\n")) == NULL ||
			    *type == '\0' || strchr(type, '/') == NULL)
				continue;
			while ((ext = strsep(&p, " \t\r\n")) != NULL)
				if (*ext != '\0')
					mime_add(ext, type);
		}
		fclose(fp);
	} else
		log_debug("mime: %s: using the built-in table", file);
	/* The built-in table fills what the file did not name. */
	for (i = 0; i < sizeof(mime_builtin) / sizeof(mime_builtin[0]); i++) {
		for (j = 0; j < mime_n; j++)
			if (strcasecmp(mime_tab[j].me_ext,
			    mime_builtin[i].ext) == 0)
				break;
		if (j == mime_n)
			mime_add(mime_builtin[i].ext, mime_builtin[i].type);
	}
	if (mime_n > 0)
		qsort(mime_tab, mime_n, sizeof(*mime_tab), mime_cmp);
}

const char *
mime_type(const char *name)
{
	struct mime_ent key, *e;
	const char *dot, *slash;

	slash = strrchr(name, '/');
	dot = strrchr(name, '.');
	if (dot == NULL || (slash != NULL && dot < slash) || dot[1] == '\0')
		return MIME_DEFAULT;
	key.me_ext = (char *)(dot + 1);
	key.me_type = NULL;
	if (mime_n == 0 || (e = bsearch(&key, mime_tab, mime_n,
	    sizeof(*mime_tab), mime_cmp)) == NULL)
		return MIME_DEFAULT;
	return e->me_type;
}
