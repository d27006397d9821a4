/*
 * dial: connect to the mail server, trying every address of its name in
 * turn (RFC 5321 5.1: a client tries the addresses of a host until one
 * answers), each connect(2) bounded by the timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "send-email.h"

static int	dial_one(struct se_state *, const struct addrinfo *);

int
dial_connect(struct se_state *st)
{
	struct addrinfo hints, *res, *ai;
	char host[NI_MAXHOST];
	FILE *fails;
	char *failed = NULL;
	size_t failedlen = 0;
	int e, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = st->se_family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	e = getaddrinfo(st->se_server, st->se_port, &hints, &res);
	if (e != 0) {
		fprintf(stderr, "send-email: %s port %s: %s\n", st->se_server,
		    st->se_port, e == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(e));
		/* A name that does not exist stays so; DNS trouble passes. */
		if (e == EAI_NONAME || e == EAI_SERVICE || e == EAI_FAMILY)
			return SE_EXIT_PERM;
#ifdef EAI_ADDRFAMILY
		/* glibc: the name has no address of the family -4/-6 ask */
		if (e == EAI_ADDRFAMILY || e == EAI_NODATA)
			return SE_EXIT_PERM;
#endif
		return SE_EXIT_TEMP;
	}
	/*
	 * A failed address is only news when no address works (or under
	 * -v): the failures are kept and printed then, in order.
	 */
	fails = open_memstream(&failed, &failedlen);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(host, "?", sizeof(host));
		if (st->se_verbose)
			fprintf(stderr, "* trying [%s]:%s\n", host,
			    st->se_port);
		if (dial_one(st, ai) == 0) {
			if (st->se_verbose)
				fprintf(stderr, "* connected to [%s]:%s\n",
				    host, st->se_port);
			freeaddrinfo(res);
			if (fails != NULL)
				fclose(fails);
			free(failed);
			return SE_EXIT_OK;
		}
		saved = errno;
		fprintf(st->se_verbose || fails == NULL ? stderr : fails,
		    "send-email: connect [%s]:%s: %s\n", host, st->se_port,
		    strerror(saved));
	}
	freeaddrinfo(res);
	if (fails != NULL) {
		fclose(fails);
		fputs(failed, stderr);
	}
	free(failed);
	return SE_EXIT_TEMP;
}

/*
 * One non-blocking connect(2), waited for in poll(2) so that a host that
 * drops SYNs costs the timeout, not the kernel's minutes of retries.
 * Returns 0 with st->se_fd set, or -1 with errno (ETIMEDOUT on timeout).
 */
static int
dial_one(struct se_state *st, const struct addrinfo *ai)
{
	struct pollfd pfd;
	socklen_t len;
	int fd, r, soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			r = poll(&pfd, 1, st->se_timeout_ms);
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
	}
	st->se_fd = fd;
	return 0;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}
