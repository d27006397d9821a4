/* units: clients/send-email/reply.c */
/*
 * Unit tests of send-email's reply parser (RFC 5321 4.2) and EHLO
 * keyword parser (4.1.1.1, RFC 1870 SIZE, RFC 6152 8BITMIME) in
 * clients/send-email/reply.c. Run by t/send-email/unit-reply.t with cmocka's
 * TAP output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../clients/send-email/send-email.h"

static struct se_state st;

/* Feed one line (a C string) to the reply in st. */
static int
line(const char *s)
{
	return reply_parse_line(&st.se_reply, s, strlen(s));
}

static void
test_lines(void **state)
{
	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(line("250-mail.example Hello"), 0);
	assert_int_equal(line("250-8BITMIME"), 0);
	assert_int_equal(line("250 SIZE 1000"), 1);
	assert_int_equal(st.se_reply.r_code, 250);
	assert_int_equal(st.se_reply.r_nlines, 3);
	assert_string_equal(st.se_reply.r_text[0], "mail.example Hello");
	assert_string_equal(st.se_reply.r_text[2], "SIZE 1000");

	st.se_reply.r_nlines = 0;
	assert_int_equal(line("221"), 1);	/* no text at all */
	assert_string_equal(st.se_reply.r_text[0], "");

	/* Not a reply: RFC 5321 4.2.1's first digits, the separator. */
	st.se_reply.r_nlines = 0;
	assert_int_equal(line("199 no"), -1);
	assert_int_equal(line("600 no"), -1);
	assert_int_equal(line("25"), -1);
	assert_int_equal(line("2500"), -1);
	assert_int_equal(line("25a ok"), -1);
	/* A multi-line reply whose codes differ. */
	assert_int_equal(line("250-one"), 0);
	assert_int_equal(line("251 two"), -1);
}

static void
test_unterminated(void **state)
{
	char buf[8] = { '2', '5', '0', ' ', 'o', 'k', 'X', 'X' };

	(void)state;
	memset(&st, 0, sizeof(st));
	/* Only len bytes count: the text is "ok", NUL-terminated. */
	assert_int_equal(reply_parse_line(&st.se_reply, buf, 6), 1);
	assert_string_equal(st.se_reply.r_text[0], "ok");
}

static void
test_many_lines(void **state)
{
	int i;

	(void)state;
	memset(&st, 0, sizeof(st));
	/* Lines past SE_REPLY_LINES are checked, not kept. */
	for (i = 0; i < SE_REPLY_LINES + 10; i++)
		assert_int_equal(line("250-x"), 0);
	assert_int_equal(line("250 end"), 1);
	assert_int_equal(st.se_reply.r_nlines, SE_REPLY_LINES);
}

static void
test_ehlo(void **state)
{
	(void)state;
	memset(&st, 0, sizeof(st));
	line("250-mail.example SIZE 5 is the greeting, not a keyword");
	line("250-8bitmime");
	line("250-SIZEX 7");
	line("250 size 10485760");
	reply_ehlo_keywords(&st);
	assert_int_equal(st.se_esmtp, 1);
	assert_int_equal(st.se_8bitmime, 1);
	assert_int_equal(st.se_size, 10485760);

	memset(&st, 0, sizeof(st));
	line("250-mail.example");
	line("250 SIZE");		/* no limit given (RFC 1870 4) */
	reply_ehlo_keywords(&st);
	assert_int_equal(st.se_8bitmime, 0);
	assert_int_equal(st.se_size, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_many_lines),
		cmocka_unit_test(test_ehlo),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
