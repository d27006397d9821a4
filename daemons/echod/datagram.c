/*
 * datagram: RFC 862 "UDP Based Echo Service": "When a datagram is
 * received, the data from it is sent back in an answering datagram."
 *
 * forkd (or inetd) runs this as a "wait" service: it hands over the bound
 * socket and stops polling it until we exit. So we leave after
 * e_dgram_idle seconds without a datagram, and the supervisor takes the
 * socket back and starts us again when the next one arrives.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dguard.h"
#include "echod.h"
#include "log.h"

/* Which datagrams may be answered: see lib/dguard.h. */
static struct dguard	 dgram_guard;

static void	dgram_answer(int, unsigned char *, ssize_t,
		    struct sockaddr_storage *, socklen_t, uint64_t *);

int
echo_datagram(int fd, void *arg)
{
	const struct echod *env = arg;
	struct sockaddr_storage ss;
	struct serve_peer local;
	unsigned char *buf;
	uint64_t ndgrams = 0, nbytes = 0, nrefused = 0;
	struct pollfd pfd;
	socklen_t sslen;
	ssize_t n;
	int r;

	if ((buf = malloc(ECHO_DGRAMSZ)) == NULL) {
		log_warn("datagram: malloc");
		return 111;
	}
	serve_peer(fd, &local);
	dguard_init(&dgram_guard, fd);
	log_info("datagram: serving %s:%s", local.local_ip, local.local_port);
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		r = serve_poll(&pfd, 1, env->e_dgram_idle > 0 ?
		    env->e_dgram_idle * 1000 : -1);
		/* The supervisor died (lib/serve.h): let the port go now. */
		if (serve_stopping()) {
			log_info("datagram: supervisor gone: exiting after "
			    "%llu datagrams", (unsigned long long)ndgrams);
			free(buf);
			return 0;
		}
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_warn("datagram: poll");
			free(buf);
			return 111;
		}
		if (r == 0)
			break;
		sslen = sizeof(ss);
		n = recvfrom(fd, buf, ECHO_DGRAMSZ, MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sslen);
		if (n == -1) {
			/*
			 * EAGAIN: someone else took it. ECONNREFUSED and the
			 * like: an ICMP error for an earlier answer; the
			 * socket stays usable.
			 */
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK || errno == ECONNREFUSED ||
			    errno == EHOSTUNREACH || errno == ENETUNREACH)
				continue;
			log_warn("datagram: recvfrom");
			free(buf);
			return 111;
		}
		ndgrams++;
		nbytes += n;
		dgram_answer(fd, buf, n, &ss, sslen, &nrefused);
	}
	log_info("datagram: idle %d s: exiting after %llu datagrams, %llu bytes, "
	    "%llu not answered", env->e_dgram_idle,
	    (unsigned long long)ndgrams, (unsigned long long)nbytes,
	    (unsigned long long)nrefused);
	free(buf);
	return 0;
}

/*
 * One received datagram (n bytes in buf, from ss): echoed back when the
 * guard allows it, else counted in *nrefused. Apart from the receive loop
 * so that the loop reads as poll, receive, answer. A failed send is only
 * logged: the socket stays usable for the next datagram.
 */
static void
dgram_answer(int fd, unsigned char *buf, ssize_t n,
    struct sockaddr_storage *ss, socklen_t sslen, uint64_t *nrefused)
{
	enum dguard_verdict v;

	if ((v = dguard_check(&dgram_guard, (struct sockaddr *)ss,
	    sslen, buf, n, serve_now_ms())) != DGUARD_ANSWER) {
		char from[ADDR_HOSTPORTMAX];

		/* A line per refusal would flood the log: the first. */
		if ((*nrefused)++ < 16)
			log_debug("datagram: %zd bytes from %s: not "
			    "answered: %s", n, addr_hostport(
			    (struct sockaddr *)ss, sslen, from,
			    sizeof(from)), dguard_reason(v));
		return;
	}
	if (sendto(fd, buf, n, 0, (struct sockaddr *)ss, sslen) == -1) {
		log_warn("datagram: sendto (%zd bytes)", n);
		return;
	}
	dguard_sent(&dgram_guard, buf, n);
	if (log_getverbose()) {
		char to[ADDR_HOSTPORTMAX];

		log_debug("datagram: %zd bytes echoed to %s", n,
		    addr_hostport((struct sockaddr *)ss, sslen, to,
		    sizeof(to)));
	}
}
