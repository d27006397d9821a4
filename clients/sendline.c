/*
 * sendline: send one line over TCP, print everything the server answers.
 *
 *   sendline [-hn] [-t seconds] host port
 *
 * A telnet reduced to one line: it "connects, sends a single line of
 * input, reads any responses, and then terminates". The line goes out
 * with CRLF, the line ending of every Internet text protocol (RFC 5198,
 * and telnet's NVT, RFC 1123 3.3.1), so that `GET / HTTP/1.0` is a valid
 * request line. The reply is read block by block until the server
 * closes, never assuming a size: a server may send it in one piece or in
 * many small ones.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "dial.h"
#include "log.h"
#include "sandbox.h"

#define SL_LINE_MAX	8192	/* the one line, without its ending, bytes */
#define SL_BUFSIZE	16384	/* one read from the server, bytes */

struct sendline {
	int		 sl_blank;	/* -n: an empty line after the line */
	int		 sl_timeout_ms;	/* -t: connect and each read */
	const char	*sl_host;
	const char	*sl_port;
	int		 sl_fd;
	char		 sl_peer[DIAL_PEERMAX];	/* "127.0.0.1 port 6789" */
	char		 sl_line[SL_LINE_MAX + 4];	/* + CRLF CRLF */
	size_t		 sl_len;
	char		 sl_buf[SL_BUFSIZE];
};

static void	sendline_dial(struct sendline *);
static void	sendline_read_line(struct sendline *);
static void	sendline_relay(struct sendline *);

/*
 * Once connected, sendline reads stdin and the socket and writes the
 * socket and stdout: the base set of lib/sandbox.c is all it needs.
 */
static const struct sandbox_profile sendline_profile = {
	.sp_name = "sendline",
};

static const char usage[] = "sendline [-hn] [-t seconds] host port\n";

/* Each address of host in turn (getaddrinfo(3): names, IPv4, IPv6). */
static void
sendline_dial(struct sendline *sl)
{
	struct dial_peer peer;

	sl->sl_fd = dial_client(sl->sl_host, sl->sl_port, AF_UNSPEC,
	    sl->sl_timeout_ms, &peer);
	strlcpy(sl->sl_peer, peer.dp_name, sizeof(sl->sl_peer));
}

/*
 * Exactly one line from stdin, one byte at a time: whatever follows the
 * newline stays unread for the next program (`{ sendline ...; cat; }`).
 * The newline, and a CR before it, are replaced by CRLF. A last line with
 * no newline still counts; an empty stdin has no line to send.
 */
static void
sendline_read_line(struct sendline *sl)
{
	ssize_t n;
	char c;

	sl->sl_len = 0;
	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_FAILURE, "stdin");
		}
		if (n == 0) {
			if (sl->sl_len == 0)
				errx(EXIT_USAGE, "stdin: no line to send");
			break;
		}
		if (c == '\n')
			break;
		if (sl->sl_len == SL_LINE_MAX)
			errx(EXIT_USAGE, "stdin: line longer than %d bytes",
			    SL_LINE_MAX);
		sl->sl_line[sl->sl_len++] = c;
	}
	if (sl->sl_len > 0 && sl->sl_line[sl->sl_len - 1] == '\r')
		sl->sl_len--;
	memcpy(sl->sl_line + sl->sl_len, "\r\n", 2);
	sl->sl_len += 2;
	/* -n: the empty line that ends an HTTP header section. */
	if (sl->sl_blank) {
		memcpy(sl->sl_line + sl->sl_len, "\r\n", 2);
		sl->sl_len += 2;
	}
}

/*
 * Every block the server sends, as it comes, until it closes: a read of 0
 * bytes is the end, any other size only means "more may follow".
 */
static void
sendline_relay(struct sendline *sl)
{
	ssize_t n, w;
	size_t off;

	for (;;) {
		n = dial_recv(sl->sl_fd, sl->sl_buf, sizeof(sl->sl_buf),
		    sl->sl_timeout_ms, sl->sl_peer);
		if (n == 0)
			return;
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			w = write(STDOUT_FILENO, sl->sl_buf + off,
			    (size_t)n - off);
			if (w == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				err(EXIT_FAILURE, "stdout");
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct sendline sls;
	struct sendline *sl = &sls;
	int ch;

	sl->sl_fd = -1;
	sl->sl_timeout_ms = 30 * 1000;
	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "hnt:")) != -1) {
		switch (ch) {
		case 'h':
			cli_help(usage);
		case 'n':
			sl->sl_blank = 1;
			break;
		case 't':
			sl->sl_timeout_ms = cli_timeout_ms("-t", optarg, 86400);
			break;
		default:
			cli_usage(usage);
		}
	}
	cli_operands(&argc, &argv, 2, 2, usage);
	sl->sl_host = argv[0];
	sl->sl_port = argv[1];

	/* As dumb_net does: connect first, then read the line. */
	sendline_dial(sl);
	log_init(1, LOG_USER, "sendline");
	sandbox_enter(&sendline_profile);
	sendline_read_line(sl);
	dial_send(sl->sl_fd, sl->sl_line, sl->sl_len, sl->sl_timeout_ms,
	    sl->sl_peer);
	sendline_relay(sl);
	close(sl->sl_fd);
	return 0;
}
