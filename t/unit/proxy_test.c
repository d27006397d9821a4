/*
 * Unit tests of the PROXY protocol parser and reader (lib/proxy.c): every
 * field of v1 and v2 right, then wrong in turn; the reader leaves the
 * client's bytes after the header unread. Run by t/libforkd/unit-proxy.t with
 * cmocka's TAP output.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy.h"

static const unsigned char sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header: ver_cmd, fam, then len bytes of block. */
static size_t
v2(unsigned char *out, int ver_cmd, int fam, const void *block, size_t len)
{
	memcpy(out, sig, 12);
	out[12] = (unsigned char)ver_cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(len >> 8);
	out[15] = (unsigned char)len;
	memcpy(out + 16, block, len);
	return 16 + len;
}

static const unsigned char inet4[12] = {
	192, 0, 2, 7,  127, 0, 0, 1,  0x15, 0xb3,  0x04, 0x1a	/* 5555, 1050 */
};

static enum proxy_result
parse_str(const char *s, struct proxy_hdr *ph, const char **why)
{
	return proxy_parse(s, strlen(s), ph, why);
}

static void
test_v1_good(void **state)
{
	struct proxy_hdr ph;
	const char *why;
	const char *l = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050\r\nEHLO x\r\n";

	(void)state;
	assert_int_equal(parse_str(l, &ph, &why), PROXY_DONE);
	assert_int_equal(ph.ph_version, 1);
	assert_int_equal(ph.ph_local, 0);
	assert_int_equal(ph.ph_family, AF_INET);
	assert_string_equal(ph.ph_src_ip, "192.0.2.7");
	assert_string_equal(ph.ph_dst_ip, "127.0.0.1");
	assert_int_equal(ph.ph_src_port, 5555);
	assert_int_equal(ph.ph_dst_port, 1050);
	assert_int_equal(ph.ph_len, strlen(l) - strlen("EHLO x\r\n"));

	assert_int_equal(parse_str("PROXY TCP6 2001:db8::7 ::1 65535 0\r\n",
	    &ph, &why), PROXY_DONE);
	assert_string_equal(ph.ph_src_ip, "2001:db8::7");
	assert_int_equal(ph.ph_src_port, 65535);
	assert_int_equal(ph.ph_dst_port, 0);

	assert_int_equal(parse_str("PROXY UNKNOWN\r\n", &ph, &why),
	    PROXY_DONE);
	assert_int_equal(ph.ph_local, 1);
	assert_int_equal(ph.ph_len, 15);
	assert_int_equal(parse_str("PROXY UNKNOWN ff:: 1:: 1 2\r\n", &ph,
	    &why), PROXY_DONE);
	assert_int_equal(ph.ph_local, 1);
}

static void
test_v1_more(void **state)
{
	const char *l = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050\r\n";
	struct proxy_hdr ph;
	const char *why;
	size_t i;

	(void)state;
	/* Every proper prefix is a valid beginning. */
	for (i = 0; i < strlen(l); i++)
		assert_int_equal(proxy_parse(l, i, &ph, &why), PROXY_MORE);
}

static void
test_v1_bad(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\n",			/* no header */
		"EHLO x\r\n",
		"proxy TCP4 192.0.2.7 127.0.0.1 5555 1050\r\n",	/* case */
		"PROXY\tTCP4 192.0.2.7 127.0.0.1 5555 1050\r\n",
		"PROXY TCP5 192.0.2.7 127.0.0.1 5555 1050\r\n",	/* proto */
		"PROXY UDP4 192.0.2.7 127.0.0.1 5555 1050\r\n",
		"PROXY TCP4 192.0.2.300 127.0.0.1 5555 1050\r\n", /* src */
		"PROXY TCP4 2001:db8::7 127.0.0.1 5555 1050\r\n",
		"PROXY TCP4 192.0.2.07 127.0.0.1 5555 1050\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0 5555 1050\r\n",	/* dst */
		"PROXY TCP6 2001:db8::7 127.0.0.1 5555 1050\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 65536 1050\r\n", /* sport */
		"PROXY TCP4 192.0.2.7 127.0.0.1 05555 1050\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 -1 1050\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 99999\r\n", /* dport */
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 1O50\r\n",
		"PROXY TCP4 192.0.2.7  127.0.0.1 5555 1050\r\n", /* spaces */
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050 \r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555\r\n",	/* fields */
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050 7\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050\n",	/* line end */
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050\rX",
		"PROXY TCP4 192.0.2.7\x01 127.0.0.1 5555 1050\r\n",
		"PROXY \r\n",
	};
	struct proxy_hdr ph;
	const char *why;
	char longline[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse_str(bad[i], &ph, &why) != PROXY_BAD)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
	}
	/* No CRLF within 107 bytes. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "PROXY UNKNOWN ", 14);
	assert_int_equal(proxy_parse(longline, 107, &ph, &why), PROXY_BAD);
	assert_int_equal(proxy_parse(longline, 106, &ph, &why), PROXY_MORE);
	memcpy(longline + 105, "\r\n", 2);
	assert_int_equal(proxy_parse(longline, 107, &ph, &why), PROXY_DONE);
}

static void
test_v2_good(void **state)
{
	unsigned char b[600], block[300];
	struct proxy_hdr ph;
	const char *why;
	size_t n, i;

	(void)state;
	n = v2(b, 0x21, 0x11, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_DONE);
	assert_int_equal(ph.ph_version, 2);
	assert_int_equal(ph.ph_local, 0);
	assert_string_equal(ph.ph_src_ip, "192.0.2.7");
	assert_string_equal(ph.ph_dst_ip, "127.0.0.1");
	assert_int_equal(ph.ph_src_port, 5555);
	assert_int_equal(ph.ph_dst_port, 1050);
	assert_int_equal(ph.ph_len, 28);
	for (i = 0; i < n; i++)
		assert_int_equal(proxy_parse(b, i, &ph, &why), PROXY_MORE);

	/* IPv6, with TLVs after the addresses. */
	memset(block, 0, sizeof(block));
	inet_pton(AF_INET6, "2001:db8::7", block);
	inet_pton(AF_INET6, "::1", block + 16);
	block[32] = 0x01;
	block[33] = 0xbb;
	n = v2(b, 0x21, 0x21, block, 36 + 20);
	assert_int_equal(proxy_parse(b, 16 + 36, &ph, &why), PROXY_DONE);
	assert_string_equal(ph.ph_src_ip, "2001:db8::7");
	assert_int_equal(ph.ph_src_port, 443);
	assert_int_equal(ph.ph_len, n);

	/* LOCAL, whatever the family: the connection's addresses stand. */
	n = v2(b, 0x20, 0x00, block, 0);
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_DONE);
	assert_int_equal(ph.ph_local, 1);
	assert_int_equal(ph.ph_len, 16);
	n = v2(b, 0x20, 0x11, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_DONE);
	assert_int_equal(ph.ph_local, 1);
	/* PROXY with UNSPEC or UNIX: no IP client to take. */
	n = v2(b, 0x21, 0x00, block, 0);
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_DONE);
	assert_int_equal(ph.ph_local, 1);
	n = v2(b, 0x21, 0x31, block, 216);
	assert_int_equal(proxy_parse(b, 16, &ph, &why), PROXY_DONE);
	assert_int_equal(ph.ph_local, 1);
	assert_int_equal(ph.ph_len, 232);
}

static void
test_v2_bad(void **state)
{
	unsigned char b[600];
	struct proxy_hdr ph;
	const char *why;
	size_t n, i;

	(void)state;
	/* Each signature byte wrong in turn. */
	for (i = 0; i < 12; i++) {
		n = v2(b, 0x21, 0x11, inet4, sizeof(inet4));
		b[i] ^= 0x40;
		if (i == 0)
			continue;	/* then it is neither v1 nor v2 */
		assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	}
	n = v2(b, 0x21, 0x11, inet4, sizeof(inet4));
	b[0] = 'X';
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	/* Version. */
	n = v2(b, 0x11, 0x11, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	n = v2(b, 0x31, 0x11, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	/* Command. */
	n = v2(b, 0x22, 0x11, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	/* Family, protocol. */
	n = v2(b, 0x21, 0x41, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	n = v2(b, 0x21, 0x13, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	n = v2(b, 0x21, 0x12, inet4, sizeof(inet4));	/* DGRAM */
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	n = v2(b, 0x21, 0x10, inet4, sizeof(inet4));
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	/* Length shorter than the addresses. */
	n = v2(b, 0x21, 0x11, inet4, 11);
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	n = v2(b, 0x21, 0x21, inet4, 12);
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
	n = v2(b, 0x21, 0x31, inet4, 12);
	assert_int_equal(proxy_parse(b, n, &ph, &why), PROXY_BAD);
}

/* The reader over a socketpair: exactly the header is consumed. */
static void
read_case(const void *wire, size_t len, int want, const char *rest)
{
	struct proxy_hdr ph;
	const char *why = NULL;
	char buf[64];
	int sv[2];
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], wire, len), (ssize_t)len);
	if (rest == NULL)
		shutdown(sv[1], SHUT_WR);
	assert_int_equal(proxy_read(sv[0], 300, &ph, &why), want);
	if (want == 0 && rest != NULL) {
		n = read(sv[0], buf, sizeof(buf) - 1);
		assert_true(n >= 0);
		buf[n] = '\0';
		assert_string_equal(buf, rest);
	}
	if (want == -1)
		assert_non_null(why);
	close(sv[0]);
	close(sv[1]);
}

static void
test_read(void **state)
{
	unsigned char b[600], block[100];
	struct proxy_hdr ph;
	const char *why;
	size_t n;
	int sv[2];

	(void)state;
	read_case("PROXY TCP4 192.0.2.7 127.0.0.1 5555 1050\r\nEHLO x\r\n",
	    51, 0, "EHLO x\r\n");
	read_case("PROXY UNKNOWN\r\nX", 16, 0, "X");
	n = v2(b, 0x21, 0x11, inet4, sizeof(inet4));
	memcpy(b + n, "GET /", 5);
	read_case(b, n + 5, 0, "GET /");
	/* TLVs skipped, unread by the handler. */
	memset(block, 0xee, sizeof(block));
	memcpy(block, inet4, sizeof(inet4));
	n = v2(b, 0x21, 0x11, block, 80);
	memcpy(b + n, "QUIT", 4);
	read_case(b, n + 4, 0, "QUIT");
	/* Truncated: the peer closes inside the header. */
	read_case("PROXY TCP4 192.0.2.7", 20, -1, NULL);
	read_case(b, 20, -1, NULL);
	/* Malformed. */
	read_case("EHLO x\r\n", 8, -1, "");
	/* Slow: nothing more within the deadline. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "PROXY TC", 8), 8);
	assert_int_equal(proxy_read(sv[0], 200, &ph, &why), -1);
	assert_int_equal(errno, ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_good),
		cmocka_unit_test(test_v1_more),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v2_good),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_read),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
