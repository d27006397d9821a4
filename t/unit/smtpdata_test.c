/*
 * Unit tests of smtpd's rules for the message text (daemons/smtpd/data.c):
 * the end line ".", dot-unstuffing (RFC 5321 4.5.2), the bare CR or LF that
 * refuses a message (CVE-2023-51764), lines over 1000 octets (4.5.3.1.6),
 * the size limit (RFC 1870), and the quoting of mboxrd "From " lines and of
 * lines that could start a record in the seed format. Each case feeds text
 * lines, without their CRLF, and checks the verdict and the bytes that
 * would be stored. Also smtp_path() (daemons/smtpd/path.c), which splits
 * the argument of MAIL FROM: and RCPT TO: into its path and parameters (RFC
 * 5321 4.1.2). Run by t/smtpd/unit-data.t with cmocka's TAP output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemons/smtpd/session.h"

/*
 * Feed the lines of text, a NULL-ended list, in format with a size
 * limit of max bytes. Returns how many lines were taken before the end
 * line ".", or -1 when it never came.
 */
static int
feed(struct smtp_tx *tx, enum smtpd_format format, size_t max,
    const char *const *lines)
{
	int i;

	memset(tx, 0, sizeof(*tx));
	smtp_data_begin(tx);
	for (i = 0; lines[i] != NULL; i++)
		if (smtp_data_line(tx, lines[i], strlen(lines[i]), format,
		    max))
			return i;
	return -1;
}

/*
 * The body's realloc(3), wrapped (-Wl,--wrap=realloc in GNUmakefile) so a
 * case can make it fail the way it does when memory runs out.
 */
void	*__real_realloc(void *, size_t);
void	*__wrap_realloc(void *, size_t);
static int realloc_fails;

void *
__wrap_realloc(void *p, size_t n)
{
	if (realloc_fails)
		return NULL;
	return __real_realloc(p, n);
}

static void
body_is(const struct smtp_tx *tx, const char *want)
{
	assert_int_equal(tx->tx_body.b_len, strlen(want));
	assert_memory_equal(tx->tx_body.b_data, want, strlen(want));
}

static void
test_unstuff(void **state)
{
	static const char *const l[] = { "Subject: x", "", "..", ".x",
	    "...", " .", ".", "after the end", NULL };
	struct smtp_tx tx;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, l), 6);
	assert_int_equal(smtp_data_verdict(&tx), DATA_OK);
	body_is(&tx, "Subject: x\n\n.\nx\n..\n .\n");
	/* The size counts the text as sent, dots and CRLFs in. */
	assert_int_equal(tx.tx_size, 10 + 0 + 2 + 2 + 3 + 2 + 6 * 2);
	smtp_tx_free(&tx);
}

static void
test_bare(void **state)
{
	static const char *const lf[] = { "a", "b\n.\nMAIL FROM:<x>", "c",
	    ".", NULL };
	static const char *const cr[] = { "a\r", ".", NULL };
	static const char *const crdot[] = { "\r.", ".", NULL };
	struct smtp_tx tx;

	(void)state;
	/* A smuggled end inside a line does not end the text. */
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, lf), 3);
	assert_int_equal(smtp_data_verdict(&tx), DATA_BARE);
	smtp_tx_free(&tx);
	assert_int_equal(feed(&tx, SMTPD_FMT_SEED, 1000000, cr), 1);
	assert_int_equal(smtp_data_verdict(&tx), DATA_BARE);
	smtp_tx_free(&tx);
	assert_int_equal(feed(&tx, SMTPD_FMT_SEED, 1000000, crdot), 1);
	assert_int_equal(smtp_data_verdict(&tx), DATA_BARE);
	smtp_tx_free(&tx);
}

static void
test_long(void **state)
{
	static const char *const l[] = { "x", NULL };
	char line[1000];
	struct smtp_tx tx;

	(void)state;
	/* 998 octets and the CRLF: the longest line allowed. */
	memset(line, 'a', 998);
	line[998] = '\0';
	{
		const char *const ok[] = { line, ".", NULL };

		assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, ok), 1);
		assert_int_equal(smtp_data_verdict(&tx), DATA_OK);
		assert_int_equal(tx.tx_body.b_len, 999);
		smtp_tx_free(&tx);
	}
	/* A piece of a longer one refuses the message... */
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, l), -1);
	smtp_data_long(&tx, line, sizeof(line) - 1);
	assert_int_equal(smtp_data_line(&tx, ".", 1, SMTPD_FMT_MBOX,
	    1000000), 1);
	assert_int_equal(smtp_data_verdict(&tx), DATA_LONG);
	smtp_tx_free(&tx);
	/* ...but a bare LF inside it is the reason given. */
	memset(&tx, 0, sizeof(tx));
	smtp_data_begin(&tx);
	smtp_data_long(&tx, "a\nb", 3);
	assert_int_equal(smtp_data_verdict(&tx), DATA_BARE);
	smtp_tx_free(&tx);
}

static void
test_size(void **state)
{
	static const char *const l[] = { "12345678", "12345678", ".", NULL };
	struct smtp_tx tx;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 20, l), 2);
	assert_int_equal(smtp_data_verdict(&tx), DATA_OK);
	smtp_tx_free(&tx);
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 19, l), 2);
	assert_int_equal(smtp_data_verdict(&tx), DATA_BIG);
	/* Nothing past the limit is stored. */
	body_is(&tx, "12345678\n");
	smtp_tx_free(&tx);
}

/*
 * A second message in the same session (the same transaction state, as
 * after RSET or a 250) is measured on its own: 20 bytes each under a
 * limit of 20 are both accepted, though together they are 40.
 */
static void
test_size_per_message(void **state)
{
	static const char *const l[] = { "12345678", "12345678", ".", NULL };
	struct smtp_tx tx;
	int i;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 20, l), 2);
	assert_int_equal(smtp_data_verdict(&tx), DATA_OK);
	smtp_data_begin(&tx);
	for (i = 0; l[i] != NULL; i++)
		if (smtp_data_line(&tx, l[i], strlen(l[i]), SMTPD_FMT_MBOX, 20))
			break;
	assert_int_equal(i, 2);
	assert_int_equal(smtp_data_verdict(&tx), DATA_OK);
	body_is(&tx, "12345678\n12345678\n");
	smtp_tx_free(&tx);
}

static void
test_quote_mbox(void **state)
{
	static const char *const l[] = { "From me", ">From me", ".From x",
	    "From:me", "Number: 1", ".", NULL };
	struct smtp_tx tx;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, l), 5);
	body_is(&tx, ">From me\n>>From me\n>From x\nFrom:me\nNumber: 1\n");
	smtp_tx_free(&tx);
}

static void
test_quote_seed(void **state)
{
	static const char *const l[] = { "Number: 1", ">Number:",
	    "Received: from a by b (CS4410MP3)", "Received: from a by b",
	    "From: x", "To: y", "From me", ".", NULL };
	struct smtp_tx tx;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_SEED, 1000000, l), 7);
	body_is(&tx, ">Number: 1\n>>Number:\n"
	    ">Received: from a by b (CS4410MP3)\nReceived: from a by b\n"
	    "From: x\nTo: y\nFrom me\n");
	smtp_tx_free(&tx);
}

/*
 * The seed format's record lines at their edges: the postmark right after
 * "Received:" or ending the line, "Number:" alone; a postmark before
 * "Received:" starts nothing.
 */
static void
test_quote_seed_edges(void **state)
{
	static const char *const l[] = { "Received:(CS4410MP3)",
	    "Received: x(CS4410MP3)", "Number:", "Numbe:",
	    "(CS4410MP3) Received:", "Received:(CS4410MP", ".", NULL };
	struct smtp_tx tx;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_SEED, 1000000, l), 6);
	body_is(&tx, ">Received:(CS4410MP3)\n>Received: x(CS4410MP3)\n"
	    ">Number:\nNumbe:\n(CS4410MP3) Received:\nReceived:(CS4410MP\n");
	smtp_tx_free(&tx);
}

/*
 * A message whose text cannot be held is refused (451, a local error)
 * rather than stored cut short; the lines after it are still read to the
 * end line.
 */
static void
test_nomem(void **state)
{
	static const char *const l[] = { "Subject: x", "", "body", ".",
	    NULL };
	struct smtp_tx tx;

	(void)state;
	realloc_fails = 1;
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, l), 3);
	realloc_fails = 0;
	assert_int_equal(smtp_data_verdict(&tx), DATA_NOMEM);
	assert_int_equal(tx.tx_body.b_len, 0);
	smtp_tx_free(&tx);
	/* The same when the line needs its mboxrd '>' first. */
	{
		static const char *const from[] = { "From me", ".", NULL };

		realloc_fails = 1;
		assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, from), 1);
		realloc_fails = 0;
		assert_int_equal(smtp_data_verdict(&tx), DATA_NOMEM);
		smtp_tx_free(&tx);
	}
	/* Memory back: the next message is whole. */
	assert_int_equal(feed(&tx, SMTPD_FMT_SEED, 1000000, l), 3);
	assert_int_equal(smtp_data_verdict(&tx), DATA_OK);
	body_is(&tx, "Subject: x\n\nbody\n");
	smtp_tx_free(&tx);
}

static void
test_reset(void **state)
{
	static const char *const l[] = { "hello", ".", NULL };
	struct smtp_tx tx;

	(void)state;
	assert_int_equal(feed(&tx, SMTPD_FMT_MBOX, 1000000, l), 1);
	tx.tx_mail = 1;
	strlcpy(tx.tx_sender, "a@b", sizeof(tx.tx_sender));
	tx.tx_rcpts[tx.tx_nrcpts++] = strdup("c@d");
	smtp_tx_reset(&tx);
	assert_int_equal(tx.tx_mail, 0);
	assert_int_equal(tx.tx_nrcpts, 0);
	assert_string_equal(tx.tx_sender, "");
	assert_int_equal(tx.tx_body.b_len, 0);
	smtp_tx_free(&tx);
	assert_null(tx.tx_body.b_data);
}

static void
test_path(void **state)
{
	static const struct {
		const char *in, *addr, *params;
	} good[] = {
		{ "<a@b>", "a@b", "" },
		{ "  <a@b>  ", "a@b", "" },
		{ "<>", "", "" },
		{ "<a@b> SIZE=10 BODY=8BITMIME", "a@b", "SIZE=10 BODY=8BITMIME" },
		{ "<a@b>   SIZE=10\t", "a@b", "SIZE=10" },
		{ "a@b", "a@b", "" },
		{ "student @CS4410", "student @CS4410", "" },
		{ "<a b>", "a b", "" },
	};
	static const char *const bad[] = { "", "   ", "<a@b", "<a@b>SIZE=1",
	    "<a@b>\tSIZE=1" };
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
		assert_int_equal(smtp_path(buf, &addr, &params), -1);
	}
	assert_true(smtp_valid_addr("a@b"));
	assert_false(smtp_valid_addr("a b"));
	assert_false(smtp_valid_addr("a\x7f"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unstuff),
		cmocka_unit_test(test_bare),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_size_per_message),
		cmocka_unit_test(test_quote_mbox),
		cmocka_unit_test(test_quote_seed),
		cmocka_unit_test(test_quote_seed_edges),
		cmocka_unit_test(test_nomem),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_path),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
