/*
 * icmp: ICMP echo request / echo reply over IPv4 (RFC 792) and ICMPv6
 * (RFC 4443 section 4), with the ICMP errors about our requests reported
 * (RFC 792 type 3 and 11; RFC 4443 section 3).
 *
 * The socket: an unprivileged ICMP datagram socket ("ping socket",
 * SOCK_DGRAM + IPPROTO_ICMP, Linux 3.0) when net.ipv4.ping_group_range
 * holds our group, else a raw socket (root or CAP_NET_RAW). On a ping
 * socket the kernel chooses the identifier, fills the checksum, delivers
 * only our replies and queues ICMP errors on the error queue (IP_RECVERR).
 * On a raw socket we see every ICMP packet of the host, the IP header
 * first: our own echo requests to 127.0.0.1 as well, other pingers'
 * replies, and errors about anybody's datagrams. So every length is
 * checked before it is used (the IP header length of the reply and of the
 * datagram quoted in an error: CVE-2022-23093 was a ping that trusted it).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>

#include <arpa/inet.h>
#include <err.h>
#include <netdb.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pinger.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER	1	/* <linux/icmp.h>, which clashes with glibc's */
#endif

#define ICMP_NSEQ	65536	/* the sequence number is 16 bits */
#define ICMP_RCVBUF	(65536 + 512)

/* What became of one sequence number. */
enum icmp_state {
	SEQ_FREE = 0,
	SEQ_SENT,		/* waiting for a reply until its deadline */
	SEQ_REPLIED,
	SEQ_ERROR,		/* an ICMP error answered it */
	SEQ_TIMEDOUT,
};

/* The payload's first bytes: when we sent it, to match and time replies. */
struct icmp_stamp {
	int64_t	st_sec;
	int64_t	st_nsec;
};

struct icmp_slot {
	struct icmp_stamp s_stamp;
	long long	 s_sent_us;
	uint8_t		 s_state;
};

struct icmp_ctx {
	struct pinger	*c_p;
	int		 c_fd;
	int		 c_raw;		/* raw socket, not a ping socket */
	int		 c_v6;
	uint16_t	 c_ident;	/* identifier, host order */
	struct icmp_slot	*c_seq;		/* ICMP_NSEQ entries */
	unsigned char	*c_out;		/* ICMP_HDRLEN + datalen */
	unsigned char	*c_in;		/* ICMP_RCVBUF */
	long		 c_next;	/* next sequence number to send */
	long		 c_oldest;	/* oldest still waiting */
};

static int	icmp_open(struct icmp_ctx *);
static void	icmp_open_socket(struct icmp_ctx *);
static void	icmp_open_filter(struct icmp_ctx *);
static void	icmp_open_ident(struct icmp_ctx *);
static void	icmp_open_hops(struct icmp_ctx *);
static int	icmp_send(struct icmp_ctx *);
static void	icmp_expire(struct icmp_ctx *, long long);
static void	icmp_read(struct icmp_ctx *);
static void	icmp_read_errqueue(struct icmp_ctx *);
static int	icmp_errqueue_cmsg(struct msghdr *, struct sock_extended_err *,
		    struct sockaddr_storage *);
static void	icmp_input(struct icmp_ctx *, const unsigned char *, size_t,
		    const char *, int);
static void	icmp_reply(struct icmp_ctx *, const struct icmp_msg *,
		    size_t, const char *, int);
static void	icmp_error(struct icmp_ctx *, int, int, uint32_t, uint16_t,
		    const char *);

/*
 * Open the ping socket, or the raw socket when ping_group_range does not
 * hold us (the ping socket then fails with EACCES, for root as well).
 */
static int
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
	return 0;
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

/* Drain what the socket holds; every datagram is checked, then used. */
static void
icmp_read(struct icmp_ctx *c)
{
	struct sockaddr_storage from;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int)) * 4];
	} cbuf;
	char addr[INET6_ADDRSTRLEN];
	const unsigned char *b;
	size_t len;
	ssize_t n;
	int ttl, i, hlen;

	/* A bound on a flood from other pingers on a raw socket. */
	for (i = 0; i < 64; i++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = c->c_in;
		iov.iov_len = ICMP_RCVBUF;
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &cbuf;
		msg.msg_controllen = sizeof(cbuf);
		n = recvmsg(c->c_fd, &msg, MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* With RECVERR a pending error may surface here. */
			icmp_read_errqueue(c);
			return;
		}
		if (msg.msg_flags & MSG_TRUNC)
			continue;	/* larger than any reply of ours */
		ttl = -1;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_len < CMSG_LEN(sizeof(int)))
				continue;
			if ((cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_TTL) ||
			    (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_HOPLIMIT))
				memcpy(&ttl, CMSG_DATA(cm), sizeof(int));
		}
		if (getnameinfo((struct sockaddr *)&from, msg.msg_namelen,
		    addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(addr, "?", sizeof(addr));
		b = c->c_in;
		len = (size_t)n;
		if (c->c_raw && !c->c_v6) {
			/*
			 * Raw IPv4 hands us the IP header: check its version
			 * and header length against what arrived before we
			 * step over it (RFC 791: IHL in 32-bit words, >= 5).
			 */
			if ((hlen = icmp_parse_ip4(b, len, &ttl)) == -1)
				continue;
			b += hlen;
			len -= (size_t)hlen;
		}
		icmp_input(c, b, len, addr, ttl);
	}
}

/*
 * A ping socket's ICMP errors (and the raw socket's local ones) come on
 * the error queue: the extended error names the type, code and the router
 * that sent it; the data is the start of our echo request.
 */
static void
icmp_read_errqueue(struct icmp_ctx *c)
{
	struct pinger *p = c->c_p;
	struct msghdr msg;
	struct iovec iov;
	struct sock_extended_err ee;
	struct sockaddr_storage off;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[512];
	} cbuf;
	unsigned char data[ICMP_HDRLEN + sizeof(struct icmp_stamp)];
	char addr[INET6_ADDRSTRLEN];
	uint16_t v, seq;
	ssize_t n;
	int i, echo;

	for (i = 0; i < 64; i++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = data;
		iov.iov_len = sizeof(data);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &cbuf;
		msg.msg_controllen = sizeof(cbuf);
		n = recvmsg(c->c_fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n == -1)
			return;
		if (!icmp_errqueue_cmsg(&msg, &ee, &off))
			continue;
		/* Is it about one of our requests? */
		echo = c->c_v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		if (n < ICMP_HDRLEN || data[0] != echo)
			continue;
		memcpy(&v, data + 4, 2);
		if (ntohs(v) != c->c_ident)
			continue;
		memcpy(&v, data + 6, 2);
		seq = ntohs(v);
		if (ee.ee_origin == SO_EE_ORIGIN_LOCAL) {
			if (c->c_seq[seq].s_state == SEQ_SENT) {
				c->c_seq[seq].s_state = SEQ_ERROR;
				p->p_nerrors++;
			}
			if (!p->p_quiet)
				printf("From %s icmp_seq=%u %s\n",
				    p->p_addrstr, seq, strerror(ee.ee_errno));
			continue;
		}
		if (ee.ee_origin != SO_EE_ORIGIN_ICMP &&
		    ee.ee_origin != SO_EE_ORIGIN_ICMP6)
			continue;
		if (off.ss_family == AF_UNSPEC || getnameinfo(
		    (struct sockaddr *)&off, off.ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
		    addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(addr, "?", sizeof(addr));
		icmp_error(c, ee.ee_type, ee.ee_code, ee.ee_info, seq, addr);
	}
}

/*
 * The extended error of one error-queue message into ee, the router that
 * sent it into off (AF_UNSPEC when the kernel did not say); 0 if none.
 */
static int
icmp_errqueue_cmsg(struct msghdr *msg, struct sock_extended_err *ee,
    struct sockaddr_storage *off)
{
	struct cmsghdr *cm;
	int have = 0;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL;
	    cm = CMSG_NXTHDR(msg, cm)) {
		if (!((cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_RECVERR) ||
		    (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_RECVERR)))
			continue;
		if (cm->cmsg_len < CMSG_LEN(sizeof(*ee)))
			continue;
		memcpy(ee, CMSG_DATA(cm), sizeof(*ee));
		memset(off, 0, sizeof(*off));
		/* SO_EE_OFFENDER: the address right after ee. */
		if (cm->cmsg_len >= CMSG_LEN(sizeof(*ee) +
		    sizeof(struct sockaddr_in6)))
			memcpy(off, CMSG_DATA(cm) + sizeof(*ee),
			    sizeof(struct sockaddr_in6));
		else if (cm->cmsg_len >= CMSG_LEN(sizeof(*ee) +
		    sizeof(struct sockaddr_in)))
			memcpy(off, CMSG_DATA(cm) + sizeof(*ee),
			    sizeof(struct sockaddr_in));
		have = 1;
	}
	return have;
}

/* One ICMP message from addr, its header at b, len bytes in all. */
static void
icmp_input(struct icmp_ctx *c, const unsigned char *b, size_t len,
    const char *addr, int ttl)
{
	struct pinger *p = c->c_p;
	struct icmp_msg m;

	/*
	 * The kernel checks no checksum for a raw socket; a reply that
	 * fails it is damaged, not ours.
	 */
	if (!c->c_v6 && c->c_raw && len >= ICMP_HDRLEN &&
	    b[0] == ICMP_ECHOREPLY && icmp_cksum(b, len) != 0) {
		if (p->p_verbose)
			printf("From %s: bad ICMP checksum, ignored\n", addr);
		return;
	}
	switch (icmp_parse(b, len, c->c_v6, c->c_ident, &p->p_addr, &m)) {
	case ICMP_MSG_REPLY:
		icmp_reply(c, &m, len, addr, ttl);
		break;
	case ICMP_MSG_ERROR:
		icmp_error(c, m.im_type, m.im_code, m.im_info, m.im_seq,
		    addr);
		break;
	default:
		/* Our own requests looped back, other pingers', noise. */
		break;
	}
}

/*
 * An echo reply with our identifier (len bytes in all): ours if the
 * sequence number is one we sent and the payload carries the very timestamp we sent with it.
 */
static void
icmp_reply(struct icmp_ctx *c, const struct icmp_msg *m, size_t len,
    const char *addr, int ttl)
{
	struct pinger *p = c->c_p;
	struct icmp_slot *s;
	struct icmp_stamp st;
	char ttlbuf[16], tbuf[32];
	long long now, rtt = -1;
	uint16_t seq = m->im_seq;
	int dup = 0;

	s = &c->c_seq[seq];
	if (s->s_state == SEQ_FREE)
		return;			/* never sent */
	if ((size_t)p->p_datalen >= sizeof(st)) {
		if (m->im_datalen < sizeof(st))
			return;
		memcpy(&st, m->im_data, sizeof(st));
		if (st.st_sec != s->s_stamp.st_sec ||
		    st.st_nsec != s->s_stamp.st_nsec) {
			if (p->p_verbose)
				printf("From %s icmp_seq=%u: timestamp is not "
				    "ours, ignored\n", addr, seq);
			return;
		}
	}
	switch (s->s_state) {
	case SEQ_SENT:
		s->s_state = SEQ_REPLIED;
		p->p_nreceived++;
		break;
	case SEQ_REPLIED:
		dup = 1;
		p->p_nrepeats++;
		break;
	default:
		/* Past its deadline it was counted as lost already. */
		if (p->p_verbose)
			printf("From %s icmp_seq=%u: late reply, counted "
			    "lost\n", addr, seq);
		return;
	}
	if ((size_t)p->p_datalen >= sizeof(st)) {
		now = clock_us();
		rtt = now - s->s_sent_us;
		if (!dup)
			stats_rtt(p, rtt);
	}
	if (p->p_quiet)
		return;
	ttlbuf[0] = '\0';
	if (ttl >= 0)
		snprintf(ttlbuf, sizeof(ttlbuf), " ttl=%d", ttl);
	tbuf[0] = '\0';
	if (rtt >= 0) {
		char ms[24];

		snprintf(tbuf, sizeof(tbuf), " time=%s ms",
		    stats_fmt_ms(ms, sizeof(ms), rtt));
	}
	printf("%zu bytes from %s: icmp_seq=%u%s%s%s\n", len, addr, seq,
	    ttlbuf, tbuf, dup ? " (DUP!)" : "");
}

/* An ICMP error about our request seq, from the router at addr. */
static void
icmp_error(struct icmp_ctx *c, int type, int code, uint32_t info,
    uint16_t seq, const char *addr)
{
	struct pinger *p = c->c_p;
	struct icmp_slot *s = &c->c_seq[seq];
	char name[96];

	if (s->s_state == SEQ_FREE)
		return;
	if (s->s_state == SEQ_SENT) {
		s->s_state = SEQ_ERROR;
		p->p_nerrors++;
	}
	if (!p->p_quiet)
		printf("From %s icmp_seq=%u %s\n", addr, seq,
		    icmp_errname(c->c_v6, type, code, info, name,
		    sizeof(name)));
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
