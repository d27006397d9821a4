/*
 * quiet: what every harness links. syslog(3) goes nowhere: the code under
 * test logs through lib/log.c, and millions of runs must not reach the
 * system's log. These definitions in the program take the place of the C
 * library's (the _chk names are the ones _FORTIFY_SOURCE calls).
 */
/* The fortified inline syslog(3) and vsyslog(3) would clash with ours. */
#undef _FORTIFY_SOURCE

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <syslog.h>

#include "fuzz.h"

void	__syslog_chk(int, int, const char *, ...);
void	__vsyslog_chk(int, int, const char *, va_list);

void
openlog(const char *ident, int option, int facility)
{
	(void)ident;
	(void)option;
	(void)facility;
}

void
closelog(void)
{
}

void
syslog(int pri, const char *fmt, ...)
{
	(void)pri;
	(void)fmt;
}

void
vsyslog(int pri, const char *fmt, va_list ap)
{
	(void)pri;
	(void)fmt;
	(void)ap;
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	(void)pri;
	(void)flag;
	(void)fmt;
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)pri;
	(void)flag;
	(void)fmt;
	(void)ap;
}

int
fuzz_devnull(void)
{
	static int fd = -1;

	if (fd == -1 && (fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		abort();
	return fd;
}
