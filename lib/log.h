/*
 * log: the logging API every forkd program shares, in the shape of
 * OpenSMTPD's log.c.
 *
 * Messages go to syslog(3). They are also copied to stderr (LOG_PERROR)
 * with debug set (forkd -d, the handlers' -d). Without it, warnings and
 * errors are copied as err(3) says them ("prog: why") when stderr is a
 * person's rather than the client's: open and not a socket (a handler run
 * by hand, under tcpserver), so a handler that fails says why even with
 * no syslog daemon. Under forkd, which puts LOG_ENV in each
 * handler's environment, the copy is instead "<PRI>line" on the stderr
 * pipe (the form the kernel's and journald's readers take), made when
 * LOG_ENV is "stderr" (forkd -d) or with debug set.
 * Text that came from a peer must pass through log_vis() first, so that a
 * client can never put CR, LF or other control bytes into the log.
 */
#ifndef FORKD_LOG_H
#define FORKD_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* The environment variable forkd sets for its handlers: stderr, syslog. */
#define LOG_ENV		"FORKD_LOG"

/* The longest line logged (bytes); longer ones are cut. */
#define LOG_LINE_MAX	2048

/*
 * Open the log. ident is the syslog tag (NULL: the program's name),
 * facility a LOG_* facility (LOG_DAEMON, LOG_MAIL). debug != 0 copies
 * every line to stderr as well. Calls tzset() and opens the syslog socket
 * now (LOG_NDELAY), so that logging later needs no file access and works
 * inside a seccomp sandbox.
 */
void	log_init(int debug, int facility, const char *ident);

/*
 * The "<PRI>" a log line on a handler's stderr starts with (RFC 5424 6.2.1,
 * as the kernel and journald write and read it): returns the priority
 * (facility | level, 0 to 191) and sets *skip to the bytes it takes, or
 * returns -1 when s (len bytes) does not start with one.
 */
int	log_pri_parse(const char *s, size_t len, size_t *skip);

/*
 * Print one line on stderr only, as LOG_PERROR shows a logged one
 * ("ident[pid]: line"): forkd -d's copy of a line its handler has sent
 * to syslog itself.
 */
void	log_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * 1 if something listens on syslog's socket (_PATH_LOG, /dev/log), 0 if
 * not (every line logged is lost), -1 if no socket could be made to ask.
 */
int	log_syslog_listening(void);

/* 0: log_debug() is dropped (the default); 1: it is logged. */
void	log_setverbose(int verbose);
int	log_getverbose(void);

/* LOG_ERR with ": strerror(errno)" appended. errno is preserved. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* LOG_ERR, as given. */
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* LOG_INFO. */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* LOG_NOTICE. */
void	log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* LOG_DEBUG, only when verbose. */
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at an explicit priority (LOG_CRIT ... LOG_DEBUG). */
void	log_vlog(int pri, const char *fmt, va_list ap);
/* LOG_CRIT with strerror(errno) appended, then exit(1). */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* LOG_CRIT, then exit(1). */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Escape len bytes of peer-supplied data at src into dst (dstsize bytes,
 * always NUL-terminated) with vis(3) (VIS_OCTAL | VIS_CSTYLE | VIS_NL |
 * VIS_TAB; not VIS_SAFE, which lets CR, BEL and BS through), so every
 * control byte shows as \r, \n, \a, \ooo. Output that does not fit is cut and ends in "...". Returns dst,
 * so it can stand as a printf argument.
 */
char	*log_vis(char *dst, size_t dstsize, const void *src, size_t len);
/*
 * log_vis() with more vis(3) flags: VIS_DQ escapes '"' as well, for a
 * log line whose fields are quoted (httpd's combined log format).
 * LOG_VIS_LINES lets newline and tab through as they are, for a peer's
 * text shown on a terminal line by line (netchat) rather than logged.
 */
char	*log_visx(char *dst, size_t dstsize, const void *src, size_t len,
	    int flags);

#define LOG_VIS_LINES	0x40000000	/* above every vis(3) flag */

/* Size of a buffer that holds any log_vis() of a short string (bytes). */
#define LOG_VIS_MAX	1024

#endif
