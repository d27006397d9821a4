/*
 * Unit tests of lib/log.c's pure parts: log_pri_parse(), which reads the
 * "<PRI>" a handler's stderr line starts with (forkd forwards such lines),
 * and log_vis()'s escaping. Run by t/libforkd/unit-log.t with cmocka's TAP
 * output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "log.h"

static int
pri(const char *s, size_t *skip)
{
	*skip = 0;
	return log_pri_parse(s, strlen(s), skip);
}

static void
test_pri_good(void **state)
{
	size_t skip;

	(void)state;
	assert_int_equal(pri("<22>delivered", &skip), LOG_MAIL | LOG_INFO);
	assert_int_equal(skip, 4);
	assert_int_equal(pri("<0>x", &skip), 0);
	assert_int_equal(skip, 3);
	assert_int_equal(pri("<191>x", &skip), LOG_LOCAL7 | LOG_DEBUG);
	assert_int_equal(skip, 5);
	/* An empty message after the priority is still a log line. */
	assert_int_equal(pri("<30>", &skip), LOG_DAEMON | LOG_INFO);
	assert_int_equal(skip, 4);
}

static void
test_pri_bad(void **state)
{
	static const char *bad[] = {
		"", "<", "<>", "<>x", "22>x", "<22", "<22x>", "<x22>",
		"<192>x", "<1000>x", "<022>x", "<00>x", " <22>x",
		"execv /x: No such file or directory",
	};
	size_t i, skip;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pri(bad[i], &skip), -1);
	/* The length bounds the read: "<22>" cut before its '>'. */
	assert_int_equal(log_pri_parse("<22>x", 3, &skip), -1);
}

static void
test_vis(void **state)
{
	char dst[LOG_VIS_MAX];

	(void)state;
	assert_string_equal(log_vis(dst, sizeof(dst), "a\r\nb\x1b", 5),
	    "a\\r\\nb\\033");
	/* Cut to fit, and said so. */
	assert_string_equal(log_vis(dst, 12, "abcdefghijkl", 12), "ab...");
}

/* LOG_VIS_LINES: newline and tab pass as they are, CR and ESC do not. */
static void
test_vis_lines(void **state)
{
	char dst[64];

	(void)state;
	assert_string_equal(log_visx(dst, sizeof(dst), "a\tb\r\n\x1b", 6,
	    LOG_VIS_LINES), "a\tb\\r\n\\033");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pri_good),
		cmocka_unit_test(test_pri_bad),
		cmocka_unit_test(test_vis),
		cmocka_unit_test(test_vis_lines),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
