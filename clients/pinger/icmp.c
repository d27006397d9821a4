/*
 * icmp: the ICMP echo pinger (ping(8)) over IPv4 (RFC 792) and ICMPv6
 * (RFC 4443 section 4): one echo request every interval, each waited
 * for until its deadline, then the summary. icmpsock.c opens the socket,
 * icmprecv.c reads the replies and errors.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>

#include <arpa/inet.h>
#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icmp.h"

static int	icmp_send(struct icmp_ctx *);
static void	icmp_expire(struct icmp_ctx *, long long);

/* Send the next echo request (RFC 792 type 8 / RFC 4443 type 128). */
static int
icmp_send(struct icmp_ctx *c)
{
	struct pinger *p = c->c_p;
	struct icmp_slot *s;
	struct icmp_stamp st;
	struct timespec ts;
	size_t len = ICMP_HDRLEN + (size_t)p->p_datalen;
	uint16_t seq = (uint16_t)(c->c_next & 0xffff), v;
	unsigned char *b = c->c_out;
	ssize_t n;

	s = &c->c_seq[seq];
	if (s->s_state == SEQ_SENT) {
		/* 65536 requests in flight: the oldest is long lost. */
		s->s_state = SEQ_TIMEDOUT;
	}
	b[0] = c->c_v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	b[1] = 0;
	b[2] = b[3] = 0;
	v = htons(c->c_ident);
	memcpy(b + 4, &v, 2);
	v = htons(seq);
	memcpy(b + 6, &v, 2);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	st.st_sec = ts.tv_sec;
	st.st_nsec = ts.tv_nsec;
	if ((size_t)p->p_datalen >= sizeof(st))
		memcpy(b + ICMP_HDRLEN, &st, sizeof(st));
	/* Only raw IPv4 needs us to sum: ICMPv6 and ping sockets do not. */
	if (c->c_raw && !c->c_v6) {
		v = icmp_cksum(b, len);
		memcpy(b + 2, &v, 2);
	}

	s->s_stamp = st;
	s->s_sent_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (p->p_start_us == 0)
		p->p_start_us = s->s_sent_us;
	c->c_next++;
	p->p_ntransmitted++;

	n = sendto(c->c_fd, b, len, 0, (struct sockaddr *)&p->p_addr,
	    p->p_addrlen);
	if (n == -1) {
		/* A local error (no route, no buffer): said, and lost. */
		warn("sendto %s icmp_seq=%u", p->p_addrstr, seq);
		s->s_state = SEQ_ERROR;
		p->p_nerrors++;
		p->p_nsenderr++;
		return -1;
	}
	s->s_state = SEQ_SENT;
	return 0;
}

/* Requests whose deadline passed are lost: a "timed out" line each. */
static void
icmp_expire(struct icmp_ctx *c, long long now)
{
	struct pinger *p = c->c_p;
	struct icmp_slot *s;

	while (c->c_oldest < c->c_next) {
		s = &c->c_seq[c->c_oldest & 0xffff];
		if (s->s_state == SEQ_SENT) {
			if (now < s->s_sent_us + p->p_timeout_us)
				break;
			s->s_state = SEQ_TIMEDOUT;
			p->p_ntimedout++;
			if (!p->p_quiet)
				printf("Request timed out\n");
		}
		c->c_oldest++;
	}
}

int
icmp_run(struct pinger *p)
{
	struct icmp_ctx c;
	long long now, next_send, deadline;
	int ev, status;

	memset(&c, 0, sizeof(c));
	c.c_p = p;
	c.c_seq = calloc(ICMP_NSEQ, sizeof(*c.c_seq));
	c.c_out = calloc(1, ICMP_HDRLEN + (size_t)p->p_datalen);
	c.c_in = malloc(ICMP_RCVBUF);
	if (c.c_seq == NULL || c.c_out == NULL || c.c_in == NULL)
		err(PINGER_EXIT_ERROR, "malloc");
	/* The payload after the timestamp: a pattern, as ping's. */
	for (int i = sizeof(struct icmp_stamp); i < p->p_datalen; i++)
		c.c_out[ICMP_HDRLEN + i] = (unsigned char)i;
	icmp_open(&c);
	c.c_next = 1;			/* ping numbers from icmp_seq=1 */
	c.c_oldest = 1;

	/* iputils prints no space before the address for ICMPv6. */
	if (c.c_v6)
		printf("PING %s(%s) %d data bytes\n", p->p_host,
		    p->p_addrstr, p->p_datalen);
	else
		printf("PING %s (%s) %d(%d) bytes of data.\n", p->p_host,
		    p->p_addrstr, p->p_datalen,
		    p->p_datalen + ICMP_HDRLEN + (int)sizeof(struct ip));

	next_send = clock_us();
	while (!pinger_stop) {
		now = clock_us();
		if ((p->p_count < 0 || p->p_ntransmitted < p->p_count) &&
		    now >= next_send) {
			icmp_send(&c);
			next_send += p->p_interval_us;
			if (next_send < now)	/* fell behind: no burst */
				next_send = now + p->p_interval_us;
		}
		icmp_expire(&c, now);
		if (p->p_count >= 0 && p->p_ntransmitted >= p->p_count &&
		    c.c_oldest >= c.c_next)
			break;		/* all sent, all answered or lost */
		deadline = now + 3600000000LL;
		if (p->p_count < 0 || p->p_ntransmitted < p->p_count)
			deadline = next_send;
		if (c.c_oldest < c.c_next) {
			long long d = c.c_seq[c.c_oldest & 0xffff].s_sent_us +
			    p->p_timeout_us;
			if (d < deadline)
				deadline = d;
		}
		ev = stats_wait(c.c_fd, POLLIN, deadline);
		if (ev == -1)
			err(PINGER_EXIT_ERROR, "poll");
		/*
		 * What waits in the socket is read only now: a request whose
		 * deadline passed meanwhile (we were not scheduled, or were
		 * stopped) is lost first, so that a reply read late is never
		 * counted received with an RTT above -W.
		 */
		if (ev > 0)
			icmp_expire(&c, clock_us());
		if (ev & POLLERR)
			icmp_read_errqueue(&c);
		if (ev & POLLIN)
			icmp_read(&c);
	}
	stats_summary(p);
	status = stats_exit(p);
	close(c.c_fd);
	free(c.c_seq);
	free(c.c_out);
	free(c.c_in);
	return status;
}
