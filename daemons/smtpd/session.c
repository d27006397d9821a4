/*
 * session: one SMTP dialogue, the assignment's replies byte for byte
 * (smtpd(8) STANDARDS), and what an RFC 5321 client expects beyond them.
 *
 * Commands are a table of check/proceed pairs, in the shape of OpenSMTPD's
 * smtp_session.c: check validates syntax (501), the address (555) and the
 * command order (503) and answers the error itself; proceed acts. Every
 * error reply has one function (qmail-smtpd's err_*(), in reply.c).
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "smtpd.h"
#include "session.h"

struct smtp_cmd {
	const char	*c_name;
	/* 0: go on; -1: refused, the reply is sent. */
	int		(*c_check)(struct smtp_session *, char *);
	/* The positive reply, sent before proceed; NULL: proceed sends it. */
	const char	*c_reply;
	/* Acts on the command; NULL: the reply is all. */
	void		(*c_proceed)(struct smtp_session *, char *);
	int		 c_junk;	/* counts against -j */
};

/* What must come before a command (RFC 5321 4.1.4): its 503 names it. */
enum smtp_need {
	SMTP_NEED_HELO,
	SMTP_NEED_MAIL,
	SMTP_NEED_RCPT,
};

static int	smtp_check_helo(struct smtp_session *, char *);
static int	smtp_check_ehlo(struct smtp_session *, char *);
static int	smtp_check_mail(struct smtp_session *, char *);
static int	smtp_check_rcpt(struct smtp_session *, char *);
static int	smtp_check_noarg(struct smtp_session *, char *, const char *);
static int	smtp_check_order(struct smtp_session *, enum smtp_need);
static int	smtp_check_data(struct smtp_session *, char *);
static int	smtp_check_rset(struct smtp_session *, char *);
static int	smtp_check_quit(struct smtp_session *, char *);
static int	smtp_check_vrfy(struct smtp_session *, char *);
static int	smtp_check_starttls(struct smtp_session *, char *);
static void	smtp_proceed_helo(struct smtp_session *, char *);
static void	smtp_proceed_ehlo(struct smtp_session *, char *);
static void	smtp_proceed_mail(struct smtp_session *, char *);
static void	smtp_proceed_rcpt(struct smtp_session *, char *);
static void	smtp_proceed_data(struct smtp_session *, char *);
static void	smtp_proceed_rset(struct smtp_session *, char *);
static void	smtp_proceed_quit(struct smtp_session *, char *);
static void	smtp_proceed_starttls(struct smtp_session *, char *);

static const struct smtp_cmd smtp_cmds[] = {
	{ "HELO", smtp_check_helo, NULL, smtp_proceed_helo, 0 },
	{ "EHLO", smtp_check_ehlo, NULL, smtp_proceed_ehlo, 0 },
	{ "MAIL", smtp_check_mail, NULL, smtp_proceed_mail, 0 },
	{ "RCPT", smtp_check_rcpt, NULL, smtp_proceed_rcpt, 0 },
	{ "DATA", smtp_check_data, "354 End data with <CR><LF>.<CR><LF>",
	    smtp_proceed_data, 0 },
	{ "RSET", smtp_check_rset, "250 OK", smtp_proceed_rset, 1 },
	{ "NOOP", NULL, "250 OK", NULL, 1 },
	{ "QUIT", smtp_check_quit, NULL, smtp_proceed_quit, 0 },
	/* RFC 5321 3.5.3: smtpd does not disclose whether a mailbox exists. */
	{ "VRFY", smtp_check_vrfy, "252 2.1.5 Cannot VRFY user, but will "
	    "accept message and attempt delivery", NULL, 1 },
	{ "STARTTLS", smtp_check_starttls, "220 2.0.0 Ready to start TLS",
	    smtp_proceed_starttls, 0 },
};
#define SMTP_NCMDS	(sizeof(smtp_cmds) / sizeof(smtp_cmds[0]))

/* The text after "FROM:" or "TO:", or NULL. */
static char *
smtp_after(char *arg, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(arg, word, n) != 0)
		return NULL;
	return arg + n;
}

/* HELO and EHLO (RFC 5321 4.1.1.1). */

static int
smtp_check_hello(struct smtp_session *s, char *arg, const char *syntax)
{
	arg = smtp_trim(arg);
	if (*arg == '\0' || !smtp_printable(arg) ||
	    strlen(arg) >= sizeof(s->s_heloname)) {
		smtp_err_syntax(s, syntax);
		return -1;
	}
	if (s->s_helo) {
		smtp_err_dup_helo(s);
		return -1;
	}
	return 0;
}

static int
smtp_check_helo(struct smtp_session *s, char *arg)
{
	return smtp_check_hello(s, arg, "HELO yourhostname");
}

static int
smtp_check_ehlo(struct smtp_session *s, char *arg)
{
	return smtp_check_hello(s, arg, "EHLO yourhostname");
}

static void
smtp_proceed_helo(struct smtp_session *s, char *arg)
{
	strlcpy(s->s_heloname, smtp_trim(arg), sizeof(s->s_heloname));
	s->s_helo = 'H';
	smtp_reply(s, "250 %s", s->s_sd->sd_name);
}

/* RFC 1869 4.3, with the extensions of RFC 2920, 1870, 6152, 2034. */
static void
smtp_proceed_ehlo(struct smtp_session *s, char *arg)
{
	strlcpy(s->s_heloname, smtp_trim(arg), sizeof(s->s_heloname));
	s->s_helo = 'E';
	smtp_reply(s, "250-%s", s->s_sd->sd_name);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %zu", s->s_sd->sd_maxsize);
	smtp_reply(s, "250-8BITMIME");
	/* RFC 3207 4: offered only when configured, and not inside TLS. */
	if (s->s_sd->sd_tls != NULL && s->s_tls == NULL)
		smtp_reply(s, "250-STARTTLS");
	smtp_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* STARTTLS (RFC 3207 4): no argument; once; only when configured. */
static int
smtp_check_starttls(struct smtp_session *s, char *arg)
{
	if (*smtp_trim(arg) != '\0') {
		smtp_err_syntax(s, "STARTTLS");
		return -1;
	}
	if (s->s_tls != NULL) {
		smtp_err_tls_active(s);
		return -1;
	}
	if (s->s_sd->sd_tls == NULL) {
		smtp_err_tls_unavailable(s);
		return -1;
	}
	return 0;
}

/* After its 220, flushed in the clear: the handshake. */
static void
smtp_proceed_starttls(struct smtp_session *s, char *arg)
{
	(void)arg;
	if (smtp_flush(s) == 0)
		smtp_starttls(s);
}

/* MAIL FROM (RFC 5321 4.1.1.2) with RFC 1870 SIZE and RFC 6152 BODY. */

static int
smtp_mail_params(struct smtp_session *s, char *params)
{
	char *p, *tok;
	const char *errstr;
	long long size;

	for (p = params; (tok = strsep(&p, " ")) != NULL; ) {
		if (*tok == '\0')
			continue;
		if (s->s_helo != 'E') {
			smtp_err_param(s);
			return -1;
		}
		if (strncasecmp(tok, "SIZE=", 5) == 0) {
			size = strtonum(tok + 5, 0, LLONG_MAX, &errstr);
			if (errstr != NULL) {
				smtp_err_param(s);
				return -1;
			}
			if ((unsigned long long)size > s->s_sd->sd_maxsize) {
				smtp_err_size(s);
				return -1;
			}
		} else if (strcasecmp(tok, "BODY=7BIT") != 0 &&
		    strcasecmp(tok, "BODY=8BITMIME") != 0) {
			smtp_err_param(s);
			return -1;
		}
	}
	return 0;
}

static int
smtp_check_mail(struct smtp_session *s, char *arg)
{
	char *rest, *addr, *params;

	if ((rest = smtp_after(arg, "FROM:")) == NULL ||
	    smtp_path(rest, &addr, &params) == -1) {
		smtp_err_syntax(s, "MAIL FROM:<address>");
		return -1;
	}
	/* <> is the null reverse path (RFC 5321 4.5.5). */
	if (*addr != '\0' && !smtp_valid_addr(addr)) {
		smtp_err_sender(s, addr);
		return -1;
	}
	if (smtp_check_order(s, SMTP_NEED_HELO) == -1)
		return -1;
	if (s->s_tx.tx_mail) {
		smtp_err_nested(s);
		return -1;
	}
	if (s->s_sd->sd_tlsrequire && s->s_tls == NULL) {
		smtp_err_tls_required(s);
		return -1;
	}
	if (smtp_mail_params(s, params) == -1)
		return -1;
	/* proceed takes the address from here. */
	memmove(arg, addr, strlen(addr) + 1);
	return 0;
}

static void
smtp_proceed_mail(struct smtp_session *s, char *addr)
{
	strlcpy(s->s_tx.tx_sender, addr, sizeof(s->s_tx.tx_sender));
	s->s_tx.tx_mail = 1;
	smtp_reply(s, "250 OK");
}

/* RCPT TO (RFC 5321 4.1.1.3). */

static int
smtp_check_rcpt(struct smtp_session *s, char *arg)
{
	char *rest, *addr, *params;

	if ((rest = smtp_after(arg, "TO:")) == NULL ||
	    smtp_path(rest, &addr, &params) == -1) {
		smtp_err_syntax(s, "RCPT TO:<address>");
		return -1;
	}
	if (*addr == '\0' || !smtp_valid_addr(addr)) {
		smtp_err_rcpt(s, addr);
		return -1;
	}
	if (smtp_check_order(s, SMTP_NEED_MAIL) == -1)
		return -1;
	if (*params != '\0') {
		smtp_err_param(s);
		return -1;
	}
	if (s->s_tx.tx_nrcpts >= SMTPD_RCPT_MAX) {
		smtp_err_rcpts(s);
		return -1;
	}
	memmove(arg, addr, strlen(addr) + 1);
	return 0;
}

static void
smtp_proceed_rcpt(struct smtp_session *s, char *addr)
{
	char *copy;

	if ((copy = strdup(addr)) == NULL) {
		smtp_err_local(s);
		return;
	}
	s->s_tx.tx_rcpts[s->s_tx.tx_nrcpts++] = copy;
	smtp_reply(s, "250 OK");
}

/* A command that takes no argument (DATA, RSET, QUIT): 501 with one. */
static int
smtp_check_noarg(struct smtp_session *s, char *arg, const char *syntax)
{
	if (*smtp_trim(arg) != '\0') {
		smtp_err_syntax(s, syntax);
		return -1;
	}
	return 0;
}

/*
 * The command order (RFC 5321 4.1.4): HELO before MAIL, MAIL before RCPT,
 * a recipient before DATA. 503 names the first command missing.
 */
static int
smtp_check_order(struct smtp_session *s, enum smtp_need need)
{
	const char *missing;

	if (!s->s_helo)
		missing = "HELO";
	else if (need >= SMTP_NEED_MAIL && !s->s_tx.tx_mail)
		missing = "MAIL";
	else if (need >= SMTP_NEED_RCPT && s->s_tx.tx_nrcpts == 0)
		missing = "RCPT";
	else
		return 0;
	smtp_err_need(s, missing);
	return -1;
}

/* DATA (RFC 5321 4.1.1.4). */

static int
smtp_check_data(struct smtp_session *s, char *arg)
{
	if (smtp_check_noarg(s, arg, "DATA") == -1)
		return -1;
	return smtp_check_order(s, SMTP_NEED_RCPT);
}

/* After its 354: the message text. */
static void
smtp_proceed_data(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_text_begin(s);
}

/* RSET, NOOP, QUIT, VRFY (RFC 5321 4.1.1.5 - 4.1.1.10). */

static int
smtp_check_rset(struct smtp_session *s, char *arg)
{
	return smtp_check_noarg(s, arg, "RSET");
}

static int
smtp_check_quit(struct smtp_session *s, char *arg)
{
	return smtp_check_noarg(s, arg, "QUIT");
}

static void
smtp_proceed_rset(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_tx_reset(&s->s_tx);
}

static void
smtp_proceed_quit(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "221 2.0.0 %s closing connection", s->s_sd->sd_name);
	s->s_quit = 1;
	/* In TLS the client's close_notify may still come: linger. */
	s->s_bye = s->s_tls == NULL;
}

static int
smtp_check_vrfy(struct smtp_session *s, char *arg)
{
	if (*smtp_trim(arg) == '\0') {
		smtp_err_syntax(s, "VRFY <address>");
		return -1;
	}
	return 0;
}

/* One connection. */

static void
smtp_command(struct smtp_session *s, char *line, size_t len)
{
	const struct smtp_cmd *cmd;
	size_t i, vlen;
	char *arg;

	vlen = strcspn(line, " ");
	if (memchr(line, '\0', len) != NULL) {
		smtp_err_unknown(s);
		return;
	}
	for (i = 0; i < SMTP_NCMDS; i++) {
		cmd = &smtp_cmds[i];
		if (vlen == strlen(cmd->c_name) &&
		    strncasecmp(line, cmd->c_name, vlen) == 0)
			break;
	}
	if (i == SMTP_NCMDS) {
		smtp_err_unknown(s);
		return;
	}
	/*
	 * Postfix's smtpd_junk_command_limit: NOOP, RSET and VRFY succeed,
	 * so neither -t (a deadline per command) nor -e (errors) ever lets
	 * go of a client that sends one every few seconds and holds a
	 * worker for ever. Past -j of them since the last delivery, it is
	 * disconnected as a dormant client is. Counted only up to the
	 * limit, so the counter cannot overflow.
	 */
	if (cmd->c_junk && s->s_sd->sd_junklimit > 0 &&
	    ++s->s_junk > s->s_sd->sd_junklimit) {
		log_info("%s: %d junk commands, disconnected", s->s_peer,
		    s->s_sd->sd_junklimit);
		smtp_err_timeout(s);
		return;
	}
	arg = line + vlen;
	if (*arg == ' ')
		arg++;
	if (cmd->c_check != NULL && cmd->c_check(s, arg) == -1)
		return;
	if (cmd->c_reply != NULL)
		smtp_reply(s, "%s", cmd->c_reply);
	if (cmd->c_proceed != NULL)
		cmd->c_proceed(s, arg);
}

int
smtp_session(int rfd, int wfd, const struct serve_peer *peer, void *arg)
{
	struct smtp_session *s;
	enum smtp_line r;
	char *line;
	size_t len;
	int type;
	socklen_t tlen = sizeof(type);

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("session");
		return 1;
	}
	s->s_sd = arg;
	s->s_rfd = rfd;
	s->s_wfd = wfd;
	if (getsockopt(rfd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0) {
		s->s_socket = 1;
		serve_nonblock(rfd, 1);
	}
	if (strcmp(peer->remote_ip, "-") == 0)
		strlcpy(s->s_peer, "-", sizeof(s->s_peer));
	else if (strchr(peer->remote_ip, ':') != NULL)
		snprintf(s->s_peer, sizeof(s->s_peer), "[%s]:%s",
		    peer->remote_ip, peer->remote_port);
	else
		snprintf(s->s_peer, sizeof(s->s_peer), "%s:%s",
		    peer->remote_ip, peer->remote_port);
	log_debug("%s: connected", s->s_peer);

	smtp_reply(s, "220 %s SMTP CS4410MP3", s->s_sd->sd_name);
	/* One loop, one read with one deadline, in either state. */
	while (!s->s_quit && !s->s_dead) {
		r = smtp_getline(s, &line, &len);
		if (s->s_state == SMTP_STATE_DATA) {
			smtp_text(s, r, line, len);
			continue;
		}
		switch (r) {
		case LINE_OK:
			smtp_command(s, line, len);
			break;
		case LINE_LONG:
		case LINE_PART:
			smtp_err_cmd_long(s);
			break;
		case LINE_TIMEOUT:
		case LINE_SLOW:
			log_info("%s: timeout", s->s_peer);
			smtp_err_timeout(s);
			break;
		case LINE_EOF:
			s->s_quit = 1;
			break;
		}
	}
	smtp_flush(s);
	smtp_tls_end(s);
	if (s->s_socket)
		smtp_linger(s);
	log_debug("%s: closed", s->s_peer);
	smtp_tx_free(&s->s_tx);
	free(s);
	return 0;
}
