/*
 * reply: every reply smtpd sends, built in one place, one function per
 * error reply (qmail-smtpd's err_*()). The assignment's strings (smtpd(8)
 * STANDARDS) are byte for byte; the others carry RFC 3463 enhanced codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "serve.h"
#include "smtpd.h"
#include "session.h"

static void	smtp_vreply(struct smtp_session *, const char *, va_list);
static const char *smtp_textstring(char *, size_t, const char *);

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

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
}

/* An error reply does not end the session (RFC 5321 4.2.4)... */
void
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

void
smtp_err_syntax(struct smtp_session *s, const char *syntax)
{
	smtp_error(s, "501 Syntax:  %s", syntax);
}

void
smtp_err_need(struct smtp_session *s, const char *cmd)
{
	smtp_error(s, "503 Error: need %s command", cmd);
}

/*
 * A client's bytes echoed in a reply: RFC 5321 4.2 allows only SP, HT and
 * printable ASCII in a reply's text, so a bare CR, an escape sequence or
 * 8-bit bytes become '?' (the assignment's spaces stay).
 */
static const char *
smtp_textstring(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = (src[i] == '\t' || (src[i] >= ' ' && src[i] <= '~')) ?
		    src[i] : '?';
	dst[i] = '\0';
	return dst;
}

void
smtp_err_sender(struct smtp_session *s, const char *addr)
{
	char text[SMTPD_CMDLINE_MAX];

	smtp_error(s, "555 <%s>: Sender address rejected",
	    smtp_textstring(text, sizeof(text), addr));
}

void
smtp_err_rcpt(struct smtp_session *s, const char *addr)
{
	char text[SMTPD_CMDLINE_MAX];

	smtp_error(s, "555 <%s>: Recipient address invalid",
	    smtp_textstring(text, sizeof(text), addr));
}

void
smtp_err_timeout(struct smtp_session *s)
{
	smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    s->s_sd->sd_name);
	s->s_quit = 1;
}

/*
 * The error replies whose text is fixed: one function each,
 * smtp_err_NAME() (session.h). COUNTED ones go through smtp_error() and
 * count against -e; the others are not the client's error.
 */
#define SMTP_ERR(name, counted, text)					\
void									\
smtp_err_##name(struct smtp_session *s)					\
{									\
	(counted ? smtp_error : smtp_reply)(s, "%s", text);		\
}
#define COUNTED	1
#define NOT_COUNTED	0

SMTP_ERR(unknown, COUNTED, "500 Error: command not recognized")
SMTP_ERR(dup_helo, COUNTED, "503 Error: duplicate HELO")
SMTP_ERR(nested, COUNTED, "503 Error: nested MAIL command")
/* RFC 1869 6: a MAIL or RCPT parameter smtpd does not know. */
SMTP_ERR(param, COUNTED, "555 5.5.4 Error: parameter not recognized")
/* RFC 5321 4.5.3.1.4 and 4.5.3.1.6. */
SMTP_ERR(cmd_long, COUNTED, "500 5.5.2 Error: command line too long")
SMTP_ERR(text_long, COUNTED, "500 5.5.2 Error: text line too long")
/*
 * RFC 5321 4.5.3.1.10: past the recipient limit each further RCPT gets a
 * temporary 452 and the transaction goes on with the recipients already
 * accepted; the client sends the rest in a new one. That is flow
 * control, not a client error, so it does not count against -e: a
 * client with 110 recipients would otherwise be cut off with the 421
 * line and lose the 100 it was granted.
 */
SMTP_ERR(rcpts, NOT_COUNTED, "452 4.5.3 Error: too many recipients")
/* RFC 1870 6.1. */
SMTP_ERR(size, COUNTED, "552 5.3.4 Error: message size exceeds fixed limit")
/* SMTP smuggling (CVE-2023-51764): see smtp_data_line(). */
SMTP_ERR(bare, COUNTED, "554 5.5.2 Error: bare <CR> or <LF> in message data")
SMTP_ERR(storage, NOT_COUNTED, "452 4.3.1 Error: insufficient system storage")
SMTP_ERR(local, NOT_COUNTED, "451 4.3.0 Error: local error in processing")
/* RFC 3207 4: STARTTLS without a certificate configured (-c, -k). */
SMTP_ERR(tls_unavailable, COUNTED, "454 4.7.0 TLS not available")
/* RFC 3207 4.2: STARTTLS is not offered again inside TLS. */
SMTP_ERR(tls_active, COUNTED, "503 5.5.1 Error: TLS already active")
/* RFC 3207 4: -S, and MAIL before STARTTLS. */
SMTP_ERR(tls_required, COUNTED,
    "530 5.7.0 Must issue a STARTTLS command first")
