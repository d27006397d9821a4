/*
 * dial: the clients' TCP connect, bounded in time.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"

int
dial_addr(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
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
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		goto fail;
	if (r == 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
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

char *
dial_name(const struct addrinfo *ai, char *buf, size_t len)
{
	char ip[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "? port ?");
	else
		snprintf(buf, len, "%s port %s", ip, port);
	return buf;
}
