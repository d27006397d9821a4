/*
 * dial: the clients' TCP connect, bounded in time.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dial.h"
#include "io.h"

int
dial_addr(const struct addrinfo *ai, int timeout_ms)
{
	socklen_t len;
	int fd, r, soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (io_wait(fd, POLLOUT, io_deadline(timeout_ms)) != 1)
		goto fail;	/* ETIMEDOUT, or poll's errno */
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}

int
dial_host(const char *host, const char *port, int family, int timeout_ms,
    dial_report_fn *report, void *arg, struct dial_peer *peer)
{
	struct addrinfo hints, *res, *ai;
	int fd = DIAL_ECONNECT, e = ENOENT;

	memset(peer, 0, sizeof(*peer));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if ((peer->dp_gai = getaddrinfo(host, port, &hints, &res)) != 0)
		return DIAL_ERESOLVE;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		addr_fmt(ai->ai_addr, ai->ai_addrlen, peer->dp_ip,
		    sizeof(peer->dp_ip), peer->dp_port, sizeof(peer->dp_port));
		snprintf(peer->dp_name, sizeof(peer->dp_name), "%s port %s",
		    peer->dp_ip, peer->dp_port);
		peer->dp_family = ai->ai_family;
		if ((fd = dial_addr(ai, timeout_ms)) != -1)
			break;
		e = errno;
		if (ai->ai_next != NULL && report != NULL)
			report(peer, e, arg);
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = e;
	return fd;
}

static void
dial_warn(const struct dial_peer *peer, int error, void *arg)
{
	(void)arg;
	warnx("connect %s: %s", peer->dp_name, strerror(error));
}

int
dial_client(const char *host, const char *port, int family, int timeout_ms,
    struct dial_peer *peer)
{
	int fd;

	fd = dial_host(host, port, family, timeout_ms, dial_warn, NULL, peer);
	if (fd == DIAL_ERESOLVE && peer->dp_gai == EAI_SERVICE)
		errx(EXIT_USAGE, "port %s: %s", port,
		    gai_strerror(peer->dp_gai));
	if (fd == DIAL_ERESOLVE)
		errx(EXIT_TEMP, "%s: %s", host, peer->dp_gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(peer->dp_gai));
	if (fd == DIAL_ECONNECT)
		err(EXIT_TEMP, "connect %s", peer->dp_name);
	return fd;
}

void
dial_wait(int fd, short events, int timeout_ms, const char *what,
    const char *peer)
{
	int r;

	r = io_wait(fd, events, io_deadline(timeout_ms));
	if (r == -1)
		err(EXIT_TEMP, "poll");
	if (r == 0)
		errx(EXIT_TEMP, "%s %s: timed out after %d s", what, peer,
		    timeout_ms / 1000);
}

ssize_t
dial_recv(int fd, void *buf, size_t len, int timeout_ms, const char *peer)
{
	ssize_t n;

	for (;;) {
		if ((n = recv(fd, buf, len, 0)) != -1)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			err(EXIT_TEMP, "read %s", peer);
		dial_wait(fd, POLLIN, timeout_ms, "read", peer);
	}
}

void
dial_send(int fd, const void *buf, size_t len, int timeout_ms,
    const char *peer)
{
	if (io_write_all(fd, buf, len, timeout_ms) == 0)
		return;
	if (errno == ETIMEDOUT)
		errx(EXIT_TEMP, "write %s: timed out after %d s", peer,
		    timeout_ms / 1000);
	err(EXIT_TEMP, "write %s", peer);
}
