/*
 * ping: the UDP pinger server of seed 004 ("UDPPingerServer.py").
 *
 * Each request is answered with its own bytes in upper case, to the
 * address it came from, unless the simulated loss (-l) drops it. The
 * reply is the request rewritten in place, so it is never longer than the
 * request: pingd cannot be used to amplify traffic towards a spoofed
 * source address.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pingd.h"

/*
 * Seed 004 draws randint(0, 10) and drops when it is below 4 (4 of 11,
 * about 36 %) and calls that 30 %; -l says the percentage outright.
 * arc4random_uniform() has no modulo bias.
 */
static int
ping_lost(const struct pingd *pd)
{
	if (pd->pd_loss <= 0)
		return 0;
	if (pd->pd_loss >= 100)
		return 1;
	return arc4random_uniform(100) < (uint32_t)pd->pd_loss;
}

/*
 * The reply goes to whatever source the datagram claims, and upper case is
 * its own reply: a forged datagram from our own address and port, or from
 * another pingd's, or from a service that answers anything (echo, chargen,
 * daytime, all below 1024), would bounce between the two for ever. So
 * those are not answered, as OpenBSD inetd's dg_badinput() refuses ports
 * below IPPORT_RESERVED; port 0 cannot be answered at all.
 */
static int
ping_reflector(const struct pingd *pd, const struct sockaddr *sa)
{
	unsigned port;

	if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	else if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else
		return 1;
	return port < IPPORT_RESERVED || port == pd->pd_port;
}

/* Python's bytes.upper(): ASCII letters only, independent of locale. */
static void
ping_upper(unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] -= 'a' - 'A';
}

int
ping_request(struct pingd *pd, size_t len, const struct sockaddr *sa,
    socklen_t salen)
{
	char peer[PINGD_ADDRSTRLEN], text[LOG_VIS_MAX];

	pd->pd_requests++;
	if (ping_reflector(pd, sa)) {
		pd->pd_dropped++;
		log_debug("%s: %zu bytes not answered: its source port may "
		    "be another server's", pingd_addr(sa, salen, peer,
		    sizeof(peer)), len);
		return 0;
	}
	if (log_getverbose())
		log_debug("ping from %s: %zu bytes: %s",
		    pingd_addr(sa, salen, peer, sizeof(peer)), len,
		    log_vis(text, sizeof(text), pd->pd_buf, len));
	if (ping_lost(pd)) {
		pd->pd_dropped++;
		log_debug("dropped (simulated loss %d%%)", pd->pd_loss);
		return 0;
	}
	ping_upper(pd->pd_buf, len);
	if (sendto(pd->pd_fd, pd->pd_buf, len, 0, sa, salen) == -1) {
		/* ICMP errors from earlier sends surface here; not fatal. */
		log_warn("sendto %s", pingd_addr(sa, salen, peer,
		    sizeof(peer)));
		return -1;
	}
	pd->pd_answered++;
	return 0;
}
