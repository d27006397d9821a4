/*
 * session: the SMTP transaction of send-email (RFC 5321), each reply
 * checked before the next command: greeting 220, EHLO (HELO when EHLO
 * gets a 5xx, RFC 5321 4.1.4), STARTTLS (RFC 3207) and AUTH (RFC 4954)
 * when asked for, MAIL, RCPT per recipient, DATA 354, the message, 250,
 * QUIT. A 5xx anywhere ends it with exit 100, a 4xx, a timeout or a lost
 * connection with 111.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "send-email.h"

static int	se_status(int);
static int	se_hello(struct se_state *);
static int	se_starttls(struct se_state *);
static void	se_trace_data(const struct se_state *, const struct buf *);
static int	se_open(struct se_state *);
static int	se_mail(struct se_state *, const struct buf *);
static int	se_rcpts(struct se_state *);
static int	se_data(struct se_state *, const struct buf *);

/* 5xx is permanent (100), anything else that went wrong temporary. */
static int
se_status(int code)
{
	return code >= 500 && code <= 599 ? EXIT_USAGE : EXIT_TEMP;
}

int
se_refused(struct se_state *st, const char *what)
{
	char msg[SE_LINE_MAX * 2];
	int status;

	reply_string(&st->se_reply, msg, sizeof(msg));
	fprintf(stderr, "send-email: %s: %s\n", what, msg);
	status = se_status(st->se_reply.r_code);
	/* RFC 5321 3.8: after a 421 the server closes; no QUIT then. */
	if (st->se_reply.r_code != 421)
		se_quit(st);
	return status;
}

void
se_quit(struct se_state *st)
{
	if (reply_command(st, "QUIT") == 0)
		(void)reply_read(st);
}

/* Under -v, each line of the message as sent, "C: line" on stderr. */
static void
se_trace_data(const struct se_state *st, const struct buf *data)
{
	const char *p = data->b_data, *end = p + data->b_len, *nl;

	if (!st->se_verbose)
		return;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		reply_trace(st, 'C', p, nl - p - (nl > p && nl[-1] == '\r'));
		p = nl + 1;
	}
}

/*
 * EHLO, or HELO when EHLO gets a 5xx (RFC 5321 4.1.4), the keywords
 * noted. Returns 0 or the exit status.
 */
static int
se_hello(struct se_state *st)
{
	/* RFC 3207 4.2: after TLS, nothing said before it counts. */
	st->se_esmtp = st->se_8bitmime = st->se_starttls = 0;
	st->se_auth_plain = st->se_auth_login = 0;
	st->se_size = 0;
	if (reply_command(st, "EHLO %s", st->se_helo) == -1 ||
	    reply_read(st) == -1)
		return EXIT_TEMP;
	if (st->se_reply.r_code / 100 == 5) {
		/* RFC 5321 4.1.4: an old server; say HELO instead. */
		if (reply_command(st, "HELO %s", st->se_helo) == -1 ||
		    reply_read(st) == -1)
			return EXIT_TEMP;
		if (st->se_reply.r_code / 100 != 2)
			return se_refused(st, "HELO");
	} else if (st->se_reply.r_code / 100 != 2)
		return se_refused(st, "EHLO");
	else
		reply_ehlo_keywords(st);
	return 0;
}

/*
 * STARTTLS (RFC 3207) when offered, or required by -S or -u; then EHLO
 * again, inside TLS. Returns 0 (in TLS, or in the clear when TLS is not
 * required and not offered) or the exit status.
 */
static int
se_starttls(struct se_state *st)
{
	int required = st->se_tls_mode == SE_TLS_REQUIRE;

	if (!st->se_starttls) {
		if (!required)
			return 0;
		fprintf(stderr, "send-email: %s does not offer STARTTLS, which "
		    "%s requires\n", st->se_server, st->se_user != NULL ?
		    "AUTH (-u)" : "-S");
		se_quit(st);
		return EXIT_TEMP;
	}
	if (reply_command(st, "STARTTLS") == -1 || reply_read(st) == -1)
		return EXIT_TEMP;
	if (st->se_reply.r_code != 220) {
		/* RFC 3207 4: after a 454 the client may go on in the clear. */
		if (!required && st->se_reply.r_code / 100 == 4) {
			if (st->se_verbose)
				fprintf(stderr, "* STARTTLS refused; going on "
				    "in the clear\n");
			return 0;
		}
		return se_refused(st, "STARTTLS");
	}
	/*
	 * Bytes after the 220 came before TLS and could be anyone's (the
	 * response injection twin of CVE-2011-0411): refuse them.
	 */
	if (st->se_rlen > 0) {
		fprintf(stderr, "send-email: %s sent data after its 220 to "
		    "STARTTLS, before TLS (RFC 3207 5); giving up\n",
		    st->se_server);
		return EXIT_TEMP;
	}
	if (conn_tls(st) == -1) {
		fprintf(stderr, "send-email: STARTTLS with %s: %s%s\n",
		    st->se_server, st->se_ioerr, st->se_insecure ? "" :
		    " (a private CA is given with -C cafile)");
		return EXIT_TEMP;
	}
	return se_hello(st);
}

int
se_transaction(struct se_state *st)
{
	struct buf data = { NULL, 0, 0 };
	int status;

	if ((status = se_open(st)) != 0)
		return status;

	if (message_compose(st) == -1) {
		warn("message");
		se_quit(st);
		return EXIT_TEMP;
	}
	if (message_stuff(&st->se_msg, &data) == -1) {
		warn("message");
		se_quit(st);
		return EXIT_TEMP;
	}
	/* RFC 1870: refuse here what the server said it would refuse. */
	if (st->se_size > 0 && data.b_len > st->se_size) {
		warnx("message of %zu bytes is larger than %s takes (SIZE "
		    "%llu)", data.b_len, st->se_server, st->se_size);
		se_quit(st);
		status = EXIT_USAGE;
		goto out;
	}
	if ((status = se_mail(st, &data)) != 0 ||
	    (status = se_rcpts(st)) != 0 ||
	    (status = se_data(st, &data)) != 0)
		goto out;
	/* Delivered: the message is the server's now (RFC 5321 4.1.1.4). */
	se_quit(st);
out:
	free(data.b_data);
	return status;
}

/*
 * The session up to the first MAIL: greeting, EHLO, STARTTLS, AUTH.
 * Returns 0 or the exit status.
 */
static int
se_open(struct se_state *st)
{
	int status;

	/* RFC 5321 3.1: 220 greeting; 554 means "go away" (exit 100). */
	if (reply_read(st) == -1)
		return EXIT_TEMP;
	if (st->se_reply.r_code != 220)
		return se_refused(st, "greeting");
	if ((status = se_hello(st)) != 0)
		return status;
	if (st->se_tls == NULL && (status = se_starttls(st)) != 0)
		return status;
	if (st->se_user != NULL && (status = auth_login(st)) != 0)
		return status;
	return 0;
}

/*
 * MAIL FROM, with BODY and SIZE when the server offered them.
 * Returns 0 or the exit status.
 */
static int
se_mail(struct se_state *st, const struct buf *data)
{
	char what[SE_PATH_MAX + 64], param[64];

	param[0] = '\0';
	if (st->se_esmtp && st->se_8bit && st->se_8bitmime)
		strlcat(param, " BODY=8BITMIME", sizeof(param));
	if (st->se_esmtp && st->se_size > 0)
		snprintf(param + strlen(param), sizeof(param) - strlen(param),
		    " SIZE=%zu", data->b_len);
	snprintf(what, sizeof(what), "MAIL FROM:<%s>", st->se_from);
	if (reply_command(st, "MAIL FROM:<%s>%s", st->se_from, param) == -1 ||
	    reply_read(st) == -1)
		return EXIT_TEMP;
	if (st->se_reply.r_code / 100 != 2)
		return se_refused(st, what);
	return 0;
}

/*
 * Every recipient is asked for, and every refusal reported; the
 * message goes only when all were accepted, so exit 0 means that
 * every recipient has it. Returns 0 or the exit status.
 */
static int
se_rcpts(struct se_state *st)
{
	char what[SE_PATH_MAX + 64];
	size_t i, nrefused = 0;
	int worst = 0;

	for (i = 0; i < st->se_nrcpt; i++) {
		if (reply_command(st, "RCPT TO:<%s>", st->se_rcpt[i]) == -1 ||
		    reply_read(st) == -1)
			return EXIT_TEMP;
		if (st->se_reply.r_code / 100 == 2)
			continue;
		if (st->se_reply.r_code == 421)
			return se_refused(st, "RCPT TO");
		reply_string(&st->se_reply, what, sizeof(what));
		warnx("RCPT TO:<%s>: %s", st->se_rcpt[i], what);
		nrefused++;
		if (st->se_reply.r_code > worst)
			worst = st->se_reply.r_code;
	}
	if (nrefused > 0) {
		warnx("%zu of %zu recipients refused; message not sent",
		    nrefused, st->se_nrcpt);
		se_quit(st);
		return se_status(worst);
	}
	return 0;
}

/*
 * DATA, the stuffed message, and the server's word on it.
 * Returns 0 or the exit status.
 */
static int
se_data(struct se_state *st, const struct buf *data)
{
	if (reply_command(st, "DATA") == -1 || reply_read(st) == -1)
		return EXIT_TEMP;
	if (st->se_reply.r_code != 354)
		return se_refused(st, "DATA");
	se_trace_data(st, data);
	strlcpy(st->se_cmd, "after the end of data", sizeof(st->se_cmd));
	if (conn_write(st, data->b_data, data->b_len) == -1) {
		warnx("write to %s: %s", st->se_server, st->se_ioerr);
		return EXIT_TEMP;
	}
	if (reply_read(st) == -1)
		return EXIT_TEMP;
	if (st->se_reply.r_code / 100 != 2)
		return se_refused(st, "end of data");
	return 0;
}
