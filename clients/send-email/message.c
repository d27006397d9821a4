/*
 * message: the RFC 5322 message send-email sends, built in memory: the
 * header fields Date, From, To, Subject, Message-ID, then the body that
 * mime.c shapes once the server's EHLO keywords are known. Every line ends
 * in CRLF whatever the input used (RFC 5322 2.3: CR and LF only ever
 * together), and a line longer than 998 octets is refused, not wrapped
 * (RFC 5322 2.1.1): wrapping would change what the author wrote.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "send-email.h"

static int	message_text(const char *, size_t, const char *,
		    struct buf *);
static int	message_read_stdin(struct buf *);
static int	message_subject(struct se_state *, struct buf *);
static int	message_to(struct se_state *, struct buf *);

/* Read all of stdin into b, at most SE_BODY_MAX bytes. */
static int
message_read_stdin(struct buf *b)
{
	char chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "send-email: stdin: %s\n",
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		if (b->b_len + n > SE_BODY_MAX) {
			fprintf(stderr, "send-email: stdin: body larger than "
			    "%d bytes\n", SE_BODY_MAX);
			return -1;
		}
		if (buf_add(b, chunk, n) == -1) {
			fprintf(stderr, "send-email: stdin: %s\n",
			    strerror(errno));
			return -1;
		}
	}
}

/*
 * Copy text (len bytes, from where, for messages) into out as lines
 * ending in CRLF. LF, CRLF and a lone CR each end a line; a last line
 * without an end gets one. Refuses NUL (RFC 5322 2.3) and lines over
 * SE_TEXT_MAX octets (2.1.1). Whether 8-bit text goes as it is or
 * quoted-printable is mime.c's to say, once EHLO has been answered.
 */
static int
message_text(const char *text, size_t len, const char *where,
    struct buf *out)
{
	size_t i, start, lineno = 1, end;

	for (start = i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n' && text[i] != '\r') {
			if (text[i] == '\0') {
				fprintf(stderr, "send-email: %s line %zu: NUL "
				    "byte (RFC 5322 2.3)\n", where, lineno);
				return -1;
			}
			continue;
		}
		end = i;
		/* Nothing after the last line end: no empty extra line. */
		if (i == len && start == len)
			break;
		if (end - start > SE_TEXT_MAX) {
			fprintf(stderr, "send-email: %s line %zu: longer than "
			    "%d octets (RFC 5322 2.1.1)\n", where, lineno,
			    SE_TEXT_MAX);
			return -1;
		}
		if (buf_add(out, text + start, end - start) == -1 ||
		    buf_add(out, "\r\n", 2) == -1)
			goto nomem;
		if (i < len && text[i] == '\r' && i + 1 < len &&
		    text[i + 1] == '\n')
			i++;
		start = i + 1;
		lineno++;
	}
	return 0;
nomem:
	fprintf(stderr, "send-email: %s\n", strerror(errno));
	return -1;
}

/*
 * Subject: as given when it is printable ASCII; otherwise as RFC 2047
 * encoded-words "=?UTF-8?B?...?=" of at most 75 characters (2047 section
 * 2), cut between UTF-8 characters, one per folded line.
 */
static int
message_subject(struct se_state *st, struct buf *b)
{
	const unsigned char *s = (const unsigned char *)st->se_subject;
	size_t len = strlen(st->se_subject), i, n;
	int ascii = 1;

	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 && s[i] != '\t') {
			fprintf(stderr, "send-email: subject: control "
			    "character\n");
			return -1;
		}
		if (s[i] >= 0x7f)
			ascii = 0;
	}
	if (ascii) {
		if (len > SE_TEXT_MAX - strlen("Subject: ")) {
			fprintf(stderr, "send-email: subject: longer than %zu "
			    "octets\n", SE_TEXT_MAX - strlen("Subject: "));
			return -1;
		}
		return buf_printf(b, "Subject: %s\r\n", st->se_subject);
	}
	if (buf_add(b, "Subject:", 8) == -1)
		return -1;
	for (i = 0; i < len; i += n) {
		/*
		 * 39 bytes are 52 base64 characters, 64 with "=?UTF-8?B??=":
		 * with "Subject: " in front still under 78 (RFC 5322 2.1.1).
		 */
		n = len - i > 39 ? 39 : len - i;
		while (n > 1 && i + n < len && (s[i + n] & 0xc0) == 0x80)
			n--;
		if (buf_add(b, i == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?",
		    i == 0 ? 11 : 13) == -1 ||
		    mime_base64(b, s + i, n, 0) == -1 ||
		    buf_add(b, "?=", 2) == -1)
			return -1;
	}
	return buf_add(b, "\r\n", 2);
}

/* To: every recipient, folded before a line would pass 78 (2.1.1). */
static int
message_to(struct se_state *st, struct buf *b)
{
	size_t i, col = 3, n;

	if (buf_add(b, "To:", 3) == -1)
		return -1;
	for (i = 0; i < st->se_nrcpt; i++) {
		n = strlen(st->se_rcpt[i]);
		if (i > 0) {
			if (buf_add(b, ",", 1) == -1)
				return -1;
			col++;
		}
		if (i > 0 && col + 1 + n > 78) {
			if (buf_add(b, "\r\n", 2) == -1)
				return -1;
			col = 0;
		}
		if (buf_add(b, " ", 1) == -1 ||
		    buf_add(b, st->se_rcpt[i], n) == -1)
			return -1;
		col += 1 + n;
	}
	return buf_add(b, "\r\n", 2);
}

int
message_build(struct se_state *st)
{
	struct buf raw = { NULL, 0, 0 };
	struct buf *m = &st->se_head;
	char date[64];
	struct tm tm;
	time_t now;
	int r = -1;

	if (st->se_word != NULL) {
		if (buf_add(&raw, st->se_word, strlen(st->se_word)) == -1)
			goto nomem;
		if (message_text(raw.b_data, raw.b_len, "word",
		    &st->se_text) == -1)
			goto out;
	} else {
		if (message_read_stdin(&raw) == -1)
			goto out;
		if (message_text(raw.b_data ? raw.b_data : "", raw.b_len,
		    "stdin", &st->se_text) == -1)
			goto out;
	}

	/* RFC 5322 3.3: "Thu, 13 Feb 2025 10:04:05 +0100", C locale. */
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
	    &tm) == 0) {
		fprintf(stderr, "send-email: the date: %s\n",
		    strerror(errno));
		goto out;
	}
	if (buf_printf(m, "Date: %s\r\n", date) == -1 ||
	    buf_printf(m, "From: %s\r\n", st->se_author) == -1 ||
	    message_to(st, m) == -1)
		goto nomem;
	if (message_subject(st, m) == -1)
		goto out;
	/* RFC 5322 3.6.4: unique, its right side a domain of ours. */
	if (buf_printf(m, "Message-ID: <%lld.%ld.%08x@%s>\r\n",
	    (long long)now, (long)getpid(), arc4random(), st->se_helo) == -1)
		goto nomem;
	/* A MIME boundary no text holds: "=_" cannot begin a QP line. */
	snprintf(st->se_boundary, sizeof(st->se_boundary), "%08x%08x",
	    arc4random(), arc4random());
	r = 0;
	goto out;
nomem:
	fprintf(stderr, "send-email: building the message: %s\n",
	    strerror(errno));
out:
	free(raw.b_data);
	return r == 0 ? 0 : EXIT_USAGE;
}

int
message_compose(struct se_state *st)
{
	struct mime_input in;

	memset(&in, 0, sizeof(in));
	in.mi_text = st->se_text.b_data != NULL ? st->se_text.b_data : "";
	in.mi_textlen = st->se_text.b_len;
	in.mi_parts = st->se_parts;
	in.mi_nparts = st->se_nparts;
	in.mi_boundary = st->se_boundary;
	in.mi_domain = st->se_helo;
	in.mi_8bitmime = st->se_esmtp && st->se_8bitmime;
	st->se_msg.b_len = 0;
	if (buf_add(&st->se_msg, st->se_head.b_data, st->se_head.b_len) == -1 ||
	    mime_build(&in, &st->se_msg, &st->se_8bit) == -1)
		return -1;
	return 0;
}

int
message_stuff(const struct buf *msg, struct buf *out)
{
	const char *p = msg->b_data, *end = msg->b_data + msg->b_len, *nl;

	/*
	 * RFC 5321 4.5.2: a line that begins with "." gets one more, so no
	 * line of the message can read as the end of the data.
	 */
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		nl = nl == NULL ? end : nl + 1;
		if (*p == '.' && buf_add(out, ".", 1) == -1)
			return -1;
		if (buf_add(out, p, nl - p) == -1)
			return -1;
		p = nl;
	}
	return buf_add(out, ".\r\n", 3);
}
