/*
 * addr: a socket address as the logs and the clients' messages show it.
 */
#ifndef FORKD_ADDR_H
#define FORKD_ADDR_H

#include <sys/socket.h>

#include <stddef.h>

/* Room for any address addr_fmt() writes, and its port (bytes, NUL too). */
#define ADDR_IPMAX	46	/* INET6_ADDRSTRLEN */
#define ADDR_PORTMAX	6
/* Room for addr_hostport()'s "[ADDR]:PORT". */
#define ADDR_HOSTPORTMAX	(ADDR_IPMAX + ADDR_PORTMAX + 3)

/*
 * Write the numeric address of sa (salen bytes; AF_INET or AF_INET6)
 * into ip (iplen bytes) and its port, in decimal, into port (portlen
 * bytes; port may be NULL). An IPv4-mapped IPv6 address (RFC 4291
 * 2.5.5.2, the peers of a dual-stack socket) is shown as IPv4. Another
 * family, or a short salen, gives "-" for both. No lookup, never fails.
 */
void	addr_fmt(const struct sockaddr *sa, socklen_t salen, char *ip,
	    size_t iplen, char *port, size_t portlen);

/*
 * Write "ADDR port PORT" for sa into buf (len bytes), as the clients name
 * a peer in their messages (ssh's and nc's form). Returns buf.
 */
char	*addr_name(const struct sockaddr *sa, socklen_t salen, char *buf,
	    size_t len);

/*
 * Write "ADDR:PORT" for sa into buf (len bytes), "[ADDR]:PORT" for IPv6
 * (RFC 3986 3.2.2's brackets), as the handlers' logs name a peer; an
 * IPv4-mapped address as IPv4, "-" for another family. Returns buf.
 */
char	*addr_hostport(const struct sockaddr *sa, socklen_t salen, char *buf,
	    size_t len);

#endif
