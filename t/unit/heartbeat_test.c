/*
 * Unit tests of hb_parse() (daemons/pingd/heartbeat.c), the parser of a
 * UDP heartbeat, "Heartbeat SEQ SECONDS[.FRACTION]" with an optional line
 * end: the fraction scaled to microseconds whatever its digit count, and
 * every malformed or oversized field refused. Run by t/pingd/unit-heartbeat.t
 * with cmocka's TAP output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemons/pingd/pingd.h"

static int
hb(const char *s, uint32_t *seq, long long *us)
{
	return hb_parse((const unsigned char *)s, strlen(s), seq, us);
}

static void
test_good(void **state)
{
	static const struct {
		const char *in;
		uint32_t seq;
		long long us;
	} t[] = {
		{ "Heartbeat 1 1700000000.123456", 1, 1700000000123456LL },
		{ "Heartbeat 2 1700000000.5\n", 2, 1700000000500000LL },
		{ "Heartbeat 3 1700000000.123456789\r\n", 3,
		    1700000000123456LL },
		{ "Heartbeat 4 17", 4, 17000000LL },
		{ "Heartbeat 5 17\r", 5, 17000000LL },	/* a lone CR too */
		{ "Heartbeat 4294967295 0.000001", 4294967295U, 1 },
		{ "Heartbeat 0000000007 999999999999.0", 7,
		    999999999999000000LL },
	};
	uint32_t seq;
	long long us;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(hb(t[i].in, &seq, &us), 0);
		assert_int_equal(seq, t[i].seq);
		assert_int_equal(us, t[i].us);
	}
	/* The length bounds the read: what follows is not looked at. */
	assert_int_equal(hb_parse((const unsigned char *)"Heartbeat 9 1x", 13,
	    &seq, &us), 0);
	assert_int_equal(seq, 9);
}

static void
test_bad(void **state)
{
	static const char *bad[] = {
		"", "Heartbeat", "Heartbeat ", "Heartbeat 1", "Heartbeat 1 ",
		"heartbeat 1 2", "Heartbeat  1 2", "Heartbeat 1  2",
		"Heartbeat -1 2", "Heartbeat 1 2.", "Heartbeat 1 .5",
		"Heartbeat 1 2.5 ", "Heartbeat 1 2.5\n\n", "Heartbeat 1 2\n\r",
		"Heartbeat 4294967296 2", "Heartbeat 12345678901 2",
		"Heartbeat 1 1234567890123", "Heartbeat 1 2.1234567890",
		"Ping 1 2", "Heartbeat 1 2 3",
	};
	uint32_t seq;
	long long us;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hb(bad[i], &seq, &us), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
