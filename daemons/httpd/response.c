/*
 * response: status lines, header sections and error pages (RFC 9110
 * sections 6.6.1, 15) and the access log line.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <vis.h>

#include "httpd.h"

static const struct {
	int		 status;
	const char	*reason;
	const char	*text;		/* the error page's sentence */
} resp_table[] = {
	{ 200, "OK", NULL },
	{ 206, "Partial Content", NULL },
	{ 301, "Moved Permanently", "The document has moved." },
	{ 302, "Found", "The document has moved." },
	{ 304, "Not Modified", NULL },
	{ 400, "Bad Request", "The request could not be understood." },
	{ 403, "Forbidden", "You are not allowed to access this resource." },
	{ 404, "Not Found", "The requested resource was not found here." },
	{ 405, "Method Not Allowed",
	    "The method is not allowed for this resource." },
	{ 408, "Request Timeout",
	    "The request did not arrive in time." },
	{ 413, "Content Too Large", "The request body is too large." },
	{ 414, "URI Too Long", "The request-target is too long." },
	{ 416, "Range Not Satisfiable",
	    "The requested range is not satisfiable." },
	{ 431, "Request Header Fields Too Large",
	    "The request header fields are too large." },
	{ 500, "Internal Server Error", "The server failed to answer." },
	{ 501, "Not Implemented",
	    "The server does not implement this request." },
	{ 502, "Bad Gateway", "The CGI script gave no valid answer." },
	{ 503, "Service Unavailable",
	    "The server is too busy; try again later." },
	{ 504, "Gateway Timeout", "The CGI script did not answer in time." },
	{ 505, "HTTP Version Not Supported",
	    "Only HTTP/1.0 and HTTP/1.1 are served here." },
};

static int	resp_index(int);

static int	resp_log_on = 1;	/* -L turns the access log off */

static int
resp_index(int status)
{
	size_t i;

	for (i = 0; i < sizeof(resp_table) / sizeof(resp_table[0]); i++)
		if (resp_table[i].status == status)
			return i;
	return -1;
}

const char *
resp_reason(int status)
{
	int i = resp_index(status);

	return i == -1 ? "Unknown" : resp_table[i].reason;
}

int
resp_head(char *buf, size_t len, int version, int status, int keepalive,
    const char *extra)
{
	return resp_head_reason(buf, len, version, status, resp_reason(status),
	    keepalive, extra);
}

int
resp_head_reason(char *buf, size_t len, int version, int status,
    const char *reason, int keepalive, const char *extra)
{
	static const char server[] = "Server: forkd-httpd\r\n";
	const char *conn;
	size_t rl, cl, el, need;
	char *p = buf;

	/*
	 * A 1.1 server answers a 1.0 client with "HTTP/1.1" (RFC 9110 2.5);
	 * persistence is then said with Connection (RFC 9112 9.3). Built
	 * with memcpy, not snprintf(3): this runs for every response.
	 */
	conn = keepalive ? (version == HTTP_10 ? "Connection: keep-alive\r\n" :
	    "") : "Connection: close\r\n";
	if (status < 100 || status > 999)
		return -1;
	rl = strlen(reason);
	cl = strlen(conn);
	el = extra != NULL ? strlen(extra) : 0;
	need = 13 + rl + 2 + 6 + HTTP_DATE_LEN + 2 + sizeof(server) - 1 +
	    cl + el + 2;
	if (need >= len)
		return -1;
	memcpy(p, "HTTP/1.1 ", 9);
	p[9] = '0' + status / 100;
	p[10] = '0' + status / 10 % 10;
	p[11] = '0' + status % 10;
	p[12] = ' ';
	p += 13;
	memcpy(p, reason, rl);
	p += rl;
	memcpy(p, "\r\nDate: ", 8);
	p += 8;
	memcpy(p, http_date_now(), HTTP_DATE_LEN);
	p += HTTP_DATE_LEN;
	memcpy(p, "\r\n", 2);
	p += 2;
	memcpy(p, server, sizeof(server) - 1);
	p += sizeof(server) - 1;
	memcpy(p, conn, cl);
	p += cl;
	if (el > 0)
		memcpy(p, extra, el);
	p += el;
	memcpy(p, "\r\n", 3);
	return (int)need;
}

/* s (n bytes) at p; returns the end. */
static char *
resp_cpy(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The decimal digits of v (>= 0) at p; returns the end. */
static char *
resp_num(char *p, long long v)
{
	char d[24], *q = d + sizeof(d);

	do
		*--q = '0' + v % 10;
	while ((v /= 10) > 0);
	return resp_cpy(p, q, d + sizeof(d) - q);
}

/* "Last-Modified: " and the IMF-fixdate of t; one file's is kept. */
static char *
resp_lastmod(char *p, time_t t)
{
	static char date[HTTP_DATE_LEN + 1];
	static time_t when = -1;

	if (t != when) {
		http_date_fmt(t, date, sizeof(date));
		when = t;
	}
	p = resp_cpy(p, "Last-Modified: ", 15);
	p = resp_cpy(p, date, strlen(date));
	return resp_cpy(p, "\r\n", 2);
}

int
resp_file_fields(char *buf, size_t len, const struct file_reply *fr)
{
	/*
	 * A 301 is its Location line alone ("Location: " CRLF, 12 bytes);
	 * the others are fixed parts, three numbers and a date, under 256
	 * bytes with the type. The NUL is counted.
	 */
	size_t tl = fr->fr_type != NULL ? strlen(fr->fr_type) : 0;
	size_t need = fr->fr_status == 301 ?
	    strlen(fr->fr_location) + 12 + 1 : tl + 256;
	char *p = buf;

	if (need > len)
		return -1;
	switch (fr->fr_status) {
	case 301:
		p = resp_cpy(p, "Location: ", 10);
		p = resp_cpy(p, fr->fr_location, strlen(fr->fr_location));
		p = resp_cpy(p, "\r\n", 2);
		break;
	case 304:
		p = resp_lastmod(p, fr->fr_mtime);
		break;
	case 416:
		p = resp_cpy(p, "Content-Range: bytes */", 23);
		p = resp_num(p, fr->fr_size);
		p = resp_cpy(p, "\r\n", 2);
		break;
	case 206:
		p = resp_cpy(p, "Content-Range: bytes ", 21);
		p = resp_num(p, fr->fr_off);
		*p++ = '-';
		p = resp_num(p, fr->fr_off + fr->fr_len - 1);
		*p++ = '/';
		p = resp_num(p, fr->fr_size);
		p = resp_cpy(p, "\r\n", 2);
		/* FALLTHROUGH */
	case 200:
		p = resp_cpy(p, "Content-Type: ", 14);
		p = resp_cpy(p, fr->fr_type, tl);
		p = resp_cpy(p, "\r\nContent-Length: ", 18);
		p = resp_num(p, fr->fr_len);
		p = resp_cpy(p, "\r\n", 2);
		p = resp_lastmod(p, fr->fr_mtime);
		p = resp_cpy(p, "Accept-Ranges: bytes\r\n", 22);
		break;
	}
	*p = '\0';
	return p - buf;
}

int
resp_error(char *buf, size_t len, int version, int status, int keepalive,
    int head, const char *extra, size_t *bodylen)
{
	/* hdrs: extra (file fields, at most 1024 bytes) and two lines. */
	char body[512], hdrs[1024 + 128];
	int i, b, n = 0;

	i = resp_index(status);
	b = snprintf(body, sizeof(body), "<!DOCTYPE html>\n<html><head>"
	    "<title>%d %s</title></head>\n<body><h1>%d %s</h1>\n<p>%s</p>\n"
	    "<hr><address>forkd-httpd</address></body></html>\n", status,
	    resp_reason(status), status, resp_reason(status),
	    i != -1 && resp_table[i].text != NULL ? resp_table[i].text : "");
	if (b < 0 || (size_t)b >= sizeof(body))
		b = 0;
	*bodylen = head ? 0 : (size_t)b;
	if (version != HTTP_09) {
		/* Cut, the framing fields would be lost: fail instead. */
		n = snprintf(hdrs, sizeof(hdrs), "%sContent-Type: text/html; "
		    "charset=utf-8\r\nContent-Length: %d\r\n",
		    extra != NULL ? extra : "", b);
		if (n < 0 || (size_t)n >= sizeof(hdrs))
			return -1;
		if ((n = resp_head(buf, len, version, status, keepalive,
		    hdrs)) == -1)
			return -1;
	}
	if (head)
		return n;
	if ((size_t)n + b > len)
		return -1;
	memcpy(buf + n, body, b);
	return n + b;
}

char *
resp_vis(char *dst, const char *src, size_t len)
{
	size_t i;

	/*
	 * Printable ASCII but '\\' and '"' comes out of vis(3) unchanged:
	 * copy it, without the multibyte conversions strnvisx(3) makes for
	 * each byte. Anything else, or a field log_visx() would cut, goes
	 * the long way, so the output is the same.
	 */
	if (len <= (LOG_VIS_MAX - 4) / 4) {
		for (i = 0; i < len; i++)
			if (src[i] < 0x20 || src[i] > 0x7e || src[i] == '\\' ||
			    src[i] == '"')
				break;
		if (i == len) {
			memcpy(dst, src, len);
			dst[len] = '\0';
			return dst;
		}
	}
	/* As log_vis(), and '"' too: it would end a field of the line. */
	return log_visx(dst, LOG_VIS_MAX, src, len, VIS_DQ);
}

void
resp_log_field(char *dst, const struct http_field *f)
{
	if (f == NULL)
		strlcpy(dst, "-", LOG_VIS_MAX);
	else
		resp_vis(dst, f->f_value, f->f_valuelen);
}

void
resp_log_request(const struct http_request *r, char *line, char *referer,
    char *agent)
{
	if (r->r_reqlinelen == 0)
		strlcpy(line, "-", LOG_VIS_MAX);
	else
		resp_vis(line, r->r_reqline, r->r_reqlinelen);
	resp_log_field(referer, r->r_referer);
	resp_log_field(agent, r->r_agent);
}

void
resp_log_set(int on)
{
	resp_log_on = on;
}

/* Append the NUL-terminated s at *p, at most to end; returns the new end. */
static char *
resp_put(char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	if (n > (size_t)(end - p))
		n = end - p;
	memcpy(p, s, n);
	return p + n;
}

void
resp_log(const char *ip, const char *line, int status, long long bytes,
    const char *referer, const char *agent)
{
	static char when[64];
	static time_t whensec = -1;
	char msg[LOG_LINE_MAX], nbytes[24], *p = msg, *q;
	const char *end = msg + sizeof(msg) - 1;
	time_t now = time(NULL);
	struct tm tm;

	if (!resp_log_on)
		return;
	/* The local time, formatted once a second. */
	if (now != whensec) {
		localtime_r(&now, &tm);
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
		whensec = now;
	}
	q = nbytes + sizeof(nbytes);
	*--q = '\0';
	if (bytes <= 0)
		*--q = '-';
	for (; bytes > 0; bytes /= 10)
		*--q = '0' + bytes % 10;
	/*
	 * The combined log format: host ident authuser [date] "request"
	 * status bytes "referer" "user-agent". Peer text was escaped with
	 * resp_vis(): no control bytes, and no '"' to forge fields with.
	 */
	p = resp_put(p, end, ip);
	p = resp_put(p, end, " - - [");
	p = resp_put(p, end, when);
	p = resp_put(p, end, "] \"");
	p = resp_put(p, end, line);
	p = resp_put(p, end, "\" ");
	if (end - p >= 4 && status >= 100 && status <= 999) {
		p[0] = '0' + status / 100;
		p[1] = '0' + status / 10 % 10;
		p[2] = '0' + status % 10;
		p[3] = ' ';
		p += 4;
	}
	p = resp_put(p, end, q);
	p = resp_put(p, end, " \"");
	p = resp_put(p, end, referer);
	p = resp_put(p, end, "\" \"");
	p = resp_put(p, end, agent);
	p = resp_put(p, end, "\"");
	*p = '\0';
	alog_add(msg, p - msg);
}
