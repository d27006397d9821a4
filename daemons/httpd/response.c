/*
 * response: status lines, header sections, error pages, HTTP dates
 * (RFC 9110 sections 5.6.7, 6.6.1, 15) and the access log line.
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

void
resp_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	/* IMF-fixdate, always GMT; the C locale's day and month names. */
	gmtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

time_t
resp_parse_date(const char *s, size_t len)
{
	/* IMF-fixdate, obsolete RFC 850 and asctime forms (RFC 9110 5.6.7). */
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT",
		"%A, %d-%b-%y %H:%M:%S GMT",
		"%a %b %e %H:%M:%S %Y",
	};
	char buf[64];
	struct tm tm;
	const char *e;
	size_t i;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		if ((e = strptime(buf, fmts[i], &tm)) != NULL && *e == '\0')
			return timegm(&tm);
	}
	return -1;
}

int
resp_head(char *buf, size_t len, int version, int status, int keepalive,
    const char *extra)
{
	char date[64];
	int n;

	resp_date(time(NULL), date, sizeof(date));
	/*
	 * A 1.1 server answers a 1.0 client with "HTTP/1.1" (RFC 9110 2.5);
	 * persistence is then said with Connection (RFC 9112 9.3).
	 */
	n = snprintf(buf, len, "HTTP/1.1 %d %s\r\nDate: %s\r\n"
	    "Server: forkd-httpd\r\n%s%s\r\n", status, resp_reason(status),
	    date,
	    keepalive ? (version == HTTP_10 ? "Connection: keep-alive\r\n" :
	    "") : "Connection: close\r\n", extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

int
resp_error(char *buf, size_t len, int version, int status, int keepalive,
    int head, const char *extra, size_t *bodylen)
{
	/* hdrs: extra (at most a file_reply's fr_extra) and two lines. */
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
resp_log_set(int on)
{
	resp_log_on = on;
}

void
resp_log(const char *ip, const char *line, int status, long long bytes,
    const char *referer, const char *agent)
{
	char when[64], nbytes[32];
	struct tm tm;
	time_t now = time(NULL);

	if (!resp_log_on)
		return;
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
	if (bytes > 0)
		snprintf(nbytes, sizeof(nbytes), "%lld", bytes);
	else
		strlcpy(nbytes, "-", sizeof(nbytes));
	/*
	 * The combined log format: host ident authuser [date] "request"
	 * status bytes "referer" "user-agent". Peer text was escaped with
	 * resp_vis(): no control bytes, and no '"' to forge fields with.
	 */
	log_info("%s - - [%s] \"%s\" %d %s \"%s\" \"%s\"", ip, when, line,
	    status, nbytes, referer, agent);
}
