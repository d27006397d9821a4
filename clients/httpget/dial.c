/*
 * dial: the TCP connection, to a name, an IPv4 or an IPv6 address.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "httpget.h"

static int	dial_one(struct httpget *, const struct addrinfo *, char *,
		    size_t);

/*
 * One address: a non-blocking connect(2) and a poll(2) for at most the
 * timeout, so that a silent host (SYNs dropped) costs -t seconds, not the
 * kernel's two minutes of SYN retries. Returns the fd, or -1 with why
 * filled in.
 */
static int
dial_one(struct httpget *hg, const struct addrinfo *ai, char *why,
    size_t whylen)
{
	struct pollfd pfd;
	socklen_t sl;
	int fd, r, e;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			snprintf(why, whylen, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		while ((r = poll(&pfd, 1, hg->hg_timeout_ms)) == -1 &&
		    errno == EINTR)
			;
		if (r == 0) {
			snprintf(why, whylen, "timed out after %d s",
			    hg->hg_timeout_ms / 1000);
			close(fd);
			return -1;
		}
		e = 0;
		sl = sizeof(e);
		if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
		    &sl) == -1)
			e = errno;
		if (e != 0) {
			snprintf(why, whylen, "%s", strerror(e));
			close(fd);
			return -1;
		}
	}
	return fd;
}

void
dial_connect(struct httpget *hg)
{
	struct addrinfo hints, *res, *ai;
	char ip[INET6_ADDRSTRLEN], why[128];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	r = getaddrinfo(hg->hg_host, hg->hg_port, &hints, &res);
	if (r == EAI_SERVICE)
		errx(HG_EXIT_USAGE, "port %s: %s", hg->hg_port,
		    gai_strerror(r));
	if (r != 0)
		errx(HG_EXIT_TEMP, "%s: %s", hg->hg_host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip),
		    hg->hg_portnum, sizeof(hg->hg_portnum),
		    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			continue;
		snprintf(hg->hg_peer, sizeof(hg->hg_peer), "%s port %s", ip,
		    hg->hg_portnum);
		hg->hg_fd = dial_one(hg, ai, why, sizeof(why));
		if (hg->hg_fd != -1) {
			hg->hg_family = ai->ai_family;
			freeaddrinfo(res);
			return;
		}
		/* Say why each address failed; the last one ends the run. */
		if (ai->ai_next == NULL) {
			freeaddrinfo(res);
			errx(HG_EXIT_TEMP, "connect %s: %s", hg->hg_peer, why);
		}
		warnx("connect %s: %s", hg->hg_peer, why);
	}
	freeaddrinfo(res);
	errx(HG_EXIT_TEMP, "%s: no address to connect to", hg->hg_host);
}
