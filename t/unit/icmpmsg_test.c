/* units: clients/pinger/icmpmsg.c */
/*
 * Unit tests of pinger's ICMP and ICMPv6 message parsing
 * (clients/pinger/icmpmsg.c): a reply is ours only with our identifier;
 * an error is ours only when the datagram it quotes is an echo request
 * of ours to our target; every length the peer states is checked against
 * what arrived. Run by t/pinger/unit-icmpmsg.t with cmocka's TAP output.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../clients/pinger/pinger.h"

#define IDENT	0x4242

static struct sockaddr_storage target4, target6;

/* An IPv4 header of 20 bytes (IHL 5) from 127.0.0.1 to 127.0.0.1. */
static const unsigned char ip4[20] = {
	0x45, 0, 0, 84, 0, 0, 0, 0, 64, IPPROTO_ICMP, 0, 0,
	127, 0, 0, 1, 127, 0, 0, 1,
};
/* An echo request of ours: type 8, identifier 0x4242, sequence 9. */
static const unsigned char req4[8] = { 8, 0, 0, 0, 0x42, 0x42, 0, 9 };

static size_t
put(unsigned char *b, const void *p, size_t len)
{
	memcpy(b, p, len);
	return len;
}

static void
test_reply4(void **state)
{
	unsigned char b[64] = { 0, 0, 0, 0, 0x42, 0x42, 0x01, 0x02, 'x' };
	struct icmp_msg m;

	(void)state;
	assert_int_equal(icmp_parse(b, 9, 0, IDENT, &target4, &m),
	    ICMP_MSG_REPLY);
	assert_int_equal(m.im_seq, 0x0102);
	assert_ptr_equal(m.im_data, b + 8);
	assert_int_equal(m.im_datalen, 1);
	/* Another pinger's identifier, a short message: not ours. */
	b[5] = 0x43;
	assert_int_equal(icmp_parse(b, 9, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
	b[5] = 0x42;
	assert_int_equal(icmp_parse(b, 7, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
	/* Our own echo request looped back. */
	b[0] = 8;
	assert_int_equal(icmp_parse(b, 9, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
}

static void
test_error4(void **state)
{
	unsigned char b[128] = { 3, 4, 0, 0, 0, 0, 0x05, 0x78 };
	struct icmp_msg m;
	size_t len = 8;

	(void)state;
	len += put(b + len, ip4, sizeof(ip4));
	len += put(b + len, req4, sizeof(req4));
	assert_int_equal(icmp_parse(b, len, 0, IDENT, &target4, &m),
	    ICMP_MSG_ERROR);
	assert_int_equal(m.im_type, 3);
	assert_int_equal(m.im_code, 4);
	assert_int_equal(m.im_info, 1400);	/* RFC 1191 next-hop MTU */
	assert_int_equal(m.im_seq, 9);
	/* One byte of the quoted echo request missing. */
	assert_int_equal(icmp_parse(b, len - 1, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
	/* A quoted IHL of 15 words points past what arrived. */
	b[8] = 0x4f;
	assert_int_equal(icmp_parse(b, len, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
	/* An IHL under 5 words is no IPv4 header. */
	b[8] = 0x44;
	assert_int_equal(icmp_parse(b, len, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
	b[8] = 0x45;
	/* Sent to another host than our target. */
	b[8 + 19] = 2;
	assert_int_equal(icmp_parse(b, len, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
	b[8 + 19] = 1;
	/* Not an error type we report (a redirect). */
	b[0] = 5;
	assert_int_equal(icmp_parse(b, len, 0, IDENT, &target4, &m),
	    ICMP_MSG_IGNORE);
}

static void
test_ip4(void **state)
{
	unsigned char b[40];
	int ttl = -1;

	(void)state;
	memcpy(b, ip4, sizeof(ip4));
	assert_int_equal(icmp_parse_ip4(b, sizeof(ip4), &ttl), 20);
	assert_int_equal(ttl, 64);
	assert_int_equal(icmp_parse_ip4(b, 19, &ttl), -1);
	b[0] = 0x46;		/* IHL 6: 24 bytes, only 20 there */
	assert_int_equal(icmp_parse_ip4(b, 20, &ttl), -1);
	b[0] = 0x65;		/* version 6 */
	assert_int_equal(icmp_parse_ip4(b, 20, &ttl), -1);
}

static void
test_v6(void **state)
{
	unsigned char b[128] = { 1, 4, 0, 0, 0, 0, 0, 0 };
	unsigned char ip6[40] = { 0x60, 0, 0, 0, 0, 16, 58, 64 };
	unsigned char req6[8] = { 128, 0, 0, 0, 0x42, 0x42, 0, 3 };
	unsigned char rep6[8] = { 129, 0, 0, 0, 0x42, 0x42, 0, 4 };
	struct icmp_msg m;
	size_t len = 8;

	(void)state;
	ip6[23] = 1;		/* from ::1 */
	ip6[39] = 1;		/* to ::1 */
	len += put(b + len, ip6, sizeof(ip6));
	len += put(b + len, req6, sizeof(req6));
	assert_int_equal(icmp_parse(b, len, 1, IDENT, &target6, &m),
	    ICMP_MSG_ERROR);
	assert_int_equal(m.im_seq, 3);
	assert_int_equal(icmp_parse(b, len - 1, 1, IDENT, &target6, &m),
	    ICMP_MSG_IGNORE);
	/* An extension header after the IPv6 header: not ours. */
	b[8 + 6] = 0;
	assert_int_equal(icmp_parse(b, len, 1, IDENT, &target6, &m),
	    ICMP_MSG_IGNORE);
	assert_int_equal(icmp_parse(rep6, 8, 1, IDENT, &target6, &m),
	    ICMP_MSG_REPLY);
	assert_int_equal(m.im_seq, 4);
	assert_int_equal(m.im_datalen, 0);
}

static void
test_names(void **state)
{
	char buf[96];

	(void)state;
	assert_string_equal(icmp_errname(0, 3, 1, 0, buf, sizeof(buf)),
	    "Destination Host Unreachable");
	assert_string_equal(icmp_errname(0, 3, 4, 1400, buf, sizeof(buf)),
	    "Frag needed and DF set (mtu = 1400)");
	assert_string_equal(icmp_errname(0, 3, 99, 0, buf, sizeof(buf)),
	    "Dest Unreachable, Bad Code: 99");
	assert_string_equal(icmp_errname(1, 2, 0, 1280, buf, sizeof(buf)),
	    "Packet too big: mtu=1280");
	assert_string_equal(icmp_errname(1, 200, 7, 0, buf, sizeof(buf)),
	    "ICMP type 200 code 7");
	/* RFC 1071: a message carrying its checksum sums to 0. */
	assert_int_equal(icmp_cksum("\x08\x00\xf7\xff", 4), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply4),
		cmocka_unit_test(test_error4),
		cmocka_unit_test(test_ip4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_names),
	};
	struct sockaddr_in *sin = (struct sockaddr_in *)&target4;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&target6;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = in6addr_loopback;
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
