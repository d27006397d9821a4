/*
 * cgi_response: a CGI child's exchange with its script: the request body
 * in (a chunked one decoded first, RFC 9112 7.1), the script's response
 * (RFC 3875 6) parsed into an HTTP one and relayed to the client, and
 * the error replies when there is none.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cgi.h"
#include "httpd.h"
#include "io.h"

static int	cgi_headers(struct cgi_run *, char *, size_t, size_t *);
static int	cgi_head_done(const char *, size_t);
static int	cgi_status_field(const char *, int *, char *, size_t);
static int	cgi_head_send(struct cgi_run *, int, char *, size_t,
		    const char *);

void
cgi_reply_error(struct cgi_run *cr, int status)
{
	char buf[HTTPD_OUT_MAX];
	size_t bodylen;
	int n;

	cr->cr_status = status;
	n = resp_error(buf, sizeof(buf), cr->cr_msg->cm_version, status, 0,
	    cr->cr_msg->cm_head, cr->cr_extra[0] != '\0' ? cr->cr_extra : NULL,
	    &bodylen);
	if (n > 0 && serve_write_all(cr->cr_wfd, buf, n, 2000) == 0)
		cr->cr_bytes = bodylen;
	resp_log(cr->cr_msg->cm_ip, cr->cr_msg->cm_line, status,
	    cr->cr_bytes, cr->cr_msg->cm_referer, cr->cr_msg->cm_agent);
}

/*
 * The script's header section (RFC 3875 6.2, 6.3) in buf (len bytes, the
 * blank line included: *hlen bytes) to an HTTP header section sent to
 * the client. Returns 0, CGI_LOCAL for a local redirect (cr_local; nothing
 * sent), -1 for a response that is not valid (502), or -2 when the
 * client went away.
 */
static int
cgi_headers(struct cgi_run *cr, char *buf, size_t len, size_t *hlen)
{
	char extra[CGI_HEAD_MAX];
	char reason[64];
	char *p = buf, *e = buf + len, *lf, *colon, *v, *locv = NULL;
	size_t xlen = 0, ll;
	int status = 0, ctype = 0, loc = 0, n;

	reason[0] = '\0';
	for (;;) {
		if ((lf = memchr(p, '\n', e - p)) == NULL)
			return -1;
		ll = lf - p;
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;
		p[ll] = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			return -1;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(p, "Status") == 0) {
			if (cgi_status_field(v, &status, reason,
			    sizeof(reason)) == -1)
				return -1;
		} else if (strcasecmp(p, "Connection") == 0 ||
		    strcasecmp(p, "Transfer-Encoding") == 0 ||
		    strcasecmp(p, "Date") == 0 ||
		    strcasecmp(p, "Server") == 0 ||
		    strcasecmp(p, "Keep-Alive") == 0) {
			/* Framing and these fields are ours. */
		} else {
			if (strcasecmp(p, "Content-Type") == 0)
				ctype = 1;
			if (strcasecmp(p, "Location") == 0) {
				loc = 1;
				locv = v;
			}
			n = snprintf(extra + xlen, sizeof(extra) - xlen,
			    "%s: %s\r\n", p, v);
			if (n < 0 || (size_t)n >= sizeof(extra) - xlen)
				return -1;
			xlen += n;
		}
		p = lf + 1;
	}
	*hlen = lf + 1 - buf;
	extra[xlen] = '\0';
	/*
	 * A Location that is a local path, without Status, asks the server
	 * to serve that path in the script's place (RFC 3875 6.2.2): the
	 * script's other fields and body are not the client's.
	 */
	if (status == 0 && locv != NULL && locv[0] == '/' && locv[1] != '/') {
		strlcpy(cr->cr_local, locv, sizeof(cr->cr_local));
		return CGI_LOCAL;
	}
	/* A Location without Status is a redirect (RFC 3875 6.2.3, 6.2.4). */
	if (status == 0)
		status = loc ? 302 : 200;
	if (!ctype && !loc)
		return -1;
	return cgi_head_send(cr, status, reason, sizeof(reason), extra);
}

/*
 * "Status: 404 Not Found" (RFC 3875 6.3.3): the value v into *status,
 * and its reason phrase, if any, into reason (reasonsz bytes). -1 when
 * it is not a three-digit status from 100 to 599, so the caller answers
 * 502 rather than pass on a status line the client cannot parse.
 */
static int
cgi_status_field(const char *v, int *status, char *reason, size_t reasonsz)
{
	if (strlen(v) < 3 || !isdigit((unsigned char)v[0]) ||
	    !isdigit((unsigned char)v[1]) ||
	    !isdigit((unsigned char)v[2]) ||
	    (v[3] != '\0' && v[3] != ' '))
		return -1;
	*status = atoi(v);
	if (*status < 100 || *status > 599)
		return -1;
	if (v[3] == ' ')
		strlcpy(reason, v + 4, reasonsz);
	return 0;
}

/*
 * The HTTP header section for status, with the script's reason phrase
 * (reasonsz bytes; the standard one when it gave none) and its fields
 * (extra), sent to the client. Returns as cgi_headers(). HTTP/0.9 has no
 * header section, so nothing is sent for it.
 */
static int
cgi_head_send(struct cgi_run *cr, int status, char *reason, size_t reasonsz,
    const char *extra)
{
	char out[CGI_HEAD_MAX + 512];
	char *v;
	int n;

	cr->cr_status = status;
	if (cr->cr_msg->cm_version == HTTP_09)
		return 0;
	if (reason[0] == '\0')
		strlcpy(reason, resp_reason(status), reasonsz);
	/* A control character would end or split the status line. */
	for (v = reason; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			*v = ' ';
	/* The body is close-delimited (RFC 9112 6.3, rule 8). */
	n = resp_head_reason(out, sizeof(out), cr->cr_msg->cm_version,
	    status, reason, 0, extra);
	if (n == -1)
		return -1;
	return serve_write_all(cr->cr_wfd, out, n,
	    cr->cr_timeout * 1000) == -1 ? -2 : 0;
}

/* A blank line ending the script's header section in buf? */
static int
cgi_head_done(const char *buf, size_t len)
{
	if (len >= 1 && buf[0] == '\n')
		return 1;
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		return 1;
	return memmem(buf, len, "\n\n", 2) != NULL ||
	    memmem(buf, len, "\n\r\n", 3) != NULL;
}

/*
 * Feed the body to the script's stdin and its stdout to the client until
 * the script closes stdout or the time limit. Returns 0, 504 on the
 * time limit before a reply, 502 on an invalid reply, CGI_LOCAL on a
 * local redirect, -1 when the client went away or the limit fell after
 * the reply began.
 */
int
cgi_exchange(struct cgi_run *cr, pid_t pid)
{
	struct cgi_msg *m = cr->cr_msg;
	struct pollfd p[3];
	char head[CGI_HEAD_MAX], buf[16384], body[16384];
	const char *bp = cr->cr_body;
	size_t headlen = 0, hlen, bleft = cr->cr_bodylen;
	long long remaining = m->cm_clen - (long long)cr->cr_bodylen;
	long long deadline, left;
	ssize_t r;
	int n, i, replied = 0, pin, pout, prfd, st;

	deadline = serve_now_ms() + cr->cr_timeout * 1000LL;
	serve_nonblock(cr->cr_in, 1);
	if (remaining < 0)
		remaining = 0;
	/*
	 * A client that asked to be told before it sends the body (RFC
	 * 9110 10.1.1) would otherwise wait for its own timeout first.
	 */
	if (m->cm_expect && remaining > 0 && serve_write_all(cr->cr_wfd,
	    "HTTP/1.1 100 Continue\r\n\r\n", 25, 2000) == -1)
		return -1;
	while (cr->cr_out != -1) {
		if (cr->cr_in != -1 && bleft == 0 && remaining == 0) {
			close(cr->cr_in);	/* EOF on the script's stdin */
			cr->cr_in = -1;
		}
		n = 0;
		pin = pout = prfd = -1;
		p[n].fd = cr->cr_out;
		p[n].events = POLLIN;
		pout = n++;
		if (cr->cr_in != -1 && bleft > 0) {
			p[n].fd = cr->cr_in;
			p[n].events = POLLOUT;
			pin = n++;
		} else if (cr->cr_in != -1 && remaining > 0) {
			p[n].fd = cr->cr_rfd;
			p[n].events = POLLIN;
			prfd = n++;
		}
		if ((left = deadline - serve_now_ms()) <= 0)
			goto timeout;
		for (i = 0; i < n; i++)
			p[i].revents = 0;
		if (poll(p, n, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pin != -1 && p[pin].revents != 0) {
			r = write(cr->cr_in, bp, bleft);
			if (r > 0) {
				bp += r;
				bleft -= r;
			} else if (r == -1 && errno != EAGAIN && errno != EINTR) {
				/* The script will not read its input. */
				close(cr->cr_in);
				cr->cr_in = -1;
			}
		}
		if (prfd != -1 && p[prfd].revents != 0) {
			r = read(cr->cr_rfd, body, remaining < (long long)
			    sizeof(body) ? (size_t)remaining : sizeof(body));
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR))
				return -1;	/* the client went away */
			if (r > 0) {
				bp = body;
				bleft = r;
				remaining -= r;
			}
		}
		if (p[pout].revents == 0)
			continue;
		if (!replied) {
			r = read(cr->cr_out, head + headlen,
			    sizeof(head) - headlen);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				return 502;	/* no header section */
			headlen += r;
			if (!cgi_head_done(head, headlen)) {
				if (headlen == sizeof(head))
					return 502;
				continue;
			}
			if ((st = cgi_headers(cr, head, headlen, &hlen)) == -1)
				return 502;
			if (st == -2)
				return -1;
			if (st == CGI_LOCAL)
				return CGI_LOCAL;
			replied = 1;
			r = headlen - hlen;
			if (r > 0 && !m->cm_head) {
				if (serve_write_all(cr->cr_wfd, head + hlen, r,
				    cr->cr_timeout * 1000) == -1)
					return -1;
				cr->cr_bytes += r;
			}
			continue;
		}
		r = read(cr->cr_out, buf, sizeof(buf));
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		if (m->cm_head)
			continue;
		if (serve_write_all(cr->cr_wfd, buf, r,
		    cr->cr_timeout * 1000) == -1)
			return -1;
		cr->cr_bytes += r;
	}
	return 0;
timeout:
	log_warnx("cgi %s: killed after %d s", m->cm_script, cr->cr_timeout);
	kill(-pid, SIGKILL);
	return replied ? -1 : 504;
}
/* Read what the client still sends, so close(2) sends no RST. */
void
cgi_linger(struct cgi_run *cr)
{
	(void)io_linger(cr->cr_rfd, cr->cr_wfd, 1000, 64 * 4096);
}

/*
 * Decode the chunked request body (RFC 9112 7.1): the bytes the worker
 * read, then the rest from the client, within -t seconds. RFC 3875
 * 4.1.2 wants CONTENT_LENGTH to be the body's length, which only its end
 * tells, so it is buffered whole (at most -b bytes) and given to the
 * script as a Content-Length body is. Returns 0, an HTTP status to
 * answer with (400, 408, 413, 503), or -1 when the client went away.
 */
int
cgi_unchunk(struct cgi_run *cr)
{
	struct cgi_msg *m = cr->cr_msg;
	struct chunked cd;
	struct pollfd pfd;
	char buf[16384], *in, *body = NULL, *nb;
	size_t cap = 0, len = 0, inlen, outlen, used, want;
	long long deadline, left;
	ssize_t r;
	int st, asked = 0, i;

	chunked_init(&cd);
	deadline = serve_now_ms() + m->cm_reqtime * 1000LL;
	in = cr->cr_body;
	inlen = m->cm_bodylen;
	for (;;) {
		/* In place: the decoded bytes never pass the coded ones. */
		st = chunked_decode(&cd, in, inlen, in, &outlen, &used);
		if (st == CHUNKED_BAD)
			goto fail400;
		if (outlen > 0) {
			if ((long long)(len + outlen) > m->cm_maxbody) {
				free(body);
				return 413;
			}
			if (len + outlen > cap) {
				want = cap == 0 ? 65536 : cap * 2;
				while (want < len + outlen)
					want *= 2;
				if ((long long)want > m->cm_maxbody)
					want = m->cm_maxbody;
				if ((nb = realloc(body, want)) == NULL) {
					free(body);
					return 503;
				}
				body = nb;
				cap = want;
			}
			memcpy(body + len, in, outlen);
			len += outlen;
		}
		if (st == CHUNKED_DONE)
			break;
		/*
		 * A client that waits to be told (RFC 9110 10.1.1) is told
		 * once the bytes it sent with the head are used up.
		 */
		if (m->cm_expect && !asked) {
			asked = 1;
			if (serve_write_all(cr->cr_wfd,
			    "HTTP/1.1 100 Continue\r\n\r\n", 25, 2000) == -1)
				goto gone;
		}
		for (;;) {
			if ((left = deadline - serve_now_ms()) <= 0) {
				free(body);
				return 408;
			}
			pfd.fd = cr->cr_rfd;
			pfd.events = POLLIN;
			if ((i = poll(&pfd, 1, (int)left)) == -1 &&
			    errno != EINTR)
				goto gone;
			if (i <= 0)
				continue;
			r = read(cr->cr_rfd, buf, sizeof(buf));
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				goto gone;	/* EOF inside the body */
			break;
		}
		in = buf;
		inlen = r;
	}
	cr->cr_body = body;
	cr->cr_bodylen = len;
	m->cm_clen = len;
	m->cm_expect = 0;
	/* As for a Content-Length body: unset when there is none. */
	if (len > 0) {
		for (i = 0; cr->cr_env[i] != NULL; i++)
			;
		snprintf(cr->cr_clenvar, sizeof(cr->cr_clenvar),
		    "CONTENT_LENGTH=%zu", len);
		cr->cr_env[i] = cr->cr_clenvar;
		cr->cr_env[i + 1] = NULL;
	}
	return 0;
fail400:
	free(body);
	return 400;
gone:
	free(body);
	return -1;
}

