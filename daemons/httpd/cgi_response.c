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

#include "buf.h"
#include "cgi.h"
#include "httpd.h"
#include "io.h"

static int	cgi_headers(struct cgi_run *, char *, size_t, size_t *);
static int	cgi_head_done(const char *, size_t);
static int	cgi_status_field(const char *, int *, char *, size_t);
static int	cgi_head_send(struct cgi_run *, int, char *, size_t,
		    const char *);
struct cgi_xfer;
static int	cgi_poll_set(struct cgi_run *, struct cgi_xfer *,
		    struct pollfd *, int *, int *);
static void	cgi_feed(struct cgi_run *, struct cgi_xfer *);
static int	cgi_pull(struct cgi_run *, struct cgi_xfer *);
static int	cgi_reply_head(struct cgi_run *, struct cgi_xfer *);
static int	cgi_relay(struct cgi_run *);
static int	cgi_body_add(struct buf *, const char *, size_t,
		    long long);
static ssize_t	cgi_unchunk_read(struct cgi_run *, long long, char *,
		    size_t);
static void	cgi_unchunk_done(struct cgi_run *, char *, size_t);

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

/* Not CGI_LOCAL, 0, -1 or a status: the exchange goes on. */
#define CGI_GOON	2

/* What an exchange with the script has moved so far. */
struct cgi_xfer {
	const char	*x_bp;		/* body bytes for the script's stdin */
	size_t		 x_bleft;	/* of them, not written yet */
	long long	 x_remaining;	/* body bytes the client still owes */
	char		 x_head[CGI_HEAD_MAX];	/* the script's header section */
	size_t		 x_headlen;
	int		 x_replied;	/* the head went to the client */
	char		 x_body[16384];	/* body bytes read from the client */
};

/*
 * The poll set of one round into p: the script's stdout always, then its
 * stdin while body bytes wait for it, or the client while it still owes
 * some. Sets *pin and *prfd to their slots (-1: none); returns the count.
 */
static int
cgi_poll_set(struct cgi_run *cr, struct cgi_xfer *x, struct pollfd *p,
    int *pin, int *prfd)
{
	int n = 0;

	*pin = *prfd = -1;
	p[n].fd = cr->cr_out;
	p[n++].events = POLLIN;
	if (cr->cr_in != -1 && x->x_bleft > 0) {
		p[n].fd = cr->cr_in;
		p[n].events = POLLOUT;
		*pin = n++;
	} else if (cr->cr_in != -1 && x->x_remaining > 0) {
		p[n].fd = cr->cr_rfd;
		p[n].events = POLLIN;
		*prfd = n++;
	}
	return n;
}

/* Write body bytes to the script's stdin; close it if it will not read. */
static void
cgi_feed(struct cgi_run *cr, struct cgi_xfer *x)
{
	ssize_t r;

	r = write(cr->cr_in, x->x_bp, x->x_bleft);
	if (r > 0) {
		x->x_bp += r;
		x->x_bleft -= r;
	} else if (r == -1 && errno != EAGAIN && errno != EINTR) {
		close(cr->cr_in);
		cr->cr_in = -1;
	}
}

/* Read more of the body from the client. Returns 0, or -1: it went away. */
static int
cgi_pull(struct cgi_run *cr, struct cgi_xfer *x)
{
	ssize_t r;

	r = read(cr->cr_rfd, x->x_body, x->x_remaining < (long long)
	    sizeof(x->x_body) ? (size_t)x->x_remaining : sizeof(x->x_body));
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r > 0) {
		x->x_bp = x->x_body;
		x->x_bleft = r;
		x->x_remaining -= r;
	}
	return 0;
}

/*
 * Read the script's header section; once it is whole, answer the client
 * with its head and the body bytes read with it. Returns CGI_GOON to go
 * on, or as cgi_exchange(): 502, CGI_LOCAL, -1 (the client went away).
 */
static int
cgi_reply_head(struct cgi_run *cr, struct cgi_xfer *x)
{
	size_t hlen;
	ssize_t r;
	int st;

	r = read(cr->cr_out, x->x_head + x->x_headlen,
	    sizeof(x->x_head) - x->x_headlen);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return CGI_GOON;
	if (r <= 0)
		return 502;	/* no header section */
	x->x_headlen += r;
	if (!cgi_head_done(x->x_head, x->x_headlen))
		return x->x_headlen == sizeof(x->x_head) ? 502 : CGI_GOON;
	if ((st = cgi_headers(cr, x->x_head, x->x_headlen, &hlen)) == -1)
		return 502;
	if (st == -2)
		return -1;
	if (st == CGI_LOCAL)
		return CGI_LOCAL;
	x->x_replied = 1;
	r = x->x_headlen - hlen;
	if (r > 0 && !cr->cr_msg->cm_head) {
		if (serve_write_all(cr->cr_wfd, x->x_head + hlen, r,
		    cr->cr_timeout * 1000) == -1)
			return -1;
		cr->cr_bytes += r;
	}
	return CGI_GOON;
}

/*
 * Relay what the script writes after its head to the client (nothing
 * for HEAD). Returns CGI_GOON to go on, 0 at the script's EOF, -1 when
 * the client went away.
 */
static int
cgi_relay(struct cgi_run *cr)
{
	char buf[16384];
	ssize_t r;

	r = read(cr->cr_out, buf, sizeof(buf));
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return CGI_GOON;
	if (r <= 0)
		return 0;
	if (cr->cr_msg->cm_head)
		return CGI_GOON;
	if (serve_write_all(cr->cr_wfd, buf, r, cr->cr_timeout * 1000) == -1)
		return -1;
	cr->cr_bytes += r;
	return CGI_GOON;
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
	struct cgi_xfer xfer, *x = &xfer;
	struct pollfd p[3];
	long long deadline, left;
	int n, i, pin, prfd, st;

	x->x_headlen = 0;
	x->x_replied = 0;
	x->x_bp = cr->cr_body;
	x->x_bleft = cr->cr_bodylen;
	x->x_remaining = m->cm_clen - (long long)cr->cr_bodylen;
	if (x->x_remaining < 0)
		x->x_remaining = 0;
	deadline = serve_now_ms() + cr->cr_timeout * 1000LL;
	serve_nonblock(cr->cr_in, 1);
	/*
	 * A client that asked to be told before it sends the body (RFC
	 * 9110 10.1.1) would otherwise wait for its own timeout first.
	 */
	st = CGI_GOON;
	if (m->cm_expect && x->x_remaining > 0 && serve_write_all(cr->cr_wfd,
	    "HTTP/1.1 100 Continue\r\n\r\n", 25, 2000) == -1)
		st = -1;
	while (st == CGI_GOON && cr->cr_out != -1) {
		if (cr->cr_in != -1 && x->x_bleft == 0 && x->x_remaining == 0) {
			close(cr->cr_in);	/* EOF on the script's stdin */
			cr->cr_in = -1;
		}
		n = cgi_poll_set(cr, x, p, &pin, &prfd);
		if ((left = deadline - serve_now_ms()) <= 0) {
			log_warnx("cgi %s: killed after %d s", m->cm_script,
			    cr->cr_timeout);
			kill(-pid, SIGKILL);
			st = x->x_replied ? -1 : 504;
			break;
		}
		for (i = 0; i < n; i++)
			p[i].revents = 0;
		if (poll(p, n, (int)left) == -1) {
			st = errno == EINTR ? CGI_GOON : -1;
			continue;
		}
		if (pin != -1 && p[pin].revents != 0)
			cgi_feed(cr, x);
		if (prfd != -1 && p[prfd].revents != 0 && cgi_pull(cr, x) == -1)
			st = -1;
		else if (p[0].revents == 0)
			continue;
		else if (!x->x_replied)
			st = cgi_reply_head(cr, x);
		else
			st = cgi_relay(cr);
	}
	return st == CGI_GOON ? 0 : st;
}
/* Read what the client still sends, so close(2) sends no RST. */
void
cgi_linger(struct cgi_run *cr)
{
	(void)io_linger(cr->cr_rfd, cr->cr_wfd, 1000, 64 * 4096);
}

/*
 * Append n decoded bytes at p to b (the body kept whole, for the
 * script's CONTENT_LENGTH), at most max bytes in all. Returns 0, 413
 * past max, or 503 out of memory.
 */
static int
cgi_body_add(struct buf *b, const char *p, size_t n, long long max)
{
	if ((long long)(b->b_len + n) > max)
		return 413;
	return buf_add(b, p, n) == -1 ? 503 : 0;
}

/*
 * Read the next bytes of the body from the client into buf (size
 * bytes) before deadline (ms). Returns the count, -1 when the client
 * went away (EOF inside the body), -2 at the deadline.
 */
static ssize_t
cgi_unchunk_read(struct cgi_run *cr, long long deadline, char *buf,
    size_t size)
{
	struct pollfd pfd;
	long long left;
	ssize_t r;
	int i;

	for (;;) {
		if ((left = deadline - serve_now_ms()) <= 0)
			return -2;
		pfd.fd = cr->cr_rfd;
		pfd.events = POLLIN;
		if ((i = poll(&pfd, 1, (int)left)) == -1 && errno != EINTR)
			return -1;
		if (i <= 0)
			continue;
		r = read(cr->cr_rfd, buf, size);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		return r <= 0 ? -1 : r;
	}
}

/*
 * The decoded body (len bytes at body) is the script's, as if framed
 * by Content-Length: CONTENT_LENGTH set, unset when there is none.
 */
static void
cgi_unchunk_done(struct cgi_run *cr, char *body, size_t len)
{
	int i;

	cr->cr_body = body;
	cr->cr_bodylen = len;
	cr->cr_msg->cm_clen = len;
	cr->cr_msg->cm_expect = 0;
	if (len > 0) {
		for (i = 0; cr->cr_env[i] != NULL; i++)
			;
		snprintf(cr->cr_clenvar, sizeof(cr->cr_clenvar),
		    "CONTENT_LENGTH=%zu", len);
		cr->cr_env[i] = cr->cr_clenvar;
		cr->cr_env[i + 1] = NULL;
	}
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
	struct buf b = { NULL, 0, 0 };
	struct chunked cd;
	char buf[16384], *in;
	size_t inlen, outlen, used;
	long long deadline;
	ssize_t r;
	int st, asked = 0;

	chunked_init(&cd);
	deadline = serve_now_ms() + m->cm_reqtime * 1000LL;
	in = cr->cr_body;
	inlen = m->cm_bodylen;
	for (;;) {
		/* In place: the decoded bytes never pass the coded ones. */
		st = chunked_decode(&cd, in, inlen, in, &outlen, &used);
		if (st == CHUNKED_BAD)
			r = 400;
		else if (outlen > 0)
			r = cgi_body_add(&b, in, outlen, m->cm_maxbody);
		else
			r = 0;
		if (r != 0 || st == CHUNKED_DONE)
			break;
		/*
		 * A client that waits to be told (RFC 9110 10.1.1) is told
		 * once the bytes it sent with the head are used up.
		 */
		if (m->cm_expect && !asked) {
			asked = 1;
			if (serve_write_all(cr->cr_wfd,
			    "HTTP/1.1 100 Continue\r\n\r\n", 25, 2000) == -1) {
				r = -1;
				break;
			}
		}
		if ((r = cgi_unchunk_read(cr, deadline, buf, sizeof(buf))) < 0) {
			r = r == -2 ? 408 : -1;
			break;
		}
		in = buf;
		inlen = r;
	}
	if (r != 0) {
		free(b.b_data);
		return r;
	}
	cgi_unchunk_done(cr, b.b_data, b.b_len);
	return 0;
}
