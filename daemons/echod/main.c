/*
 * echod: the RFC 862 echo service, an inetd-style handler.
 *
 *	echod [-dt] [-c conns] [-i seconds] [-x seconds]
 *
 * It serves what it finds on fd 0 (lib/serve.h): one connection (forkd
 * nowait, inetd nowait, tcpserver, or stdin/stdout), a listening socket
 * with many connections at once (forkd prefork.N or wait), or a bound
 * datagram socket (forkd or inetd wait on dgram/udp).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "echod.h"
#include "log.h"
#include "sandbox.h"
#include "serve.h"

static const char usage[] =
    "echod [-dht] [-c conns] [-i seconds] [-x seconds]\n";

int
main(int argc, char *argv[])
{
	static const struct serve_handler handler = {
		.sh_connection = echo_connection,
		.sh_listener = echo_listener,
		.sh_datagram = echo_datagram,
	};
	struct echod env;
	int ch, debug = 0;

	memset(&env, 0, sizeof(env));
	env.e_idle = 300;
	env.e_dgram_idle = 30;
	env.e_maxconns = 256;

	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "c:dhi:tx:")) != -1) {
		switch (ch) {
		case 'c':
			env.e_maxconns = cli_number("-c", optarg, 1, 4096);
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			cli_help(usage);
		case 'i':
			env.e_idle = cli_number("-i", optarg, 1, 86400);
			break;
		case 't':
			env.e_terminator = 1;
			break;
		case 'x':
			env.e_dgram_idle = cli_number("-x", optarg, 0, 86400);
			break;
		default:
			cli_usage(usage);
		}
	}
	if (optind != argc)
		cli_usage(usage);

	log_init(debug, LOG_DAEMON, "echod");
	log_setverbose(debug);

	/*
	 * On a listener, delayed acknowledgements from a connection's first
	 * byte on (TCP_QUICKACK off, tcp(7); the connections it accepts
	 * inherit it): the echo carries the acknowledgement of the bytes it
	 * answers, one segment fewer per exchange, instead of a bare ACK
	 * sent at once; bulk transfers are still acknowledged every second
	 * segment. Harmless to any protocol that answers what it reads.
	 */
	(void)serve_listener_tcpopt(0, TCP_QUICKACK, 0);
	/* Set up, so confined before the first byte from a peer. */
	echo_sandbox(env.e_maxconns);
	return serve_main(&handler, &env);
}
