/*
 * session: one SMTP dialogue, seed 003's replies byte for byte, and what
 * an RFC 5321 client expects where the seed is silent.
 *
 * Commands are a table of check/proceed pairs, in the shape of OpenSMTPD's
 * smtp_session.c: check validates syntax (501), the address (555) and the
 * command order (503) and answers the error itself; proceed acts. Every
 * error reply has one function (qmail-smtpd's err_*()).
 *
 * Replies are buffered and flushed before smtpd waits for input, so a
 * PIPELINING client (RFC 2920) gets its replies in one segment.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "smtpd.h"

#define SESSION_INBUF	8192
#define SESSION_OUTBUF	4096

enum smtp_line {
	LINE_OK,
	LINE_LONG,	/* over SMTPD_CMDLINE_MAX, discarded */
	LINE_TIMEOUT,
	LINE_EOF,	/* the peer closed, or an I/O error */
};

struct smtp_session {
	struct smtpd	*s_sd;
	int		 s_rfd;
	int		 s_wfd;
	int		 s_socket;	/* non-blocking socket, not stdio */
	char		 s_peer[INET6_ADDRSTRLEN + 8];
	char		 s_in[SESSION_INBUF];
	size_t		 s_inoff;	/* first unread byte */
	size_t		 s_inlen;	/* bytes in s_in */
	int		 s_skipping;	/* discarding an overlong line */
	char		 s_out[SESSION_OUTBUF];
	size_t		 s_outlen;
	int		 s_dead;	/* write failed or peer gone */
	int		 s_quit;	/* close after the replies */
	int		 s_errors;
	int		 s_helo;	/* 0, 'H' after HELO, 'E' after EHLO */
	char		 s_heloname[SMTPD_NAME_MAX];
	int		 s_mail;	/* MAIL accepted */
	char		 s_sender[SMTPD_PATH_MAX];
	char		*s_rcpts[SMTPD_RCPT_MAX];
	size_t		 s_nrcpts;
	char		*s_body;	/* the message as stored, LF ends */
	size_t		 s_bodylen;
	size_t		 s_bodycap;
};

struct smtp_cmd {
	const char	*c_name;
	/* 0: go on; -1: refused, the reply is sent. */
	int		(*c_check)(struct smtp_session *, char *);
	void		(*c_proceed)(struct smtp_session *, char *);
};

static void	smtp_reply(struct smtp_session *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	smtp_error(struct smtp_session *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	smtp_flush(struct smtp_session *);
static int	smtp_fill(struct smtp_session *, long long);
static enum smtp_line smtp_getline(struct smtp_session *, char **, size_t *);
static void	smtp_reset(struct smtp_session *);
static void	smtp_data(struct smtp_session *);

static int	smtp_check_helo(struct smtp_session *, char *);
static int	smtp_check_ehlo(struct smtp_session *, char *);
static int	smtp_check_mail(struct smtp_session *, char *);
static int	smtp_check_rcpt(struct smtp_session *, char *);
static int	smtp_check_data(struct smtp_session *, char *);
static int	smtp_check_rset(struct smtp_session *, char *);
static int	smtp_check_quit(struct smtp_session *, char *);
static int	smtp_check_vrfy(struct smtp_session *, char *);
static void	smtp_proceed_helo(struct smtp_session *, char *);
static void	smtp_proceed_ehlo(struct smtp_session *, char *);
static void	smtp_proceed_mail(struct smtp_session *, char *);
static void	smtp_proceed_rcpt(struct smtp_session *, char *);
static void	smtp_proceed_data(struct smtp_session *, char *);
static void	smtp_proceed_rset(struct smtp_session *, char *);
static void	smtp_proceed_noop(struct smtp_session *, char *);
static void	smtp_proceed_quit(struct smtp_session *, char *);
static void	smtp_proceed_vrfy(struct smtp_session *, char *);

static const struct smtp_cmd smtp_cmds[] = {
	{ "HELO", smtp_check_helo, smtp_proceed_helo },
	{ "EHLO", smtp_check_ehlo, smtp_proceed_ehlo },
	{ "MAIL", smtp_check_mail, smtp_proceed_mail },
	{ "RCPT", smtp_check_rcpt, smtp_proceed_rcpt },
	{ "DATA", smtp_check_data, smtp_proceed_data },
	{ "RSET", smtp_check_rset, smtp_proceed_rset },
	{ "NOOP", NULL, smtp_proceed_noop },
	{ "QUIT", smtp_check_quit, smtp_proceed_quit },
	{ "VRFY", smtp_check_vrfy, smtp_proceed_vrfy },
};

/* Replies and the error replies, each in one place. */

static void
smtp_vreply(struct smtp_session *s, const char *fmt, va_list ap)
{
	char line[SMTPD_CMDLINE_MAX + 2 * SMTPD_PATH_MAX];
	int n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (s->s_outlen + n > sizeof(s->s_out))
		smtp_flush(s);
	memcpy(s->s_out + s->s_outlen, line, n);
	s->s_outlen += n;
}

static void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
}

/* Seed 003: "sending an error message does not terminate communication"... */
static void
smtp_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	/* ...but a client that keeps sending invalid commands is let go. */
	if (++s->s_errors >= s->s_sd->sd_maxerrors && !s->s_quit) {
		log_info("%s: %d errors, disconnected", s->s_peer,
		    s->s_errors);
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->s_sd->sd_name);
		s->s_quit = 1;
	}
}

static void
smtp_err_syntax(struct smtp_session *s, const char *syntax)
{
	smtp_error(s, "501 Syntax:  %s", syntax);
}

static void
smtp_err_unknown(struct smtp_session *s)
{
	smtp_error(s, "500 Error: command not recognized");
}

static void
smtp_err_need(struct smtp_session *s, const char *cmd)
{
	smtp_error(s, "503 Error: need %s command", cmd);
}

static void
smtp_err_dup_helo(struct smtp_session *s)
{
	smtp_error(s, "503 Error: duplicate HELO");
}

static void
smtp_err_nested(struct smtp_session *s)
{
	smtp_error(s, "503 Error: nested MAIL command");
}

static void
smtp_err_sender(struct smtp_session *s, const char *addr)
{
	smtp_error(s, "555 <%s>: Sender address rejected", addr);
}

static void
smtp_err_rcpt(struct smtp_session *s, const char *addr)
{
	smtp_error(s, "555 <%s>: Recipient address invalid", addr);
}

/* RFC 1869 6: a MAIL or RCPT parameter smtpd does not know. */
static void
smtp_err_param(struct smtp_session *s)
{
	smtp_error(s, "555 5.5.4 Error: parameter not recognized");
}

/* RFC 5321 4.5.3.1.4 and 4.5.3.1.6. */
static void
smtp_err_cmd_long(struct smtp_session *s)
{
	smtp_error(s, "500 5.5.2 Error: command line too long");
}

static void
smtp_err_text_long(struct smtp_session *s)
{
	smtp_error(s, "500 5.5.2 Error: text line too long");
}

/* RFC 5321 4.5.3.1.10: too many recipients is a temporary 452. */
static void
smtp_err_rcpts(struct smtp_session *s)
{
	smtp_error(s, "452 4.5.3 Error: too many recipients");
}

/* RFC 1870 6.1. */
static void
smtp_err_size(struct smtp_session *s)
{
	smtp_error(s, "552 5.3.4 Error: message size exceeds fixed limit");
}

/* SMTP smuggling (CVE-2023-51764): see smtp_data(). */
static void
smtp_err_bare(struct smtp_session *s)
{
	smtp_error(s, "554 5.5.2 Error: bare <CR> or <LF> in message data");
}

static void
smtp_err_storage(struct smtp_session *s)
{
	smtp_reply(s, "452 4.3.1 Error: insufficient system storage");
}

static void
smtp_err_local(struct smtp_session *s)
{
	smtp_reply(s, "451 4.3.0 Error: local error in processing");
}

static void
smtp_err_timeout(struct smtp_session *s)
{
	smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    s->s_sd->sd_name);
	s->s_quit = 1;
}

/* Input and output with deadlines. */

static int
smtp_flush(struct smtp_session *s)
{
	if (s->s_outlen == 0 || s->s_dead)
		return s->s_dead ? -1 : 0;
	if (serve_write_all(s->s_wfd, s->s_out, s->s_outlen,
	    s->s_sd->sd_timeout * 1000) == -1) {
		log_debug("%s: write: %s", s->s_peer, strerror(errno));
		s->s_dead = 1;
		s->s_outlen = 0;
		return -1;
	}
	s->s_outlen = 0;
	return 0;
}

/*
 * Read more input, waiting until deadline (serve_now_ms() milliseconds).
 * Returns 1 when bytes came, 0 on EOF or error, -1 on timeout.
 */
static int
smtp_fill(struct smtp_session *s, long long deadline)
{
	struct pollfd pfd;
	long long left;
	ssize_t n;
	int r;

	if (smtp_flush(s) == -1)
		return 0;
	if (s->s_inoff == s->s_inlen)
		s->s_inoff = s->s_inlen = 0;
	else if (s->s_inlen == sizeof(s->s_in)) {
		memmove(s->s_in, s->s_in + s->s_inoff, s->s_inlen - s->s_inoff);
		s->s_inlen -= s->s_inoff;
		s->s_inoff = 0;
	}
	for (;;) {
		if ((left = deadline - serve_now_ms()) <= 0)
			return -1;
		pfd.fd = s->s_rfd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (r == 0)
			return -1;
		n = read(s->s_rfd, s->s_in + s->s_inlen,
		    sizeof(s->s_in) - s->s_inlen);
		if (n > 0) {
			s->s_inlen += n;
			return 1;
		}
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		return 0;
	}
}

/*
 * The next command line, without its CRLF or LF, NUL-terminated in the
 * input buffer. Seed 003: a command must be complete within the timeout
 * of when smtpd started waiting for it (dormant or too slow: 421).
 */
static enum smtp_line
smtp_getline(struct smtp_session *s, char **line, size_t *len)
{
	long long deadline;
	char *p, *lf;
	size_t n;
	int r;

	deadline = serve_now_ms() + (long long)s->s_sd->sd_timeout * 1000;
	for (;;) {
		p = s->s_in + s->s_inoff;
		n = s->s_inlen - s->s_inoff;
		if ((lf = memchr(p, '\n', n)) != NULL) {
			n = lf - p;
			s->s_inoff += n + 1;
			if (s->s_skipping || n + 1 > SMTPD_CMDLINE_MAX) {
				s->s_skipping = 0;
				return LINE_LONG;
			}
			if (n > 0 && p[n - 1] == '\r')
				n--;
			p[n] = '\0';
			*line = p;
			*len = n;
			return LINE_OK;
		}
		if (n >= SMTPD_CMDLINE_MAX) {
			s->s_skipping = 1;
			s->s_inoff = s->s_inlen;
		}
		if ((r = smtp_fill(s, deadline)) != 1)
			return r == -1 ? LINE_TIMEOUT : LINE_EOF;
	}
}

/* Helpers for arguments. */

static char *
smtp_trim(char *p)
{
	char *e;

	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return p;
}

/* Seed 003: "consecutive, printable ASCII characters". */
static int
smtp_printable(const char *p)
{
	for (; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	return 1;
}

/*
 * Split "<path> params" or "path" (RFC 5321 4.1.2, and seed 003's bare
 * addresses): *addr is the path without angle brackets, *params what
 * follows the closing bracket. Without brackets the whole argument is the
 * path, so "student @CS4410" is one (bad) address, as the seed wants.
 * Returns 0, or -1 on a syntax error (an empty argument, no '>').
 */
static int
smtp_path(char *arg, char **addr, char **params)
{
	char *gt;

	arg = smtp_trim(arg);
	*params = arg + strlen(arg);
	if (*arg == '<') {
		if ((gt = strchr(arg, '>')) == NULL)
			return -1;
		*gt = '\0';
		*params = smtp_trim(gt + 1);
		if (**params != '\0' && gt[1] != ' ')
			return -1;
		*addr = arg + 1;
		return 0;
	}
	if (*arg == '\0')
		return -1;
	*addr = arg;
	return 0;
}

/* The text after "FROM:" or "TO:", or NULL. */
static char *
smtp_after(char *arg, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(arg, word, n) != 0)
		return NULL;
	return arg + n;
}

static int
smtp_valid_addr(const char *addr)
{
	return strlen(addr) < SMTPD_PATH_MAX - 2 && smtp_printable(addr);
}

/* HELO and EHLO (RFC 5321 4.1.1.1). */

static int
smtp_check_hello(struct smtp_session *s, char *arg, const char *syntax)
{
	arg = smtp_trim(arg);
	if (*arg == '\0' || !smtp_printable(arg) ||
	    strlen(arg) >= sizeof(s->s_heloname)) {
		smtp_err_syntax(s, syntax);
		return -1;
	}
	if (s->s_helo) {
		smtp_err_dup_helo(s);
		return -1;
	}
	return 0;
}

static int
smtp_check_helo(struct smtp_session *s, char *arg)
{
	return smtp_check_hello(s, arg, "HELO yourhostname");
}

static int
smtp_check_ehlo(struct smtp_session *s, char *arg)
{
	return smtp_check_hello(s, arg, "EHLO yourhostname");
}

static void
smtp_proceed_helo(struct smtp_session *s, char *arg)
{
	strlcpy(s->s_heloname, smtp_trim(arg), sizeof(s->s_heloname));
	s->s_helo = 'H';
	smtp_reply(s, "250 %s", s->s_sd->sd_name);
}

/* RFC 1869 4.3, with the extensions of RFC 2920, 1870, 6152, 2034. */
static void
smtp_proceed_ehlo(struct smtp_session *s, char *arg)
{
	strlcpy(s->s_heloname, smtp_trim(arg), sizeof(s->s_heloname));
	s->s_helo = 'E';
	smtp_reply(s, "250-%s", s->s_sd->sd_name);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %zu", s->s_sd->sd_maxsize);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* MAIL FROM (RFC 5321 4.1.1.2) with RFC 1870 SIZE and RFC 6152 BODY. */

static int
smtp_mail_params(struct smtp_session *s, char *params)
{
	char *p, *tok;
	const char *errstr;
	long long size;

	for (p = params; (tok = strsep(&p, " ")) != NULL; ) {
		if (*tok == '\0')
			continue;
		if (s->s_helo != 'E') {
			smtp_err_param(s);
			return -1;
		}
		if (strncasecmp(tok, "SIZE=", 5) == 0) {
			size = strtonum(tok + 5, 0, LLONG_MAX, &errstr);
			if (errstr != NULL) {
				smtp_err_param(s);
				return -1;
			}
			if ((unsigned long long)size > s->s_sd->sd_maxsize) {
				smtp_err_size(s);
				return -1;
			}
		} else if (strcasecmp(tok, "BODY=7BIT") != 0 &&
		    strcasecmp(tok, "BODY=8BITMIME") != 0) {
			smtp_err_param(s);
			return -1;
		}
	}
	return 0;
}

static int
smtp_check_mail(struct smtp_session *s, char *arg)
{
	char *rest, *addr, *params;

	if ((rest = smtp_after(arg, "FROM:")) == NULL ||
	    smtp_path(rest, &addr, &params) == -1) {
		smtp_err_syntax(s, "MAIL FROM:<address>");
		return -1;
	}
	/* <> is the null reverse path (RFC 5321 4.5.5). */
	if (*addr != '\0' && !smtp_valid_addr(addr)) {
		smtp_err_sender(s, addr);
		return -1;
	}
	if (!s->s_helo) {
		smtp_err_need(s, "HELO");
		return -1;
	}
	if (s->s_mail) {
		smtp_err_nested(s);
		return -1;
	}
	if (smtp_mail_params(s, params) == -1)
		return -1;
	/* proceed takes the address from here. */
	memmove(arg, addr, strlen(addr) + 1);
	return 0;
}

static void
smtp_proceed_mail(struct smtp_session *s, char *addr)
{
	strlcpy(s->s_sender, addr, sizeof(s->s_sender));
	s->s_mail = 1;
	smtp_reply(s, "250 OK");
}

/* RCPT TO (RFC 5321 4.1.1.3). */

static int
smtp_check_rcpt(struct smtp_session *s, char *arg)
{
	char *rest, *addr, *params;

	if ((rest = smtp_after(arg, "TO:")) == NULL ||
	    smtp_path(rest, &addr, &params) == -1) {
		smtp_err_syntax(s, "RCPT TO:<address>");
		return -1;
	}
	if (*addr == '\0' || !smtp_valid_addr(addr)) {
		smtp_err_rcpt(s, addr);
		return -1;
	}
	if (!s->s_helo) {
		smtp_err_need(s, "HELO");
		return -1;
	}
	if (!s->s_mail) {
		smtp_err_need(s, "MAIL");
		return -1;
	}
	if (*params != '\0') {
		smtp_err_param(s);
		return -1;
	}
	if (s->s_nrcpts >= SMTPD_RCPT_MAX) {
		smtp_err_rcpts(s);
		return -1;
	}
	memmove(arg, addr, strlen(addr) + 1);
	return 0;
}

static void
smtp_proceed_rcpt(struct smtp_session *s, char *addr)
{
	char *copy;

	if ((copy = strdup(addr)) == NULL) {
		smtp_err_local(s);
		return;
	}
	s->s_rcpts[s->s_nrcpts++] = copy;
	smtp_reply(s, "250 OK");
}

/* DATA (RFC 5321 4.1.1.4). */

static int
smtp_check_data(struct smtp_session *s, char *arg)
{
	if (*smtp_trim(arg) != '\0') {
		smtp_err_syntax(s, "DATA");
		return -1;
	}
	if (!s->s_helo) {
		smtp_err_need(s, "HELO");
		return -1;
	}
	if (!s->s_mail) {
		smtp_err_need(s, "MAIL");
		return -1;
	}
	if (s->s_nrcpts == 0) {
		smtp_err_need(s, "RCPT");
		return -1;
	}
	return 0;
}

static void
smtp_proceed_data(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_data(s);
}

/* RSET, NOOP, QUIT, VRFY (RFC 5321 4.1.1.5 - 4.1.1.10). */

static int
smtp_check_rset(struct smtp_session *s, char *arg)
{
	if (*smtp_trim(arg) != '\0') {
		smtp_err_syntax(s, "RSET");
		return -1;
	}
	return 0;
}

static int
smtp_check_quit(struct smtp_session *s, char *arg)
{
	if (*smtp_trim(arg) != '\0') {
		smtp_err_syntax(s, "QUIT");
		return -1;
	}
	return 0;
}

static void
smtp_proceed_rset(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reset(s);
	smtp_reply(s, "250 OK");
}

static void
smtp_proceed_noop(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "250 OK");
}

static void
smtp_proceed_quit(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "221 2.0.0 %s closing connection", s->s_sd->sd_name);
	s->s_quit = 1;
}

static int
smtp_check_vrfy(struct smtp_session *s, char *arg)
{
	if (*smtp_trim(arg) == '\0') {
		smtp_err_syntax(s, "VRFY <address>");
		return -1;
	}
	return 0;
}

/* RFC 5321 3.5.3: smtpd does not disclose whether a mailbox exists. */
static void
smtp_proceed_vrfy(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "252 2.1.5 Cannot VRFY user, but will accept message "
	    "and attempt delivery");
}

/* The message text. */

static void
smtp_reset(struct smtp_session *s)
{
	size_t i;

	for (i = 0; i < s->s_nrcpts; i++)
		free(s->s_rcpts[i]);
	s->s_nrcpts = 0;
	s->s_mail = 0;
	s->s_sender[0] = '\0';
	s->s_bodylen = 0;
}

static int
smtp_body_add(struct smtp_session *s, const char *p, size_t n)
{
	size_t cap;
	char *nb;

	if (s->s_bodylen + n > s->s_bodycap) {
		cap = s->s_bodycap ? s->s_bodycap : 16384;
		while (cap < s->s_bodylen + n)
			cap *= 2;
		if ((nb = realloc(s->s_body, cap)) == NULL)
			return -1;
		s->s_body = nb;
		s->s_bodycap = cap;
	}
	memcpy(s->s_body + s->s_bodylen, p, n);
	s->s_bodylen += n;
	return 0;
}

/* mboxrd: a line matching ^>*From gets one more '>'. */
static int
smtp_mbox_from(const char *p, size_t n)
{
	while (n > 0 && *p == '>') {
		p++;
		n--;
	}
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* One text line of DATA, without its CRLF. Returns 0, or -1: no memory. */
static int
smtp_data_line(struct smtp_session *s, const char *p, size_t n)
{
	/* RFC 5321 4.5.2: the client doubled a leading dot. */
	if (n > 0 && *p == '.') {
		p++;
		n--;
	}
	if (s->s_sd->sd_format == SMTPD_FMT_MBOX && smtp_mbox_from(p, n) &&
	    smtp_body_add(s, ">", 1) == -1)
		return -1;
	if (smtp_body_add(s, p, n) == -1 || smtp_body_add(s, "\n", 1) == -1)
		return -1;
	return 0;
}

static void
smtp_deliver(struct smtp_session *s, size_t size)
{
	char helo[LOG_VIS_MAX], from[LOG_VIS_MAX], to[4 * LOG_VIS_MAX];
	char rcpts[2 * LOG_VIS_MAX];
	struct smtpd_msg m;
	long long number;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.m_helo = s->s_heloname;
	m.m_peer = s->s_peer;
	m.m_sender = s->s_sender;
	m.m_rcpts = s->s_rcpts;
	m.m_nrcpts = s->s_nrcpts;
	m.m_body = s->s_body != NULL ? s->s_body : "";
	m.m_bodylen = s->s_bodylen;
	m.m_size = size;
	if ((number = mbox_deliver(s->s_sd, &m)) == -1) {
		log_warn("%s: delivery failed", s->s_peer);
		if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
			smtp_err_storage(s);
		else
			smtp_err_local(s);
		return;
	}
	rcpts[0] = '\0';
	for (i = 0; i < s->s_nrcpts; i++) {
		if (i > 0)
			strlcat(rcpts, ",", sizeof(rcpts));
		strlcat(rcpts, s->s_rcpts[i], sizeof(rcpts));
	}
	log_info("delivered message %lld from %s helo=%s from=<%s> to=<%s> "
	    "size=%zu", number, s->s_peer,
	    log_vis(helo, sizeof(helo), s->s_heloname, strlen(s->s_heloname)),
	    log_vis(from, sizeof(from), s->s_sender, strlen(s->s_sender)),
	    log_vis(to, sizeof(to), rcpts, strlen(rcpts)), size);
	smtp_reply(s, "250 OK:  delivered message %lld", number);
}

/*
 * Read the message up to the line "." (RFC 5321 4.1.1.4), then deliver or
 * refuse it. Only <CR><LF>.<CR><LF> ends the data. A bare LF or bare CR
 * never ends a line: it stays inside the line it is in, so a smuggled
 * "<LF>.<LF>MAIL FROM..." (CVE-2023-51764) can never split the message,
 * and a message holding one is refused after its real end. Seed 003: a
 * client silent for the timeout in the data phase gets the 421 line.
 */
static void
smtp_data(struct smtp_session *s)
{
	char line[SMTPD_TEXTLINE_MAX];
	size_t n = 0, size = 0;
	int cr = 0, bare = 0, toolong = 0, toobig = 0, nomem = 0, r;
	int linelong = 0;
	unsigned char c;

	s->s_bodylen = 0;
	for (;;) {
		if (s->s_inoff == s->s_inlen) {
			r = smtp_fill(s, serve_now_ms() +
			    (long long)s->s_sd->sd_timeout * 1000);
			if (r == -1) {
				log_info("%s: timeout in DATA", s->s_peer);
				smtp_err_timeout(s);
				return;
			}
			if (r == 0) {
				s->s_quit = 1;
				return;
			}
		}
		c = s->s_in[s->s_inoff++];
		if (cr) {
			cr = 0;
			if (c == '\n') {
				/* The end of a text line. */
				if (!linelong && n == 1 && line[0] == '.')
					break;
				size += n + 2;
				if (size > s->s_sd->sd_maxsize)
					toobig = 1;
				if (!bare && !toolong && !toobig && !nomem &&
				    smtp_data_line(s, line, n) == -1)
					nomem = 1;
				n = 0;
				linelong = 0;
				continue;
			}
			bare = 1;
			if (n < sizeof(line) - 2)
				line[n++] = '\r';
			else
				linelong = toolong = 1;
		}
		if (c == '\r') {
			cr = 1;
			continue;
		}
		if (c == '\n')
			bare = 1;
		/* RFC 5321 4.5.3.1.6: 1000 octets with the CRLF. */
		if (n < sizeof(line) - 2)
			line[n++] = c;
		else
			linelong = toolong = 1;
	}
	if (bare) {
		log_info("%s: bare CR or LF in DATA, refused", s->s_peer);
		smtp_err_bare(s);
	} else if (toolong)
		smtp_err_text_long(s);
	else if (toobig)
		smtp_err_size(s);
	else if (nomem)
		smtp_err_local(s);
	else
		smtp_deliver(s, size);
	smtp_reset(s);
}

/* One connection. */

static void
smtp_command(struct smtp_session *s, char *line, size_t len)
{
	const struct smtp_cmd *cmd;
	size_t i, vlen;
	char *arg;

	vlen = strcspn(line, " ");
	if (memchr(line, '\0', len) != NULL) {
		smtp_err_unknown(s);
		return;
	}
	for (i = 0; i < SANDBOX_NELEM(smtp_cmds); i++) {
		cmd = &smtp_cmds[i];
		if (vlen == strlen(cmd->c_name) &&
		    strncasecmp(line, cmd->c_name, vlen) == 0)
			break;
	}
	if (i == SANDBOX_NELEM(smtp_cmds)) {
		smtp_err_unknown(s);
		return;
	}
	arg = line + vlen;
	if (*arg == ' ')
		arg++;
	if (cmd->c_check != NULL && cmd->c_check(s, arg) == -1)
		return;
	cmd->c_proceed(s, arg);
}

/*
 * Close our side first and read what the peer still sends, for a moment:
 * closing a socket with unread input sends a RST, which can destroy the
 * 421 or 221 line before the client has read it.
 */
static void
smtp_linger(struct smtp_session *s)
{
	struct pollfd pfd;
	long long deadline, left;
	size_t total = 0;
	ssize_t n;

	if (shutdown(s->s_wfd, SHUT_WR) == -1)
		return;
	deadline = serve_now_ms() + 1000;
	while (total < 65536 && (left = deadline - serve_now_ms()) > 0) {
		pfd.fd = s->s_rfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			return;
		n = read(s->s_rfd, s->s_in, sizeof(s->s_in));
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
			return;
		if (n > 0)
			total += n;
	}
}

int
smtp_session(int rfd, int wfd, const struct serve_peer *peer, void *arg)
{
	struct smtp_session *s;
	enum smtp_line r;
	char *line;
	size_t len;
	int type;
	socklen_t tlen = sizeof(type);

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("session");
		return 1;
	}
	s->s_sd = arg;
	s->s_rfd = rfd;
	s->s_wfd = wfd;
	if (getsockopt(rfd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0) {
		s->s_socket = 1;
		serve_nonblock(rfd, 1);
	}
	if (strcmp(peer->remote_ip, "-") == 0)
		strlcpy(s->s_peer, "-", sizeof(s->s_peer));
	else
		snprintf(s->s_peer, sizeof(s->s_peer), "%s:%s",
		    peer->remote_ip, peer->remote_port);
	log_debug("%s: connected", s->s_peer);

	smtp_reply(s, "220 %s SMTP CS4410MP3", s->s_sd->sd_name);
	while (!s->s_quit && !s->s_dead) {
		switch ((r = smtp_getline(s, &line, &len))) {
		case LINE_OK:
			smtp_command(s, line, len);
			break;
		case LINE_LONG:
			smtp_err_cmd_long(s);
			break;
		case LINE_TIMEOUT:
			log_info("%s: timeout", s->s_peer);
			smtp_err_timeout(s);
			break;
		case LINE_EOF:
			s->s_quit = 1;
			break;
		}
	}
	smtp_flush(s);
	if (s->s_socket)
		smtp_linger(s);
	log_debug("%s: closed", s->s_peer);
	smtp_reset(s);
	free(s->s_body);
	free(s);
	return 0;
}
