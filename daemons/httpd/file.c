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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "httpd.h"

static int	file_open(int, const char *, int);
static int	file_errno_status(int);
static void	file_encode(const char *, char *, size_t);
static int	file_range(const struct http_field *, off_t, off_t *, off_t *);
static int	file_extra(struct file_reply *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

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
 * Append a header line. Returns 0, or -1 when it does not fit: then
 * nothing is appended, as a cut line would lose its CRLF and run into
 * the fields after it.
 */
static int
file_extra(struct file_reply *fr, const char *fmt, ...)
{
	size_t len = strlen(fr->fr_extra);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(fr->fr_extra + len, sizeof(fr->fr_extra) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(fr->fr_extra) - len) {
		fr->fr_extra[len] = '\0';
		return -1;
	}
	return 0;
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

/*
 * One "bytes=" range against a representation of size bytes (RFC 9110
 * 14.1.2). Returns 1 with *first and *last set, 0 to ignore the field (bad
 * syntax, another unit, several ranges), -1 when unsatisfiable (416).
 */
static int
file_range(const struct http_field *f, off_t size, off_t *first,
    off_t *last)
{
	const char *p = f->f_value, *e = f->f_value + f->f_valuelen;
	long long a = -1, b = -1;
	int digits;

	if (f->f_valuelen < 7 || strncasecmp(p, "bytes=", 6) != 0)
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

void
file_serve(struct httpd *h, const struct http_request *r,
    struct file_reply *fr)
{
	const struct http_field *f;
	struct stat st;
	char lm[64], loc[HTTPD_PATH_MAX * 3 + 2], idx[HTTPD_PATH_MAX + 16];
	const char *rel = r->r_path + 1, *name = r->r_path;
	off_t first, last;
	time_t ims;
	int fd, dfd, rg;

	fr->fr_fd = -1;
	fr->fr_cache = NULL;
	fr->fr_body = NULL;
	fr->fr_off = fr->fr_len = 0;
	fr->fr_extra[0] = '\0';
	if (*rel == '\0')
		rel = ".";
	/* Dotfiles (-D allows them) are as absent as they look. */
	if (!h->h_dotfiles && req_path_hidden(r->r_path, 1)) {
		fr->fr_status = 404;
		return;
	}
	if (fcache_lookup(h, r, fr))
		return;

	/* O_PATH first: no open(2) side effects on a FIFO or a device. */
	if ((fd = file_open(h->h_rootfd, rel, O_PATH)) == -1) {
		fr->fr_status = file_errno_status(errno);
		return;
	}
	if (fstat(fd, &st) == -1) {
		fr->fr_status = 500;
		close(fd);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!r->r_slash) {
			/* The slash form, so relative links resolve. */
			file_encode(r->r_path, loc, sizeof(loc) - 1);
			fr->fr_status = 301;
			/* A long path or query: too long to redirect to. */
			if (file_extra(fr, "Location: %s/%s%s\r\n", loc,
			    r->r_hasquery ? "?" : "", r->r_query) == -1)
				fr->fr_status = 414;
			close(fd);
			return;
		}
		dfd = fd;
		fd = file_open(dfd, "index.html", O_PATH);
		close(dfd);
		if (fd == -1) {
			/* No index: no listing either. */
			fr->fr_status = errno == ENOENT ? 403 :
			    file_errno_status(errno);
			return;
		}
		if (fstat(fd, &st) == -1) {
			fr->fr_status = 500;
			close(fd);
			return;
		}
		name = "index.html";
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		fr->fr_status = 403;
		return;
	}

	resp_date(st.st_mtime, lm, sizeof(lm));
	/* If-Modified-Since (RFC 9110 13.1.3): GET and HEAD only. */
	if ((f = req_field(r, "If-Modified-Since")) != NULL &&
	    req_field(r, "If-None-Match") == NULL &&
	    (ims = resp_parse_date(f->f_value, f->f_valuelen)) != -1 &&
	    st.st_mtime <= ims) {
		fr->fr_status = 304;
		file_extra(fr, "Last-Modified: %s\r\n", lm);
		return;
	}

	fr->fr_status = 200;
	fr->fr_off = 0;
	fr->fr_len = st.st_size;
	/*
	 * Range applies to GET only (RFC 9110 14.2); If-Range with a date
	 * must match Last-Modified exactly, otherwise send it all.
	 */
	if ((f = req_field(r, "Range")) != NULL &&
	    strcmp(r->r_method, "GET") == 0) {
		const struct http_field *ir = req_field(r, "If-Range");

		if (ir == NULL || (ir->f_valuelen == strlen(lm) &&
		    memcmp(ir->f_value, lm, ir->f_valuelen) == 0)) {
			rg = file_range(f, st.st_size, &first, &last);
			if (rg == -1) {
				fr->fr_status = 416;
				file_extra(fr, "Content-Range: bytes */%lld\r\n",
				    (long long)st.st_size);
				return;
			}
			if (rg == 1) {
				fr->fr_status = 206;
				fr->fr_off = first;
				fr->fr_len = last - first + 1;
				file_extra(fr, "Content-Range: bytes "
				    "%lld-%lld/%lld\r\n", (long long)first,
				    (long long)last, (long long)st.st_size);
			}
		}
	}
	file_extra(fr, "Content-Type: %s\r\nContent-Length: %lld\r\n"
	    "Last-Modified: %s\r\nAccept-Ranges: bytes\r\n",
	    mime_type(name), (long long)fr->fr_len, lm);

	if (strcmp(r->r_method, "HEAD") == 0)
		return;
	/* Now open it for reading, by the same path, still beneath. */
	if (name != r->r_path) {
		snprintf(idx, sizeof(idx), "%sindex.html", r->r_path + 1);
		rel = idx;
	}
	fd = file_open(h->h_rootfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fr->fr_status = fd == -1 ? file_errno_status(errno) : 403;
		fr->fr_extra[0] = '\0';
		if (fd != -1)
			close(fd);
		return;
	}
	fr->fr_fd = fd;
	fcache_insert(r, rel, fr, &st);
}
