/*
 * Unit tests of send-email's MIME builder (clients/send-email/mime.c), a
 * pure function of its inputs: base64 and quoted-printable (RFC 2045),
 * the shapes of the body, RFC 2231 file names. Run by t/send-email/unit-mime.t.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../clients/send-email/send-email.h"

/* The body for text and parts; the caller frees the result. */
static char *
build(const char *text, const struct mime_part *parts, size_t nparts,
    int eightbitmime, int *eight)
{
	struct mime_input in;
	struct buf out = { NULL, 0, 0 };

	memset(&in, 0, sizeof(in));
	in.mi_text = text;
	in.mi_textlen = strlen(text);
	in.mi_parts = parts;
	in.mi_nparts = nparts;
	in.mi_boundary = "b1";
	in.mi_domain = "ex.org";
	in.mi_8bitmime = eightbitmime;
	assert_int_equal(mime_build(&in, &out, eight), 0);
	assert_non_null(out.b_data);
	return out.b_data;
}

static char *
b64(const char *s, size_t width)
{
	struct buf out = { NULL, 0, 0 };

	assert_int_equal(mime_base64(&out, s, strlen(s), width), 0);
	assert_int_equal(buf_add(&out, "", 0), 0);
	return out.b_data;
}

static char *
qp(const char *s)
{
	struct buf out = { NULL, 0, 0 };

	assert_int_equal(mime_qp(&out, s, strlen(s)), 0);
	assert_int_equal(buf_add(&out, "", 0), 0);
	return out.b_data;
}

/* RFC 4648 10's test vectors, and lines of 76 with CRLF. */
static void
test_base64(void **state)
{
	static const char *in[] = { "", "f", "fo", "foo", "foob", "fooba",
	    "foobar" };
	static const char *want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	    "Zm9vYmE=", "Zm9vYmFy" };
	char *s, big[115];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		s = b64(in[i], 0);
		assert_string_equal(s, want[i]);
		free(s);
	}
	memset(big, 'a', 114);
	big[114] = '\0';
	s = b64(big, 76);
	/* 114 bytes: 152 characters, two full lines of 76. */
	assert_int_equal(strlen(s), 152 + 4);
	assert_memory_equal(s + 76, "\r\n", 2);
	assert_memory_equal(s + 154, "\r\n", 2);
	free(s);
}

/* RFC 2045 6.7's rules. */
static void
test_qp(void **state)
{
	char line[200], *s, *p, *nl;

	(void)state;
	s = qp("caf\xc3\xa9 = ok\r\n");
	assert_string_equal(s, "caf=C3=A9 =3D ok\r\n");
	free(s);
	/* Rule 3: white space that ends a line is encoded. */
	s = qp("tail \r\ntab\t\r\n \r\n");
	assert_string_equal(s, "tail=20\r\ntab=09\r\n=20\r\n");
	free(s);
	/* Rule 5: soft breaks keep lines at 76, never inside =XX. */
	memset(line, 'x', 150);
	memcpy(line + 74, "\xc3\xa9", 2);
	memcpy(line + 150, "\r\n", 3);
	s = qp(line);
	for (p = s; (nl = strstr(p, "\r\n")) != NULL; p = nl + 2)
		assert_true(nl - p <= 76);
	assert_memory_equal(s, "xxxxxxxxxx", 10);
	assert_non_null(strstr(s, "=\r\n=C3=A9"));
	free(s);
}

static void
test_text_only(void **state)
{
	char *s;
	int eight;

	(void)state;
	s = build("hello\r\n", NULL, 0, 1, &eight);
	assert_string_equal(s, "\r\nhello\r\n");
	assert_int_equal(eight, 0);
	free(s);
	s = build("na\xc3\xafve\r\n", NULL, 0, 1, &eight);
	assert_string_equal(s, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\nna\xc3\xafve\r\n");
	assert_int_equal(eight, 1);
	free(s);
	/* No 8BITMIME: quoted-printable (RFC 6152 3). */
	s = build("na\xc3\xafve\r\n", NULL, 0, 0, &eight);
	assert_string_equal(s, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "na=C3=AFve\r\n");
	assert_int_equal(eight, 0);
	free(s);
}

static void
test_attachment(void **state)
{
	struct mime_part p = { "a.bin", "application/octet-stream",
	    (const unsigned char *)"abc", 3, 0 };
	char *s, *t;
	int eight;

	(void)state;
	s = build("hi\r\n", &p, 1, 0, &eight);
	assert_string_equal(s, "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed;\r\n boundary=\"=_mb1\"\r\n\r\n"
	    "This is a message in several parts (MIME, RFC 2046).\r\n"
	    "\r\n--=_mb1\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nhi\r\n"
	    "\r\n--=_mb1\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment;\r\n filename=\"a.bin\"\r\n\r\n"
	    "YWJj\r\n"
	    "\r\n--=_mb1--\r\n");
	/* The same inputs, the same bytes. */
	t = build("hi\r\n", &p, 1, 0, &eight);
	assert_string_equal(s, t);
	free(s);
	free(t);
}

/* A text line that looks like a boundary is quoted-printable. */
static void
test_boundary_in_text(void **state)
{
	struct mime_part p = { "a", "text/plain", (const unsigned char *)"x",
	    1, 0 };
	char *s;
	int eight;

	(void)state;
	s = build("--=_mb1--\r\n", &p, 1, 1, &eight);
	assert_non_null(strstr(s, "quoted-printable\r\n\r\n--=3D_mb1--\r\n"));
	assert_null(strstr(s, "\r\n--=_mb1--\r\n--"));
	free(s);
}

static void
test_filenames(void **state)
{
	struct mime_part p = { "\xc3\xa9t\xc3\xa9 report.pdf",
	    "application/pdf", (const unsigned char *)"%PDF", 4, 0 };
	char name[200], *s, *q, *nl, *l;
	int eight;

	(void)state;
	s = build("", &p, 1, 0, &eight);
	assert_non_null(strstr(s, "Content-Disposition: attachment;\r\n"
	    " filename*=UTF-8''%C3%A9t%C3%A9%20report.pdf\r\n"));
	free(s);
	/* Quotes and backslashes in a quoted string (RFC 2045 5.1). */
	p.mp_name = "say \"hi\\\".txt";
	s = build("", &p, 1, 0, &eight);
	assert_non_null(strstr(s, " filename=\"say \\\"hi\\\\\\\".txt\"\r\n"));
	free(s);
	/* A long name: RFC 2231 3 continuations, lines under 78. */
	memset(name, 0, sizeof(name));
	for (q = name; q < name + 120; q += 2)
		memcpy(q, "\xc3\xa9", 2);
	p.mp_name = name;
	s = build("", &p, 1, 0, &eight);
	assert_non_null(strstr(s, " filename*0*=UTF-8''%C3%A9"));
	assert_non_null(strstr(s, " filename*1*=%C3%A9"));
	for (l = s; (nl = strstr(l, "\r\n")) != NULL; l = nl + 2)
		assert_true(nl - l < 78);
	free(s);
	/* A media type that is not type/subtype is sent as octets. */
	p.mp_name = "x";
	p.mp_type = "text/plain; charset=us-ascii";
	s = build("", &p, 1, 0, &eight);
	assert_non_null(strstr(s, "Content-Type: application/octet-stream\r\n"));
	free(s);
}

static void
test_inline(void **state)
{
	struct mime_part p[2] = {
		{ "pic.png", "image/png", (const unsigned char *)"\x89PNG", 4,
		    1 },
		{ "doc.pdf", "application/pdf", (const unsigned char *)"%PDF",
		    4, 0 },
	};
	char *s, *a, *r, *h, *i, *d;
	int eight;

	(void)state;
	s = build("see <this> & that\r\n", p, 2, 0, &eight);
	a = strstr(s, "Content-Type: multipart/alternative;");
	r = strstr(s, "Content-Type: multipart/related; type=\"text/html\";");
	h = strstr(s, "see &lt;this&gt; &amp; that");
	i = strstr(s, "Content-ID: <part1.b1@ex.org>\r\n"
	    "Content-Disposition: inline;\r\n filename=\"pic.png\"");
	d = strstr(s, "Content-Disposition: attachment;\r\n"
	    " filename=\"doc.pdf\"");
	assert_true(strncmp(s, "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed;", 49) == 0);
	assert_non_null(a);
	assert_non_null(r);
	assert_non_null(h);
	assert_non_null(i);
	assert_non_null(d);
	assert_true(a < r && r < h && h < i && i < d);
	assert_non_null(strstr(h, "<img src=\"cid:part1.b1@ex.org\""));
	free(s);
	/* Images only: no multipart/mixed around the alternative. */
	s = build("x\r\n", p, 1, 0, &eight);
	assert_true(strncmp(s, "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative;", 55) == 0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_text_only),
		cmocka_unit_test(test_attachment),
		cmocka_unit_test(test_boundary_in_text),
		cmocka_unit_test(test_filenames),
		cmocka_unit_test(test_inline),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
