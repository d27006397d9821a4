/*
 * pingd: the UDP pinger server (pingd(8)) as an inetd "wait" dgram
 * handler, and the UDP heartbeat receiver (-H).
 *
 * Under forkd (or inetd) fd 0 is a bound UDP socket. The supervisor stops
 * polling it while pingd runs; pingd answers datagrams until it has been
 * idle for -x seconds, then exits so the supervisor takes the socket back.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "activation.h"
#include "cli.h"
#include "log.h"
#include "serve.h"
#include "pingd.h"

#define PINGD_IDLE_DEFAULT	30	/* -x under a supervisor, seconds */
#define PINGD_DOWN_DEFAULT	5	/* -T, seconds */
/*
 * Datagrams taken per wake-up of poll(2) before the timers are looked at
 * again, as pinger does: draining until EAGAIN, a steady flood would keep
 * pingd in the receive loop and delay the heartbeat receiver's "down"
 * lines for as long as it lasts.
 */
#define PINGD_BATCH		64

static struct pingd pingd;

static const char usage[] = "pingd [-dHhv] [-b address] [-l percent] "
    "[-p port] [-T seconds] [-x seconds]\n";

/*
 * Standalone use (-p): bind our own UDP socket on address (NULL: "::"
 * accepting IPv4 too, or 0.0.0.0 where IPv6 is off). Numeric only: no
 * DNS. Errors go to stderr, as nothing is detached yet.
 */
static int
pingd_bind(const char *address, const char *port)
{
	struct addrinfo hints, *res, *ai;
	const char *host = address != NULL ? address : "::";
	int fd = -1, e, off = 0, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	for (;;) {
		if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
			errx(EXIT_USAGE, "%s port %s: %s", host, port,
			    gai_strerror(e));
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype |
			    SOCK_CLOEXEC, ai->ai_protocol);
			if (fd == -1) {
				saved = errno;
				continue;
			}
			if (ai->ai_family == AF_INET6 && address == NULL)
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &off, sizeof(off));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
			saved = errno;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (fd != -1)
			return fd;
		/* No IPv6 here (EAFNOSUPPORT, EADDRNOTAVAIL): IPv4 only. */
		if (address == NULL && strcmp(host, "::") == 0) {
			host = "0.0.0.0";
			continue;
		}
		errno = saved;
		err(saved == EADDRINUSE ? 111 : 1, "bind %s port %s", host,
		    port);
	}
}

/* Name the socket in the log and make it non-blocking. 0, or 111. */
static int
pingd_start(struct pingd *pd, int fd)
{
	struct sockaddr_storage ss;
	char local[PINGD_ADDRSTRLEN];
	socklen_t sslen = sizeof(ss);

	pd->pd_fd = fd;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		strlcpy(local, "-", sizeof(local));
	else
		addr_hostport((struct sockaddr *)&ss, sslen, local,
		    sizeof(local));
	dguard_init(&pd->pd_guard, fd);
	if (serve_nonblock(fd, 1) == -1) {
		log_warn("fcntl O_NONBLOCK");
		return EXIT_TEMP;
	}
	if (pd->pd_heartbeat)
		log_info("heartbeat receiver on udp %s, down after %d s, "
		    "idle exit %d s", local, pd->pd_down_s, pd->pd_idle_s);
	else
		log_info("pinger on udp %s, loss %d%%, idle exit %d s", local,
		    pd->pd_loss, pd->pd_idle_s);
	return 0;
}

/*
 * The poll(2) timeout at now (ms): until the idle exit or the next
 * heartbeat client's "down", at most a minute; -1 for none. Returns -2
 * when the idle time is over and no client is left to report.
 */
static long long
pingd_wait_ms(struct pingd *pd, long long now)
{
	long long wait, idle_left = -1, down_left;

	down_left = pd->pd_heartbeat ? hb_check(pd, now) : -1;
	if (pd->pd_idle_s > 0) {
		idle_left = pd->pd_lastrx_ms + (long long)pd->pd_idle_s * 1000 -
		    now;
		/*
		 * A heartbeat client not yet reported down keeps us running:
		 * its "down" line is the point of -H.
		 */
		if (idle_left <= 0 && down_left == -1)
			return -2;
		if (idle_left < 0)
			idle_left = 0;
	}
	wait = idle_left;
	if (down_left != -1 && (wait == -1 || down_left < wait))
		wait = down_left;
	return wait > 60000 ? 60000 : wait;
}

/*
 * Take up to PINGD_BATCH queued datagrams and answer each. Returns 0, or
 * 111 when the socket fails.
 */
static int
pingd_receive(struct pingd *pd, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	ssize_t n;
	long long now;
	int i;

	for (i = 0; i < PINGD_BATCH; i++) {
		sslen = sizeof(ss);
		n = recvfrom(fd, pd->pd_buf, sizeof(pd->pd_buf), 0,
		    (struct sockaddr *)&ss, &sslen);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/*
			 * ECONNREFUSED and the like: an ICMP error for an
			 * earlier reply. The socket stays usable.
			 */
			if (errno == EINTR || errno == ECONNREFUSED ||
			    errno == EHOSTUNREACH || errno == ENETUNREACH)
				continue;
			log_warn("recvfrom");
			return EXIT_TEMP;
		}
		now = serve_now_ms();
		pd->pd_lastrx_ms = now;
		if (pd->pd_heartbeat)
			hb_receive(pd, (size_t)n, (struct sockaddr *)&ss, sslen,
			    now);
		else
			ping_request(pd, (size_t)n, (struct sockaddr *)&ss,
			    sslen);
	}
	return 0;
}

/* The receive loop, for fd 0 from the supervisor or our own socket. */
static int
pingd_serve(int fd, void *arg)
{
	struct pingd *pd = arg;
	struct pollfd pfd;
	long long wait;
	int r;

	if ((r = pingd_start(pd, fd)) != 0)
		return r;
	pingd_sandbox();
	pd->pd_lastrx_ms = serve_now_ms();
	while ((wait = pingd_wait_ms(pd, serve_now_ms())) != -2) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = serve_poll(&pfd, 1, (int)wait);
		/* The supervisor died (lib/serve.h): let the port go now. */
		if (serve_stopping()) {
			log_info("supervisor gone: exiting after %llu "
			    "datagrams", pd->pd_requests);
			return 0;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_warn("poll");
			return EXIT_TEMP;
		}
		if ((pfd.revents & (POLLIN | POLLERR)) &&
		    (r = pingd_receive(pd, fd)) != 0)
			return r;
	}
	if (pd->pd_heartbeat)
		log_info("idle for %d s: exiting after %llu heartbeats",
		    pd->pd_idle_s, pd->pd_requests);
	else
		log_info("idle for %d s: exiting after %llu requests, %llu "
		    "answered, %llu dropped, %llu not answered",
		    pd->pd_idle_s, pd->pd_requests, pd->pd_answered,
		    pd->pd_dropped, pd->pd_refused);
	return 0;
}

/* fd 0 is a stream or a terminal: nothing a pinger can serve. */
static int
pingd_connection(int rfd, int wfd, const struct serve_peer *peer, void *arg)
{
	(void)rfd;
	(void)wfd;
	(void)peer;
	(void)arg;
	log_warnx("fd 0 is not a datagram socket: configure pingd as "
	    "\"dgram udp wait\", or run it with -p port");
	return EXIT_USAGE;
}

static const struct serve_handler pingd_handler = {
	.sh_connection = pingd_connection,
	.sh_datagram = pingd_serve,
};

int
main(int argc, char *argv[])
{
	struct pingd *pd = &pingd;
	const char *address = NULL, *port = NULL;
	int ch, debug = 0, verbose = 0, idle_set = 0, fd;

	pd->pd_loss = 0;
	pd->pd_down_s = PINGD_DOWN_DEFAULT;
	pd->pd_idle_s = PINGD_IDLE_DEFAULT;
	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "b:dHhl:p:T:vx:")) != -1) {
		switch (ch) {
		case 'b':
			address = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'H':
			pd->pd_heartbeat = 1;
			break;
		case 'l':
			pd->pd_loss = cli_number("-l", optarg, 0, 100);
			break;
		case 'p':
			(void)cli_number("-p", optarg, 1, 65535);
			port = optarg;
			break;
		case 'T':
			pd->pd_down_s = cli_number("-T", optarg, 1, 86400);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'x':
			pd->pd_idle_s = cli_number("-x", optarg, 0, 86400);
			idle_set = 1;
			break;
		case 'h':
			cli_help(usage);
		default:
			cli_usage(usage);
		}
	}
	if (optind != argc)
		cli_usage(usage);
	if (address != NULL && port == NULL)
		errx(EXIT_USAGE, "-b needs -p port");

	log_init(debug, LOG_DAEMON, "pingd");
	log_setverbose(verbose);

	if (port != NULL) {
		/* Standalone: nobody takes the socket back, so no idle exit. */
		if (!idle_set)
			pd->pd_idle_s = 0;
		fd = pingd_bind(address, port);
		return pingd_serve(fd, pd);
	}
	/*
	 * A socket passed by a service manager (activation.h) is on fd 3,
	 * not fd 0; serve_main takes it.
	 */
	if (serve_kind(0) != SERVE_DATAGRAM && isatty(0) &&
	    activation_listen_fds(0, NULL) <= 0)
		errx(EXIT_USAGE, "fd 0 is a terminal, not a datagram socket: "
		    "use -p port to bind one");
	return serve_main(&pingd_handler, pd);
}
