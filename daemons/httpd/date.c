/*
 * date: the HTTP-date (RFC 9110 section 5.6.7), formatted for Date and
 * Last-Modified and parsed from If-Modified-Since and If-Range.
 */
#include <string.h>
#include <time.h>

#include "httpd.h"

static const char date_days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char date_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec",
};

/* Two decimal digits of v (0-99) at p. */
static char *
date_2d(char *p, int v)
{
	p[0] = '0' + v / 10;
	p[1] = '0' + v % 10;
	return p + 2;
}

void
http_date_fmt(time_t t, char *buf, size_t len)
{
	struct tm tm;
	char *p = buf;

	/*
	 * IMF-fixdate, always GMT, with the C locale's day and month names,
	 * built by hand: strftime(3) is a measurable part of every head.
	 */
	if (len < HTTP_DATE_LEN + 1 || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	memcpy(p, date_days[tm.tm_wday], 3);
	p[3] = ',';
	p[4] = ' ';
	p = date_2d(p + 5, tm.tm_mday);
	*p++ = ' ';
	memcpy(p, date_months[tm.tm_mon], 3);
	p[3] = ' ';
	p = date_2d(p + 4, (tm.tm_year + 1900) / 100);
	p = date_2d(p, (tm.tm_year + 1900) % 100);
	*p++ = ' ';
	p = date_2d(p, tm.tm_hour);
	*p++ = ':';
	p = date_2d(p, tm.tm_min);
	*p++ = ':';
	p = date_2d(p, tm.tm_sec);
	memcpy(p, " GMT", 5);
}

const char *
http_date_now(void)
{
	static char date[HTTP_DATE_LEN + 1];
	static time_t when = -1;
	time_t now = time(NULL);

	/* Once a second, as nginx and lighttpd do: time(2) is the vDSO. */
	if (now != when) {
		http_date_fmt(now, date, sizeof(date));
		when = now;
	}
	return date;
}

time_t
http_date_parse(const char *s, size_t len)
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
