/*
 * addr: the printed form of a peer's address, for the log. Apart from
 * pingd.c's main() so that everything that formats a datagram's source
 * links without it (the fuzz harness of the datagram parsers).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "pingd.h"

char *
pingd_addr(const struct sockaddr *sa, socklen_t salen, char *dst,
    size_t dstsize)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && salen >= sizeof(*sin)) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(dst, dstsize, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		/* A dual-stack socket's IPv4 peers look like ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
			    sizeof(ip));
			snprintf(dst, dstsize, "%s:%u", ip,
			    ntohs(sin6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			snprintf(dst, dstsize, "[%s]:%u", ip,
			    ntohs(sin6->sin6_port));
		}
	} else
		strlcpy(dst, "-", dstsize);
	return dst;
}
