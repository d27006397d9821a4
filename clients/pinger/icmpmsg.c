/*
 * icmpmsg: what a received ICMP or ICMPv6 message says, as functions of
 * its bytes alone (no socket, no state): an echo reply with our
 * identifier (RFC 792, RFC 4443 section 4.2), or an error that quotes an
 * echo request of ours (RFC 792 type 3, 11 and 12; RFC 4443 section 3).
 * Every length in the message is the peer's word and is checked against
 * what arrived before it is used (CVE-2022-23093 was a ping that trusted
 * the IP header length of the quoted datagram).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "pinger.h"

static int	icmpmsg_quoted_echo(const unsigned char *, int, uint16_t,
		    uint16_t *);
static int	icmpmsg_quoted4(const unsigned char *, size_t, uint16_t,
		    const struct sockaddr_storage *, uint16_t *);
static int	icmpmsg_quoted6(const unsigned char *, size_t, uint16_t,
		    const struct sockaddr_storage *, uint16_t *);

uint16_t
icmp_cksum(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)b[0] << 8 | b[1];
		b += 2;
		len -= 2;
	}
	if (len == 1)
		sum += (uint32_t)b[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

int
icmp_parse_ip4(const unsigned char *b, size_t len, int *ttl)
{
	size_t hlen;

	/* RFC 791: version 4, IHL in 32-bit words, at least 5. */
	if (len < sizeof(struct ip) || (b[0] >> 4) != 4)
		return -1;
	hlen = (size_t)(b[0] & 0x0f) * 4;
	if (hlen < sizeof(struct ip) || hlen > len)
		return -1;
	*ttl = b[8];
	return (int)hlen;
}

/*
 * The ICMP header quoted in an error (ICMP_HDRLEN bytes, already checked
 * to be there): an echo request (type want) with identifier ident. Its
 * sequence number goes to *seq. Returns 0, or -1 when it is not ours.
 */
static int
icmpmsg_quoted_echo(const unsigned char *q, int want, uint16_t ident,
    uint16_t *seq)
{
	uint16_t v;

	if (q[0] != want)
		return -1;
	memcpy(&v, q + 4, 2);
	if (ntohs(v) != ident)
		return -1;
	memcpy(&v, q + 6, 2);
	*seq = ntohs(v);
	return 0;
}

/*
 * The datagram an IPv4 ICMP error quotes (RFC 792: "Internet Header + 64
 * bits of Original Data Datagram") must be an echo request of ours to our
 * target. Its IHL is the peer's word: checked against what is there.
 */
static int
icmpmsg_quoted4(const unsigned char *q, size_t len, uint16_t ident,
    const struct sockaddr_storage *target, uint16_t *seq)
{
	const struct sockaddr_in *sin = (const void *)target;
	size_t hlen;

	if (len < sizeof(struct ip) || (q[0] >> 4) != 4)
		return -1;
	hlen = (size_t)(q[0] & 0x0f) * 4;
	if (hlen < sizeof(struct ip) || hlen + ICMP_HDRLEN > len)
		return -1;
	if (q[9] != IPPROTO_ICMP)
		return -1;
	if (memcmp(q + 16, &sin->sin_addr, 4) != 0)
		return -1;		/* not to our target */
	return icmpmsg_quoted_echo(q + hlen, ICMP_ECHO, ident, seq);
}

/*
 * RFC 4443 section 2.4 (c): an ICMPv6 error carries as much of the
 * offending packet as fits. Ours has no extension headers: the IPv6
 * header's next header is ICMPv6 right away.
 */
static int
icmpmsg_quoted6(const unsigned char *q, size_t len, uint16_t ident,
    const struct sockaddr_storage *target, uint16_t *seq)
{
	const struct sockaddr_in6 *sin6 = (const void *)target;

	if (len < sizeof(struct ip6_hdr) + ICMP_HDRLEN || (q[0] >> 4) != 6)
		return -1;
	if (q[6] != IPPROTO_ICMPV6)
		return -1;
	if (memcmp(q + 24, &sin6->sin6_addr, 16) != 0)
		return -1;
	return icmpmsg_quoted_echo(q + sizeof(struct ip6_hdr),
	    ICMP6_ECHO_REQUEST, ident, seq);
}

int
icmp_parse(const unsigned char *b, size_t len, int v6, uint16_t ident,
    const struct sockaddr_storage *target, struct icmp_msg *m)
{
	uint16_t v;
	int type;

	memset(m, 0, sizeof(*m));
	if (len < ICMP_HDRLEN)
		return ICMP_MSG_IGNORE;
	type = m->im_type = b[0];
	m->im_code = b[1];
	if (type == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) {
		memcpy(&v, b + 4, 2);
		if (ntohs(v) != ident)
			return ICMP_MSG_IGNORE;	/* another pinger's */
		memcpy(&v, b + 6, 2);
		m->im_seq = ntohs(v);
		m->im_data = b + ICMP_HDRLEN;
		m->im_datalen = len - ICMP_HDRLEN;
		return ICMP_MSG_REPLY;
	}
	if (v6) {
		if (type != ICMP6_DST_UNREACH && type != ICMP6_PACKET_TOO_BIG &&
		    type != ICMP6_TIME_EXCEEDED && type != ICMP6_PARAM_PROB)
			return ICMP_MSG_IGNORE;
		if (icmpmsg_quoted6(b + ICMP_HDRLEN, len - ICMP_HDRLEN, ident,
		    target, &m->im_seq) == -1)
			return ICMP_MSG_IGNORE;
	} else {
		if (type != ICMP_UNREACH && type != ICMP_TIMXCEED &&
		    type != ICMP_PARAMPROB)
			return ICMP_MSG_IGNORE;
		if (icmpmsg_quoted4(b + ICMP_HDRLEN, len - ICMP_HDRLEN, ident,
		    target, &m->im_seq) == -1)
			return ICMP_MSG_IGNORE;
	}
	/* Bytes 4-7: the next-hop MTU or the pointer, by type. */
	m->im_info = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 |
	    (uint32_t)b[6] << 8 | b[7];
	if (!v6 && type == ICMP_UNREACH)
		m->im_info &= 0xffff;	/* RFC 1191: MTU in the low half */
	return ICMP_MSG_ERROR;
}

/*
 * The names of the errors: RFC 792 and RFC 1812 section 5.2.7.1 for IPv4
 * type 3, RFC 792 for type 11, RFC 4443 section 3 for ICMPv6. The wording
 * is the one ping(8) users know.
 */
const char *
icmp_errname(int v6, int type, int code, uint32_t info, char *buf,
    size_t size)
{
	static const char *unreach4[] = {
		"Destination Net Unreachable",		/* 0 */
		"Destination Host Unreachable",		/* 1 */
		"Destination Protocol Unreachable",	/* 2 */
		"Destination Port Unreachable",		/* 3 */
		NULL,					/* 4: with MTU */
		"Source Route Failed",			/* 5 */
		"Destination Net Unknown",		/* 6 */
		"Destination Host Unknown",		/* 7 */
		"Source Host Isolated",			/* 8 */
		"Destination Net Prohibited",		/* 9 */
		"Destination Host Prohibited",		/* 10 */
		"Destination Net Unreachable for Type of Service", /* 11 */
		"Destination Host Unreachable for Type of Service", /* 12 */
		"Packet filtered",			/* 13 */
		"Precedence Violation",			/* 14 */
		"Precedence Cutoff",			/* 15 */
	};
	static const char *unreach6[] = {
		"No route",				/* 0 */
		"Administratively prohibited",		/* 1 */
		"Beyond scope of source address",	/* 2 */
		"Address unreachable",			/* 3 */
		"Port unreachable",			/* 4 */
		"Source address failed ingress/egress policy", /* 5 */
		"Reject route to destination",		/* 6 */
	};

	if (!v6) {
		switch (type) {
		case ICMP_UNREACH:
			if (code == ICMP_UNREACH_NEEDFRAG)
				snprintf(buf, size, "Frag needed and DF set "
				    "(mtu = %u)", info);
			else if (code >= 0 && code < (int)(sizeof(unreach4) /
			    sizeof(unreach4[0])))
				snprintf(buf, size, "%s", unreach4[code]);
			else
				snprintf(buf, size, "Dest Unreachable, Bad "
				    "Code: %d", code);
			return buf;
		case ICMP_TIMXCEED:
			snprintf(buf, size, "%s", code == 0 ?
			    "Time to live exceeded" :
			    "Frag reassembly time exceeded");
			return buf;
		case ICMP_PARAMPROB:
			snprintf(buf, size, "Parameter problem: pointer = %u",
			    info >> 24);
			return buf;
		}
	} else {
		switch (type) {
		case ICMP6_DST_UNREACH:
			if (code >= 0 && code < (int)(sizeof(unreach6) /
			    sizeof(unreach6[0])))
				snprintf(buf, size,
				    "Destination unreachable: %s",
				    unreach6[code]);
			else
				snprintf(buf, size, "Destination unreachable: "
				    "Unknown code %d", code);
			return buf;
		case ICMP6_PACKET_TOO_BIG:
			snprintf(buf, size, "Packet too big: mtu=%u", info);
			return buf;
		case ICMP6_TIME_EXCEEDED:
			snprintf(buf, size, "Time exceeded: %s", code == 0 ?
			    "Hop limit" : "Fragment reassembly time exceeded");
			return buf;
		case ICMP6_PARAM_PROB:
			snprintf(buf, size, "Parameter problem: code %d, "
			    "pointer %u", code, info);
			return buf;
		}
	}
	snprintf(buf, size, "ICMP type %d code %d", type, code);
	return buf;
}
