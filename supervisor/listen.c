/*
 * listen: the services' sockets.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "forkd.h"

int
listen_open(struct servtab *sep, char *err, size_t errlen)
{
	int fd, on = 1, e;

	fd = socket(sep->se_family, sep->se_socktype | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		e = errno;
		snprintf(err, errlen, "%s: socket: %s", sep->se_name,
		    strerror(e));
		errno = e;
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* tcp6 and udp6 are IPv6 only; IPv4 has its own lines. */
	if (sep->se_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sep->se_addr, sep->se_addrlen) == -1)
		goto fail;
	/*
	 * A backlog of SOMAXCONN, not inetd's historical 10: with a short
	 * backlog clients wait out SYN retries under load (DESIGN.md).
	 */
	if (sep->se_socktype == SOCK_STREAM && listen(fd, SOMAXCONN) == -1)
		goto fail;
	sep->se_fd = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: bind: %s", sep->se_name, strerror(e));
	close(fd);
	errno = e;
	return -1;
}

void
listen_close(struct servtab *sep)
{
	if (sep->se_fd != -1) {
		close(sep->se_fd);
		sep->se_fd = -1;
	}
}
