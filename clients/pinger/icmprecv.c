/*
 * icmprecv: what comes back to the ICMP echo pinger: echo replies
 * (RFC 792, RFC 4443 section 4.2) and the ICMP errors about our requests
 * (RFC 792 type 3 and 11; RFC 4443 section 3), from the socket or, on a
 * ping socket, from its error queue. On a raw socket we see every ICMP
 * packet of the host, the IP header first: our own echo requests to
 * 127.0.0.1 as well, other pingers' replies, and errors about anybody's
 * datagrams. So every length is checked before it is used (the IP header
 * length of the reply and of the datagram quoted in an error:
 * CVE-2022-23093 was a ping that trusted it).
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
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "icmp.h"

static int	icmp_errqueue_cmsg(struct msghdr *, struct sock_extended_err *,
		    struct sockaddr_storage *);
static void	icmp_input(struct icmp_ctx *, const unsigned char *, size_t,
		    const char *, int);
static void	icmp_reply(struct icmp_ctx *, const struct icmp_msg *,
		    size_t, const char *, int);
static void	icmp_error(struct icmp_ctx *, int, int, uint32_t, uint16_t,
		    const char *);

/* Drain what the socket holds; every datagram is checked, then used. */
void
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
		pinger_addrstr((struct sockaddr *)&from, msg.msg_namelen,
		    addr, sizeof(addr));
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
void
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
		/* AF_UNSPEC, when the kernel did not say, shows as "?". */
		pinger_addrstr((struct sockaddr *)&off,
		    off.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in), addr, sizeof(addr));
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
