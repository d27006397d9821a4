/*
 * Unit tests of lib/addr.c: the numeric form of IPv4, IPv6 and IPv4-mapped
 * addresses, a family it does not know, and the "ADDR port PORT" and
 * "ADDR:PORT" names. Run by t/libforkd/unit-netio.t with cmocka's TAP
 * output.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "addr.h"

static void
fmt6(const char *text, const char *want)
{
	struct sockaddr_in6 sin6;
	char ip[ADDR_IPMAX], port[ADDR_PORTMAX], name[64], hp[64];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	addr_fmt((struct sockaddr *)&sin6, sizeof(sin6), ip, sizeof(ip), port,
	    sizeof(port));
	assert_string_equal(ip, want);
	assert_string_equal(port, "443");
	addr_hostport((struct sockaddr *)&sin6, sizeof(sin6), name,
	    sizeof(name));
	snprintf(hp, sizeof(hp), strchr(want, ':') != NULL ? "[%s]:443" :
	    "%s:443", want);
	assert_string_equal(name, hp);
}

static void
test_v4(void **state)
{
	struct sockaddr_in sin;
	char ip[ADDR_IPMAX], port[ADDR_PORTMAX], name[64];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(65535);
	sin.sin_addr.s_addr = htonl(0xc0000201);	/* 192.0.2.1 */
	addr_fmt((struct sockaddr *)&sin, sizeof(sin), ip, sizeof(ip), port,
	    sizeof(port));
	assert_string_equal(ip, "192.0.2.1");
	assert_string_equal(port, "65535");
	assert_string_equal(addr_name((struct sockaddr *)&sin, sizeof(sin),
	    name, sizeof(name)), "192.0.2.1 port 65535");
	assert_string_equal(addr_hostport((struct sockaddr *)&sin,
	    sizeof(sin), name, sizeof(name)), "192.0.2.1:65535");
	/* port may be NULL. */
	addr_fmt((struct sockaddr *)&sin, sizeof(sin), ip, sizeof(ip), NULL,
	    0);
	assert_string_equal(ip, "192.0.2.1");
}

static void
test_v6(void **state)
{
	(void)state;
	fmt6("2001:db8::1", "2001:db8::1");
	fmt6("::1", "::1");
	/* A dual-stack socket's IPv4 peer shows as IPv4. */
	fmt6("::ffff:198.51.100.7", "198.51.100.7");
}

static void
test_other(void **state)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	char ip[ADDR_IPMAX], port[ADDR_PORTMAX];

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_fmt((struct sockaddr *)&sun, sizeof(sun), ip, sizeof(ip), port,
	    sizeof(port));
	assert_string_equal(ip, "-");
	assert_string_equal(port, "-");
	assert_string_equal(addr_hostport((struct sockaddr *)&sun,
	    sizeof(sun), ip, sizeof(ip)), "-");
	/* A length too short for its family is not read past. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	addr_fmt((struct sockaddr *)&sin, 2, ip, sizeof(ip), port,
	    sizeof(port));
	assert_string_equal(ip, "-");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_other),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
