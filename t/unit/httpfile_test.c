/*
 * Unit tests of what httpd makes of a static file's answer: file_range()
 * (one "bytes=" range against a size, RFC 9110 14.1.2) and
 * resp_file_fields() (the header lines of each answer, RFC 9110 8.3,
 * 8.6, 8.8.2, 10.2.2, 14.3, 14.4). Run by t/httpd/unit-file.t with
 * cmocka's TAP output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemons/httpd/httpd.h"

static int
range(const char *v, off_t size, off_t *first, off_t *last)
{
	*first = *last = -7;
	return file_range(v, strlen(v), size, first, last);
}

static void
test_range_ok(void **state)
{
	static const struct {
		const char	*v;
		off_t		 size, first, last;
	} ok[] = {
		{ "bytes=0-0", 10, 0, 0 },
		{ "bytes=0-9", 10, 0, 9 },
		{ "bytes=2-", 10, 2, 9 },
		{ "bytes=9-", 10, 9, 9 },
		{ "bytes=3-100", 10, 3, 9 },	/* last past the end: cut */
		{ "bytes=-3", 10, 7, 9 },	/* suffix: the last 3 */
		{ "bytes=-10", 10, 0, 9 },
		{ "bytes=-99", 10, 0, 9 },
		{ "BYTES=1-2", 10, 1, 2 },	/* the unit is case-insensitive */
		{ "bytes= 1-2 ", 10, 1, 2 },
		{ "bytes=\t4-5\t", 10, 4, 5 },
		{ "bytes=000000000000000001-2", 10, 1, 2 },	/* 18 digits */
	};
	off_t first, last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(range(ok[i].v, ok[i].size, &first, &last), 1);
		assert_int_equal(first, ok[i].first);
		assert_int_equal(last, ok[i].last);
	}
}

static void
test_range_ignored(void **state)
{
	static const char *ignored[] = {
		"", "bytes", "bytes=", "bytes=-", "bytes=1", "items=1-2",
		"bytes=1-2,4-5",	/* several ranges: all of it instead */
		"bytes=5-4",		/* last before first: invalid */
		"bytes=1-2x", "bytes=x1-2", "bytes=1 -2", "bytes=1--2",
		"bytes=0000000000000000001-2",	/* 19 digits */
		"bytes=1-0000000000000000002",
		"bytes=+1-2",
	};
	off_t first, last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		assert_int_equal(range(ignored[i], 10, &first, &last), 0);
		/* Nothing is set for a field that is ignored. */
		assert_int_equal(first, -7);
		assert_int_equal(last, -7);
	}
	/* Only the value's len bytes count: what follows is not read. */
	assert_int_equal(file_range("bytes=1-2,3-4", 9, 10, &first, &last), 1);
	assert_int_equal(last, 2);
}

static void
test_range_unsatisfiable(void **state)
{
	off_t first, last;

	(void)state;
	assert_int_equal(range("bytes=10-", 10, &first, &last), -1);
	assert_int_equal(range("bytes=10-20", 10, &first, &last), -1);
	assert_int_equal(range("bytes=-0", 10, &first, &last), -1);
	assert_int_equal(range("bytes=0-", 0, &first, &last), -1);
	assert_int_equal(range("bytes=-5", 0, &first, &last), -1);
	assert_int_equal(range("bytes=9-", 9, &first, &last), -1);
}

static const char *
fields(const struct file_reply *fr)
{
	static char buf[1024];

	assert_true(resp_file_fields(buf, sizeof(buf), fr) >= 0);
	return buf;
}

static void
test_file_fields(void **state)
{
	struct file_reply fr;

	(void)state;
	memset(&fr, 0, sizeof(fr));
	fr.fr_fd = -1;
	fr.fr_type = "text/html";
	fr.fr_size = 1024;
	fr.fr_mtime = 784111777;	/* Sun, 06 Nov 1994 08:49:37 GMT */
	fr.fr_len = 1024;
	fr.fr_status = 200;
	assert_string_equal(fields(&fr), "Content-Type: text/html\r\n"
	    "Content-Length: 1024\r\n"
	    "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	    "Accept-Ranges: bytes\r\n");
	fr.fr_status = 206;
	fr.fr_off = 10;
	fr.fr_len = 1;
	assert_string_equal(fields(&fr), "Content-Range: bytes 10-10/1024\r\n"
	    "Content-Type: text/html\r\nContent-Length: 1\r\n"
	    "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	    "Accept-Ranges: bytes\r\n");
	fr.fr_status = 304;
	assert_string_equal(fields(&fr),
	    "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
	fr.fr_status = 416;
	fr.fr_size = 0;
	assert_string_equal(fields(&fr), "Content-Range: bytes */0\r\n");
	fr.fr_status = 301;
	strlcpy(fr.fr_location, "/a%20b/?q=1", sizeof(fr.fr_location));
	assert_string_equal(fields(&fr), "Location: /a%20b/?q=1\r\n");
	fr.fr_status = 404;
	assert_string_equal(fields(&fr), "");
	/* The fields do not fit: -1, rather than a line cut in two. */
	fr.fr_status = 200;
	assert_int_equal(resp_file_fields((char [200]){ 0 }, 200, &fr), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_ok),
		cmocka_unit_test(test_range_ignored),
		cmocka_unit_test(test_range_unsatisfiable),
		cmocka_unit_test(test_file_fields),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
