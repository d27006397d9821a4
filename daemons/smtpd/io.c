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

int
smtp_flush(struct smtp_session *s)
{
	if (s->s_outlen == 0 || s->s_dead)
		return s->s_dead ? -1 : 0;
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
		if (n > 0)
			s->s_inlen += n;
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
			return 1;
		}
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		return 0;
	}
}

/*
 * The next command line, without its CRLF or LF, NUL-terminated in the
 * input buffer. smtpd(8): a command must be complete within the timeout
 * of when smtpd started waiting for it (dormant or too slow: 421).
 */
enum smtp_line
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

/*
 * Close our side first and read what the peer still sends, for a moment:
 * closing a socket with unread input sends a RST, which can destroy the
 * 421 or 221 line before the client has read it.
 */
void
smtp_linger(struct smtp_session *s)
{
	(void)io_linger(s->s_rfd, s->s_wfd, 1000, 65536);
}
