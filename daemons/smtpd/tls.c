/*
 * tls: STARTTLS (RFC 3207) on smtpd's side, with libtls. The certificate
 * and key are read and checked at start-up, before the sandbox; each
 * connection that asks gets a TLS context of its own from the server's.
 *
 * Two rules of RFC 3207 shape this file. Bytes the client sent after
 * STARTTLS and before the handshake are thrown away, never read as
 * commands once TLS is up (5; the plaintext command injection of
 * CVE-2011-0411). After the handshake the session starts again: no
 * HELO/EHLO, no transaction (4.2).
 */
#include <sys/types.h>

#include <poll.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "serve.h"
#include "smtpd.h"
#include "session.h"

static int	smtp_tls_wait(struct smtp_session *, ssize_t, long long);

int
smtpd_tls_load(struct smtpd *sd, const char *cert, const char *key)
{
	struct tls_config *cfg;

	if ((cfg = tls_config_new()) == NULL) {
		log_warn("TLS configuration");
		return -1;
	}
	/* libtls reads the files here, so a bad one is a start-up error. */
	if (tls_config_set_cert_file(cfg, cert) == -1) {
		log_warnx("-c %s: %s", cert, tls_config_error(cfg));
		goto fail;
	}
	if (tls_config_set_key_file(cfg, key) == -1) {
		log_warnx("-k %s: %s", key, tls_config_error(cfg));
		goto fail;
	}
	if ((sd->sd_tls = tls_server()) == NULL) {
		log_warn("tls_server");
		goto fail;
	}
	/* Parses both and checks that the key is the certificate's. */
	if (tls_configure(sd->sd_tls, cfg) == -1) {
		log_warnx("-c %s -k %s: %s", cert, key, tls_error(sd->sd_tls));
		tls_free(sd->sd_tls);
		sd->sd_tls = NULL;
		goto fail;
	}
	tls_config_free(cfg);
	return 0;
fail:
	tls_config_free(cfg);
	return -1;
}

/*
 * Wait for what libtls asked (TLS_WANT_POLLIN on the read side,
 * TLS_WANT_POLLOUT on the write side) until deadline: 0 ready, -1 past
 * the deadline, -2 an error.
 */
static int
smtp_tls_wait(struct smtp_session *s, ssize_t want, long long deadline)
{
	int r;

	if (want == TLS_WANT_POLLIN)
		r = io_wait(s->s_rfd, POLLIN, deadline);
	else
		r = io_wait(s->s_wfd, POLLOUT, deadline);
	return r == 1 ? 0 : r == 0 ? -1 : -2;
}

void
smtp_starttls(struct smtp_session *s)
{
	long long deadline;
	int r;

	/* RFC 3207 5: nothing sent before the handshake counts. */
	if (s->s_inlen > s->s_inoff)
		log_info("%s: %zu bytes after STARTTLS before TLS, discarded",
		    s->s_peer, s->s_inlen - s->s_inoff);
	s->s_inoff = s->s_inlen = 0;
	s->s_skipping = 0;
	if (tls_accept_fds(s->s_sd->sd_tls, &s->s_tls, s->s_rfd,
	    s->s_wfd) == -1) {
		log_warnx("%s: TLS: %s", s->s_peer, tls_error(s->s_sd->sd_tls));
		s->s_dead = 1;
		return;
	}
	deadline = serve_now_ms() + (long long)s->s_sd->sd_timeout * 1000;
	while ((r = tls_handshake(s->s_tls)) != 0) {
		if (r != TLS_WANT_POLLIN && r != TLS_WANT_POLLOUT) {
			log_info("%s: TLS handshake: %s", s->s_peer,
			    tls_error(s->s_tls));
			s->s_dead = 1;
			return;
		}
		if (smtp_tls_wait(s, r, deadline) != 0) {
			log_info("%s: TLS handshake: timeout", s->s_peer);
			s->s_dead = 1;
			return;
		}
	}
	log_info("%s: TLS %s %s", s->s_peer, tls_conn_version(s->s_tls),
	    tls_conn_cipher(s->s_tls));
	/* RFC 3207 4.2: the client says EHLO again; no transaction. */
	s->s_helo = 0;
	s->s_heloname[0] = '\0';
	smtp_tx_reset(&s->s_tx);
}

ssize_t
smtp_tls_read(struct smtp_session *s, void *buf, size_t len,
    long long deadline)
{
	ssize_t n;
	int r;

	for (;;) {
		n = tls_read(s->s_tls, buf, len);
		if (n >= 0)
			return n;
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT) {
			log_debug("%s: TLS read: %s", s->s_peer,
			    tls_error(s->s_tls));
			return 0;
		}
		if ((r = smtp_tls_wait(s, n, deadline)) != 0)
			return r == -1 ? -1 : 0;
	}
}

ssize_t
smtp_tls_write(struct smtp_session *s, const void *buf, size_t len,
    long long deadline)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = tls_write(s->s_tls, p + done, len - done);
		if (n >= 0) {
			done += n;
			continue;
		}
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT) {
			log_debug("%s: TLS write: %s", s->s_peer,
			    tls_error(s->s_tls));
			return 0;
		}
		if (smtp_tls_wait(s, n, deadline) != 0)
			return -1;
	}
	return done;
}

void
smtp_tls_end(struct smtp_session *s)
{
	long long deadline = serve_now_ms() + 1000;
	int r;

	if (s->s_tls == NULL)
		return;
	while ((r = tls_close(s->s_tls)) == TLS_WANT_POLLIN ||
	    r == TLS_WANT_POLLOUT)
		if (smtp_tls_wait(s, r, deadline) != 0)
			break;
	tls_free(s->s_tls);
	s->s_tls = NULL;
}
