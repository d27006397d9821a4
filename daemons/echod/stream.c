/*
 * stream: one echo connection (RFC 862, "TCP Based Echo Service": "Once a
 * connection is established any data received is sent back. This
 * continues until the calling user terminates the connection.")
 *
 * With -t a terminator also ends it: the client's line "." (the bytes
 * "\n.\n", as SMTP ends DATA, RFC 5321 4.1.1.4), echoed before the close.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "echod.h"
#include "io.h"
#include "log.h"

static uint64_t	stream_linger(int, int);
static bool	conn_flush(struct echo_conn *);
static bool	conn_linger(struct echo_conn *);
static bool	conn_splice_start(struct echo_conn *);
static bool	conn_splice(struct echo_conn *);

size_t
term_scan(enum echo_term *st, const unsigned char *p, size_t len,
    bool *found)
{
	size_t i;

	*found = false;
	for (i = 0; i < len; i++) {
		switch (*st) {
		case TERM_BOL:
			*st = p[i] == '.' ? TERM_DOT :
			    p[i] == '\n' ? TERM_BOL : TERM_MID;
			break;
		case TERM_MID:
			if (p[i] == '\n')
				*st = TERM_BOL;
			break;
		case TERM_DOT:
		case TERM_DOTCR:
			if (p[i] == '\n') {
				*found = true;
				*st = TERM_BOL;
				return i + 1;
			}
			/* ".\r" once, for clients that send CRLF lines. */
			*st = (*st == TERM_DOT && p[i] == '\r') ?
			    TERM_DOTCR : TERM_MID;
			break;
		}
	}
	return len;
}

/*
 * After the terminator and its echo: send our FIN behind the echo, then
 * read and drop what the peer still sends until its EOF, for at most
 * timeout_ms. Closing with unread input, or with input arriving after the
 * close, makes Linux answer RST and throw away the echo still in its send
 * queue (unsent while the peer's window is full): the peer would lose the
 * tail of its echo. Returns the bytes dropped.
 */
static uint64_t
stream_linger(int fd, int timeout_ms)
{
	return io_linger(fd, fd, timeout_ms, 0);
}

int
echo_connection(int rfd, int wfd, const struct serve_peer *peer, void *arg)
{
	const struct echod *env = arg;
	unsigned char buf[ECHO_BUFSZ];
	enum echo_term st = TERM_BOL;
	uint64_t in = 0, out = 0;
	const char *why = "eof";
	struct pollfd pfd;
	bool found = false;
	size_t k;
	ssize_t n;
	socklen_t tlen = sizeof(int);
	int r, type, status = 0;

	/*
	 * serve_write_all() keeps its deadline only on a non-blocking fd: on
	 * a blocking socket write(2) sleeps until a peer that never reads
	 * takes its echo, and -i never ends the connection. Sockets only: a
	 * terminal's O_NONBLOCK would outlive us.
	 */
	if (getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0)
		(void)serve_nonblock(wfd, 1);
	log_info("connect %s:%s", peer->remote_ip, peer->remote_port);
	for (;;) {
		pfd.fd = rfd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, env->e_idle * 1000);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			why = strerror(errno);
			status = 1;
			break;
		}
		if (r == 0) {
			why = "idle";
			break;
		}
		n = read(rfd, buf, sizeof(buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			why = strerror(errno);
			status = errno == ECONNRESET ? 0 : 1;
			break;
		}
		if (n == 0)
			break;
		in += n;
		k = n;
		if (env->e_terminator)
			k = term_scan(&st, buf, n, &found);
		/*
		 * Blocking writes are the back-pressure here: nothing more is
		 * read until the peer has taken this back, for at most the
		 * idle time.
		 */
		if (serve_write_all(wfd, buf, k, env->e_idle * 1000) == -1) {
			why = errno == ETIMEDOUT ? "idle" : strerror(errno);
			status = (errno == ETIMEDOUT || errno == EPIPE ||
			    errno == ECONNRESET) ? 0 : 1;
			break;
		}
		out += k;
		if (found) {
			why = "terminator";
			in += stream_linger(wfd, env->e_idle * 1000 <
			    ECHO_LINGER_MS ? env->e_idle * 1000 :
			    ECHO_LINGER_MS);
			break;
		}
	}
	log_info("close %s:%s in %llu out %llu (%s)", peer->remote_ip,
	    peer->remote_port, (unsigned long long)in,
	    (unsigned long long)out, why);
	return status;
}

/* Write what is pending. Returns false on an error (ec_why set). */
static bool
conn_flush(struct echo_conn *ec)
{
	ssize_t n;

	while (ec->ec_off < ec->ec_len) {
		n = write(ec->ec_fd, ec->ec_buf + ec->ec_off,
		    ec->ec_len - ec->ec_off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			ec->ec_why = strerror(errno);
			return false;
		}
		ec->ec_off += n;
		ec->ec_out += n;
		ec->ec_last = serve_now_ms();
	}
	ec->ec_off = ec->ec_len = 0;
	return true;
}

/*
 * The terminator's echo is written: send our FIN, then drop input until
 * the peer's EOF, one read a call (see stream_linger(); echo_deadline()
 * bounds it). Returns false once the connection may close.
 */
static bool
conn_linger(struct echo_conn *ec)
{
	unsigned char junk[4096];
	ssize_t n;

	ec->ec_why = "terminator";
	if (!ec->ec_shut) {
		ec->ec_shut = true;
		ec->ec_last = serve_now_ms();
		if (shutdown(ec->ec_fd, SHUT_WR) == -1)
			return false;
	}
	n = read(ec->ec_fd, junk, sizeof(junk));
	if (n > 0) {
		ec->ec_in += n;
		return true;
	}
	return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR);
}

/*
 * A connection that fills the buffer in one read is a bulk transfer:
 * from then on its bytes go socket -> pipe -> socket with splice(2),
 * never copied through user space, up to ECHO_PIPESZ at a time instead
 * of ECHO_BUFSZ. Not with -t, whose terminator must be looked for in
 * the bytes. Returns false when splicing cannot be used (no pipe: EMFILE;
 * it stays off for the connection).
 */
static bool
conn_splice_start(struct echo_conn *ec)
{
	if (ec->ec_nosplice || ec->ec_env->e_terminator)
		return false;
	if (pipe2(ec->ec_pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		ec->ec_nosplice = true;
		return false;
	}
	/* A bigger pipe when the system allows it; 64 KiB otherwise. */
	(void)fcntl(ec->ec_pipe[1], F_SETPIPE_SZ, ECHO_PIPESZ);
	ec->ec_splice = true;
	ec->ec_piped = 0;
	return true;
}

/*
 * One step of a spliced connection: the pipe's bytes back to the peer,
 * then, once it is empty, what the peer sent into it. The pipe holds the
 * back-pressure the buffer holds otherwise. Returns false to close.
 */
static bool
conn_splice(struct echo_conn *ec)
{
	ssize_t n;

	for (;;) {
		while (ec->ec_piped > 0) {
			n = splice(ec->ec_pipe[0], NULL, ec->ec_fd, NULL,
			    ec->ec_piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return true;
			if (n <= 0) {
				ec->ec_why = n == 0 ? "eof" : strerror(errno);
				return false;
			}
			ec->ec_piped -= n;
			ec->ec_out += n;
			ec->ec_last = serve_now_ms();
		}
		n = splice(ec->ec_fd, NULL, ec->ec_pipe[1], NULL, ECHO_PIPESZ,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n == -1) {
			ec->ec_why = strerror(errno);
			return false;
		}
		if (n == 0) {
			ec->ec_why = "eof";
			return false;
		}
		ec->ec_in += n;
		ec->ec_piped = n;
		ec->ec_last = serve_now_ms();
	}
}

bool
handle_connection(struct echo_conn *ec)
{
	bool found = false;
	ssize_t n;

	if (ec->ec_splice)
		return conn_splice(ec);

	/* What the peer sent reaches it before we read more of its bytes. */
	if (!conn_flush(ec))
		return false;
	if (ec->ec_off < ec->ec_len)
		return true;
	if (ec->ec_done)
		return conn_linger(ec);

	n = read(ec->ec_fd, ec->ec_buf, sizeof(ec->ec_buf));
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		ec->ec_why = strerror(errno);
		return false;
	}
	if (n == 0) {
		ec->ec_why = "eof";
		return false;
	}
	ec->ec_in += n;
	ec->ec_last = serve_now_ms();
	ec->ec_off = 0;
	ec->ec_len = n;
	if (ec->ec_env->e_terminator) {
		ec->ec_len = term_scan(&ec->ec_term, ec->ec_buf, n, &found);
		ec->ec_done = found;
	}

	/* Most echoes go straight back: try now rather than after a poll. */
	if (!conn_flush(ec))
		return false;
	if (ec->ec_done && ec->ec_off == ec->ec_len)
		return conn_linger(ec);
	/*
	 * A full buffer: more is coming. Once this is written back, splice
	 * the rest. A first splice refused (EINVAL: not a socket and
	 * pipe) leaves the connection on read/write.
	 */
	if ((size_t)n == sizeof(ec->ec_buf) && ec->ec_off == ec->ec_len &&
	    conn_splice_start(ec)) {
		n = splice(ec->ec_fd, NULL, ec->ec_pipe[1], NULL, ECHO_PIPESZ,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			if (errno != EINVAL && errno != ENOSYS) {
				ec->ec_why = strerror(errno);
				return false;
			}
			close(ec->ec_pipe[0]);
			close(ec->ec_pipe[1]);
			ec->ec_splice = false;
			ec->ec_nosplice = true;
			return true;
		}
		if (n == 0) {
			ec->ec_why = "eof";
			return false;
		}
		if (n > 0) {
			ec->ec_in += n;
			ec->ec_piped = n;
		}
		return conn_splice(ec);
	}
	return true;
}

short
echo_events(const struct echo_conn *ec)
{
	if (ec->ec_splice)
		return ec->ec_piped > 0 ? POLLOUT : POLLIN;
	return ec->ec_off < ec->ec_len ? POLLOUT : POLLIN;
}

long long
echo_deadline(const struct echo_conn *ec)
{
	long long idle = ec->ec_env->e_idle * 1000LL;

	if (ec->ec_shut && idle > ECHO_LINGER_MS)
		idle = ECHO_LINGER_MS;
	return ec->ec_last + idle;
}

void
echo_close(struct echo_conn *ec)
{
	log_info("close %s:%s in %llu out %llu (%s)", ec->ec_peer.remote_ip,
	    ec->ec_peer.remote_port, (unsigned long long)ec->ec_in,
	    (unsigned long long)ec->ec_out,
	    ec->ec_why != NULL ? ec->ec_why : "?");
	serve_close(ec->ec_fd);
	ec->ec_fd = -1;
	if (ec->ec_splice) {
		close(ec->ec_pipe[0]);
		close(ec->ec_pipe[1]);
		ec->ec_splice = false;
	}
}
