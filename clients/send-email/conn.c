/*
 * conn: the bytes of the SMTP connection, in the clear or inside TLS
 * (libtls). The socket stays non-blocking; every wait is a poll(2)
 * bounded by a deadline. Through TLS, a read may need the socket
 * writable and a write readable (a TLS 1.3 key update, a renegotiation),
 * which libtls says with TLS_WANT_POLLIN and TLS_WANT_POLLOUT.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "io.h"
#include "clock.h"
#include "send-email.h"

static int	conn_wait(struct se_state *, short, long long);
static int	conn_tls_want(struct se_state *, ssize_t, short *);

/* Wait for events on the socket until deadline: 0, -1 or -2 (time). */
static int
conn_wait(struct se_state *st, short events, long long deadline)
{
	switch (io_wait(st->se_fd, events, deadline)) {
	case 1:
		return 0;
	case 0:
		return -2;
	default:
		snprintf(st->se_ioerr, sizeof(st->se_ioerr), "poll: %s",
		    strerror(errno));
		return -1;
	}
}

/*
 * What a tls_read or tls_write result asks of its caller, the same for
 * both: 1 to wait for *ev (libtls needs the socket readable or
 * writable first), 0 when n is a count of bytes, -1 on an error (se_ioerr).
 */
static int
conn_tls_want(struct se_state *st, ssize_t n, short *ev)
{
	if (n == TLS_WANT_POLLIN)
		*ev = POLLIN;
	else if (n == TLS_WANT_POLLOUT)
		*ev = POLLOUT;
	else if (n == -1) {
		snprintf(st->se_ioerr, sizeof(st->se_ioerr), "TLS: %s",
		    tls_error(st->se_tls));
		return -1;
	} else
		return 0;
	return 1;
}

int
conn_configure(struct se_state *st)
{
	if ((st->se_tlscfg = tls_config_new()) == NULL) {
		snprintf(st->se_ioerr, sizeof(st->se_ioerr),
		    "TLS configuration: %s", strerror(errno));
		return -1;
	}
	/* libtls loads the file here, so a bad -C is found before we dial. */
	if (st->se_cafile != NULL &&
	    tls_config_set_ca_file(st->se_tlscfg, st->se_cafile) == -1) {
		snprintf(st->se_ioerr, sizeof(st->se_ioerr), "%s: %s",
		    st->se_cafile, tls_config_error(st->se_tlscfg));
		return -1;
	}
	if (st->se_insecure) {
		tls_config_insecure_noverifycert(st->se_tlscfg);
		tls_config_insecure_noverifyname(st->se_tlscfg);
	}
	return 0;
}

int
conn_tls(struct se_state *st)
{
	long long deadline = clock_ms() + st->se_timeout_ms;
	int r;

	if ((st->se_tls = tls_client()) == NULL) {
		snprintf(st->se_ioerr, sizeof(st->se_ioerr), "tls_client: %s",
		    strerror(errno));
		return -1;
	}
	/*
	 * The name checked against the certificate (RFC 6125) is the one
	 * we were given: a host name, or an address for an IP SAN.
	 */
	if (tls_configure(st->se_tls, st->se_tlscfg) == -1 ||
	    tls_connect_socket(st->se_tls, st->se_fd, st->se_server) == -1)
		goto tlserr;
	for (;;) {
		r = tls_handshake(st->se_tls);
		if (r == 0)
			break;
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			r = conn_wait(st, r == TLS_WANT_POLLIN ? POLLIN :
			    POLLOUT, deadline);
			if (r == -2)
				snprintf(st->se_ioerr, sizeof(st->se_ioerr),
				    "TLS handshake: no answer within %d s",
				    st->se_timeout_ms / 1000);
			if (r != 0)
				return -1;
			continue;
		}
		goto tlserr;
	}
	if (st->se_verbose)
		fprintf(stderr, "* TLS %s %s, certificate %s\n",
		    tls_conn_version(st->se_tls), tls_conn_cipher(st->se_tls),
		    st->se_insecure ? "NOT verified (-k)" :
		    "verified for the server's name");
	return 0;
tlserr:
	snprintf(st->se_ioerr, sizeof(st->se_ioerr), "TLS: %s",
	    tls_error(st->se_tls) != NULL ? tls_error(st->se_tls) :
	    "handshake failed");
	return -1;
}

ssize_t
conn_read(struct se_state *st, void *buf, size_t len, long long deadline)
{
	ssize_t n;
	short ev;
	int r;

	for (;;) {
		if (st->se_tls != NULL) {
			n = tls_read(st->se_tls, buf, len);
			if ((r = conn_tls_want(st, n, &ev)) == -1)
				return -1;
			if (r == 0)
				return n;
		} else {
			n = read(st->se_fd, buf, len);
			if (n >= 0)
				return n;
			if (errno != EINTR && errno != EAGAIN) {
				snprintf(st->se_ioerr, sizeof(st->se_ioerr),
				    "%s", strerror(errno));
				return -1;
			}
			ev = POLLIN;
		}
		if ((r = conn_wait(st, ev, deadline)) != 0)
			return r;
	}
}

int
conn_write(struct se_state *st, const void *buf, size_t len)
{
	long long deadline = clock_ms() + st->se_timeout_ms;
	const char *p = buf;
	ssize_t n;
	short ev;
	int r;

	while (len > 0) {
		if (st->se_tls != NULL) {
			n = tls_write(st->se_tls, p, len);
			if ((r = conn_tls_want(st, n, &ev)) == -1)
				return -1;
			if (r == 0) {
				p += n;
				len -= n;
				deadline = clock_ms() + st->se_timeout_ms;
				continue;
			}
		} else {
			n = write(st->se_fd, p, len);
			if (n >= 0) {
				p += n;
				len -= n;
				deadline = clock_ms() + st->se_timeout_ms;
				continue;
			}
			if (errno != EINTR && errno != EAGAIN) {
				snprintf(st->se_ioerr, sizeof(st->se_ioerr),
				    "%s", strerror(errno));
				return -1;
			}
			ev = POLLOUT;
		}
		if ((r = conn_wait(st, ev, deadline)) == -2)
			snprintf(st->se_ioerr, sizeof(st->se_ioerr),
			    "no byte taken within %d s",
			    st->se_timeout_ms / 1000);
		if (r != 0)
			return -1;
	}
	return 0;
}

void
conn_close(struct se_state *st)
{
	long long deadline = clock_ms() + 1000;
	int r;

	if (st->se_tls != NULL) {
		/* A short wait: the message is delivered already. */
		while ((r = tls_close(st->se_tls)) == TLS_WANT_POLLIN ||
		    r == TLS_WANT_POLLOUT)
			if (conn_wait(st, r == TLS_WANT_POLLIN ? POLLIN :
			    POLLOUT, deadline) != 0)
				break;
		tls_free(st->se_tls);
		st->se_tls = NULL;
	}
	if (st->se_fd != -1)
		close(st->se_fd);
	st->se_fd = -1;
	tls_config_free(st->se_tlscfg);
	st->se_tlscfg = NULL;
}
