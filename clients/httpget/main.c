/*
 * httpget: fetch one resource over HTTP/1.1 and print its body.
 *
 *   httpget [-iI] [-o file] [-t seconds] host port path
 *
 * The classic "client host port path" web client: connect, send a
 * GET, show the response. The request is HTTP/1.1 (RFC 9112 3) with Host,
 * User-Agent and Connection: close, so every body ends at a known place:
 * Content-Length, the last chunk, or the close.
 */
#include <sys/socket.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "httpget.h"

#define HG_USER_AGENT	"httpget/1.0 (forkd)"
#define HG_TARGET_MAX	8000	/* RFC 9112 3: at least 8000 octets */

static void	httpget_target(const char *, char *, size_t);
static void	httpget_request(struct httpget *);

/*
 * After the connection and the output file are open, httpget only reads,
 * writes and polls descriptors it holds: the base set of lib/sandbox.c.
 * The response parser, which meets whatever the server sends, runs inside.
 */
static const struct sandbox_profile httpget_profile = {
	.sp_name = "httpget",
};

static const char usage[] =
    "httpget [-hiI] [-o file] [-t seconds] host port path\n";

/*
 * The request-target in origin-form (RFC 9112 3.2.1): "/" and the path.
 * Bytes that may not appear there (RFC 3986 3.3, 3.4: controls, space,
 * non-ASCII, and "\"<>\\^`{|}#") are percent-encoded, so an argument can
 * never add a header line to the request.
 */
static void
httpget_target(const char *path, char *dst, size_t dstsize)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = 0;

	if (path[0] != '/')
		dst[n++] = '/';
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (n + 4 > dstsize)
			errx(EXIT_USAGE, "path: longer than %zu bytes",
			    dstsize - 1);
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}#", *p)) {
			dst[n++] = '%';
			dst[n++] = hex[*p >> 4];
			dst[n++] = hex[*p & 0xf];
		} else
			dst[n++] = (char)*p;
	}
	dst[n] = '\0';
}

static void
httpget_request(struct httpget *hg)
{
	char target[HG_TARGET_MAX + 1], hostport[300], req[HG_TARGET_MAX + 512];
	int v6, n;

	httpget_target(hg->hg_path, target, sizeof(target));
	/*
	 * Host = uri-host [ ":" port ] (RFC 9110 7.2): an IPv6 literal in
	 * brackets, the port left out when it is http's default.
	 */
	v6 = strchr(hg->hg_host, ':') != NULL;
	n = snprintf(hostport, sizeof(hostport), "%s%s%s%s%s", v6 ? "[" : "",
	    hg->hg_host, v6 ? "]" : "",
	    strcmp(hg->hg_portnum, "80") == 0 ? "" : ":",
	    strcmp(hg->hg_portnum, "80") == 0 ? "" : hg->hg_portnum);
	if (n < 0 || (size_t)n >= sizeof(hostport))
		errx(EXIT_USAGE, "host: too long");
	n = snprintf(req, sizeof(req),
	    "%s %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: " HG_USER_AGENT "\r\n"
	    "Accept: */*\r\n"
	    "Connection: close\r\n"
	    "\r\n", hg->hg_head ? "HEAD" : "GET", target, hostport);
	if (n < 0 || (size_t)n >= sizeof(req))
		errx(EXIT_USAGE, "request too long");
	conn_send(hg, req, (size_t)n);
}

int
main(int argc, char *argv[])
{
	static struct httpget hgs;
	struct httpget *hg = &hgs;
	const char *p;
	char host[256];
	size_t len;
	int ch;

	hg->hg_fd = -1;
	hg->hg_out = STDOUT_FILENO;
	hg->hg_timeout_ms = 30 * 1000;
	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "hiIo:t:")) != -1) {
		switch (ch) {
		case 'h':
			cli_help(usage);
		case 'i':
			hg->hg_include = 1;
			break;
		case 'I':
			hg->hg_head = 1;
			hg->hg_include = 1;	/* a HEAD has only headers */
			break;
		case 'o':
			hg->hg_outfile = optarg;
			break;
		case 't':
			hg->hg_timeout_ms = cli_timeout_ms("-t", optarg, 86400);
			break;
		default:
			cli_usage(usage);
		}
	}
	cli_operands(&argc, &argv, 3, 3, usage);
	/* "[::1]", as in a URL, is the address ::1. */
	if (argv[0][0] == '[' && (len = strlen(argv[0])) > 2 &&
	    argv[0][len - 1] == ']') {
		if (len - 2 >= sizeof(host))
			errx(EXIT_USAGE, "host: too long");
		memcpy(host, argv[0] + 1, len - 2);
		host[len - 2] = '\0';
		hg->hg_host = host;
	} else
		hg->hg_host = argv[0];
	hg->hg_port = argv[1];
	hg->hg_path = argv[2];
	for (p = hg->hg_host; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f ||
		    *p == '/')
			errx(EXIT_USAGE, "host: invalid character");
	if (*hg->hg_host == '\0')
		errx(EXIT_USAGE, "host: empty");

	dial_connect(hg);
	if (hg->hg_outfile != NULL && (hg->hg_out = open(hg->hg_outfile,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) == -1)
		err(EXIT_FAILURE, "%s", hg->hg_outfile);
	/* Sandbox messages (only on failure) go to stderr as well. */
	log_init(1, LOG_USER, "httpget");
	sandbox_enter(&httpget_profile);

	httpget_request(hg);
	if (response_head(hg) == -1)
		errx(EXIT_FAILURE, "%s", hg->hg_error);
	if (hg->hg_status < 200 || hg->hg_status > 299)
		warnx("%s", hg->hg_statusline);
	if (response_body(hg) == -1)
		errx(EXIT_FAILURE, "%s", hg->hg_error);
	if (hg->hg_out != STDOUT_FILENO && close(hg->hg_out) == -1)
		err(EXIT_FAILURE, "%s", hg->hg_outfile);
	close(hg->hg_fd);
	return (hg->hg_status >= 200 && hg->hg_status <= 299) ? 0 :
	    EXIT_FAILURE;
}
