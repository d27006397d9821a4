/*
 * udp: the UDP pinger and UDP heartbeat clients (pingd(8)'s peers).
 *
 * The pinger sends "Ping SEQ TIME" (SEQ from 1, TIME the wall clock when
 * sent, SECONDS.MICROSECONDS), waits up to -W (one second by default) for
 * the server's reply -- pingd answers with the text in upper case -- and
 * prints it with the RTT, or "Request timed out". The heartbeat client
 * sends "Heartbeat SEQ SECONDS.MICROSECONDS" every -i seconds and expects
 * nothing back: the receiver (pingd -H) computes the one-way delay and the
 * missing sequence numbers. Both formats are single-space ASCII, no line
 * end, as pingd(8) and pinger(1) document them.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pinger.h"

#define UDP_MSGMAX	512	/* ours are < 64 bytes; pingd never grows one */

static int	udp_open(struct pinger *);
static int	udp_stamp(char *, size_t, const char *, long);
static int	udp_same(const char *, size_t, const char *, size_t);
static int	udp_pace(long long);
static int	udp_send(int, const char *, int);
static void	udp_ping_wait(struct pinger *, int, const char *, int, long,
		    long long);

/* A UDP socket connected to the target's port, so that only its datagrams
 * reach us and an ICMP port unreachable shows as ECONNREFUSED. */
static int
udp_open(struct pinger *p)
{
	int fd;

	if (p->p_family == AF_INET6)
		((struct sockaddr_in6 *)&p->p_addr)->sin6_port =
		    htons((uint16_t)p->p_port);
	else
		((struct sockaddr_in *)&p->p_addr)->sin_port =
		    htons((uint16_t)p->p_port);
	fd = socket(p->p_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd == -1)
		err(PINGER_EXIT_ERROR, "socket");
	if (p->p_ttl) {
		int ttl = p->p_ttl;

		if (setsockopt(fd, p->p_family == AF_INET6 ? IPPROTO_IPV6 :
		    IPPROTO_IP, p->p_family == AF_INET6 ? IPV6_UNICAST_HOPS :
		    IP_TTL, &ttl, sizeof(ttl)) == -1)
			err(PINGER_EXIT_ERROR, "-t %d", ttl);
	}
	if (connect(fd, (struct sockaddr *)&p->p_addr, p->p_addrlen) == -1)
		err(PINGER_EXIT_ERROR, "connect %s port %d", p->p_addrstr,
		    p->p_port);
	return fd;
}

/* "WORD SEQ SECONDS.MICROSECONDS" into buf; returns its length. */
static int
udp_stamp(char *buf, size_t size, const char *word, long seq)
{
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, size, "%s %ld %lld.%06ld", word, seq,
	    (long long)ts.tv_sec, ts.tv_nsec / 1000);
	if (n < 0 || (size_t)n >= size)
		errx(PINGER_EXIT_ERROR, "message too long");
	return n;
}

/* Is the reply a (case-folded) copy of what we sent? */
static int
udp_same(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (toupper((unsigned char)a[i]) !=
		    toupper((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Sleep until next_us (monotonic); 0 when stopped meanwhile, else 1. */
static int
udp_pace(long long next_us)
{
	while (!pinger_stop && clock_us() < next_us)
		stats_wait(-1, 0, next_us);
	return !pinger_stop;
}

/*
 * Send len bytes of msg; once more when the send fails with ECONNREFUSED,
 * which is the ICMP port unreachable of an earlier datagram arriving late.
 * Returns 0, or -1 with errno.
 */
static int
udp_send(int fd, const char *msg, int len)
{
	if (send(fd, msg, (size_t)len, 0) != -1)
		return 0;
	if (errno == ECONNREFUSED && send(fd, msg, (size_t)len, 0) != -1)
		return 0;
	return -1;
}

/*
 * The reply to ping seq (msg, len bytes, sent at sent_us): until it comes,
 * its -W runs out, the port is unreachable or we are stopped.
 */
static void
udp_ping_wait(struct pinger *p, int fd, const char *msg, int len, long seq,
    long long sent_us)
{
	char buf[UDP_MSGMAX], vis[LOG_VIS_MAX], ms[24];
	long long now;
	ssize_t n;
	int ev;

	for (;;) {
		ev = stats_wait(fd, POLLIN, sent_us + p->p_timeout_us);
		if (ev == -1)
			err(PINGER_EXIT_ERROR, "poll");
		if (ev == 0) {
			if (pinger_stop)
				break;
			p->p_ntimedout++;
			if (!p->p_quiet)
				printf("Request timed out\n");
			break;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		now = clock_us();
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				p->p_nerrors++;
				if (!p->p_quiet)
					printf("From %s udp_seq=%ld "
					    "Destination Port "
					    "Unreachable\n",
					    p->p_addrstr, seq);
				break;
			}
			err(PINGER_EXIT_ERROR, "recv");
		}
		if (!udp_same(buf, (size_t)n, msg, (size_t)len)) {
			/* A late reply to an earlier ping, or noise:
			 * the earlier one is counted lost. */
			if (p->p_verbose)
				printf("From %s: ignored: %s\n",
				    p->p_addrstr, log_vis(vis,
				    sizeof(vis), buf, (size_t)n));
			continue;
		}
		p->p_nreceived++;
		stats_rtt(p, now - sent_us);
		if (!p->p_quiet)
			printf("Reply from %s: %s udp_seq=%ld "
			    "time=%s ms\n", p->p_addrstr,
			    log_vis(vis, sizeof(vis), buf, (size_t)n),
			    seq, stats_fmt_ms(ms, sizeof(ms),
			    now - sent_us));
		break;
	}
}

int
udp_ping_run(struct pinger *p)
{
	char msg[UDP_MSGMAX];
	long long sent_us, next_us;
	long seq;
	int fd, len;

	fd = udp_open(p);
	printf("PING %s (%s) port %d: UDP, %ld pings.\n", p->p_host,
	    p->p_addrstr, p->p_port, p->p_count);
	next_us = clock_us();
	for (seq = 1; !pinger_stop && (p->p_count < 0 || seq <= p->p_count);
	    seq++) {
		/* One at a time: the next goes at its interval, never before
		 * this one is answered or lost. */
		if (!udp_pace(next_us))
			break;
		len = udp_stamp(msg, sizeof(msg), "Ping", seq);
		sent_us = clock_us();
		if (p->p_start_us == 0)
			p->p_start_us = sent_us;
		next_us = sent_us + p->p_interval_us;
		p->p_ntransmitted++;
		if (udp_send(fd, msg, len) == -1) {
			warn("send %s port %d", p->p_addrstr, p->p_port);
			p->p_nerrors++;
			p->p_nsenderr++;
			continue;
		}
		udp_ping_wait(p, fd, msg, len, seq, sent_us);
	}
	stats_summary(p);
	close(fd);
	return stats_exit(p);
}

int
udp_heartbeat_run(struct pinger *p)
{
	char msg[UDP_MSGMAX];
	long long next_us, elapsed;
	long seq, nerrors = 0;
	int fd, len;

	fd = udp_open(p);
	printf("HEARTBEAT %s (%s) port %d: every %lld.%03lld s.\n",
	    p->p_host, p->p_addrstr, p->p_port, p->p_interval_us / 1000000,
	    p->p_interval_us / 1000 % 1000);
	next_us = clock_us();
	for (seq = 1; !pinger_stop && (p->p_count < 0 || seq <= p->p_count);
	    seq++) {
		if (!udp_pace(next_us))
			break;
		if (p->p_start_us == 0)
			p->p_start_us = clock_us();
		next_us += p->p_interval_us;
		len = udp_stamp(msg, sizeof(msg), "Heartbeat", seq);
		p->p_ntransmitted++;
		/*
		 * One way: nothing comes back but an ICMP port unreachable
		 * (ECONNREFUSED on a later send) when no receiver listens.
		 * Said, and the heartbeat goes on, as the client's does.
		 */
		if (udp_send(fd, msg, len) == -1) {
			warn("heartbeat %ld to %s port %d", seq,
			    p->p_addrstr, p->p_port);
			nerrors++;
			continue;
		}
		if (!p->p_quiet)
			printf("%s\n", msg);
	}
	elapsed = p->p_start_us ? clock_us() - p->p_start_us : 0;
	printf("\n--- %s heartbeat statistics ---\n", p->p_host);
	printf("%ld heartbeats sent", p->p_ntransmitted - nerrors);
	if (nerrors)
		printf(", +%ld errors", nerrors);
	printf(", time %lldms\n", elapsed / 1000);
	close(fd);
	return nerrors ? PINGER_EXIT_NOREPLY : PINGER_EXIT_REPLY;
}
