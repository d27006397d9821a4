/*
 * dial: the clients' TCP connect, bounded in time.
 */
#ifndef FORKD_DIAL_H
#define FORKD_DIAL_H

#include <netdb.h>

/*
 * Connect a new socket to the address ai (from getaddrinfo(3)) with a
 * non-blocking connect(2) waited for in poll(2) for at most timeout_ms
 * milliseconds (-1: no limit), so that a host that drops SYNs costs the
 * timeout, not the kernel's minutes of retries. Returns the connected fd,
 * left non-blocking and close-on-exec, or -1 with errno (ETIMEDOUT when the
 * time ran out, ECONNREFUSED, ENETUNREACH, ...).
 */
int	dial_addr(const struct addrinfo *ai, int timeout_ms);

/*
 * Write "ADDR port PORT" for ai (numeric, no lookup) into buf (len bytes),
 * as the clients name a peer in their messages. Returns buf.
 */
char	*dial_name(const struct addrinfo *ai, char *buf, size_t len);

#endif
