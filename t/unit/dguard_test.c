/*
 * Unit tests of the datagram guard (lib/dguard.c): which sources are never
 * answered, and the two per-source budgets that end a UDP loop. Run by
 * t/libforkd/unit-dguard.t with cmocka's TAP output.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/dguard.h"

static struct dguard g;

static struct sockaddr_in
v4(const char *ip, unsigned port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

static enum dguard_verdict
check4(const char *ip, unsigned port, const char *payload, long long now)
{
	struct sockaddr_in sin = v4(ip, port);

	return dguard_check(&g, (struct sockaddr *)&sin, sizeof(sin), payload,
	    strlen(payload), now);
}

/* Our own port 4199: as dguard_init() would learn it from the socket. */
static int
setup(void **state)
{
	(void)state;
	memset(&g, 0, sizeof(g));
	g.dg_port = 4199;
	return 0;
}

static void
test_sources(void **state)
{
	struct sockaddr_in6 sin6;

	(void)state;
	assert_int_equal(check4("127.0.0.1", 40000, "a", 0), DGUARD_ANSWER);
	assert_int_equal(check4("127.0.0.1", 7, "a", 0), DGUARD_PORT);
	assert_int_equal(check4("127.0.0.1", 1023, "a", 0), DGUARD_PORT);
	assert_int_equal(check4("127.0.0.1", 2049, "a", 0), DGUARD_PORT);
	assert_int_equal(check4("127.0.0.1", 1024, "a", 0), DGUARD_ANSWER);
	assert_int_equal(check4("127.0.0.1", 4199, "a", 0), DGUARD_SELF);
	assert_int_equal(check4("127.0.0.2", 4199, "a", 0), DGUARD_SELF);
	assert_int_equal(check4("224.0.0.1", 40000, "a", 0), DGUARD_BADADDR);
	assert_int_equal(check4("255.255.255.255", 40000, "a", 0),
	    DGUARD_BADADDR);
	assert_int_equal(check4("0.0.0.0", 40000, "a", 0), DGUARD_BADADDR);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40000);
	inet_pton(AF_INET6, "ff02::1", &sin6.sin6_addr);
	assert_int_equal(dguard_check(&g, (struct sockaddr *)&sin6,
	    sizeof(sin6), "a", 1, 0), DGUARD_BADADDR);
	inet_pton(AF_INET6, "::ffff:224.0.0.1", &sin6.sin6_addr);
	assert_int_equal(dguard_check(&g, (struct sockaddr *)&sin6,
	    sizeof(sin6), "a", 1, 0), DGUARD_BADADDR);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	assert_int_equal(dguard_check(&g, (struct sockaddr *)&sin6,
	    sizeof(sin6), "a", 1, 0), DGUARD_ANSWER);
}

/* Any datagram: DGUARD_BURST at once, then DGUARD_RATE a second. */
static void
test_budget(void **state)
{
	char buf[16];
	int i;

	(void)state;
	for (i = 0; i < DGUARD_BURST; i++) {
		snprintf(buf, sizeof(buf), "d%d", i);
		assert_int_equal(check4("127.0.0.1", 40000, buf, 1000),
		    DGUARD_ANSWER);
	}
	assert_int_equal(check4("127.0.0.1", 40000, "more", 1000),
	    DGUARD_BUDGET);
	/* Another source has its own budget. */
	assert_int_equal(check4("127.0.0.1", 40001, "more", 1000),
	    DGUARD_ANSWER);
	/* One reply's worth comes back after 1000 / DGUARD_RATE ms. */
	assert_int_equal(check4("127.0.0.1", 40000, "x",
	    1000 + 1000 / DGUARD_RATE), DGUARD_ANSWER);
	assert_int_equal(check4("127.0.0.1", 40000, "y",
	    1000 + 1000 / DGUARD_RATE), DGUARD_BUDGET);
	/* A second of quiet refills up to the burst, no more. */
	for (i = 0; i < DGUARD_BURST; i++)
		assert_int_equal(check4("127.0.0.1", 40000, "z", 100000),
		    DGUARD_ANSWER);
	assert_int_equal(check4("127.0.0.1", 40000, "w", 100000),
	    DGUARD_BUDGET);
}

/*
 * A reflection (the bytes of our last reply to that source) costs the
 * small budget: what a loop between two of our services carries.
 */
static void
test_reflection(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < DGUARD_ECHO_BURST + 1; i++) {
		assert_int_equal(check4("127.0.0.1", 12000, "PING 1", 5000),
		    DGUARD_ANSWER);
		dguard_sent(&g, "PING 1", 6);
	}
	/* The first is not a reflection: nothing was sent to it before. */
	assert_int_equal(check4("127.0.0.1", 12000, "PING 1", 5000),
	    DGUARD_ECHOES);
	/* Other bytes from it are still answered. */
	assert_int_equal(check4("127.0.0.1", 12000, "PING 2", 5000),
	    DGUARD_ANSWER);
	dguard_sent(&g, "PING 2", 6);
	assert_int_equal(check4("127.0.0.1", 12000, "PING 2", 5000),
	    DGUARD_ECHOES);
	/* And the budget comes back with time. */
	assert_int_equal(check4("127.0.0.1", 12000, "PING 2",
	    5000 + 1000 / DGUARD_ECHO_RATE), DGUARD_ANSWER);
}

/* Sources made up to flush the table do not refill a loop's budget. */
static void
test_flush(void **state)
{
	char ip[32];
	int i;

	(void)state;
	for (i = 0; i < DGUARD_BURST; i++)
		assert_int_equal(check4("127.0.0.1", 40000, "loop", 1000),
		    DGUARD_ANSWER);
	for (i = 0; i < DGUARD_SLOTS * 2; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, 1 + i % 250);
		assert_int_equal(check4(ip, 50000, "x", 1000), DGUARD_ANSWER);
		/* The loop's source keeps being heard from. */
		if (i % 16 == 0)
			assert_int_equal(check4("127.0.0.1", 40000, "loop",
			    1000), DGUARD_BUDGET);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sources, setup),
		cmocka_unit_test_setup(test_budget, setup),
		cmocka_unit_test_setup(test_reflection, setup),
		cmocka_unit_test_setup(test_flush, setup),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
