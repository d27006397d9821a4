/*
 * icmpsock: the pinger's ICMP socket. An unprivileged ICMP datagram
 * socket ("ping socket", SOCK_DGRAM + IPPROTO_ICMP, Linux 3.0) when
 * net.ipv4.ping_group_range holds our group, else a raw socket (root or
 * CAP_NET_RAW). On a ping socket the kernel chooses the identifier,
 * fills the checksum, delivers only our replies and queues ICMP errors
 * on the error queue (IP_RECVERR); a raw socket sees every ICMP packet
 * of the host, so a filter lets through only what can be about us.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "icmp.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER	1	/* <linux/icmp.h>, which clashes with glibc's */
#endif

static void	icmp_open_socket(struct icmp_ctx *);
static void	icmp_open_filter(struct icmp_ctx *);
static void	icmp_open_ident(struct icmp_ctx *);
static void	icmp_open_hops(struct icmp_ctx *);

/*
 * Open the ping socket, or the raw socket when ping_group_range does not
 * hold us (the ping socket then fails with EACCES, for root as well).
 */
void
icmp_open(struct icmp_ctx *c)
{
	icmp_open_socket(c);
	if (c->c_raw) {
		/* Any identifier will do; the process id is ping's custom. */
		c->c_ident = (uint16_t)(getpid() & 0xffff);
		icmp_open_filter(c);
	} else
		icmp_open_ident(c);
	icmp_open_hops(c);
}

/* The ping socket if we may, else the raw one; says which under -v. */
static void
icmp_open_socket(struct icmp_ctx *c)
{
	struct pinger *p = c->c_p;
	int af = p->p_family, proto, e;

	c->c_v6 = af == AF_INET6;
	proto = c->c_v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	c->c_fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, proto);
	if (c->c_fd == -1) {
		e = errno;
		c->c_fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, proto);
		if (c->c_fd == -1) {
			if (errno == EPERM || errno == EACCES)
				errx(PINGER_EXIT_ERROR, "socket: %s (a ping "
				    "socket: %s; and no raw socket without "
				    "CAP_NET_RAW, see net.ipv4."
				    "ping_group_range)", strerror(errno),
				    strerror(e));
			err(PINGER_EXIT_ERROR, "socket");
		}
		c->c_raw = 1;
	}
	if (p->p_verbose)
		printf("pinger: %s socket (%s), fd %d\n",
		    c->c_raw ? "raw ICMP" : "ICMP datagram",
		    c->c_raw ? "privileged" :
		    "unprivileged, net.ipv4.ping_group_range", c->c_fd);
}

/* A raw socket sees all ICMP of the host: let the kernel drop the rest. */
static void
icmp_open_filter(struct icmp_ctx *c)
{
	struct pinger *p = c->c_p;

	if (!c->c_v6) {
		/*
		 * Pass only echo replies and the errors that can be
		 * about us: fewer wake-ups on a busy host.
		 */
		uint32_t filt = ~(uint32_t)(1U << ICMP_ECHOREPLY |
		    1U << ICMP_UNREACH | 1U << ICMP_TIMXCEED |
		    1U << ICMP_PARAMPROB);
		if (setsockopt(c->c_fd, SOL_RAW, ICMP_FILTER, &filt,
		    sizeof(filt)) == -1 && p->p_verbose)
			warn("setsockopt ICMP_FILTER");
	} else {
		struct icmp6_filter f6;

		ICMP6_FILTER_SETBLOCKALL(&f6);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
		ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f6);
		ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f6);
		ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f6);
		ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f6);
		if (setsockopt(c->c_fd, IPPROTO_ICMPV6, ICMP6_FILTER,
		    &f6, sizeof(f6)) == -1 && p->p_verbose)
			warn("setsockopt ICMP6_FILTER");
	}
}

/*
 * The kernel puts the socket's "port" in the identifier and
 * hands us only replies carrying it: bind to get one, ask
 * which, and match on it as on a raw socket.
 */
static void
icmp_open_ident(struct icmp_ctx *c)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int on = 1;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = c->c_p->p_family;
	sl = c->c_v6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (bind(c->c_fd, (struct sockaddr *)&ss, sl) == -1)
		err(PINGER_EXIT_ERROR, "bind");
	sl = sizeof(ss);
	if (getsockname(c->c_fd, (struct sockaddr *)&ss, &sl) == -1)
		err(PINGER_EXIT_ERROR, "getsockname");
	c->c_ident = ntohs(c->c_v6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	/* ICMP errors come on the error queue (ip(7) IP_RECVERR). */
	if (setsockopt(c->c_fd, c->c_v6 ? IPPROTO_IPV6 : IPPROTO_IP,
	    c->c_v6 ? IPV6_RECVERR : IP_RECVERR, &on,
	    sizeof(on)) == -1)
		err(PINGER_EXIT_ERROR, "setsockopt RECVERR");
}

/* The TTL / hop limit: of each reply to show it, and -t for ours. */
static void
icmp_open_hops(struct icmp_ctx *c)
{
	struct pinger *p = c->c_p;
	int on = 1;

	/* The TTL / hop limit of each reply, as ping shows it. */
	if (c->c_v6) {
		if (setsockopt(c->c_fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on,
		    sizeof(on)) == -1)
			err(PINGER_EXIT_ERROR, "setsockopt IPV6_RECVHOPLIMIT");
	} else if (!c->c_raw) {
		if (setsockopt(c->c_fd, IPPROTO_IP, IP_RECVTTL, &on,
		    sizeof(on)) == -1)
			err(PINGER_EXIT_ERROR, "setsockopt IP_RECVTTL");
	}
	if (p->p_ttl) {
		int ttl = p->p_ttl;

		if (c->c_v6) {
			if (setsockopt(c->c_fd, IPPROTO_IPV6,
			    IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) == -1 ||
			    setsockopt(c->c_fd, IPPROTO_IPV6,
			    IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) == -1)
				err(PINGER_EXIT_ERROR, "-t %d", ttl);
		} else {
			if (setsockopt(c->c_fd, IPPROTO_IP, IP_TTL, &ttl,
			    sizeof(ttl)) == -1 ||
			    setsockopt(c->c_fd, IPPROTO_IP, IP_MULTICAST_TTL,
			    &ttl, sizeof(ttl)) == -1)
				err(PINGER_EXIT_ERROR, "-t %d", ttl);
		}
	}
}
