/*
 * file: a static GET or HEAD below the document root: the file or a
 * directory's index.html, conditional requests (RFC 9110 13.1.3) and a
 * single byte range (RFC 9110 14).
 *
 * Every open is openat2(2) on the root's fd with RESOLVE_BENEATH, so
 * neither ".." nor a symlink can reach outside the root whatever the
 * path parsing let through. Debian 12's glibc has no wrapper for it.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "httpd.h"

static int	file_open(int, const char *, int);
static int	file_errno_status(int);
static void	file_encode(const char *, char *, size_t);
static int	file_redirect(const struct http_request *, struct file_reply *);
static int	file_find(struct httpd *, const struct http_request *,
		    struct file_reply *, struct stat *);
static int	file_validate(const struct http_request *, struct file_reply *,
		    const struct stat *);
static void	file_open_body(struct httpd *, const struct http_request *,
		    struct file_reply *);

/* openat2 beneath dirfd; a fd or -1 with errno (EXDEV: an escape). */
static int
file_open(int dirfd, const char *rel, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	/* openat2 refuses O_PATH with any flag but these (EINVAL). */
	how.flags = flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

static int
file_errno_status(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:
	case EXDEV:	/* RESOLVE_BENEATH: the path would leave the root */
	case ELOOP:
		return 403;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return 503;
	default:
		return 500;
	}
}

/*
 * Percent-encode a decoded path for a Location field (RFC 3986 2.1):
 * everything but unreserved characters, sub-delims, ':', '@' and '/'.
 * The path was normalised, so it cannot start with "//".
 */
static void
file_encode(const char *s, char *dst, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char c;

	for (; *s != '\0' && o + 4 < len; s++) {
		c = *s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/",
		    c) != NULL)
			dst[o++] = c;
		else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
}

int
file_range(const char *v, size_t vlen, off_t size, off_t *first,
    off_t *last)
{
	const char *p = v, *e = v + vlen;
	long long a = -1, b = -1;
	int digits;

	if (vlen < 7 || strncasecmp(p, "bytes=", 6) != 0)
		return 0;
	p += 6;
	if (memchr(p, ',', e - p) != NULL)
		return 0;	/* a single range only: serve it all */
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	for (digits = 0; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits > 17)
			return 0;
		a = (a == -1 ? 0 : a * 10) + (*p - '0');
	}
	if (p >= e || *p != '-')
		return 0;
	p++;
	for (digits = 0; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits > 17)
			return 0;
		b = (b == -1 ? 0 : b * 10) + (*p - '0');
	}
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p != e || (a == -1 && b == -1))
		return 0;
	if (a == -1) {
		/* suffix-range: the last b bytes. */
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (b != -1 && b < a)
		return 0;
	if (a >= size)
		return -1;
	*first = a;
	*last = (b == -1 || b >= size) ? size - 1 : b;
	return 1;
}

/*
 * A directory named without its slash: 301 to the slash form, so that
 * relative links resolve; 414 when the path and query are too long to
 * redirect to. Returns -1 (fr answered).
 */
static int
file_redirect(const struct http_request *r, struct file_reply *fr)
{
	char loc[HTTPD_PATH_MAX * 3 + 2];
	int n;

	file_encode(r->r_path, loc, sizeof(loc) - 1);
	n = snprintf(fr->fr_location, sizeof(fr->fr_location), "%s/%s%s",
	    loc, r->r_hasquery ? "?" : "", r->r_query);
	fr->fr_status = 301;
	if (n < 0 || (size_t)n >= sizeof(fr->fr_location)) {
		fr->fr_location[0] = '\0';
		fr->fr_status = 414;
	}
	return -1;
}

/*
 * What r's path names beneath the root: a regular file, or a directory's
 * index.html, its fstat in *st and fr_type set by its name. O_PATH
 * first: no open(2) side effects on a FIFO or a device. Returns 0, or
 * -1 with fr_status the answer (301, 403, 404, 500...).
 */
static int
file_find(struct httpd *h, const struct http_request *r,
    struct file_reply *fr, struct stat *st)
{
	const char *rel = r->r_path[1] == '\0' ? "." : r->r_path + 1;
	const char *name = r->r_path;
	int fd, dfd;

	if ((fd = file_open(h->h_rootfd, rel, O_PATH)) == -1) {
		fr->fr_status = file_errno_status(errno);
		return -1;
	}
	if (fstat(fd, st) == -1) {
		fr->fr_status = 500;
		close(fd);
		return -1;
	}
	if (S_ISDIR(st->st_mode)) {
		if (!r->r_slash) {
			close(fd);
			return file_redirect(r, fr);
		}
		dfd = fd;
		fd = file_open(dfd, "index.html", O_PATH);
		close(dfd);
		if (fd == -1) {
			/* No index: no listing either. */
			fr->fr_status = errno == ENOENT ? 403 :
			    file_errno_status(errno);
			return -1;
		}
		if (fstat(fd, st) == -1) {
			fr->fr_status = 500;
			close(fd);
			return -1;
		}
		name = "index.html";
	}
	close(fd);
	if (!S_ISREG(st->st_mode)) {
		fr->fr_status = 403;
		return -1;
	}
	fr->fr_type = mime_type(name);
	fr->fr_size = st->st_size;
	fr->fr_mtime = st->st_mtime;
	return 0;
}

/*
 * The file's answer by the request's conditions: 304 for
 * If-Modified-Since (RFC 9110 13.1.3, GET and HEAD only), 206 or 416 for
 * Range (GET only, RFC 9110 14.2; If-Range with a date must match
 * Last-Modified exactly, otherwise it is sent all), 200 otherwise.
 * Returns 0 when a body follows, -1 when fr is answered.
 */
static int
file_validate(const struct http_request *r, struct file_reply *fr,
    const struct stat *st)
{
	const struct http_field *f, *ir;
	char lm[HTTP_DATE_LEN + 1];
	off_t first, last;
	time_t ims;
	int rg;

	if ((f = r->r_ims) != NULL && r->r_inm == NULL &&
	    (ims = http_date_parse(f->f_value, f->f_valuelen)) != -1 &&
	    st->st_mtime <= ims) {
		fr->fr_status = 304;
		return -1;
	}
	fr->fr_status = 200;
	fr->fr_off = 0;
	fr->fr_len = st->st_size;
	if ((f = r->r_range) == NULL ||
	    strcmp(r->r_method, "GET") != 0)
		return 0;
	if ((ir = r->r_ifrange) != NULL) {
		http_date_fmt(st->st_mtime, lm, sizeof(lm));
		if (ir->f_valuelen != strlen(lm) ||
		    memcmp(ir->f_value, lm, ir->f_valuelen) != 0)
			return 0;
	}
	rg = file_range(f->f_value, f->f_valuelen, st->st_size, &first,
	    &last);
	if (rg == -1) {
		fr->fr_status = 416;
		return -1;
	}
	if (rg == 1) {
		fr->fr_status = 206;
		fr->fr_off = first;
		fr->fr_len = last - first + 1;
	}
	return 0;
}

/*
 * Open the file found for reading, by the same path, still beneath the
 * root, and offer it to the cache. A file that changed into something
 * else meanwhile is answered as that.
 */
static void
file_open_body(struct httpd *h, const struct http_request *r,
    struct file_reply *fr)
{
	char idx[HTTPD_PATH_MAX + 16];
	const char *rel = r->r_path[1] == '\0' ? "." : r->r_path + 1;
	struct stat st;
	int fd;

	if (r->r_slash) {
		/* The directory's index, as file_find() found it. */
		snprintf(idx, sizeof(idx), "%sindex.html", r->r_path + 1);
		rel = idx;
	}
	fd = file_open(h->h_rootfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fr->fr_status = fd == -1 ? file_errno_status(errno) : 403;
		if (fd != -1)
			close(fd);
		return;
	}
	fr->fr_fd = fd;
	fcache_insert(r, rel, fr, &st);
}

void
file_serve(struct httpd *h, const struct http_request *r,
    struct file_reply *fr)
{
	struct stat st;

	memset(fr, 0, offsetof(struct file_reply, fr_location));
	fr->fr_location[0] = '\0';
	fr->fr_fd = -1;
	/* Dotfiles (-D allows them) are as absent as they look. */
	if (!h->h_dotfiles && r->r_hidden) {
		fr->fr_status = 404;
		return;
	}
	if (fcache_lookup(h, r, fr))
		return;
	if (file_find(h, r, fr, &st) == -1 || file_validate(r, fr, &st) == -1)
		return;
	if (strcmp(r->r_method, "HEAD") != 0)
		file_open_body(h, r, fr);
}
