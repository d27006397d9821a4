/*
 * pinger: main, options and the target's address.
 *
 *	pinger [-qv46] [-c count] [-i interval] [-W timeout] [-s size]
 *	    [-t ttl] [-u port | -H port] host
 *
 * ICMP echo by default (icmp.c); -u is the UDP pinger of pingd(8) and -H its
 * UDP heartbeat client (udp.c).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pinger.h"

volatile sig_atomic_t pinger_stop;
sigset_t pinger_waitmask;

static long long pinger_seconds(const char *, const char *, double);
static void	pinger_options(struct pinger *, int, char *[]);
static void	pinger_resolve(struct pinger *);
static void	pinger_signal(int);
static void	pinger_signals(void);

static const char usage[] =
    "pinger [-qv46] [-c count] [-i interval] [-W timeout] "
    "[-s size] [-t ttl]\n"
    "              [-u port | -H port] host\n"
    "  -c count     stop after count requests (ICMP, -H: until "
    "interrupted; -u: 10)\n"
    "  -i interval  seconds between requests (default 1)\n"
    "  -W timeout   seconds to wait for each reply (default 1)\n"
    "  -s size      ICMP data bytes (default 56)\n"
    "  -t ttl       IP time to live / IPv6 hop limit\n"
    "  -q           only the first line and the summary\n"
    "  -v           verbose: the socket used, ignored packets\n"
    "  -4, -6       IPv4 or IPv6 only\n"
    "  -u port      UDP pinger against pingd\n"
    "  -H port      UDP heartbeat client\n"
    "  -h           this help\n";

/* A duration in seconds ("0.2", "1") as microseconds, at least min s. */
static long long
pinger_seconds(const char *what, const char *s, double min)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(d) ||
	    d < min || d > 3600.0 * 24)
		errx(PINGER_EXIT_ERROR, "%s %s: invalid (%g to 86400)", what,
		    s, min);
	return (long long)(d * 1000000.0 + 0.5);
}

/*
 * Resolve the host once. A numeric address never asks DNS (AI_NUMERICHOST
 * first), so tests and scripts that name 127.0.0.1 or ::1 stay offline.
 */
static void
pinger_resolve(struct pinger *p)
{
	struct addrinfo hints, *res;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = p->p_family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	e = getaddrinfo(p->p_host, NULL, &hints, &res);
	if (e == EAI_NONAME) {
		hints.ai_flags = 0;
		e = getaddrinfo(p->p_host, NULL, &hints, &res);
	}
	if (e != 0)
		errx(PINGER_EXIT_ERROR, "%s: %s", p->p_host,
		    e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
	if (res->ai_addrlen > sizeof(p->p_addr))
		errx(PINGER_EXIT_ERROR, "%s: address too long", p->p_host);
	memcpy(&p->p_addr, res->ai_addr, res->ai_addrlen);
	p->p_addrlen = res->ai_addrlen;
	p->p_family = res->ai_family;
	freeaddrinfo(res);
	pinger_addrstr((struct sockaddr *)&p->p_addr, p->p_addrlen,
	    p->p_addrstr, sizeof(p->p_addrstr));
}

char *
pinger_addrstr(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t size)
{
	if (getnameinfo(sa, salen, buf, size, NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(buf, "?", size);
	return buf;
}

static void
pinger_signal(int sig)
{
	(void)sig;
	pinger_stop = 1;
}

/* The command line into p: the defaults, the options, the host. */
static void
pinger_options(struct pinger *p, int argc, char *argv[])
{
	int ch, count_set = 0;

	memset(p, 0, sizeof(*p));
	p->p_mode = PINGER_ICMP;
	p->p_count = -1;
	p->p_interval_us = 1000000;
	p->p_timeout_us = 1000000;	/* a reply later than 1 s is lost */
	p->p_datalen = PINGER_DATALEN;
	p->p_family = AF_UNSPEC;

	/* ping(8)'s contract: 2 for a usage error. */
	cli_init(argv, PINGER_EXIT_ERROR);
	while ((ch = getopt(argc, argv, "46c:H:hi:qs:t:u:vW:")) != -1) {
		switch (ch) {
		case '4':
			p->p_family = AF_INET;
			break;
		case '6':
			p->p_family = AF_INET6;
			break;
		case 'c':
			p->p_count = cli_number("-c", optarg, 1, LONG_MAX);
			count_set = 1;
			break;
		case 'H':
			p->p_mode = PINGER_HEARTBEAT;
			p->p_port = (int)cli_number("-H", optarg, 1, 65535);
			break;
		case 'h':
			cli_help(usage);
		case 'i':
			/* ping refuses floods below 2 ms without root; so do we. */
			p->p_interval_us = pinger_seconds("-i", optarg,
			    geteuid() == 0 ? 0.0 : 0.002);
			break;
		case 'q':
			p->p_quiet = 1;
			break;
		case 's':
			p->p_datalen = (int)cli_number("-s", optarg, 0,
			    PINGER_MAXDATA);
			break;
		case 't':
			p->p_ttl = (int)cli_number("-t", optarg, 1, 255);
			break;
		case 'u':
			p->p_mode = PINGER_UDP;
			p->p_port = (int)cli_number("-u", optarg, 1, 65535);
			break;
		case 'v':
			p->p_verbose = 1;
			break;
		case 'W':
			p->p_timeout_us = pinger_seconds("-W", optarg, 0.001);
			break;
		default:
			cli_usage(usage);
		}
	}
	cli_operands(&argc, &argv, 1, 1, usage);
	p->p_host = argv[0];
	if (p->p_mode == PINGER_UDP && !count_set)
		p->p_count = 10;		/* the UDP pinger sends 10 */
}

/* The stop signals only set pinger_stop: the run loop ends on it and the
 * summary still prints. */
static void
pinger_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pinger_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll(2) must return EINTR so the summary comes. */
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGALRM, &sa, NULL) == -1)
		err(PINGER_EXIT_ERROR, "sigaction");
}

int
main(int argc, char *argv[])
{
	struct pinger p;
	sigset_t set;

	pinger_options(&p, argc, argv);

	/* Lines appear as they happen, also into a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	pinger_signals();

	pinger_resolve(&p);

	/*
	 * From here the stop signals arrive only inside stats_wait()'s
	 * ppoll(2) (the name lookup above stays interruptible): a Ctrl-C
	 * between its test of pinger_stop and the wait cannot be missed.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGALRM);
	if (sigprocmask(SIG_BLOCK, &set, &pinger_waitmask) == -1)
		err(PINGER_EXIT_ERROR, "sigprocmask");

	switch (p.p_mode) {
	case PINGER_UDP:
		return udp_ping_run(&p);
	case PINGER_HEARTBEAT:
		return udp_heartbeat_run(&p);
	default:
		return icmp_run(&p);
	}
}
