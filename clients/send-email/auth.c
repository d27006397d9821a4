/*
 * auth: log in to a submission server with AUTH (RFC 4954), mechanism
 * PLAIN (RFC 4616) when offered, else LOGIN, the two that every
 * submission server has. Both send the password as it is, so they are
 * used only inside TLS (RFC 4954 4, RFC 4616 6); main.c never calls
 * here in the clear. Under -v the secrets are shown as placeholders.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "send-email.h"

static int	auth_plain(struct se_state *);
static int	auth_login_steps(struct se_state *);
static int	auth_result(struct se_state *, const char *);
static int	auth_b64(struct buf *, const char *, size_t);

/* base64 of len bytes of s into b (emptied first), NUL-terminated. */
static int
auth_b64(struct buf *b, const char *s, size_t len)
{
	if (b->b_data != NULL)
		explicit_bzero(b->b_data, b->b_cap);
	b->b_len = 0;
	if (mime_base64(b, s, len, 0) == -1 || buf_add(b, "", 0) == -1)
		return -1;
	return 0;
}

/*
 * RFC 4954 6: 235 logged in; 535 bad credentials, 534 mechanism too
 * weak, 538 encryption required: permanent (100) with the server's
 * words; 454 and other 4xx: try later (111).
 */
static int
auth_result(struct se_state *st, const char *mech)
{
	char what[32];

	if (st->se_reply.r_code == 235) {
		if (st->se_verbose)
			fprintf(stderr, "* logged in as %s with AUTH %s\n",
			    st->se_user, mech);
		return 0;
	}
	snprintf(what, sizeof(what), "AUTH %s", mech);
	if (st->se_reply.r_code == 334) {
		/* A challenge we have nothing for: cancel (RFC 4954 4). */
		(void)reply_command(st, "*");
		(void)reply_read(st);
		fprintf(stderr, "send-email: AUTH %s: the server asked for "
		    "more than a user name and password\n", mech);
		se_quit(st);
		return EXIT_USAGE;
	}
	return se_refused(st, what);
}

/* RFC 4616 2: "authzid NUL authcid NUL passwd", as the initial response. */
static int
auth_plain(struct se_state *st)
{
	char msg[2 * SE_SECRET_MAX + 3];
	struct buf b64 = { NULL, 0, 0 };
	size_t ulen = strlen(st->se_user), plen = strlen(st->se_pass);
	int r;

	msg[0] = '\0';
	memcpy(msg + 1, st->se_user, ulen);
	msg[1 + ulen] = '\0';
	memcpy(msg + 2 + ulen, st->se_pass, plen);
	r = auth_b64(&b64, msg, 2 + ulen + plen);
	explicit_bzero(msg, sizeof(msg));
	if (r == -1) {
		perror("send-email: AUTH");
		return EXIT_TEMP;
	}
	r = reply_command_secret(st, "AUTH PLAIN (user name and password "
	    "hidden)", "AUTH PLAIN %s", b64.b_data);
	explicit_bzero(b64.b_data, b64.b_cap);
	free(b64.b_data);
	if (r == -1 || reply_read(st) == -1)
		return EXIT_TEMP;
	return auth_result(st, "PLAIN");
}

/* LOGIN: the user name and the password, each after a 334 challenge. */
static int
auth_login_steps(struct se_state *st)
{
	struct buf b64 = { NULL, 0, 0 };
	int r = EXIT_TEMP;

	if (reply_command(st, "AUTH LOGIN") == -1 || reply_read(st) == -1)
		goto out;
	if (st->se_reply.r_code != 334) {
		r = auth_result(st, "LOGIN");
		goto out;
	}
	if (auth_b64(&b64, st->se_user, strlen(st->se_user)) == -1 ||
	    reply_command(st, "%s", b64.b_data) == -1 || reply_read(st) == -1)
		goto out;
	if (st->se_reply.r_code != 334) {
		r = auth_result(st, "LOGIN");
		goto out;
	}
	if (auth_b64(&b64, st->se_pass, strlen(st->se_pass)) == -1 ||
	    reply_command_secret(st, "(password hidden)", "%s",
	    b64.b_data) == -1 || reply_read(st) == -1)
		goto out;
	r = auth_result(st, "LOGIN");
out:
	if (b64.b_data != NULL)
		explicit_bzero(b64.b_data, b64.b_cap);
	free(b64.b_data);
	return r;
}

int
auth_login(struct se_state *st)
{
	int r;

	if (st->se_tls == NULL) {
		/* Never reached: main.c asks for TLS first. Belt and braces. */
		fprintf(stderr, "send-email: AUTH: refusing to send a password "
		    "in the clear\n");
		se_quit(st);
		return EXIT_TEMP;
	}
	if (st->se_auth_plain)
		r = auth_plain(st);
	else if (st->se_auth_login)
		r = auth_login_steps(st);
	else {
		fprintf(stderr, "send-email: %s offers no AUTH PLAIN or LOGIN "
		    "(RFC 4954)\n", st->se_server);
		se_quit(st);
		r = EXIT_USAGE;
	}
	explicit_bzero(st->se_pass, sizeof(st->se_pass));
	return r;
}
