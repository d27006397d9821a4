/*
 * addr: a socket address as the logs and the clients' messages show it.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"

void
addr_fmt(const struct sockaddr *sa, socklen_t salen, char *ip, size_t iplen,
    char *port, size_t portlen)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	strlcpy(ip, "-", iplen);
	if (port != NULL)
		strlcpy(port, "-", portlen);
	if (sa->sa_family == AF_INET && salen >= sizeof(*sin)) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, iplen);
		if (port != NULL)
			snprintf(port, portlen, "%u", ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
			    iplen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, iplen);
		if (port != NULL)
			snprintf(port, portlen, "%u", ntohs(sin6->sin6_port));
	}
}

char *
addr_name(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
	char ip[ADDR_IPMAX], port[ADDR_PORTMAX];

	addr_fmt(sa, salen, ip, sizeof(ip), port, sizeof(port));
	snprintf(buf, len, "%s port %s", ip, port);
	return buf;
}

char *
addr_hostport(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	char ip[ADDR_IPMAX], port[ADDR_PORTMAX];

	addr_fmt(sa, salen, ip, sizeof(ip), port, sizeof(port));
	if (strcmp(ip, "-") == 0)
		snprintf(buf, len, "-");
	else if (strchr(ip, ':') != NULL)
		snprintf(buf, len, "[%s]:%s", ip, port);
	else
		snprintf(buf, len, "%s:%s", ip, port);
	return buf;
}
