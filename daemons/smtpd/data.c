/*
 * data: the message text after 354 (RFC 5321 4.1.1.4), its checks, and
 * the hand-over to mailbox.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "serve.h"
#include "smtpd.h"
#include "session.h"

static int	smtp_body_add(struct smtp_session *, const char *, size_t);
static int	smtp_mbox_from(const char *, size_t);
static int	smtp_seed_record(const char *, size_t);
static int	smtp_data_line(struct smtp_session *, const char *, size_t);
static void	smtp_deliver(struct smtp_session *, size_t);

static int
smtp_body_add(struct smtp_session *s, const char *p, size_t n)
{
	size_t cap;
	char *nb;

	/* An empty line before the first byte: memcpy(NULL, p, 0) is UB. */
	if (n == 0)
		return 0;
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

/*
 * In the -F seed format a record starts with the two lines
 * "Received: from HELO by NAME (CS4410MP3)" and "Number: N", and nothing
 * else marks where one message ends and the next begins. So a body line
 * that, after any run of '>', starts with "Number:", or starts with
 * "Received:" and holds "(CS4410MP3)", gets one more '>' on the way in,
 * the way mboxrd quotes "From " lines: no body can hold a line a reader
 * (or smtpd's own recovery) would take for the start of a record, and
 * removing one '>' from such lines gives the message back. "From:" and
 * "To:" lines, which every message header has, follow "Number:" in a
 * record and cannot start one: they stay as they are, as does every
 * other line.
 */
static int
smtp_seed_record(const char *p, size_t n)
{
	static const char postmark[] = "(CS4410MP3)";
	size_t i;

	while (n > 0 && *p == '>') {
		p++;
		n--;
	}
	if (n >= 7 && memcmp(p, "Number:", 7) == 0)
		return 1;
	if (n < 9 || memcmp(p, "Received:", 9) != 0)
		return 0;
	for (i = 9; i + sizeof(postmark) - 1 <= n; i++)
		if (memcmp(p + i, postmark, sizeof(postmark) - 1) == 0)
			return 1;
	return 0;
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
	if (s->s_sd->sd_format == SMTPD_FMT_SEED && smtp_seed_record(p, n) &&
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
	m.m_tls = s->s_tls != NULL;
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
	/* A client that delivers is not idling (Postfix forgives it too). */
	s->s_junk = 0;
	smtp_reply(s, "250 OK:  delivered message %lld", number);
}

/*
 * Read the message up to the line "." (RFC 5321 4.1.1.4), then deliver or
 * refuse it. Only <CR><LF>.<CR><LF> ends the data. A bare LF or bare CR
 * never ends a line: it stays inside the line it is in, so a smuggled
 * "<LF>.<LF>MAIL FROM..." (CVE-2023-51764) can never split the message,
 * and a message holding one is refused after its real end. smtpd(8): a
 * client silent for the timeout in the data phase gets the 421 line, and
 * so does one that does not complete a text line within it (Postfix's
 * smtpd_per_record_deadline): a deadline per read alone would let a
 * client trickling a byte every few seconds hold the session forever.
 * A deadline per line alone still lets one that completes a short line
 * every few seconds do it, so with -r the whole data phase also has a
 * deadline, which grows with the bytes received (Postfix's
 * smtpd_min_data_rate): its start, plus -t, plus one second for every
 * -r bytes.
 */
void
smtp_data(struct smtp_session *s)
{
	char line[SMTPD_TEXTLINE_MAX];
	size_t n = 0, size = 0;
	int cr = 0, bare = 0, toolong = 0, toobig = 0, nomem = 0, r;
	int linelong = 0;
	unsigned char c;
	long long deadline, start, wait, rate = s->s_sd->sd_minrate;
	unsigned long long got = 0;	/* bytes received since 354 */
	int slow;

	s->s_bodylen = 0;
	start = serve_now_ms();
	deadline = start + (long long)s->s_sd->sd_timeout * 1000;
	for (;;) {
		if (s->s_inoff == s->s_inlen) {
			wait = deadline;
			slow = 0;
			if (rate > 0) {
				/* got * 1000 / rate, without overflow. */
				wait = start +
				    (long long)s->s_sd->sd_timeout * 1000 +
				    (long long)(got / rate * 1000 +
				    got % rate * 1000 / rate);
				if (wait < deadline)
					slow = 1;
				else
					wait = deadline;
			}
			r = smtp_fill(s, wait);
			if (r == -1) {
				if (slow)
					log_info("%s: DATA slower than %lld "
					    "bytes/s", s->s_peer, rate);
				else
					log_info("%s: timeout in DATA",
					    s->s_peer);
				smtp_err_timeout(s);
				return;
			}
			if (r == 0) {
				s->s_quit = 1;
				return;
			}
		}
		c = s->s_in[s->s_inoff++];
		got++;
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
				deadline = serve_now_ms() +
				    (long long)s->s_sd->sd_timeout * 1000;
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
