/*
 * Unit tests of the arguments of HELO, MAIL and RCPT (daemons/smtpd/path.c),
 * each a pure function of the command's text: smtp_trim() and the blanks
 * it takes from both ends, smtp_printable() at the edges of printable
 * ASCII (0x21-0x7e; a blank, DEL and 8-bit bytes are not), smtp_valid_addr()
 * at the longest address a transaction stores (SMTPD_PATH_MAX less the
 * angle brackets), and smtp_path() on the splits RFC 5321 4.1.2 allows and
 * refuses. Run by t/smtpd/unit-path.t with cmocka's TAP output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemons/smtpd/session.h"

static void
test_trim(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "   ", "" },
		{ "\t \t", "" },
		{ "a", "a" },
		{ "  a  ", "a" },
		{ "\ta b\t", "a b" },
		{ " \t mx.example \t ", "mx.example" },
		/* Only SP and HT are blanks here; a CR stays. */
		{ " a\r", "a\r" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strlcpy(buf, cases[i].in, sizeof(buf));
		assert_string_equal(smtp_trim(buf), cases[i].out);
	}
}

static void
test_printable(void **state)
{
	char one[2] = { 0, 0 };
	int c;

	(void)state;
	assert_true(smtp_printable(""));
	assert_true(smtp_printable("!~"));
	assert_true(smtp_printable("student@CS4410"));
	for (c = 1; c < 256; c++) {
		one[0] = (char)c;
		if (c >= 0x21 && c <= 0x7e)
			assert_true(smtp_printable(one));
		else
			assert_false(smtp_printable(one));
	}
	assert_false(smtp_printable("a b"));
	assert_false(smtp_printable("a\tb"));
	assert_false(smtp_printable("caf\xc3\xa9@x"));
}

static void
test_valid_addr(void **state)
{
	char addr[SMTPD_PATH_MAX + 8];

	(void)state;
	assert_true(smtp_valid_addr(""));
	assert_true(smtp_valid_addr("a@b"));
	/* The longest an address may be: SMTPD_PATH_MAX - 3 bytes. */
	memset(addr, 'a', sizeof(addr));
	addr[SMTPD_PATH_MAX - 3] = '\0';
	assert_true(smtp_valid_addr(addr));
	addr[SMTPD_PATH_MAX - 3] = 'a';
	addr[SMTPD_PATH_MAX - 2] = '\0';
	assert_false(smtp_valid_addr(addr));
	assert_false(smtp_valid_addr("a\x80@b"));
	assert_false(smtp_valid_addr("student @CS4410"));
}

static void
test_path_split(void **state)
{
	static const struct {
		const char *in, *addr, *params;
	} good[] = {
		{ "\t<a@b>\t", "a@b", "" },
		{ "<a@b> SIZE=10", "a@b", "SIZE=10" },
		{ "<a@b>  \tSIZE=10  BODY=7BIT", "a@b", "SIZE=10  BODY=7BIT" },
		/* The first '>' ends the path; what follows is parameters. */
		{ "<a@b> >x", "a@b", ">x" },
		{ "<a<b@c>", "a<b@c", "" },
		{ "  bare@x  ", "bare@x", "" },
		{ "<@relay:a@b>", "@relay:a@b", "" },
	};
	/* Empty, no '>', no SP between the path and its parameters. */
	static const char *const bad[] = { "\t", "<", "<<a@b", "<a@b>x",
	    "<a@b>>", "<a@b>,x" };
	char buf[128], *addr, *params;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		strlcpy(buf, good[i].in, sizeof(buf));
		assert_int_equal(smtp_path(buf, &addr, &params), 0);
		assert_string_equal(addr, good[i].addr);
		assert_string_equal(params, good[i].params);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strlcpy(buf, bad[i], sizeof(buf));
		if (smtp_path(buf, &addr, &params) == 0)
			fail_msg("\"%s\" split, as \"%s\" and \"%s\"", bad[i],
			    addr, params);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_valid_addr),
		cmocka_unit_test(test_path_split),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
