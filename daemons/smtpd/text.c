/*
 * text: the DATA state of the session (RFC 5321 4.1.1.4). The session
 * loop reads each text line and hands it here; data.c applies the rules
 * of the text, and at the line "." the message goes to mailbox.c or is
 * refused with the one reply that says why.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "serve.h"
#include "smtpd.h"
#include "session.h"

static void	smtp_text_end(struct smtp_session *);
static void	smtp_deliver(struct smtp_session *);

static void
smtp_deliver(struct smtp_session *s)
{
	char helo[LOG_VIS_MAX], from[LOG_VIS_MAX], to[4 * LOG_VIS_MAX];
	char rcpts[2 * LOG_VIS_MAX];
	struct smtp_tx *tx = &s->s_tx;
	struct smtpd_msg m;
	long long number;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.m_helo = s->s_heloname;
	m.m_peer = s->s_peer;
	m.m_tls = s->s_tls != NULL;
	m.m_sender = tx->tx_sender;
	m.m_rcpts = tx->tx_rcpts;
	m.m_nrcpts = tx->tx_nrcpts;
	m.m_body = tx->tx_body.b_data != NULL ? tx->tx_body.b_data : "";
	m.m_bodylen = tx->tx_body.b_len;
	m.m_size = tx->tx_size;
	if ((number = mbox_deliver(s->s_sd, &m)) == -1) {
		log_warn("%s: delivery failed", s->s_peer);
		if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
			smtp_err_storage(s);
		else
			smtp_err_local(s);
		return;
	}
	rcpts[0] = '\0';
	for (i = 0; i < tx->tx_nrcpts; i++) {
		if (i > 0)
			strlcat(rcpts, ",", sizeof(rcpts));
		strlcat(rcpts, tx->tx_rcpts[i], sizeof(rcpts));
	}
	log_info("delivered message %lld from %s helo=%s from=<%s> to=<%s> "
	    "size=%zu", number, s->s_peer,
	    log_vis(helo, sizeof(helo), s->s_heloname, strlen(s->s_heloname)),
	    log_vis(from, sizeof(from), tx->tx_sender, strlen(tx->tx_sender)),
	    log_vis(to, sizeof(to), rcpts, strlen(rcpts)), tx->tx_size);
	/* A client that delivers is not idling (Postfix forgives it too). */
	s->s_junk = 0;
	smtp_reply(s, "250 OK:  delivered message %lld", number);
}

/* The line "." came: deliver or refuse, then back to commands. */
static void
smtp_text_end(struct smtp_session *s)
{
	switch (smtp_data_verdict(&s->s_tx)) {
	case DATA_BARE:
		log_info("%s: bare CR or LF in DATA, refused", s->s_peer);
		smtp_err_bare(s);
		break;
	case DATA_LONG:
		smtp_err_text_long(s);
		break;
	case DATA_BIG:
		smtp_err_size(s);
		break;
	case DATA_NOMEM:
		smtp_err_local(s);
		break;
	case DATA_OK:
		smtp_deliver(s);
		break;
	}
	smtp_tx_reset(&s->s_tx);
	s->s_state = SMTP_STATE_CMD;
}

/*
 * After 354: note where the text starts, for the data-rate deadline of
 * smtp_getline().
 */
void
smtp_text_begin(struct smtp_session *s)
{
	smtp_data_begin(&s->s_tx);
	s->s_state = SMTP_STATE_DATA;
	s->s_datastart = serve_now_ms();
	s->s_datapos = s->s_rcvd - (s->s_inlen - s->s_inoff);
}

void
smtp_text(struct smtp_session *s, enum smtp_line r, char *line, size_t len)
{
	switch (r) {
	case LINE_OK:
		if (smtp_data_line(&s->s_tx, line, len, s->s_sd->sd_format,
		    s->s_sd->sd_maxsize))
			smtp_text_end(s);
		break;
	case LINE_LONG:
	case LINE_PART:
		smtp_data_long(&s->s_tx, line, len);
		break;
	case LINE_TIMEOUT:
		log_info("%s: timeout in DATA", s->s_peer);
		smtp_err_timeout(s);
		break;
	case LINE_SLOW:
		log_info("%s: DATA slower than %lld bytes/s", s->s_peer,
		    s->s_sd->sd_minrate);
		smtp_err_timeout(s);
		break;
	case LINE_EOF:
		s->s_quit = 1;
		break;
	}
}
