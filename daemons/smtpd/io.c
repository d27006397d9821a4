/*
 * io: the session's input and output, every read with a deadline, every
 * buffer bounded. Replies are queued and flushed before smtpd waits for
 * input, so a PIPELINING client (RFC 2920) gets its replies together.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "serve.h"
#include "smtpd.h"
#include "session.h"

static long long	smtp_deadline(struct smtp_session *, long long, int *);
static int	smtp_cut_command(struct smtp_session *, char **, size_t *,
		    enum smtp_line *);
static int	smtp_cut_text(struct smtp_session *, char **, size_t *,
		    enum smtp_line *);

int
smtp_flush(struct smtp_session *s)
{
	ssize_t n;

	if (s->s_outlen == 0 || s->s_dead)
		return s->s_dead ? -1 : 0;
	/*
	 * The 221 after QUIT is the session's last write: held back with
	 * MSG_MORE, it leaves in one segment with the FIN of the close(2)
	 * or shutdown(2) that ends the session, not in two.
	 */
	if (s->s_bye && s->s_socket && s->s_tls == NULL &&
	    (n = send(s->s_wfd, s->s_out, s->s_outlen,
	    MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL)) > 0) {
		memmove(s->s_out, s->s_out + n, s->s_outlen - n);
		s->s_outlen -= n;
		if (s->s_outlen == 0)
			return 0;
	}
	if (s->s_tls != NULL) {
		if (smtp_tls_write(s, s->s_out, s->s_outlen, serve_now_ms() +
		    (long long)s->s_sd->sd_timeout * 1000) <= 0) {
			s->s_dead = 1;
			s->s_outlen = 0;
			return -1;
		}
		s->s_outlen = 0;
		return 0;
	}
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
int
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
	if (s->s_tls != NULL) {
		n = smtp_tls_read(s, s->s_in + s->s_inlen,
		    sizeof(s->s_in) - s->s_inlen, deadline);
		if (n > 0) {
			s->s_inlen += n;
			s->s_rcvd += n;
		}
		return n > 0 ? 1 : (int)n;
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
			s->s_rcvd += n;
			return 1;
		}
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		return 0;
	}
}

/*
 * The deadline of the next read, given the line's (serve_now_ms()
 * milliseconds); *slow is set when the data rate's is nearer. smtpd(8):
 * a command must be complete within the timeout of when smtpd started
 * waiting for it (dormant or too slow: 421), and so must every text line
 * after 354 (Postfix's smtpd_per_record_deadline): a deadline per read
 * alone would let a client trickling a byte every few seconds hold the
 * session forever. A deadline per line alone still lets one that
 * completes a short line every few seconds do it, so with -r the whole
 * data phase also has a deadline, which grows with the bytes received
 * (Postfix's smtpd_min_data_rate): its start, plus -t, plus one second
 * for every -r bytes.
 */
static long long
smtp_deadline(struct smtp_session *s, long long line, int *slow)
{
	long long rate = s->s_sd->sd_minrate, wait;
	unsigned long long got;

	*slow = 0;
	if (s->s_state != SMTP_STATE_DATA || rate <= 0)
		return line;
	/* got * 1000 / rate, without overflow. */
	got = s->s_rcvd - s->s_datapos;
	wait = s->s_datastart + (long long)s->s_sd->sd_timeout * 1000 +
	    (long long)(got / rate * 1000 + got % rate * 1000 / rate);
	if (wait >= line)
		return line;
	*slow = 1;
	return wait;
}

/*
 * A command line: an LF ends it, a CR before the LF goes. Returns 1 with
 * *r set, or 0 when more input is needed.
 */
static int
smtp_cut_command(struct smtp_session *s, char **line, size_t *len,
    enum smtp_line *r)
{
	char *p, *lf;
	size_t n;

	p = s->s_in + s->s_inoff;
	n = s->s_inlen - s->s_inoff;
	if ((lf = memchr(p, '\n', n)) != NULL) {
		n = lf - p;
		s->s_inoff += n + 1;
		if (s->s_skipping || n + 1 > SMTPD_CMDLINE_MAX) {
			s->s_skipping = 0;
			*r = LINE_LONG;
			return 1;
		}
		if (n > 0 && p[n - 1] == '\r')
			n--;
		p[n] = '\0';
		*line = p;
		*len = n;
		*r = LINE_OK;
		return 1;
	}
	if (n >= SMTPD_CMDLINE_MAX) {
		s->s_skipping = 1;
		s->s_inoff = s->s_inlen;
	}
	return 0;
}

/*
 * A text line (RFC 5321 4.1.1.4): only CRLF ends it, so a bare CR or LF
 * stays inside the line it is in. A line over 1000 octets with its CRLF
 * (4.5.3.1.6) comes in pieces: LINE_PART while it goes on, LINE_LONG for
 * the last; a CR at the end of the input is kept back, as it may begin
 * the CRLF. Returns 1 with *r set, or 0 when more input is needed.
 */
static int
smtp_cut_text(struct smtp_session *s, char **line, size_t *len,
    enum smtp_line *r)
{
	char *p, *lf;
	size_t n, i;

	p = s->s_in + s->s_inoff;
	n = s->s_inlen - s->s_inoff;
	for (i = 0; (lf = memchr(p + i, '\n', n - i)) != NULL;
	    i = lf - p + 1) {
		if (lf == p || lf[-1] != '\r')
			continue;
		*line = p;
		*len = lf - 1 - p;
		s->s_inoff += *len + 2;
		*r = LINE_OK;
		if (s->s_skipping || *len > SMTPD_TEXTLINE_MAX - 2)
			*r = LINE_LONG;
		s->s_skipping = 0;
		return 1;
	}
	if (!s->s_skipping && n < SMTPD_TEXTLINE_MAX)
		return 0;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0)
		return 0;
	s->s_skipping = 1;
	s->s_inoff += n;
	*line = p;
	*len = n;
	*r = LINE_PART;
	return 1;
}

/* The next line of the session's state, each read by one deadline. */
enum smtp_line
smtp_getline(struct smtp_session *s, char **line, size_t *len)
{
	long long deadline;
	enum smtp_line r;
	int slow, got;

	deadline = serve_now_ms() + (long long)s->s_sd->sd_timeout * 1000;
	for (;;) {
		if (s->s_state == SMTP_STATE_DATA)
			got = smtp_cut_text(s, line, len, &r);
		else
			got = smtp_cut_command(s, line, len, &r);
		if (got)
			return r;
		switch (smtp_fill(s, smtp_deadline(s, deadline, &slow))) {
		case 1:
			break;
		case -1:
			return slow ? LINE_SLOW : LINE_TIMEOUT;
		default:
			return LINE_EOF;
		}
	}
}

/*
 * Close our side first and read what the peer still sends, for a moment:
 * closing a socket with unread input sends a RST, which can destroy the
 * 421 or 221 line before the client has read it. After QUIT the client
 * sends nothing more (RFC 5321 4.1.1.10: it waits for the 221 and
 * closes); with nothing unread then, close(2) sends a plain FIN and there
 * is no RST to fear, so the session ends at once, as Postfix's and
 * OpenSMTPD's do, not after a wait for the client's own close.
 */
void
smtp_linger(struct smtp_session *s)
{
	char c;

	/*
	 * Nothing unread (EAGAIN), the client's close already here (0), or
	 * the client gone (ECONNRESET): no wait, and the caller's close(2)
	 * sends the FIN. Only bytes still unread need the linger.
	 */
	if (s->s_bye && recv(s->s_rfd, &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0)
		return;
	(void)io_linger(s->s_rfd, s->s_wfd, 1000, 65536);
}
