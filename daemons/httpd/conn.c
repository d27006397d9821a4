/*
 * conn: one HTTP connection as a state machine over non-blocking I/O,
 * driven by the loops in loop.c: read a request head, answer it (a
 * header section from c_out, then the body with sendfile(2)), keep the
 * connection for the next request (RFC 9112 9.3) or close it. Sending
 * the answer is conn_send.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "httpd.h"

static void	conn_nodelay(struct conn *);
static void	conn_dispatch(struct conn *, int);
static int	conn_begin(struct conn *);
static void	conn_cgi(struct conn *, int, long long, long long);
static void	conn_refuse(struct conn *);
static int	conn_static(struct conn *, int);
static void	conn_file_drop(struct file_reply *);
static void	conn_error(struct conn *, int, int, int, int, const char *);
static int	conn_read(struct conn *);
static int	conn_skip(struct conn *);
static int	conn_unchunk(struct conn *);
static void	conn_consume(struct conn *, size_t);

/*
 * Connections closed, kept for the next ones: a struct conn is some 60
 * KiB, which malloc(3) would otherwise give back to the kernel and take
 * again (brk(2)) and calloc(3) clear, at every connection.
 */
#define CONN_SPARE	16
static struct conn *conn_spare[CONN_SPARE];
static int conn_nspare;

struct conn *
conn_new(struct httpd *h, int rfd, int wfd, const struct serve_peer *peer,
    int issock)
{
	struct conn *c;
	socklen_t len;
	int type;

	if (conn_nspare > 0)
		c = conn_spare[--conn_nspare];
	else if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, offsetof(struct conn, c_req));
	c->c_line[0] = c->c_referer[0] = c->c_agent[0] = '\0';
	c->c_h = h;
	c->c_rfd = rfd;
	c->c_wfd = wfd;
	c->c_peer = *peer;
	c->c_filefd = -1;
	c->c_state = CS_READ;
	c->c_deadline = serve_now_ms() + h->h_timeout * 1000LL;
	len = sizeof(type);
	c->c_issock = issock != -1 ? issock :
	    getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
	h->h_nconn++;
	return c;
}

/*
 * A response that is not the connection's last: from now on each leaves
 * at once (TCP_NODELAY), as Nagle's algorithm would only hold back the
 * next pipelined one. A connection that ends after its one response
 * needs no such call: close(2) sends what is left straight away.
 */
static void
conn_nodelay(struct conn *c)
{
	int one = 1;

	if (c->c_nodelay || !c->c_issock || !c->c_keepalive)
		return;
	setsockopt(c->c_wfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->c_nodelay = 1;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_file_close(c);
	serve_close(c->c_rfd);
	if (c->c_wfd != c->c_rfd)
		close(c->c_wfd);
	c->c_h->h_nconn--;
	if (conn_nspare < CONN_SPARE)
		conn_spare[conn_nspare++] = c;
	else
		free(c);
}

int
conn_shared(const struct conn *c)
{
	return c->c_handed;
}

int
conn_events(const struct conn *c, int *fd)
{
	switch (c->c_state) {
	case CS_WRITE:
	case CS_FILE:
		*fd = c->c_wfd;
		return POLLOUT;
	default:
		*fd = c->c_rfd;
		return POLLIN;
	}
}

long long
conn_deadline(const struct conn *c)
{
	return c->c_deadline;
}

/* Drop n bytes from the front of the input buffer. */
static void
conn_consume(struct conn *c, size_t n)
{
	if (n >= c->c_inlen) {
		c->c_inlen = 0;
		return;
	}
	memmove(c->c_in, c->c_in + n, c->c_inlen - n);
	c->c_inlen -= n;
}

/*
 * An error reply (RFC 9110 15.5, 15.6) in c_out. close: the framing of
 * the request cannot be trusted, so the connection ends after it.
 */
static void
conn_error(struct conn *c, int version, int status, int head, int close,
    const char *extra)
{
	size_t bodylen;
	int n;

	if (close)
		c->c_keepalive = 0;
	n = resp_error(c->c_out, sizeof(c->c_out), version, status,
	    c->c_keepalive, head, extra, &bodylen);
	c->c_outlen = n < 0 ? 0 : (size_t)n;
	c->c_outoff = 0;
	c->c_status = status;
	c->c_bodylen = bodylen;
	c->c_state = CS_WRITE;
}

/*
 * A new response to c_req begins: the access log fields, the -t clock,
 * and whether the connection is kept after it. Returns 1 for HEAD.
 */
static int
conn_begin(struct conn *c)
{
	struct http_request *rp = &c->c_req;

	c->c_nreq++;
	c->c_bytes = c->c_bodylen = 0;
	resp_log_request(rp, c->c_line, c->c_referer, c->c_agent);
	c->c_deadline = serve_now_ms() + c->c_h->h_timeout * 1000LL;
	/* Stopping (serve.h): this response is the connection's last. */
	c->c_keepalive = rp->r_keepalive && c->c_nreq < c->c_h->h_maxreq &&
	    rp->r_version != HTTP_09 && !serve_stopping();
	conn_nodelay(c);
	return strcmp(rp->r_method, "HEAD") == 0;
}

/*
 * A request under /cgi-bin/: hand the connection to the CGI helper with
 * the body bytes read so far (avail of them after the head; here of
 * them inside Content-Length).
 */
static void
conn_cgi(struct conn *c, int head, long long avail, long long here)
{
	struct http_request *rp = &c->c_req;
	int st;

	if (!head && strcmp(rp->r_method, "GET") != 0 &&
	    strcmp(rp->r_method, "POST") != 0) {
		conn_error(c, rp->r_version, 405, head, 1,
		    "Allow: GET, HEAD, POST\r\n");
		return;
	}
	st = cgi_handoff(c->c_h, c->c_rfd, c->c_wfd, rp, &c->c_peer,
	    c->c_in + rp->r_headlen, rp->r_chunked ? avail : here);
	if (st == 0) {
		c->c_handed = 1;
		return;
	}
	conn_error(c, rp->r_version, st, head, 1, NULL);
}

/* A method other than GET or HEAD for a static file: 405 or 501. */
static void
conn_refuse(struct conn *c)
{
	static const char *const known[] = { "POST", "PUT", "DELETE",
	    "OPTIONS", "TRACE", "CONNECT", "PATCH" };
	struct http_request *rp = &c->c_req;
	size_t i;

	/* RFC 9110 15.5.6: 405 names what is allowed. */
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(rp->r_method, known[i]) == 0)
			break;
	if (i < sizeof(known) / sizeof(known[0]))
		conn_error(c, rp->r_version, 405, 0, 0,
		    "Allow: GET, HEAD\r\n");
	else
		conn_error(c, rp->r_version, 501, 0, 1, NULL);
}

/* Give back the body file of fr: to the cache, or close it. */
static void
conn_file_drop(struct file_reply *fr)
{
	if (fr->fr_cache != NULL)
		fcache_release(fr->fr_cache);
	else if (fr->fr_fd != -1)
		close(fr->fr_fd);
}

/*
 * A static GET or HEAD: file_serve()'s answer, its head composed by
 * response.c into c_out, then the body file. Returns 0, or -1 when the
 * head did not fit (500 instead, the request left in c_in as the
 * connection closes).
 */
static int
conn_static(struct conn *c, int head)
{
	struct http_request *rp = &c->c_req;
	struct file_reply fr;
	char fields[1024];
	int n = 0;

	file_serve(c->c_h, rp, &fr);
	c->c_status = fr.fr_status;
	if (resp_file_fields(fields, sizeof(fields), &fr) == -1) {
		conn_file_drop(&fr);
		conn_error(c, rp->r_version, 500, head, 1, NULL);
		return -1;
	}
	if (fr.fr_status != 200 && fr.fr_status != 206 &&
	    fr.fr_status != 304) {
		conn_error(c, rp->r_version, fr.fr_status, head,
		    fr.fr_status >= 500, fields);
		return 0;
	}
	if (rp->r_version != HTTP_09 && (n = resp_head(c->c_out,
	    sizeof(c->c_out), rp->r_version, fr.fr_status,
	    c->c_keepalive, fields)) == -1) {
		conn_file_drop(&fr);
		conn_error(c, rp->r_version, 500, head, 1, NULL);
		return -1;
	}
	c->c_outlen = n;
	c->c_outoff = 0;
	c->c_state = CS_WRITE;
	/* A small cached file: head and body in one send. */
	if (fr.fr_body != NULL && (size_t)n + fr.fr_len <= sizeof(c->c_out)) {
		memcpy(c->c_out + n, fr.fr_body, fr.fr_len);
		c->c_outlen += fr.fr_len;
		c->c_bodylen = fr.fr_len;
		fcache_release(fr.fr_cache);
		fr.fr_cache = NULL;
		fr.fr_fd = -1;
	}
	if (fr.fr_fd != -1 && fr.fr_len == 0) {
		conn_file_drop(&fr);	/* nothing to send from it */
		fr.fr_fd = -1;
		fr.fr_cache = NULL;
	}
	c->c_filefd = fr.fr_fd;
	c->c_fcache = fr.fr_cache;
	c->c_fileoff = fr.fr_off;
	c->c_fileleft = fr.fr_fd != -1 ? fr.fr_len : 0;
	return 0;
}

/*
 * Answer the request at the front of c_in (c_req); st is req_parse()'s
 * result. A router: errors of the head, CGI, other methods, files.
 */
static void
conn_dispatch(struct conn *c, int st)
{
	struct http_request *rp = &c->c_req;
	long long avail, here;
	int head;

	head = conn_begin(c);
	if (st == REQ_OK && rp->r_clen > c->c_h->h_maxbody)
		st = 413;
	if (st != REQ_OK) {
		conn_error(c, rp->r_version, st, head, 1, NULL);
		return;
	}
	/*
	 * The body bytes already here; the rest is skipped or the CGI's.
	 * A chunked body reaches this point decoded and gone (conn_read),
	 * unless it is the CGI's: then all that was read is its start.
	 */
	avail = c->c_inlen - rp->r_headlen;
	here = rp->r_clen > 0 ? (avail < rp->r_clen ? avail : rp->r_clen) : 0;
	if (cgi_match(rp->r_path) && c->c_h->h_cgifd != -1) {
		conn_cgi(c, head, avail, here);
		return;
	}
	/* rp points into c_in: consume the request only once answered. */
	c->c_skip = rp->r_clen > 0 ? rp->r_clen - here : 0;
	if (!head && strcmp(rp->r_method, "GET") != 0)
		conn_refuse(c);
	else if (strcmp(rp->r_path, "*") == 0) {
		conn_error(c, rp->r_version, 400, head, 1, NULL);
		return;
	} else if (conn_static(c, head) == -1)
		return;
	conn_consume(c, rp->r_headlen + here);
}

/*
 * Decode and throw away the chunked body after the request head at the
 * front of c_in (RFC 9112 7.1): only its end tells where the next
 * request starts. Returns REQ_INCOMPLETE, REQ_OK with the body gone and
 * c_in holding the head and what came after the body, 400 (malformed)
 * or 413 (decoded past -b).
 */
static int
conn_unchunk(struct conn *c)
{
	char *body = c->c_in + c->c_headlen;
	size_t len = c->c_inlen - c->c_headlen, outlen, used;
	int st;

	st = chunked_decode(&c->c_chunk, body, len, NULL, &outlen, &used);
	memmove(body, body + used, len - used);
	c->c_inlen -= used;
	if (st == CHUNKED_BAD)
		return 400;
	if (c->c_chunk.cd_total > c->c_h->h_maxbody)
		return 413;
	return st == CHUNKED_DONE ? REQ_OK : REQ_INCOMPLETE;
}

static int
conn_read(struct conn *c)
{
	struct httpd *h = c->c_h;
	struct http_request *rp = &c->c_req;
	ssize_t n;
	int st;

	for (;;) {
		if (c->c_chunking) {
			if ((st = conn_unchunk(c)) != REQ_INCOMPLETE) {
				/*
				 * c_req still points into the head at the
				 * front of c_in: the body after it went.
				 */
				c->c_chunking = 0;
				conn_dispatch(c, st);
				return 0;
			}
		} else if (c->c_inlen > 0) {
			st = req_parse(c->c_in, c->c_inlen, rp);
			/*
			 * A chunked body is read before the answer, so a
			 * malformed one can still be answered 400 (RFC 9112
			 * 7.1) and -b holds. A CGI script's is decoded by
			 * the CGI child (cgi.c) instead.
			 */
			if (st == REQ_OK && rp->r_chunked &&
			    !(cgi_match(rp->r_path) && h->h_cgifd != -1)) {
				c->c_chunking = 1;
				c->c_headlen = rp->r_headlen;
				chunked_init(&c->c_chunk);
				continue;
			}
			if (st != REQ_INCOMPLETE) {
				conn_dispatch(c, st);
				return 0;
			}
		}
		if (c->c_inlen >= sizeof(c->c_in))
			return -1;	/* cannot happen: 431 comes first */
		n = read(c->c_rfd, c->c_in + c->c_inlen,
		    sizeof(c->c_in) - c->c_inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;	/* EOF or error: nothing to answer */
		/*
		 * -t runs from the first byte of a request: a chunked body
		 * trickled in is bounded by it too, like a slow head.
		 */
		if (c->c_inlen == 0)
			c->c_deadline = serve_now_ms() +
			    c->c_h->h_timeout * 1000LL;
		c->c_inlen += n;
	}
}

static int
conn_skip(struct conn *c)
{
	ssize_t n;

	while (c->c_skip > 0) {
		if (c->c_inlen > 0) {
			size_t k = c->c_inlen < (size_t)c->c_skip ?
			    c->c_inlen : (size_t)c->c_skip;
			conn_consume(c, k);
			c->c_skip -= k;
			continue;
		}
		n = read(c->c_rfd, c->c_in, sizeof(c->c_in));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->c_inlen = n;
	}
	c->c_state = CS_READ;
	return 0;
}

int
conn_event(struct conn *c)
{
	enum conn_state was;
	int r;

	do {
		was = c->c_state;
		switch (c->c_state) {
		case CS_READ:
			r = conn_read(c);
			if (r == 0 && c->c_handed)
				return -1;
			break;
		case CS_BODY:
			r = conn_skip(c);
			break;
		case CS_WRITE:
			r = conn_write(c);
			break;
		case CS_FILE:
			r = conn_file(c);
			break;
		case CS_LINGER:
		default:
			return conn_linger(c);
		}
		if (r == -1)
			return -1;
		/*
		 * A response went out and nothing more was read: the next
		 * request is seldom here yet, so wait for the loop to say
		 * it is instead of a read(2) that fails with EAGAIN.
		 */
		if (c->c_state == CS_READ && c->c_inlen == 0 && was != CS_READ)
			break;
	} while (c->c_state != was);
	return 0;
}

int
conn_timeout(struct conn *c)
{
	/*
	 * A request head (or chunked body) begun but not complete within
	 * -t seconds (slowloris): 408 and close (RFC 9110 15.5.9). An idle keep-alive
	 * connection just closes; a stalled reply closes, logged.
	 */
	if (c->c_state == CS_READ && c->c_inlen > 0) {
		c->c_keepalive = 0;
		c->c_chunking = 0;
		strlcpy(c->c_line, "-", sizeof(c->c_line));
		strlcpy(c->c_referer, "-", sizeof(c->c_referer));
		strlcpy(c->c_agent, "-", sizeof(c->c_agent));
		c->c_bytes = 0;
		conn_error(c, HTTP_11, 408, 0, 1, NULL);
		c->c_deadline = serve_now_ms() + c->c_h->h_timeout * 1000LL;
		return conn_event(c);
	}
	if (c->c_state == CS_WRITE || c->c_state == CS_FILE)
		conn_log_cut(c);
	return -1;
}
