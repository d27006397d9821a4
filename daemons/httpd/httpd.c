/*
 * httpd: main and options. See httpd(8).
 *
 * Order (DESIGN.md): parse options, open the log, open the document
 * root, fork the CGI helper, enter the seccomp profile, and only then
 * read a byte from a peer.
 */
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "httpd.h"

extern char **environ;

static const char usage[] =
    "httpd [-DdhLv] [-b max-body] [-C cgi-seconds] [-c connections]\n"
    "             [-k idle-seconds] [-M mime.types] [-n requests]\n"
    "             [-t seconds] -r document-root\n";

static void	httpd_options(int, char *[], struct httpd *, int *);
static void	httpd_root(struct httpd *);

/* The defaults, then the options (see httpd(8)) into h and *verbose. */
static void
httpd_options(int argc, char *argv[], struct httpd *h, int *verbose)
{
	int ch;

	memset(h, 0, sizeof(*h));
	h->h_timeout = 30;
	h->h_idle = 5;
	h->h_maxreq = 1000;
	h->h_maxconn = 512;
	h->h_cgitime = 10;
	h->h_maxbody = 1024 * 1024;
	h->h_mimefile = "/etc/mime.types";
	h->h_cgifd = -1;
	*verbose = 0;

	while ((ch = getopt(argc, argv, "b:C:c:Ddhk:LM:n:r:t:v")) != -1) {
		switch (ch) {
		case 'b':
			h->h_maxbody = cli_number("-b", optarg, 0, 1LL << 40);
			break;
		case 'C':
			h->h_cgitime = cli_number("-C", optarg, 1, 3600);
			break;
		case 'c':
			h->h_maxconn = cli_number("-c", optarg, 1, 65536);
			break;
		case 'D':
			h->h_dotfiles = 1;
			break;
		case 'd':
			h->h_debug = 1;
			break;
		case 'h':
			cli_help(usage);
		case 'k':
			h->h_idle = cli_number("-k", optarg, 1, 3600);
			break;
		case 'L':
			resp_log_set(0);
			break;
		case 'M':
			h->h_mimefile = optarg;
			break;
		case 'n':
			h->h_maxreq = cli_number("-n", optarg, 1, 1000000);
			break;
		case 'r':
			h->h_root = optarg;
			break;
		case 't':
			h->h_timeout = cli_number("-t", optarg, 1, 3600);
			break;
		case 'v':
			*verbose = 1;
			break;
		default:
			cli_usage(usage);
		}
	}
	if (optind != argc || h->h_root == NULL)
		cli_usage(usage);
}

/* The document root: a directory we can search, held by a fd. */
static void
httpd_root(struct httpd *h)
{
	struct stat st;

	if (realpath(h->h_root, h->h_rootabs) == NULL)
		err(1, "document root %s", h->h_root);
	if ((h->h_rootfd = open(h->h_rootabs, O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		err(1, "document root %s", h->h_rootabs);
	if (fstat(h->h_rootfd, &st) == -1)
		err(1, "document root %s", h->h_rootabs);
}

int
main(int argc, char *argv[])
{
	static const struct serve_handler handler = {
		.sh_connection = loop_connection,
		.sh_listener = loop_listener,
		.sh_datagram = NULL,
		/* Over forkd's per-source limits (RFC 9110 15.6.4). */
		.sh_refusal = "HTTP/1.1 503 Service Unavailable\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Length: 40\r\n"
		    "Retry-After: 60\r\n"
		    "Connection: close\r\n\r\n"
		    "Too many connections from your address.\n",
	};
	struct httpd h;
	int verbose;

	setproctitle_init(argc, argv, environ);
	cli_init(argv, EXIT_USAGE);
	httpd_options(argc, argv, &h, &verbose);
	httpd_root(&h);
	log_init(h.h_debug, LOG_DAEMON, "httpd");
	log_setverbose(verbose);
	mime_init(h.h_mimefile);

	cgi_start(&h);
	/*
	 * On a listener, a connection is handed over only once its request
	 * has arrived (TCP_DEFER_ACCEPT, 1 s, as nginx's "deferred"): the
	 * worker's read after accept(2) finds it, with no round through
	 * epoll. A client that sends nothing is still accepted when the
	 * second has passed, and timed out as before.
	 */
	(void)serve_listener_tcpopt(0, TCP_DEFER_ACCEPT, 1);
	profile_worker(&h);
	return serve_main(&handler, &h);
}
