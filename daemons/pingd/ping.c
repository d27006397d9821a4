/*
 * ping: the UDP pinger server: an echo in upper case that drops some.
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

#include "dguard.h"
#include "log.h"
#include "serve.h"
#include "pingd.h"

/*
 * The usual pinger server draws randint(0, 10) and drops below 4 (4 of
 * 11, about 36 %), called 30 %; -l says the percentage outright.
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
	enum dguard_verdict v;

	pd->pd_requests++;
	/*
	 * Upper case is its own reply: a forged source on our own port,
	 * another pingd's or an echo server's would bounce for ever.
	 */
	if ((v = dguard_check(&pd->pd_guard, sa, salen, pd->pd_buf, len,
	    serve_now_ms())) != DGUARD_ANSWER) {
		/* A line per refusal would flood the log: the first. */
		if (pd->pd_refused++ < 16)
			log_debug("%s: %zu bytes not answered: %s",
			    addr_hostport(sa, salen, peer, sizeof(peer)), len,
			    dguard_reason(v));
		return 0;
	}
	if (log_getverbose())
		log_debug("ping from %s: %zu bytes: %s",
		    addr_hostport(sa, salen, peer, sizeof(peer)), len,
		    log_vis(text, sizeof(text), pd->pd_buf, len));
	if (ping_lost(pd)) {
		pd->pd_dropped++;
		log_debug("dropped (simulated loss %d%%)", pd->pd_loss);
		return 0;
	}
	ping_upper(pd->pd_buf, len);
	if (sendto(pd->pd_fd, pd->pd_buf, len, 0, sa, salen) == -1) {
		/* ICMP errors from earlier sends surface here; not fatal. */
		log_warn("sendto %s", addr_hostport(sa, salen, peer,
		    sizeof(peer)));
		return -1;
	}
	dguard_sent(&pd->pd_guard, pd->pd_buf, len);
	pd->pd_answered++;
	return 0;
}
