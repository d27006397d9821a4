/*
 * Unit tests of lib/buf.c (the growing byte buffer) and lib/cli.c's
 * cli_timeout_ms() and cli_operands() on good input. Run by
 * t/libforkd/unit-buf.t with cmocka's TAP output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cli.h"

static void
test_buf_grows(void **state)
{
	struct buf b = { NULL, 0, 0 };
	char chunk[1000];
	size_t i;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	for (i = 0; i < 100; i++) {
		chunk[0] = 'a' + i % 26;
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
		assert_int_equal(b.b_len, (i + 1) * sizeof(chunk));
		assert_true(b.b_cap > b.b_len);
		assert_int_equal(b.b_data[b.b_len], '\0');
	}
	/* Every chunk where it was put, nothing lost to a move. */
	for (i = 0; i < 100; i++)
		assert_int_equal(b.b_data[i * sizeof(chunk)], 'a' + i % 26);
	free(b.b_data);
}

static void
test_buf_empty_and_text(void **state)
{
	struct buf b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_non_null(b.b_data);
	assert_int_equal(b.b_len, 0);
	assert_string_equal(b.b_data, "");
	assert_int_equal(buf_add(&b, "250 OK", 6), 0);
	assert_int_equal(buf_add(&b, "\r\n", 2), 0);
	assert_string_equal(b.b_data, "250 OK\r\n");
	free(b.b_data);
}

static void
test_buf_too_large(void **state)
{
	struct buf b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(buf_add(&b, "x", 1), 0);
	errno = 0;
	assert_int_equal(buf_add(&b, "x", SIZE_MAX / 2), -1);
	assert_int_equal(errno, ENOMEM);
	/* b as it was. */
	assert_int_equal(b.b_len, 1);
	assert_string_equal(b.b_data, "x");
	free(b.b_data);
}

static void
test_cli_timeout_ms(void **state)
{
	(void)state;
	assert_int_equal(cli_timeout_ms("-t", "1", 3600), 1000);
	assert_int_equal(cli_timeout_ms("-t", "30", 3600), 30000);
	assert_int_equal(cli_timeout_ms("-t", "86400", 86400), 86400000);
}

static void
test_cli_operands(void **state)
{
	char *argv[] = { "prog", "-v", "host", "port", NULL };
	char **av = argv;
	int ac = 4;

	(void)state;
	optind = 2;	/* as getopt(3) leaves it after "-v" */
	cli_operands(&ac, &av, 1, 2, "usage");
	assert_int_equal(ac, 2);
	assert_string_equal(av[0], "host");
	assert_string_equal(av[1], "port");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_buf_empty_and_text),
		cmocka_unit_test(test_buf_too_large),
		cmocka_unit_test(test_cli_timeout_ms),
		cmocka_unit_test(test_cli_operands),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
