/*
 * conn_send: the answer of a connection leaving: c_out with one write,
 * the body file with sendfile(2) (pread and write where the output takes
 * no sendfile), the access log line once it has gone, then keep-alive
 * (RFC 9112 9.3) or a lingering close (RFC 9112 9.6).
 */
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include "conn.h"
#include "httpd.h"

#define CONN_LINGER_MS	2000

static int	conn_done(struct conn *);

/* Done with the body file: close it, or give it back to the cache. */
void
conn_file_close(struct conn *c)
{
	if (c->c_fcache != NULL)
		fcache_release(c->c_fcache);
	else if (c->c_filefd != -1)
		close(c->c_filefd);
	c->c_fcache = NULL;
	c->c_filefd = -1;
}

/*
 * The response in progress ends unfinished (the peer is gone, or took
 * no bytes for -t seconds): log it still, with the body bytes sent.
 */
void
conn_log_cut(struct conn *c)
{
	c->c_keepalive = 0;
	resp_log(c->c_peer.remote_ip, c->c_line, c->c_status ? c->c_status :
	    500, c->c_bytes, c->c_referer, c->c_agent);
}

/* The response has left: log it, then keep the connection or not. */
static int
conn_done(struct conn *c)
{
	struct httpd *h = c->c_h;

	resp_log(c->c_peer.remote_ip, c->c_line, c->c_status,
	    c->c_bytes + c->c_bodylen, c->c_referer, c->c_agent);
	conn_file_close(c);
	if (!c->c_keepalive) {
		/*
		 * Unread request bytes would make close(2) send RST, which
		 * can destroy the reply before the client reads it (RFC
		 * 9112 9.6): shut our side, then read until EOF a while.
		 */
		if (c->c_issock && c->c_status >= 400) {
			shutdown(c->c_wfd, SHUT_WR);
			c->c_state = CS_LINGER;
			c->c_deadline = serve_now_ms() + CONN_LINGER_MS;
			return 0;
		}
		return -1;
	}
	c->c_state = c->c_skip > 0 ? CS_BODY : CS_READ;
	/* A pipelined request already started has -t; an idle one -k. */
	c->c_deadline = serve_now_ms() + (c->c_inlen > 0 ? h->h_timeout :
	    h->h_idle) * 1000LL;
	return 0;
}

int
conn_linger(struct conn *c)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(c->c_rfd, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

int
conn_write(struct conn *c)
{
	ssize_t n;

	while (c->c_outoff < c->c_outlen) {
		if (c->c_issock)
			n = send(c->c_wfd, c->c_out + c->c_outoff,
			    c->c_outlen - c->c_outoff, MSG_NOSIGNAL |
			    (c->c_filefd != -1 ? MSG_MORE : 0));
		else
			n = write(c->c_wfd, c->c_out + c->c_outoff,
			    c->c_outlen - c->c_outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			conn_log_cut(c);
			return -1;
		}
		c->c_outoff += n;
		c->c_deadline = serve_now_ms() + c->c_h->h_timeout * 1000LL;
	}
	if (c->c_filefd != -1) {
		c->c_state = CS_FILE;
		return 0;
	}
	return conn_done(c);
}

int
conn_file(struct conn *c)
{
	ssize_t n;
	size_t want;

	while (c->c_fileleft > 0) {
		want = c->c_fileleft > (1 << 20) ? (1 << 20) :
		    (size_t)c->c_fileleft;
		if (!c->c_nosendfile) {
			n = sendfile(c->c_wfd, c->c_filefd, &c->c_fileoff,
			    want);
			if (n == -1 && (errno == EINVAL || errno == ENOSYS)) {
				/* An output sendfile(2) cannot write to. */
				c->c_nosendfile = 1;
				continue;
			}
		} else {
			char buf[16384];
			ssize_t w;

			if (want > sizeof(buf))
				want = sizeof(buf);
			n = pread(c->c_filefd, buf, want, c->c_fileoff);
			if (n > 0) {
				if ((w = write(c->c_wfd, buf, n)) == -1)
					n = -1;
				else {
					n = w;
					c->c_fileoff += w;
				}
			}
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			/* The file shrank under us: the framing is lost. */
			if (n == 0)
				log_warnx("%s: file shorter than its "
				    "Content-Length", c->c_line);
			conn_log_cut(c);
			return -1;
		}
		c->c_bytes += n;
		c->c_fileleft -= n;
		c->c_deadline = serve_now_ms() + c->c_h->h_timeout * 1000LL;
	}
	return conn_done(c);
}
