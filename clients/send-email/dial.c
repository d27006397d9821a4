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
#include "dial.h"
#include "send-email.h"


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
			return EXIT_USAGE;
#ifdef EAI_ADDRFAMILY
		/* glibc: the name has no address of the family -4/-6 ask */
		if (e == EAI_ADDRFAMILY || e == EAI_NODATA)
			return EXIT_USAGE;
#endif
		return EXIT_TEMP;
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
		if ((st->se_fd = dial_addr(ai, st->se_timeout_ms)) != -1) {
			if (st->se_verbose)
				fprintf(stderr, "* connected to [%s]:%s\n",
				    host, st->se_port);
			freeaddrinfo(res);
			if (fails != NULL)
				fclose(fails);
			free(failed);
			return EXIT_SUCCESS;
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
	return EXIT_TEMP;
}
