/*
 * log: syslog, with a copy on stderr under -d, when stderr is a person's,
 * or through forkd's pipe. The shape follows OpenSMTPD's log.c; the
 * escaping uses libbsd's vis(3).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <vis.h>

#include "log.h"

static int log_verbose;
static int log_topipe;		/* copy "<PRI>line" to fd 2 for forkd */
static int log_toperson;	/* copy errors to fd 2 as err(3) does */
/*
 * Nothing listened on /dev/log when last looked (at log_init, then at most
 * once a second): syslog(3) would make a socket, a failing connect and a
 * close for every line, the most of a short connection's system calls.
 */
static int log_nosyslog;
static time_t log_looked;
static int log_facility = LOG_USER;
static const char *log_ident;

static int	log_stderr_person(void);
static void	log_copy(const char *, const char *);
static void	log_line(int, const char *);
static int	log_syslog_absent(void);

/*
 * Whether a copy of each line on stderr reaches a person: fd 2 is open
 * and not a socket. Under inetd and systemd's StandardError=socket fd 2 is
 * the client's connection, which must never see a log line; journald's
 * stream is a socket too, and it has the line from syslog already.
 */
static int
log_stderr_person(void)
{
	struct stat st;

	return fstat(STDERR_FILENO, &st) == 0 && !S_ISSOCK(st.st_mode);
}

void
log_init(int debug, int facility, const char *ident)
{
	const char *how = getenv(LOG_ENV);
	int opt = LOG_PID | LOG_NDELAY;

	tzset();
	log_facility = facility;
	log_ident = ident != NULL ? ident : program_invocation_short_name;
	log_topipe = log_toperson = 0;
	if (how != NULL)
		log_topipe = debug || strcmp(how, "stderr") == 0;
	else if (debug)
		opt |= LOG_PERROR;
	else
		log_toperson = log_stderr_person();
	openlog(ident, opt, facility);
	/* LOG_PERROR's copy on stderr comes from syslog(3): keep calling it. */
	log_nosyslog = !(opt & LOG_PERROR) && log_syslog_listening() == 0;
	log_looked = time(NULL);
}

/* Is nobody listening on /dev/log? Asked again at most once a second. */
static int
log_syslog_absent(void)
{
	time_t now;

	if (!log_nosyslog)
		return 0;
	if ((now = time(NULL)) != log_looked) {
		log_looked = now;
		log_nosyslog = log_syslog_listening() == 0;
	}
	return log_nosyslog;
}

int
log_pri_parse(const char *s, size_t len, size_t *skip)
{
	size_t i;
	int pri = 0;

	if (len < 3 || s[0] != '<')
		return -1;
	for (i = 1; i < len && i <= 4 && s[i] >= '0' && s[i] <= '9'; i++)
		pri = pri * 10 + (s[i] - '0');
	/* 1 to 3 digits, no leading zero but "<0>", at most local7.debug. */
	if (i == 1 || i > 4 || i >= len || s[i] != '>' ||
	    (s[1] == '0' && i > 2) || pri > (LOG_LOCAL7 | LOG_DEBUG))
		return -1;
	*skip = i + 1;
	return pri;
}

void
log_stderr(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], prefix[64];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(prefix, sizeof(prefix), "%s[%ld]: ", log_ident ? log_ident :
	    program_invocation_short_name, (long)getpid());
	log_copy(prefix, msg);
	errno = saved;
}

int
log_syslog_listening(void)
{
	struct sockaddr_un sun;
	int fd, type, ok = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	/* As syslog(3) tries: a datagram socket, then a stream one. */
	for (type = 0; type < 2 && !ok; type++) {
		fd = socket(AF_UNIX, (type == 0 ? SOCK_DGRAM : SOCK_STREAM) |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			ok = 1;
		close(fd);
	}
	return ok;
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

/*
 * The copy of a line on stderr, in one write(2): a pipe keeps a write of
 * up to PIPE_BUF bytes whole, so lines of processes sharing it never mix.
 */
static void
log_copy(const char *prefix, const char *msg)
{
	char line[LOG_LINE_MAX + 64];
	int n;

	n = snprintf(line, sizeof(line), "%s%s", prefix, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A copy that cannot be written is lost; syslog has the line. */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

/* One line to syslog, and its copy on stderr when asked. */
static void
log_line(int pri, const char *msg)
{
	char prefix[64];

	if (!log_syslog_absent())
		syslog(pri, "%s", msg);
	if (log_topipe) {
		snprintf(prefix, sizeof(prefix), "<%d>", log_facility |
		    LOG_PRI(pri));
		log_copy(prefix, msg);
	} else if (log_toperson && LOG_PRI(pri) <= LOG_WARNING) {
		snprintf(prefix, sizeof(prefix), "%s: ", log_ident);
		log_copy(prefix, msg);
	}
}

void
log_vlog(int pri, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_line(pri, msg);
	errno = saved;
}

static void
log_errno(int pri, int e, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(e));
	log_line(pri, msg);
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

	if (flags & LOG_VIS_LINES)
		flags = (flags & ~LOG_VIS_LINES) | VIS_OCTAL | VIS_CSTYLE;
	else
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
