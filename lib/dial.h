/*
 * dial: the clients' TCP connect, bounded in time.
 */
#ifndef FORKD_DIAL_H
#define FORKD_DIAL_H

#include <sys/types.h>

#include <netdb.h>

#include "addr.h"

/* Room for a peer's name, "ADDR port PORT" (bytes, NUL too). */
#define DIAL_PEERMAX	(ADDR_IPMAX + ADDR_PORTMAX + 8)

/* The address dial_host() connected to, or tried last. */
struct dial_peer {
	char	dp_name[DIAL_PEERMAX];	/* "ADDR port PORT", for messages */
	char	dp_ip[ADDR_IPMAX];	/* numeric address */
	char	dp_port[ADDR_PORTMAX];	/* numeric port */
	int	dp_family;		/* AF_INET or AF_INET6 */
	int	dp_gai;			/* getaddrinfo(3)'s error, or 0 */
};

/*
 * Called by dial_host() for each address that failed when another is
 * still to be tried: peer names it, error is connect's errno value, arg
 * is dial_host's.
 */
typedef void	dial_report_fn(const struct dial_peer *peer, int error,
		    void *arg);

/* What dial_host() returns when it has no connection. */
#define DIAL_ERESOLVE	(-2)	/* getaddrinfo failed: peer->dp_gai */
#define DIAL_ECONNECT	(-1)	/* no address answered: errno */

/*
 * Connect over TCP to host (a name, an IPv4 or an IPv6 address) and port
 * (a number or a service name), trying each address getaddrinfo(3) gives
 * for family (AF_UNSPEC, AF_INET, AF_INET6) in its order until one
 * answers (RFC 1123 2.3, RFC 5321 5.1), each with dial_addr() and
 * timeout_ms milliseconds (-1: no limit). report, unless NULL, is told of
 * each failed address but the last.
 * Returns the connected fd (non-blocking, close-on-exec) with peer filled
 * in; DIAL_ERESOLVE with peer->dp_gai set (EAI_SERVICE: port is no port;
 * EAI_SYSTEM: see errno); DIAL_ECONNECT with errno the last address's
 * error (ETIMEDOUT, ECONNREFUSED, ...) and peer naming that address.
 */
int	dial_host(const char *host, const char *port, int family,
	    int timeout_ms, dial_report_fn *report, void *arg,
	    struct dial_peer *peer);

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
 * dial_host() for a client a person runs, saying what fails as err(3)
 * does: warns of each address that failed but the last ("connect PEER:
 * why") and exits EXIT_USAGE (100) when port is no service, EXIT_TEMP
 * (111) when host has no address or no address answers (s6-tcpclient's
 * contract: try again later). Returns the connected fd (non-blocking,
 * close-on-exec) with peer filled in.
 */
int	dial_client(const char *host, const char *port, int family,
	    int timeout_ms, struct dial_peer *peer);

/*
 * io_wait() for such a client: wait until fd has events for at most
 * timeout_ms milliseconds, or exit EXIT_TEMP saying "WHAT PEER: timed out
 * after N s" (what: "read", "write"; peer: dp_name) or why poll failed.
 */
void	dial_wait(int fd, short events, int timeout_ms, const char *what,
	    const char *peer);

/*
 * recv(2) for such a client, on a non-blocking fd: at most len bytes into
 * buf, waiting with dial_wait() for at most timeout_ms milliseconds each
 * time none has come. Returns the count, 0 at the end of the stream;
 * exits EXIT_TEMP saying "read PEER: why" on an error or the timeout.
 */
ssize_t	dial_recv(int fd, void *buf, size_t len, int timeout_ms,
	    const char *peer);

/*
 * io_write_all() for such a client: send len bytes of buf to fd within
 * timeout_ms milliseconds, or exit EXIT_TEMP saying "write PEER: why".
 */
void	dial_send(int fd, const void *buf, size_t len, int timeout_ms,
	    const char *peer);

#endif
