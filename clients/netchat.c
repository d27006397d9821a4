/*
 * netchat: a one-to-one chat taking turns by line, as a C command-line tool.
 *
 *	netchat [-fv] [-b address] [-w seconds] server port
 *	netchat [-fv] [-w seconds] host port
 *
 * The server and the client alternate: the client reads a line from its
 * user and sends it, then waits for one line from the network and prints
 * it; the server starts at the second step. A blank line typed by the
 * user, the end of the user's input, or the end of the connection ends
 * the conversation; the client then exits and the server accepts the next
 * client. -f drops the turn-taking: either side types at any time.
 *
 * The wire format is plain lines ending in LF, so either end can be nc(1).
 * stdout carries only what the peer sent; prompts and status lines go to
 * stderr, and only when stdin is a terminal or -v is given, so scripted
 * use sees the peer's bytes and nothing else.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dial.h"
#include "io.h"
#include "log.h"

/* Longest line handled in one piece; longer ones travel in pieces. */
#define NC_LINEMAX	8192

/* Why a conversation ended. */
enum nc_end {
	NC_END_BLANK,		/* the user typed a blank line */
	NC_END_EOF,		/* the user's input ended */
	NC_END_PEER,		/* the peer closed the connection */
	NC_END_ERROR,		/* network error or -w timeout */
};

/* Buffered input from one descriptor, split into lines. */
struct nc_lbuf {
	char	lb_buf[NC_LINEMAX];
	size_t	lb_len;
	int	lb_eof;
};

/* The one state struct of the program. */
struct netchat {
	int		 nc_full;	/* -f: full duplex */
	int		 nc_verbose;	/* -v, or stdin is a terminal */
	int		 nc_prompt;	/* stdin is a terminal: prompt */
	int		 nc_vis;	/* stdout is a terminal: escape */
	int		 nc_wait_ms;	/* -w: network deadline; -1 none */
	struct nc_lbuf	 nc_in;		/* the user's input, fd 0 */
	struct nc_lbuf	 nc_net;	/* the peer's input */
};

static struct netchat netchat;

static const char usage[] =
    "netchat [-fhv] [-b address] [-w seconds] server port\n"
    "       netchat [-fhv] [-w seconds] host port\n";

/* A status line on stderr, for people; scripts see none unless -v. */
static void __attribute__((format(printf, 2, 3)))
nc_status(const struct netchat *nc, const char *fmt, ...)
{
	va_list ap;

	if (!nc->nc_verbose)
		return;
	va_start(ap, fmt);
	fputs("netchat: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * One line from lb into out (outsize bytes, NUL-terminated, without its
 * LF). At end of input a last line without LF counts as a line; a line
 * longer than the buffer comes out in pieces. Returns 1 with a line (or
 * its last piece), 2 with a piece that more of the line follows, 0 if
 * there is none yet.
 */
static int
nc_lb_take(struct nc_lbuf *lb, char *out, size_t outsize, size_t *outlen)
{
	char *nl;
	size_t n, used;
	int piece = 0;

	nl = memchr(lb->lb_buf, '\n', lb->lb_len);
	if (nl != NULL) {
		n = nl - lb->lb_buf;
		used = n + 1;
	} else if (lb->lb_len == sizeof(lb->lb_buf)) {
		n = used = lb->lb_len;
		piece = 1;
	} else if (lb->lb_eof && lb->lb_len > 0) {
		n = used = lb->lb_len;
	} else
		return 0;
	if (n >= outsize) {
		n = used = outsize - 1;
		piece = 1;
	}
	memcpy(out, lb->lb_buf, n);
	out[n] = '\0';
	*outlen = n;
	memmove(lb->lb_buf, lb->lb_buf + used, lb->lb_len - used);
	lb->lb_len -= used;
	return piece ? 2 : 1;
}

/* One read(2) into lb. Returns bytes read, 0 at end, -1 with errno. */
static ssize_t
nc_lb_fill(struct nc_lbuf *lb, int fd)
{
	ssize_t n;

	if (lb->lb_len == sizeof(lb->lb_buf))
		return 1;	/* full: nc_lb_take() hands out a piece */
	do
		n = read(fd, lb->lb_buf + lb->lb_len,
		    sizeof(lb->lb_buf) - lb->lb_len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		lb->lb_len += n;
	else if (n == 0)
		lb->lb_eof = 1;
	return n;
}

/*
 * The next line from fd through lb, waiting at most timeout_ms in all
 * (-1: forever). Returns 1 with a line, 2 with a piece of a longer one
 * (as nc_lb_take), 0 at end of input, -1 with errno (ETIMEDOUT when the
 * deadline passed).
 */
static int
nc_readline(struct nc_lbuf *lb, int fd, int timeout_ms, char *out,
    size_t outsize, size_t *outlen)
{
	long long deadline = io_deadline(timeout_ms);
	int r;

	for (;;) {
		if ((r = nc_lb_take(lb, out, outsize, outlen)) != 0)
			return r;
		if (lb->lb_eof)
			return 0;
		if (io_wait(fd, POLLIN, deadline) != 1)
			return -1;	/* ETIMEDOUT, or poll's errno */
		if (nc_lb_fill(lb, fd) == -1) {
			if (errno == EAGAIN)
				continue;
			return -1;
		}
	}
}

/* All len bytes to fd 1 (no stdio buffering between turns). */
static void
nc_output(const struct netchat *nc, const char *buf, size_t len)
{
	char vis[NC_LINEMAX * 4 + 4];	/* room for log_vis of a whole line */

	/*
	 * On a terminal, a peer's control bytes would be terminal commands:
	 * show them as vis(3) escapes, keeping line ends and tabs.
	 */
	if (nc->nc_vis) {
		buf = log_visx(vis, sizeof(vis), buf, len, LOG_VIS_LINES);
		len = strlen(vis);
	}
	if (io_write_all(1, buf, len, -1) == -1)
		err(1, "stdout");
}

/*
 * Send one line and its LF to the peer, or with piece != 0 a piece of a
 * longer line, without. Returns 0, or -1 with errno.
 */
static int
nc_sendline(const struct netchat *nc, int fd, const char *line, size_t len,
    int piece)
{
	char buf[NC_LINEMAX + 1];

	memcpy(buf, line, len);
	buf[len] = '\n';
	return io_write_all(fd, buf, len + !piece, nc->nc_wait_ms);
}

/* A blank line ends the chat; a CR left by a CRLF file is still blank. */
static int
nc_blank(const char *line, size_t len)
{
	return len == 0 || (len == 1 && line[0] == '\r');
}

/*
 * One line each way, in turn; the client speaks first. A line
 * longer than the buffer is one turn all the same, sent or printed in
 * pieces until its LF.
 */
static enum nc_end
nc_alternate(struct netchat *nc, int fd, int user_first)
{
	char line[NC_LINEMAX];
	size_t len;
	int r, user = user_first, cont = 0;

	for (;;) {
		if (user) {
			if (nc->nc_prompt && !cont)
				fputs("> ", stderr);
			r = nc_readline(&nc->nc_in, 0, -1, line,
			    sizeof(line), &len);
			if (r == -1)
				err(1, "stdin");
			if (r == 0)
				return NC_END_EOF;
			if (!cont && nc_blank(line, len))
				return NC_END_BLANK;
			if (nc_sendline(nc, fd, line, len, r == 2) == -1) {
				if (errno == EPIPE || errno == ECONNRESET)
					return NC_END_PEER;
				warn("send");
				return NC_END_ERROR;
			}
		} else {
			r = nc_readline(&nc->nc_net, fd, nc->nc_wait_ms, line,
			    sizeof(line), &len);
			if (r == 0)
				return NC_END_PEER;
			if (r == -1) {
				if (errno == ECONNRESET)
					return NC_END_PEER;
				warn("receive");
				return NC_END_ERROR;
			}
			/* A CRLF peer's CR is line end, not text, on a tty. */
			if (r == 1 && nc->nc_vis && len > 0 &&
			    line[len - 1] == '\r')
				len--;
			line[len] = '\n';
			nc_output(nc, line, len + (r == 1));
		}
		/* The turn passes at the end of a line, not of a piece. */
		if (!(cont = r == 2))
			user = !user;
	}
}

/* -f: poll the user and the peer; whatever arrives goes across. */
static enum nc_end
nc_duplex(struct netchat *nc, int fd)
{
	struct pollfd pfd[2];
	char line[NC_LINEMAX], buf[NC_LINEMAX];
	size_t len;
	ssize_t n;
	int r, shut = 0, cont = 0, t;

	for (;;) {
		/* Whole lines from the user, so a blank one can end it. */
		while ((t = nc_lb_take(&nc->nc_in, line, sizeof(line),
		    &len)) != 0) {
			if (!cont && nc_blank(line, len))
				return NC_END_BLANK;
			cont = t == 2;
			if (nc_sendline(nc, fd, line, len, cont) == -1) {
				if (errno == EPIPE || errno == ECONNRESET)
					return NC_END_PEER;
				warn("send");
				return NC_END_ERROR;
			}
		}
		if (nc->nc_in.lb_eof && !shut) {
			/*
			 * The user is done; the peer may still talk.
			 * Half-close so that it sees the end of our data.
			 */
			if (shutdown(fd, SHUT_WR) == -1 && errno != ENOTCONN)
				warn("shutdown");
			shut = 1;
		}
		pfd[0].fd = nc->nc_in.lb_eof ? -1 : 0;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		r = poll(pfd, 2, nc->nc_wait_ms);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (r == 0) {
			warnx("receive: %s", strerror(ETIMEDOUT));
			return NC_END_ERROR;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			do
				n = read(fd, buf, sizeof(buf));
			while (n == -1 && errno == EINTR);
			if (n == 0 || (n == -1 && errno == ECONNRESET))
				return NC_END_PEER;
			if (n == -1) {
				warn("receive");
				return NC_END_ERROR;
			}
			nc_output(nc, buf, n);
		}
		if (pfd[0].fd != -1 &&
		    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    nc_lb_fill(&nc->nc_in, 0) == -1 && errno != EAGAIN)
			err(1, "stdin");
	}
}

static enum nc_end
nc_converse(struct netchat *nc, int fd, int user_first)
{
	enum nc_end end;

	memset(&nc->nc_net, 0, sizeof(nc->nc_net));
	signal(SIGPIPE, SIG_IGN);
	end = nc->nc_full ? nc_duplex(nc, fd) : nc_alternate(nc, fd,
	    user_first);
	switch (end) {
	case NC_END_PEER:
		nc_status(nc, "connection closed by peer");
		break;
	case NC_END_BLANK:
		nc_status(nc, "blank line: connection closed");
		break;
	case NC_END_EOF:
		nc_status(nc, "end of input: connection closed");
		break;
	case NC_END_ERROR:
		break;
	}
	return end;
}

static int
nc_client(struct netchat *nc, const char *host, const char *port)
{
	struct dial_peer peer;
	enum nc_end end;
	int fd;

	/*
	 * -w bounds each connect as nc -w does: a host that drops SYNs
	 * would otherwise cost the kernel's minutes of retries.
	 */
	fd = dial_client(host, port, AF_UNSPEC, nc->nc_wait_ms, &peer);
	/* The conversation's reads and writes wait in poll(2) themselves. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1)
		err(1, "fcntl");
	nc_status(nc, "connected to %s", peer.dp_name);
	end = nc_converse(nc, fd, 1);
	close(fd);
	return end == NC_END_ERROR ? 1 : 0;
}

static int
nc_listen(const char *address, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e, on = 1, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(address, port, &hints, &res)) != 0)
		errx(EXIT_USAGE, "%s port %s: %s", address, port,
		    gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		/* A restarted server must not wait out TIME_WAIT. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			warn("SO_REUSEADDR");
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = saved;
		err(1, "bind %s port %s", address, port);
	}
	return fd;
}

/*
 * The server: one client at a time; when a conversation ends, the
 * next client is accepted. While waiting, the user's input is watched so
 * that its end stops the server at once (what was typed stays buffered
 * for the next client).
 */
static int
nc_server(struct netchat *nc, const char *address, const char *port)
{
	struct sockaddr_storage ss;
	char name[DIAL_PEERMAX];
	struct pollfd pfd[2];
	socklen_t sslen;
	int lfd, fd;

	lfd = nc_listen(address, port);
	nc_status(nc, "listening on %s port %s", address, port);
	for (;;) {
		if (nc->nc_in.lb_eof && nc->nc_in.lb_len == 0)
			break;
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		/*
		 * A full buffer takes no more: stdin would stay readable,
		 * and the listener never get its turn below.
		 */
		pfd[1].fd = nc->nc_in.lb_eof ||
		    nc->nc_in.lb_len == sizeof(nc->nc_in.lb_buf) ? -1 : 0;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (nc_lb_fill(&nc->nc_in, 0) == -1 &&
			    errno != EAGAIN)
				err(1, "stdin");
			continue;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			err(1, "accept");
		}
		nc_status(nc, "connection from %s", addr_name(
		    (struct sockaddr *)&ss, sslen, name, sizeof(name)));
		nc_converse(nc, fd, 0);
		close(fd);
	}
	close(lfd);
	nc_status(nc, "end of input: server exits");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct netchat *nc = &netchat;
	const char *address = "0.0.0.0";
	int ch, verbose = 0;

	nc->nc_wait_ms = -1;
	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "b:fhvw:")) != -1) {
		switch (ch) {
		case 'b':
			address = optarg;
			break;
		case 'f':
			nc->nc_full = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			nc->nc_wait_ms = cli_timeout_ms("-w", optarg, 86400);
			break;
		case 'h':
			cli_help(usage);
		default:
			cli_usage(usage);
		}
	}
	cli_operands(&argc, &argv, 2, 2, usage);
	(void)cli_number("port", argv[1], 1, 65535);
	nc->nc_prompt = isatty(0) && !nc->nc_full;
	nc->nc_verbose = verbose || isatty(0);
	nc->nc_vis = isatty(1);
	if (strcmp(argv[0], "server") == 0)
		return nc_server(nc, address, argv[1]);
	return nc_client(nc, argv[0], argv[1]);
}
