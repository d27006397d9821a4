/*
 * data: the rules of the message text after 354 (RFC 5321 4.1.1.4), as
 * pure functions of one text line and the transaction they build. No
 * I/O: the session loop (session.c, in its DATA state) reads the lines,
 * and text.c hands the result to mailbox.c.
 */
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"
#include "session.h"

static int	smtp_mbox_from(const char *, size_t);
static int	smtp_seed_record(const char *, size_t);
static int	smtp_data_store(struct smtp_tx *, const char *, size_t,
		    enum smtpd_format);

/* mboxrd: a line matching ^>*From gets one more '>'. */
static int
smtp_mbox_from(const char *p, size_t n)
{
	while (n > 0 && *p == '>') {
		p++;
		n--;
	}
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/*
 * In the -F seed format a record starts with the two lines
 * "Received: from HELO by NAME (CS4410MP3)" and "Number: N", and nothing
 * else marks where one message ends and the next begins. So a body line
 * that, after any run of '>', starts with "Number:", or starts with
 * "Received:" and holds "(CS4410MP3)", gets one more '>' on the way in,
 * the way mboxrd quotes "From " lines: no body can hold a line a reader
 * (or smtpd's own recovery) would take for the start of a record, and
 * removing one '>' from such lines gives the message back. "From:" and
 * "To:" lines, which every message header has, follow "Number:" in a
 * record and cannot start one: they stay as they are, as does every
 * other line.
 */
static int
smtp_seed_record(const char *p, size_t n)
{
	static const char postmark[] = "(CS4410MP3)";
	size_t i;

	while (n > 0 && *p == '>') {
		p++;
		n--;
	}
	if (n >= 7 && memcmp(p, "Number:", 7) == 0)
		return 1;
	if (n < 9 || memcmp(p, "Received:", 9) != 0)
		return 0;
	for (i = 9; i + sizeof(postmark) - 1 <= n; i++)
		if (memcmp(p + i, postmark, sizeof(postmark) - 1) == 0)
			return 1;
	return 0;
}

/* One text line as stored, LF-ended. Returns 0, or -1: no memory. */
static int
smtp_data_store(struct smtp_tx *tx, const char *p, size_t n,
    enum smtpd_format format)
{
	/* RFC 5321 4.5.2: the client doubled a leading dot. */
	if (n > 0 && *p == '.') {
		p++;
		n--;
	}
	if (format == SMTPD_FMT_MBOX && smtp_mbox_from(p, n) &&
	    buf_add(&tx->tx_body, ">", 1) == -1)
		return -1;
	if (format == SMTPD_FMT_SEED && smtp_seed_record(p, n) &&
	    buf_add(&tx->tx_body, ">", 1) == -1)
		return -1;
	if (buf_add(&tx->tx_body, p, n) == -1 || buf_add(&tx->tx_body, "\n", 1) == -1)
		return -1;
	return 0;
}

void
smtp_data_begin(struct smtp_tx *tx)
{
	tx->tx_body.b_len = 0;
	tx->tx_size = 0;
	tx->tx_bare = tx->tx_toolong = tx->tx_toobig = tx->tx_nomem = 0;
}

/*
 * Only <CR><LF>.<CR><LF> ends the data. A bare LF or bare CR never ends
 * a line: it stays inside the line it is in, so a smuggled
 * "<LF>.<LF>MAIL FROM..." (CVE-2023-51764) can never split the message,
 * and a message holding one is refused after its real end. Once the
 * message is known to be refused, nothing more is stored.
 */
int
smtp_data_line(struct smtp_tx *tx, const char *p, size_t n,
    enum smtpd_format format, size_t maxsize)
{
	if (n == 1 && p[0] == '.')
		return 1;
	if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
		tx->tx_bare = 1;
	tx->tx_size += n + 2;
	if (tx->tx_size > maxsize)
		tx->tx_toobig = 1;
	if (!tx->tx_bare && !tx->tx_toolong && !tx->tx_toobig &&
	    !tx->tx_nomem && smtp_data_store(tx, p, n, format) == -1)
		tx->tx_nomem = 1;
	return 0;
}

/*
 * A piece of a line over RFC 5321 4.5.3.1.6's 1000 octets: the message
 * is refused, and a bare CR or LF anywhere in it still counts. A piece
 * never ends inside a CRLF, so every CR or LF in it is bare.
 */
void
smtp_data_long(struct smtp_tx *tx, const char *p, size_t n)
{
	tx->tx_toolong = 1;
	if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
		tx->tx_bare = 1;
}

enum smtp_verdict
smtp_data_verdict(const struct smtp_tx *tx)
{
	if (tx->tx_bare)
		return DATA_BARE;
	if (tx->tx_toolong)
		return DATA_LONG;
	if (tx->tx_toobig)
		return DATA_BIG;
	if (tx->tx_nomem)
		return DATA_NOMEM;
	return DATA_OK;
}

void
smtp_tx_reset(struct smtp_tx *tx)
{
	size_t i;

	for (i = 0; i < tx->tx_nrcpts; i++)
		free(tx->tx_rcpts[i]);
	tx->tx_nrcpts = 0;
	tx->tx_mail = 0;
	tx->tx_sender[0] = '\0';
	tx->tx_body.b_len = 0;
}

void
smtp_tx_free(struct smtp_tx *tx)
{
	smtp_tx_reset(tx);
	free(tx->tx_body.b_data);
	memset(&tx->tx_body, 0, sizeof(tx->tx_body));
}
