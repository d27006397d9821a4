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

#include "dial.h"
#include "httpget.h"

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
		errx(EXIT_USAGE, "port %s: %s", hg->hg_port,
		    gai_strerror(r));
	if (r != 0)
		errx(EXIT_TEMP, "%s: %s", hg->hg_host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip),
		    hg->hg_portnum, sizeof(hg->hg_portnum),
		    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			continue;
		snprintf(hg->hg_peer, sizeof(hg->hg_peer), "%s port %s", ip,
		    hg->hg_portnum);
		hg->hg_fd = dial_addr(ai, hg->hg_timeout_ms);
		if (hg->hg_fd == -1)
			snprintf(why, sizeof(why), "%s", strerror(errno));
		if (hg->hg_fd != -1) {
			hg->hg_family = ai->ai_family;
			freeaddrinfo(res);
			return;
		}
		/* Say why each address failed; the last one ends the run. */
		if (ai->ai_next == NULL) {
			freeaddrinfo(res);
			errx(EXIT_TEMP, "connect %s: %s", hg->hg_peer, why);
		}
		warnx("connect %s: %s", hg->hg_peer, why);
	}
	freeaddrinfo(res);
	errx(EXIT_TEMP, "%s: no address to connect to", hg->hg_host);
}
