/*
 * log: syslog, with a copy on stderr under -d.  The shape follows
 * OpenSMTPD's log.c; the escaping uses libbsd's vis(3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <vis.h>

#include "log.h"

static int log_verbose;

void
log_init(int debug, int facility, const char *ident)
{
	tzset();
	openlog(ident, LOG_PID | LOG_NDELAY | (debug ? LOG_PERROR : 0),
	    facility);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_vlog(int pri, const char *fmt, va_list ap)
{
	int saved = errno;

	vsyslog(pri, fmt, ap);
	errno = saved;
}

static void
log_errno(int pri, int e, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	syslog(pri, "%s: %s", msg, strerror(e));
	errno = e;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_ERR, errno, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_CRIT, errno, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_vis(char *dst, size_t dstsize, const void *src, size_t len)
{
	return log_visx(dst, dstsize, src, len, 0);
}

char *
log_visx(char *dst, size_t dstsize, const void *src, size_t len, int flags)
{
	size_t n;

	flags |= VIS_OCTAL | VIS_CSTYLE | VIS_NL | VIS_TAB;
	if (dstsize == 0)
		return dst;
	/* Each byte takes at most 4 output bytes; cut the input to fit. */
	n = len;
	if (n > (dstsize - 4) / 4)
		n = (dstsize - 4) / 4;
	if (strnvisx(dst, dstsize, src, n, flags) == -1)
		dst[0] = '\0';
	if (n < len)
		strlcat(dst, "...", dstsize);
	return dst;
}
