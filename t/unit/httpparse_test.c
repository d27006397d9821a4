/*
 * Unit tests of httpd's pure parsers: req_parse() (the request line and
 * header section, RFC 9112 2-6), req_path_decode() (percent-decoding and
 * dot-segment removal, RFC 3986 2.1 and 5.2.4) and chunked_decode() (the
 * chunked transfer coding, RFC 9112 7.1), fed whole and byte by byte.
 * Run by t/httpd/unit-parse.t with cmocka's TAP output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemons/httpd/httpd.h"

/* The request is static: it holds HTTPD_PATH_MAX + HTTPD_LINE_MAX bytes. */
static struct http_request req;

static int
parse(const char *s)
{
	return req_parse(s, strlen(s), &req);
}

static void
test_req_ok(void **state)
{
	const char *s = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n"
	    "Connection: close\r\nX-Empty:\r\n\r\nbody";
	const struct http_field *f;

	(void)state;
	assert_int_equal(parse(s), REQ_OK);
	assert_string_equal(req.r_method, "GET");
	assert_int_equal(req.r_version, HTTP_11);
	assert_string_equal(req.r_path, "/a/b");
	assert_string_equal(req.r_query, "x=1");
	assert_int_equal(req.r_hasquery, 1);
	assert_int_equal(req.r_nfields, 3);
	assert_int_equal(req.r_headlen, strlen(s) - 4);
	assert_int_equal(req.r_keepalive, 0);
	assert_int_equal(req.r_clen, -1);
	f = req_field(&req, "host");
	assert_non_null(f);
	assert_int_equal(f->f_valuelen, 11);
	assert_memory_equal(f->f_value, "example.com", 11);
	f = req_field(&req, "X-Empty");
	assert_non_null(f);
	assert_int_equal(f->f_valuelen, 0);
	/* OWS around a value, spaces and tabs, is not part of it (5.1). */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n"
	    "X-Ows: \t a b \t\r\nX-Tab: c\t\r\n\r\n"), REQ_OK);
	f = req_field(&req, "X-Ows");
	assert_int_equal(f->f_valuelen, 3);
	assert_memory_equal(f->f_value, "a b", 3);
	f = req_field(&req, "X-Tab");
	assert_int_equal(f->f_valuelen, 1);
	/* HTTP/1.0 keeps the connection only when asked; bare LF ends lines. */
	assert_int_equal(parse("HEAD / HTTP/1.0\nConnection: Keep-Alive\n\n"),
	    REQ_OK);
	assert_int_equal(req.r_version, HTTP_10);
	assert_int_equal(req.r_keepalive, 1);
	/* Empty lines before the request line are ignored (RFC 9112 2.2). */
	assert_int_equal(parse("\r\nGET / HTTP/1.0\r\n\r\n"), REQ_OK);
	/* HTTP/0.9: no version, no header section, GET only. */
	assert_int_equal(parse("GET /x\r\n"), REQ_OK);
	assert_int_equal(req.r_version, HTTP_09);
	assert_string_equal(req.r_path, "/x");
	assert_int_equal(parse("POST /x\r\n"), 400);
	/* absolute-form (RFC 9112 3.2.2): the path after the authority. */
	assert_int_equal(parse("GET http://h/p/../q HTTP/1.1\r\nHost: h\r\n"
	    "\r\n"), REQ_OK);
	assert_string_equal(req.r_path, "/q");
	assert_int_equal(parse("GET http://h?z HTTP/1.1\r\nHost: h\r\n\r\n"),
	    REQ_OK);
	assert_string_equal(req.r_path, "/");
	assert_string_equal(req.r_query, "z");
}

static void
test_req_framing(void **state)
{
	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 12\r\nContent-Length: 12\r\n\r\n"), REQ_OK);
	assert_int_equal(req.r_clen, 12);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), REQ_OK);
	assert_int_equal(req.r_chunked, 1);
	/* Smuggling shapes (RFC 9112 6.1, 6.3): 400; other codings 501. */
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
	assert_int_equal(parse("POST / HTTP/1.0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: +1\r\n\r\n"), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1234567890123456\r\n\r\n"), 413);
}

static void
test_req_bad(void **state)
{
	static const struct {
		const char *in;
		int status;
	} t[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 400 },		/* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / http/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.10\r\n\r\n", 400 },
		{ "G(T / HTTP/1.0\r\n\r\n", 400 },		/* not a token */
		{ "GETGETGETGETGETGET / HTTP/1.0\r\n\r\n", 501 },
		{ "GET x HTTP/1.0\r\n\r\n", 400 },
		{ "GET /a#f HTTP/1.0\r\n\r\n", 400 },
		{ "GET /%2f HTTP/1.0\r\n\r\n", 400 },
		{ "GET / HTTP/1.0\r\n folded\r\n\r\n", 400 },	/* obs-fold */
		{ "GET / HTTP/1.0\r\nName : v\r\n\r\n", 400 },
		{ "GET / HTTP/1.0\r\nNo-colon\r\n\r\n", 400 },
		{ "GET / HTTP/1.0\r\nA: b\001c\r\n\r\n", 400 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(parse(t[i].in), t[i].status);
}

static void
test_req_incomplete(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	char *big;
	size_t i;

	(void)state;
	/* Every proper prefix waits for more; the whole is a request. */
	for (i = 0; i < strlen(s); i++)
		assert_int_equal(req_parse(s, i, &req), REQ_INCOMPLETE);
	assert_int_equal(req_parse(s, strlen(s), &req), REQ_OK);
	/* A request line past HTTPD_LINE_MAX: 414; a head past its max: 431. */
	big = malloc(HTTPD_HEAD_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', HTTPD_HEAD_MAX + 1);
	memcpy(big, "GET /", 5);
	assert_int_equal(req_parse(big, HTTPD_LINE_MAX + 10, &req), 414);
	memcpy(big, "GET / HTTP/1.0\r\nA: ", 19);
	assert_int_equal(req_parse(big, HTTPD_HEAD_MAX + 1, &req), 431);
	free(big);
}

/*
 * Edges of the grammar: every letter is a tchar (RFC 9110 5.6.2), 'z'
 * and 'Z' too; "OPTIONS *" is asterisk-form (RFC 9112 3.2.4); a field
 * value loses the blanks and tabs around it; a whole
 * request line, LF and all, past HTTPD_LINE_MAX is 414 (RFC 9112 3).
 */
static void
test_req_edges(void **state)
{
	const struct http_field *f;
	char *big;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Zz-z: 1\r\n\r\n"), REQ_OK);
	f = req_field(&req, "x-zz-z");
	assert_non_null(f);
	assert_memory_equal(f->f_value, "1", 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-A: a\r\nzeta: z\r\n\r\n"), REQ_OK);
	assert_non_null(req_field(&req, "Zeta"));
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
	    REQ_OK);
	assert_string_equal(req.r_method, "OPTIONS");
	assert_string_equal(req.r_path, "*");
	/* OWS around a field value is not part of it (RFC 9110 5.5). */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Ows: \t v w \t\r\n\r\n"), REQ_OK);
	f = req_field(&req, "X-Ows");
	assert_non_null(f);
	assert_int_equal(f->f_valuelen, 3);
	assert_memory_equal(f->f_value, "v w", 3);
	/* HTTP/0.9 with no target at all. */
	assert_int_equal(parse("GET \r\n"), 400);
	big = malloc(HTTPD_LINE_MAX + 32);
	assert_non_null(big);
	memset(big, 'a', HTTPD_LINE_MAX + 32);
	memcpy(big, "GET /", 5);
	memcpy(big + HTTPD_LINE_MAX + 2, " HTTP/1.0\r\n\r\n", 13);
	assert_int_equal(req_parse(big, HTTPD_LINE_MAX + 15, &req), 414);
	free(big);
}

static int
decode(const char *src, char *dst, size_t dstsize)
{
	return req_path_decode(src, strlen(src), dst, dstsize);
}

static void
test_path_decode(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "/", "/" },
		{ "/a/b", "/a/b" },
		{ "/a/b/", "/a/b/" },
		{ "//a///b", "/a/b" },
		{ "/a/./b", "/a/b" },
		{ "/a/b/.", "/a/b/" },
		{ "/a/../b", "/b" },
		{ "/a/b/..", "/a/" },
		{ "/../../etc/passwd", "/etc/passwd" },
		{ "/%2e%2e/x", "/x" },		/* decoded before removal */
		{ "/%7Euser/%41", "/~user/A" },
		{ "/a%20b", "/a b" },
		{ "/%25", "/%" },		/* decoded once only */
	};
	static const char *bad[] = {
		"", "a", "/%", "/%4", "/%zz", "/%00", "/%2F", "/%0a", "/\001",
	};
	char dst[HTTPD_PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(decode(ok[i].in, dst, sizeof(dst)), 0);
		assert_string_equal(dst, ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode(bad[i], dst, sizeof(dst)), -1);
	/* Too long for dst: -2, the caller's 414. */
	assert_int_equal(decode("/abcdefgh", dst, 6), -2);
	/* A segment fits with a byte to spare for a slash or the NUL. */
	assert_int_equal(decode("/ab", dst, 5), 0);
	assert_string_equal(dst, "/ab");
	assert_int_equal(decode("/abc", dst, 5), -2);
	/* A trailing slash, or the root alone, at the exact size. */
	assert_int_equal(decode("/a/", dst, 4), 0);
	assert_string_equal(dst, "/a/");
	assert_int_equal(decode("/", dst, 2), 0);
	assert_string_equal(dst, "/");
	assert_int_equal(req_path_hidden("/a/.git/x", 0), 1);
	assert_int_equal(req_path_hidden("/.well-known/x", 1), 0);
	assert_int_equal(req_path_hidden("/.well-known/.x", 1), 1);
}

/* Decode body (len bytes) fed step bytes at a time; the data into out. */
static int
chunked(const char *body, size_t len, size_t step, char *out, size_t *outn,
    size_t *usedn)
{
	struct chunked cd;
	char in[256];
	size_t off = 0, n, outlen, used;
	int st = CHUNKED_MORE;

	assert_true(len <= sizeof(in));
	chunked_init(&cd);
	*outn = 0;
	while (off < len && st == CHUNKED_MORE) {
		n = len - off < step ? len - off : step;
		memcpy(in, body + off, n);
		st = chunked_decode(&cd, in, n, out + *outn, &outlen, &used);
		*outn += outlen;
		off += used;
	}
	*usedn = off;
	return st;
}

static void
test_chunked(void **state)
{
	const char *body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n"
	    "Trailer: x\r\n\r\nNEXT";
	static const char *bad[] = {
		"x\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n",
		"5 x\r\n", "12345678901234567\r\n", "-1\r\n",
		"0\r\nTrailer\n\r\n",
	};
	char out[256];
	size_t step, outn, used, i;

	(void)state;
	for (step = 1; step <= strlen(body); step++) {
		assert_int_equal(chunked(body, strlen(body), step, out, &outn,
		    &used), CHUNKED_DONE);
		assert_int_equal(outn, 11);
		assert_memory_equal(out, "hello world", 11);
		/* What follows the final CRLF is the next request's. */
		assert_int_equal(used, strlen(body) - 4);
	}
	assert_int_equal(chunked("5\r\nhel", 6, 6, out, &outn, &used),
	    CHUNKED_MORE);
	assert_int_equal(outn, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(chunked(bad[i], strlen(bad[i]), 64, out,
		    &outn, &used), CHUNKED_BAD);
}

/* Bounds and in-place decoding: what a CGI child relies on. */
static void
test_chunked_bounds(void **state)
{
	struct chunked cd;
	char big[2048], in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	size_t outn, used, n;

	(void)state;
	/* 16 hex digits is the most; 0x7fff... still fits. */
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, (char *)"7fffffffffffffff\r\n",
	    18, NULL, &outn, &used), CHUNKED_MORE);
	assert_int_equal(cd.cd_size, INT64_MAX);
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, (char *)"8000000000000000\r\n",
	    18, NULL, &outn, &used), CHUNKED_BAD);
	/* Chunk extensions are bounded: 1024 bytes after the size. */
	n = snprintf(big, sizeof(big), "1;%0*d\r\n", 1024, 0);
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, big, n, NULL, &outn, &used),
	    CHUNKED_MORE);
	n = snprintf(big, sizeof(big), "1;%0*d\r\n", 1025, 0);
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, big, n, NULL, &outn, &used),
	    CHUNKED_BAD);
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, (char *)"1 \t ;x\r\nz\r\n0\r\n"
	    "\r\n", 16, NULL, &outn, &used), CHUNKED_DONE);
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, (char *)"1 x\r\n", 5, NULL,
	    &outn, &used), CHUNKED_BAD);
	/* Control bytes in an extension or a trailer field: refused. */
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, (char *)"1;\001\r\n", 5, NULL,
	    &outn, &used), CHUNKED_BAD);
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, (char *)"0\r\nA: \177\r\n\r\n",
	    11, NULL, &outn, &used), CHUNKED_BAD);
	/* Decoded in place, the data at the front, counted in cd_total. */
	chunked_init(&cd);
	assert_int_equal(chunked_decode(&cd, in, strlen(in), in, &outn,
	    &used), CHUNKED_DONE);
	assert_int_equal(outn, 5);
	assert_memory_equal(in, "abcde", 5);
	assert_int_equal(cd.cd_total, 5);
	assert_int_equal(used, 20);
	/* Nothing is read after the end. */
	assert_int_equal(chunked_decode(&cd, in, 4, NULL, &outn, &used),
	    CHUNKED_DONE);
	assert_int_equal(used, 0);
	assert_int_equal(outn, 0);
}

/* The request line is kept as sent, for the log to escape. */
static void
test_req_line(void **state)
{
	static char longline[HTTPD_LINE_MAX + 64];
	const char *s = "\r\nGET /a\"b HTTP/1.1\r\nHost: x\r\n\r\n";

	(void)state;
	assert_int_equal(parse(s), REQ_OK);
	assert_ptr_equal(req.r_reqline, s + 2);
	assert_int_equal(req.r_reqlinelen, 17);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n"), 505);
	assert_int_equal(req.r_reqlinelen, 14);
	assert_int_equal(parse("\r\n\r\n"), REQ_INCOMPLETE);
	assert_int_equal(req.r_reqlinelen, 0);
	memset(longline, 'a', sizeof(longline) - 3);
	memcpy(longline, "GET /", 5);
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	assert_int_equal(req_parse(longline, sizeof(longline) - 1, &req), 414);
	assert_ptr_equal(req.r_reqline, longline);
	assert_int_equal(req.r_reqlinelen, 64);
}

/* The fields read later are found once, the first of each name. */
static void
test_req_known(void **state)
{
	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n"
	    "user-agent: a\r\nReferer: r1\r\nReferer: r2\r\nRANGE: bytes=1-\r\n"
	    "If-Modified-Since: d\r\n\r\n"), REQ_OK);
	assert_non_null(req.r_agent);
	assert_memory_equal(req.r_agent->f_value, "a", 1);
	assert_memory_equal(req.r_referer->f_value, "r1", 2);
	assert_memory_equal(req.r_range->f_value, "bytes=1-", 8);
	assert_non_null(req.r_ims);
	assert_null(req.r_ifrange);
	assert_null(req.r_inm);
	/* A dotfile on the path is marked, /.well-known/ is not one. */
	assert_int_equal(req.r_hidden, 0);
	assert_int_equal(parse("GET /a/%2egit/x HTTP/1.1\r\nHost: x\r\n\r\n"),
	    REQ_OK);
	assert_int_equal(req.r_hidden, 1);
	assert_int_equal(parse("GET /.well-known/acme HTTP/1.1\r\nHost: x\r\n"
	    "\r\n"), REQ_OK);
	assert_int_equal(req.r_hidden, 0);
	/* Those before an error are kept for the log line. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nUser-Agent: b\r\n"
	    " fold\r\n\r\n"), 400);
	assert_memory_equal(req.r_agent->f_value, "b", 1);
	assert_null(req.r_referer);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_ok),
		cmocka_unit_test(test_req_framing),
		cmocka_unit_test(test_req_bad),
		cmocka_unit_test(test_req_incomplete),
		cmocka_unit_test(test_req_edges),
		cmocka_unit_test(test_path_decode),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_bounds),
		cmocka_unit_test(test_req_line),
		cmocka_unit_test(test_req_known),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
