/*
 * mime: the body of the message as MIME entities (RFC 2045, 2046), a pure
 * function of its inputs: the text, the files with their media types, a
 * boundary token and whether the server takes 8-bit data (RFC 6152).
 *
 * The shapes, each the smallest that holds what was given:
 *   text only          text/plain (no MIME fields at all when ASCII)
 *   text + files       multipart/mixed: text/plain, then each file
 *   text + images      multipart/alternative: text/plain, then
 *                      multipart/related: text/html, then each image
 *   all three          multipart/mixed: the alternative, then the files
 * The HTML part shows the text and, below it, each image by its
 * Content-ID (RFC 2392), so a mail reader shows text and picture together
 * while a text-only reader shows the text/plain alternative.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "send-email.h"

/* Content-Transfer-Encoding of a text part (RFC 2045 6). */
enum mime_cte { MIME_7BIT, MIME_8BIT, MIME_QP };

static const char mime_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static enum mime_cte mime_text_cte(const struct mime_input *, const char *,
		    size_t);
static int	mime_text_part(const struct mime_input *, struct buf *,
		    const char *, const char *, size_t, int *);
static int	mime_html(const struct mime_input *, struct buf *);
static int	mime_file_part(const struct mime_input *, struct buf *,
		    size_t);
static int	mime_filename(struct buf *, const char *);
static int	mime_type_ok(const char *);
static int	mime_related(const struct mime_input *, struct buf *, int *);
static int	mime_alternative(const struct mime_input *, struct buf *,
		    int *);
static size_t	mime_count(const struct mime_input *, int);

int
mime_base64(struct buf *out, const void *data, size_t len, size_t width)
{
	const unsigned char *s = data;
	char q[4];
	size_t i, col = 0;
	unsigned int v;

	for (i = 0; i < len; i += 3) {
		v = s[i] << 16;
		if (i + 1 < len)
			v |= s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		q[0] = mime_b64[(v >> 18) & 63];
		q[1] = mime_b64[(v >> 12) & 63];
		q[2] = i + 1 < len ? mime_b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? mime_b64[v & 63] : '=';
		if (buf_add(out, q, 4) == -1)
			return -1;
		col += 4;
		if (width > 0 && col >= width) {
			if (buf_add(out, "\r\n", 2) == -1)
				return -1;
			col = 0;
		}
	}
	if (width > 0 && col > 0)
		return buf_add(out, "\r\n", 2);
	return 0;
}

int
mime_qp(struct buf *out, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)text;
	size_t i, col = 0, n;
	char enc[3];
	int at_end;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			if (buf_add(out, "\r\n", 2) == -1)
				return -1;
			col = 0;
			i++;
			continue;
		}
		at_end = i + 1 == len || (s[i + 1] == '\r' && i + 2 < len &&
		    s[i + 2] == '\n');
		/*
		 * RFC 2045 6.7: printable ASCII but "=" as itself (rule 2),
		 * space and tab too unless they end a line (rule 3).
		 */
		if ((s[i] >= 33 && s[i] <= 126 && s[i] != '=') ||
		    ((s[i] == ' ' || s[i] == '\t') && !at_end)) {
			enc[0] = s[i];
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[s[i] >> 4];
			enc[2] = hex[s[i] & 15];
			n = 3;
		}
		/* Rule 5: lines of at most 76, "=" a soft line break. */
		if (col + n > (at_end ? 76 : 75)) {
			if (buf_add(out, "=\r\n", 3) == -1)
				return -1;
			col = 0;
		}
		if (buf_add(out, enc, n) == -1)
			return -1;
		col += n;
	}
	return 0;
}

/*
 * The encoding of a text part: 7bit for ASCII lines of at most 998
 * octets; 8bit when there is a byte >= 0x80 and the server takes it
 * (RFC 6152); quoted-printable otherwise, and for text holding a line
 * that starts with one of our boundaries ("--=_"), which quoted-printable
 * turns into "--=3D_", so no text can end a part early (RFC 2046 5.1.1).
 */
static enum mime_cte
mime_text_cte(const struct mime_input *in, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	int eight = 0;
	size_t i;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		if (nl - p > SE_TEXT_MAX + 1)
			return MIME_QP;
		if (nl - p >= 4 && memcmp(p, "--=_", 4) == 0)
			return MIME_QP;
		for (i = 0; i < (size_t)(nl - p); i++)
			if ((unsigned char)p[i] >= 0x80)
				eight = 1;
		p = nl + 1;
	}
	if (!eight)
		return MIME_7BIT;
	return in->mi_8bitmime ? MIME_8BIT : MIME_QP;
}

/* A text/SUBTYPE entity: its fields, a blank line, the encoded text. */
static int
mime_text_part(const struct mime_input *in, struct buf *out,
    const char *subtype, const char *text, size_t len, int *eight)
{
	static const char *name[] = { "7bit", "8bit", "quoted-printable" };
	enum mime_cte cte = mime_text_cte(in, text, len);

	if (buf_printf(out, "Content-Type: text/%s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", subtype,
	    name[cte]) == -1)
		return -1;
	if (cte == MIME_8BIT)
		*eight = 1;
	if (cte == MIME_QP)
		return mime_qp(out, text, len);
	return buf_add(out, text, len);
}

/*
 * The HTML alternative: the text, escaped, in <pre> (its lines as
 * written), then each inline image by its Content-ID.
 */
static int
mime_html(const struct mime_input *in, struct buf *html)
{
	const char *p;
	size_t i;
	int k;

	if (buf_printf(html, "<!DOCTYPE html>\r\n<html><head><meta "
	    "charset=\"UTF-8\"></head><body>\r\n<pre>") == -1)
		return -1;
	for (p = in->mi_text; p < in->mi_text + in->mi_textlen; p++) {
		switch (*p) {
		case '&':
			k = buf_add(html, "&amp;", 5);
			break;
		case '<':
			k = buf_add(html, "&lt;", 4);
			break;
		case '>':
			k = buf_add(html, "&gt;", 4);
			break;
		default:
			k = buf_add(html, p, 1);
		}
		if (k != 0)
			return -1;
	}
	if (buf_add(html, "</pre>\r\n", 8) == -1)
		return -1;
	for (i = 0; i < in->mi_nparts; i++) {
		if (!in->mi_parts[i].mp_inline)
			continue;
		if (buf_printf(html, "<p><img src=\"cid:part%zu.%s@%s\" "
		    "alt=\"\"></p>\r\n", i + 1, in->mi_boundary,
		    in->mi_domain) == -1)
			return -1;
	}
	return buf_add(html, "</body></html>\r\n", 16);
}

/* A media type as "type/subtype" tokens (RFC 2045 5.1), or not. */
static int
mime_type_ok(const char *t)
{
	static const char tspecials[] = "()<>@,;:\\\"/[]?=";
	int slash = 0;
	size_t n = 0;

	for (; *t != '\0'; t++, n++) {
		if (*t == '/' && n > 0 && !slash) {
			slash = 1;
			n = (size_t)-1;
			continue;
		}
		if (*t <= ' ' || *t >= 0x7f || strchr(tspecials, *t) != NULL)
			return 0;
	}
	return slash && n > 0;
}

/*
 * "; filename=..." for Content-Disposition (RFC 2183 2.3): a quoted
 * string when the name is short printable ASCII, otherwise RFC 2231
 * extended parameters, UTF-8 percent-encoded, continued in pieces of
 * at most MIME_PIECE characters so every line stays under 78 (RFC 2231
 * 3, 4; RFC 5322 2.1.1).
 */
#define MIME_PIECE	54

static int
mime_filename(struct buf *out, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char attr[] = "!#$&+-.^_`|~";
	const unsigned char *s = (const unsigned char *)name;
	struct buf enc = { NULL, 0, 0 };
	size_t i, n, len = strlen(name), piece;
	int plain = len <= 60, r = -1;
	char pct[3];

	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			plain = 0;
	if (plain) {
		if (buf_add(out, ";\r\n filename=\"", 14) == -1)
			return -1;
		for (i = 0; i < len; i++) {
			if ((s[i] == '"' || s[i] == '\\') &&
			    buf_add(out, "\\", 1) == -1)
				return -1;
			if (buf_add(out, name + i, 1) == -1)
				return -1;
		}
		return buf_add(out, "\"", 1);
	}
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    (s[i] != '\0' && strchr(attr, s[i]) != NULL)) {
			if (buf_add(&enc, name + i, 1) == -1)
				goto out;
			continue;
		}
		pct[0] = '%';
		pct[1] = hex[s[i] >> 4];
		pct[2] = hex[s[i] & 15];
		if (buf_add(&enc, pct, 3) == -1)
			goto out;
	}
	if (enc.b_len <= MIME_PIECE) {
		r = buf_printf(out, ";\r\n filename*=UTF-8''%s",
		    enc.b_data != NULL ? enc.b_data : "");
		goto out;
	}
	for (i = n = 0; i < enc.b_len; i += piece, n++) {
		piece = enc.b_len - i > MIME_PIECE ? MIME_PIECE :
		    enc.b_len - i;
		/* Never cut a %XX in two. */
		if (i + piece < enc.b_len) {
			if (enc.b_data[i + piece - 1] == '%')
				piece -= 1;
			else if (enc.b_data[i + piece - 2] == '%')
				piece -= 2;
		}
		if (buf_printf(out, ";\r\n filename*%zu*=%s%.*s", n,
		    n == 0 ? "UTF-8''" : "", (int)piece,
		    enc.b_data + i) == -1)
			goto out;
	}
	r = 0;
out:
	free(enc.b_data);
	return r;
}

/* One file as a base64 entity, attached or inline (RFC 2183). */
static int
mime_file_part(const struct mime_input *in, struct buf *out, size_t i)
{
	const struct mime_part *mp = &in->mi_parts[i];

	if (buf_printf(out, "Content-Type: %s\r\n"
	    "Content-Transfer-Encoding: base64\r\n",
	    mime_type_ok(mp->mp_type) ? mp->mp_type :
	    "application/octet-stream") == -1)
		return -1;
	if (mp->mp_inline && buf_printf(out, "Content-ID: <part%zu.%s@%s>\r\n",
	    i + 1, in->mi_boundary, in->mi_domain) == -1)
		return -1;
	if (buf_printf(out, "Content-Disposition: %s",
	    mp->mp_inline ? "inline" : "attachment") == -1 ||
	    mime_filename(out, mp->mp_name) == -1 ||
	    buf_add(out, "\r\n\r\n", 4) == -1)
		return -1;
	return mime_base64(out, mp->mp_data, mp->mp_len, 76);
}

/* How many parts are inline (want 1) or attached (want 0). */
static size_t
mime_count(const struct mime_input *in, int want)
{
	size_t i, n = 0;

	for (i = 0; i < in->mi_nparts; i++)
		if (!in->mi_parts[i].mp_inline == !want)
			n++;
	return n;
}

/* multipart/related (RFC 2387): the HTML, then each inline image. */
static int
mime_related(const struct mime_input *in, struct buf *out, int *eight)
{
	struct buf html = { NULL, 0, 0 };
	size_t i;
	int r = -1;

	if (buf_printf(out, "Content-Type: multipart/related; "
	    "type=\"text/html\";\r\n boundary=\"=_r%s\"\r\n\r\n"
	    "--=_r%s\r\n", in->mi_boundary, in->mi_boundary) == -1 ||
	    mime_html(in, &html) == -1 ||
	    mime_text_part(in, out, "html", html.b_data, html.b_len,
	    eight) == -1)
		goto out;
	for (i = 0; i < in->mi_nparts; i++) {
		if (!in->mi_parts[i].mp_inline)
			continue;
		if (buf_printf(out, "\r\n--=_r%s\r\n", in->mi_boundary) == -1 ||
		    mime_file_part(in, out, i) == -1)
			goto out;
	}
	r = buf_printf(out, "\r\n--=_r%s--\r\n", in->mi_boundary);
out:
	free(html.b_data);
	return r;
}

/* multipart/alternative (RFC 2046 5.1.4): plain text, then the HTML. */
static int
mime_alternative(const struct mime_input *in, struct buf *out,
    int *eight)
{
	if (buf_printf(out, "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"=_a%s\"\r\n\r\n--=_a%s\r\n", in->mi_boundary,
	    in->mi_boundary) == -1 ||
	    mime_text_part(in, out, "plain", in->mi_text, in->mi_textlen,
	    eight) == -1 ||
	    buf_printf(out, "\r\n--=_a%s\r\n", in->mi_boundary) == -1 ||
	    mime_related(in, out, eight) == -1)
		return -1;
	return buf_printf(out, "\r\n--=_a%s--\r\n", in->mi_boundary);
}

int
mime_build(const struct mime_input *in, struct buf *out, int *eight)
{
	size_t i, ninline = mime_count(in, 1), nattach = mime_count(in, 0);

	*eight = 0;
	if (ninline == 0 && nattach == 0) {
		if (mime_text_cte(in, in->mi_text, in->mi_textlen) ==
		    MIME_7BIT)
			return buf_add(out, "\r\n", 2) == -1 ||
			    buf_add(out, in->mi_text, in->mi_textlen) == -1 ?
			    -1 : 0;
		if (buf_add(out, "MIME-Version: 1.0\r\n", 19) == -1)
			return -1;
		return mime_text_part(in, out, "plain", in->mi_text,
		    in->mi_textlen, eight);
	}
	if (buf_add(out, "MIME-Version: 1.0\r\n", 19) == -1)
		return -1;
	if (nattach == 0)
		return mime_alternative(in, out, eight);
	if (buf_printf(out, "Content-Type: multipart/mixed;\r\n"
	    " boundary=\"=_m%s\"\r\n\r\n"
	    "This is a message in several parts (MIME, RFC 2046).\r\n"
	    "\r\n--=_m%s\r\n", in->mi_boundary, in->mi_boundary) == -1)
		return -1;
	if (ninline > 0) {
		if (mime_alternative(in, out, eight) == -1)
			return -1;
	} else if (mime_text_part(in, out, "plain", in->mi_text,
	    in->mi_textlen, eight) == -1)
		return -1;
	for (i = 0; i < in->mi_nparts; i++) {
		if (in->mi_parts[i].mp_inline)
			continue;
		if (buf_printf(out, "\r\n--=_m%s\r\n", in->mi_boundary) == -1 ||
		    mime_file_part(in, out, i) == -1)
			return -1;
	}
	return buf_printf(out, "\r\n--=_m%s--\r\n", in->mi_boundary);
}
