/*
 * request: parsing of an HTTP/1.x request head (RFC 9112 sections 2-6)
 * and of the request-target's path (RFC 3986).
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

static int	req_is_tchar(int);
static int	req_is_token(const char *, size_t);
static const char *req_eol(const char *, const char *, size_t *);
static int	req_line(const char *, size_t, struct http_request *);
static int	req_target(const char *, size_t, struct http_request *);
static void	req_known(struct http_request *, const struct http_field *);
static int	req_semantics(struct http_request *);

/* tchar of RFC 9110 5.6.2. */
static int
req_is_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static int
req_is_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!req_is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * The end of the line starting at p, before end: returns the LF and
 * sets *linelen to the line's length without CR LF. A bare LF ends a
 * line too (RFC 9112 2.2: a recipient MAY recognise it). NULL: no LF yet.
 */
static const char *
req_eol(const char *p, const char *end, size_t *linelen)
{
	const char *lf;

	if ((lf = memchr(p, '\n', end - p)) == NULL)
		return NULL;
	*linelen = lf - p;
	if (*linelen > 0 && p[*linelen - 1] == '\r')
		(*linelen)--;
	return lf;
}

int
req_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A dotfile is a name the site's owner keeps for tools, not visitors:
 * .htpasswd, .git/, .env. RFC 8615 reserves /.well-known/ for what a
 * site publishes on purpose (ACME challenges, security.txt).
 */
int
req_path_hidden(const char *path, int wellknown)
{
	const char *p;

	if (wellknown && strncmp(path, "/.well-known", 12) == 0 &&
	    (path[12] == '/' || path[12] == '\0'))
		path += 12;
	for (p = path; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] == '.')
			return 1;
	return 0;
}

int
req_path_decode(const char *src, size_t srclen, char *dst, size_t dstsize)
{
	char dec[HTTPD_PATH_MAX];
	size_t i, n = 0, o, seg, segstart;
	int hi, lo, c, trailing;

	if (srclen == 0 || src[0] != '/')
		return -1;
	/* Percent-decode once (RFC 3986 2.1). */
	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		if (c == '%') {
			if (i + 2 >= srclen)
				return -1;
			if ((hi = req_hex((unsigned char)src[i + 1])) == -1 ||
			    (lo = req_hex((unsigned char)src[i + 2])) == -1)
				return -1;
			c = hi * 16 + lo;
			i += 2;
			/*
			 * An encoded NUL would cut the path; an encoded '/'
			 * would be a separator the client hid from the
			 * dot-segment removal below: refuse both.
			 */
			if (c == 0 || c == '/')
				return -1;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (n + 1 >= sizeof(dec))
			return -2;
		dec[n++] = c;
	}
	dec[n] = '\0';

	/*
	 * Remove dot-segments (RFC 3986 5.2.4) on the decoded path, so that
	 * "%2e%2e" counts as "..": a ".." above the root stays at the root.
	 * Empty segments ("//") are dropped as well.
	 */
	o = 0;
	trailing = 0;
	i = 0;
	while (i < n) {
		while (i < n && dec[i] == '/')
			i++;
		if (i == n) {
			trailing = 1;	/* the path ended in '/' */
			break;
		}
		segstart = i;
		while (i < n && dec[i] != '/')
			i++;
		seg = i - segstart;
		trailing = 0;
		if (seg == 1 && dec[segstart] == '.') {
			trailing = (i == n);
			continue;
		}
		if (seg == 2 && dec[segstart] == '.' && dec[segstart + 1] == '.') {
			while (o > 0 && dst[o - 1] != '/')
				o--;
			if (o > 0)
				o--;	/* the '/' before the popped segment */
			trailing = (i == n);
			continue;
		}
		if (o + 1 + seg + 2 > dstsize)
			return -2;
		dst[o++] = '/';
		memcpy(dst + o, dec + segstart, seg);
		o += seg;
	}
	if (o == 0 || trailing) {
		if (o + 2 > dstsize)
			return -1;
		dst[o++] = '/';
	}
	dst[o] = '\0';
	return 0;
}

/* The request-target (RFC 9112 3.2): origin-form or absolute-form. */
static int
req_target(const char *t, size_t len, struct http_request *r)
{
	const char *q, *path = t;
	size_t i, pathlen;

	for (i = 0; i < len; i++) {
		unsigned char c = t[i];
		/* No CTL, no raw non-ASCII, no fragment (RFC 9112 3.2). */
		if (c < 0x21 || c >= 0x7f || c == '#')
			return 400;
	}
	if (len == 1 && t[0] == '*') {
		/* asterisk-form: only for OPTIONS, which is answered 405. */
		strlcpy(r->r_path, "*", sizeof(r->r_path));
		return REQ_OK;
	}
	if (len > 7 && (strncasecmp(t, "http://", 7) == 0 ||
	    (len > 8 && strncasecmp(t, "https://", 8) == 0))) {
		/*
		 * absolute-form (3.2.2): the path is after the authority,
		 * which ends at '/' or '?'. An empty path is "/" (RFC 9110
		 * 4.2.3), with the query kept.
		 */
		const char *a = memchr(t, '/', len), *e;
		a += 2;
		for (e = a; e < t + len && *e != '/' && *e != '?'; e++)
			;
		if (e == t + len || *e == '?') {
			r->r_slash = 1;
			strlcpy(r->r_path, "/", sizeof(r->r_path));
			if (e == t + len)
				return REQ_OK;
			if ((size_t)(t + len - e - 1) >= sizeof(r->r_query))
				return 414;
			memcpy(r->r_query, e + 1, t + len - e - 1);
			r->r_query[t + len - e - 1] = '\0';
			r->r_hasquery = 1;
			return REQ_OK;
		}
		path = e;
		len -= path - t;
	} else if (t[0] != '/')
		return 400;
	pathlen = len;
	if ((q = memchr(path, '?', len)) != NULL) {
		pathlen = q - path;
		if (len - pathlen - 1 >= sizeof(r->r_query))
			return 414;
		memcpy(r->r_query, q + 1, len - pathlen - 1);
		r->r_query[len - pathlen - 1] = '\0';
		r->r_hasquery = 1;
	}
	switch (req_path_decode(path, pathlen, r->r_path, sizeof(r->r_path))) {
	case 0:
		break;
	case -2:
		return 414;	/* longer than any path we serve */
	default:
		return 400;
	}
	r->r_slash = r->r_path[strlen(r->r_path) - 1] == '/';
	r->r_hidden = req_path_hidden(r->r_path, 1);
	return REQ_OK;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 3). */
static int
req_line(const char *line, size_t len, struct http_request *r)
{
	const char *sp1, *sp2, *v;
	size_t mlen, vlen;

	r->r_reqline = line;
	r->r_reqlinelen = len;
	if ((sp1 = memchr(line, ' ', len)) == NULL)
		return 400;
	mlen = sp1 - line;
	if (!req_is_token(line, mlen))
		return 400;
	if (mlen >= sizeof(r->r_method))
		return 501;
	memcpy(r->r_method, line, mlen);
	r->r_method[mlen] = '\0';
	r->r_target = sp1 + 1;
	sp2 = memchr(sp1 + 1, ' ', len - mlen - 1);
	if (sp2 == NULL) {
		/*
		 * No version: an HTTP/0.9 simple request (RFC 1945 4.1),
		 * "GET /" as typed into telnet. Only GET.
		 */
		r->r_targetlen = len - mlen - 1;
		/* Anything else is a 1.x request missing its version. */
		if (strcmp(r->r_method, "GET") != 0)
			return 400;
		r->r_version = HTTP_09;
		if (r->r_targetlen == 0)
			return 400;
		return req_target(r->r_target, r->r_targetlen, r);
	}
	r->r_targetlen = sp2 - r->r_target;
	v = sp2 + 1;
	vlen = line + len - v;
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (2.3). */
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7]))
		return 400;
	r->r_version = v[7] == '0' ? HTTP_10 : HTTP_11;
	if (v[5] != '1') {
		r->r_version = HTTP_10;
		return 505;
	}
	if (r->r_targetlen == 0)
		return 400;
	return req_target(r->r_target, r->r_targetlen, r);
}

const struct http_field *
req_field(const struct http_request *r, const char *name)
{
	size_t len = strlen(name);
	int i;

	for (i = 0; i < r->r_nfields; i++)
		if (r->r_fields[i].f_namelen == len &&
		    strncasecmp(r->r_fields[i].f_name, name, len) == 0)
			return &r->r_fields[i];
	return NULL;
}

int
req_has_token(const char *v, size_t vlen, const char *tok)
{
	size_t toklen = strlen(tok), i = 0, s, e;

	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < vlen && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == toklen && strncasecmp(v + s, tok, toklen) == 0)
			return 1;
	}
	return 0;
}

/*
 * Keep f when it is the first of a field the server reads later (the
 * log, conditional and range requests), so none is looked for again.
 */
static void
req_known(struct http_request *r, const struct http_field *f)
{
#define REQ_KNOWN(name, member) \
	{ name, sizeof(name) - 1, offsetof(struct http_request, member) }
	static const struct {
		const char	*name;
		size_t		 len;
		size_t		 off;
	} known[] = {
		REQ_KNOWN("Referer", r_referer),
		REQ_KNOWN("User-Agent", r_agent),
		REQ_KNOWN("Range", r_range),
		REQ_KNOWN("If-Range", r_ifrange),
		REQ_KNOWN("If-Modified-Since", r_ims),
		REQ_KNOWN("If-None-Match", r_inm),
		REQ_KNOWN("Host", r_host),
		REQ_KNOWN("Expect", r_expect),
		REQ_KNOWN("Content-Type", r_ctype),
	};
	const struct http_field **slot;
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (f->f_namelen != known[i].len ||
		    strncasecmp(f->f_name, known[i].name, f->f_namelen) != 0)
			continue;
		slot = (const struct http_field **)((char *)r + known[i].off);
		if (*slot == NULL)
			*slot = f;
		return;
	}
}

/* What the header fields mean for framing and the connection. */
static int
req_semantics(struct http_request *r)
{
	const struct http_field *f;
	const char *v;
	long long clen;
	size_t j;
	const struct http_field *tef = NULL;
	int i, hosts = 0, te = 0;

	r->r_clen = -1;
	for (i = 0; i < r->r_nfields; i++) {
		f = &r->r_fields[i];
		if (f->f_namelen == 4 &&
		    strncasecmp(f->f_name, "Host", 4) == 0) {
			/*
			 * Host = uri-host [ ":" port ] (RFC 9110 7.2); an
			 * invalid value is 400 (RFC 9112 3.2). It reaches
			 * CGI scripts as SERVER_NAME: no '/', '@' or spaces.
			 */
			for (j = 0; j < f->f_valuelen; j++)
				if (!isalnum((unsigned char)f->f_value[j]) &&
				    strchr("-._~%!$&'()*+,;=:[]",
				    f->f_value[j]) == NULL)
					return 400;
			hosts++;
		} else if (f->f_namelen == 17 &&
		    strncasecmp(f->f_name, "Transfer-Encoding", 17) == 0) {
			te++;
			tef = f;
		}
		else if (f->f_namelen == 14 &&
		    strncasecmp(f->f_name, "Content-Length", 14) == 0) {
			/* 1*DIGIT; repeated values must agree (RFC 9112 6.3). */
			v = f->f_value;
			if (f->f_valuelen == 0 || f->f_valuelen > 15)
				return f->f_valuelen > 15 ? 413 : 400;
			clen = 0;
			for (j = 0; j < f->f_valuelen; j++) {
				if (!isdigit((unsigned char)v[j]))
					return 400;
				clen = clen * 10 + (v[j] - '0');
			}
			if (r->r_clen != -1 && r->r_clen != clen)
				return 400;
			r->r_clen = clen;
		}
	}
	/* RFC 9112 3.2: a 1.1 request without Host, or with two: 400. */
	if (hosts > 1 || (hosts == 0 && r->r_version == HTTP_11))
		return 400;
	/*
	 * Content-Length with Transfer-Encoding is how requests get
	 * smuggled past proxies (RFC 9112 6.1): 400. So is
	 * Transfer-Encoding in HTTP/1.0, which had none: its framing is
	 * faulty (6.1). Of the codings, chunked alone is understood
	 * (7.1); any other, or chunked twice or not last, is 501 (6.1).
	 */
	if (te && r->r_clen != -1)
		return 400;
	if (te && r->r_version != HTTP_11)
		return 400;
	if (te) {
		if (te > 1 || tef->f_valuelen != 7 ||
		    strncasecmp(tef->f_value, "chunked", 7) != 0)
			return 501;
		r->r_chunked = 1;
	}
	f = req_field(r, "Connection");
	if (r->r_version == HTTP_11)
		r->r_keepalive = !(f != NULL &&
		    req_has_token(f->f_value, f->f_valuelen, "close"));
	else
		r->r_keepalive = f != NULL &&
		    req_has_token(f->f_value, f->f_valuelen, "keep-alive");
	return REQ_OK;
}

int
req_parse(const char *buf, size_t len, struct http_request *r)
{
	const char *p = buf, *end = buf + len, *lf, *colon, *v, *ve;
	struct http_field *f;
	size_t linelen;
	int st;

	memset(r, 0, offsetof(struct http_request, r_path));
	r->r_path[0] = r->r_query[0] = '\0';
	r->r_reqline = NULL;
	r->r_reqlinelen = 0;
	r->r_referer = r->r_agent = r->r_range = r->r_ifrange = NULL;
	r->r_ims = r->r_inm = NULL;
	r->r_host = r->r_expect = r->r_ctype = NULL;
	r->r_nfields = 0;
	r->r_hasquery = r->r_keepalive = r->r_slash = r->r_hidden = 0;
	r->r_clen = -1;
	r->r_chunked = 0;
	r->r_version = HTTP_10;

	/* RFC 9112 2.2: ignore empty lines before the request-line. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if ((lf = req_eol(p, end, &linelen)) == NULL) {
		if ((size_t)(end - p) > HTTPD_LINE_MAX)
			return 414;
		return len >= HTTPD_HEAD_MAX ? 431 : REQ_INCOMPLETE;
	}
	if (linelen > HTTPD_LINE_MAX) {
		/* Its start is enough for the log. */
		r->r_reqline = p;
		r->r_reqlinelen = 64;
		return 414;
	}
	if ((st = req_line(p, linelen, r)) != REQ_OK || r->r_version == HTTP_09) {
		r->r_headlen = lf + 1 - buf;
		return st;
	}
	p = lf + 1;
	for (;;) {
		if ((lf = req_eol(p, end, &linelen)) == NULL)
			return len >= HTTPD_HEAD_MAX ? 431 : REQ_INCOMPLETE;
		if ((size_t)(lf + 1 - buf) > HTTPD_HEAD_MAX)
			return 431;
		if (linelen == 0)
			break;
		/* obs-fold (RFC 9112 5.2) and whitespace before ':' (5.1). */
		if (*p == ' ' || *p == '\t')
			return 400;
		if ((colon = memchr(p, ':', linelen)) == NULL ||
		    !req_is_token(p, colon - p))
			return 400;
		if (r->r_nfields >= HTTPD_HEADERS_MAX)
			return 431;
		v = colon + 1;
		ve = p + linelen;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		/* CTLs but HTAB: 400; obs-text (0x80-0xff) is opaque (5.5). */
		for (const char *c = v; c < ve; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') ||
			    *c == 0x7f)
				return 400;
		f = &r->r_fields[r->r_nfields++];
		f->f_name = p;
		f->f_namelen = colon - p;
		f->f_value = v;
		f->f_valuelen = ve - v;
		req_known(r, f);
		p = lf + 1;
	}
	r->r_headlen = lf + 1 - buf;
	return req_semantics(r);
}
