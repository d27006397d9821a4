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

#include "echod.h"
#include "log.h"

static const char	*dgram_addr(const struct sockaddr_storage *, char *,
			    size_t);
static unsigned		 dgram_port(const struct sockaddr_storage *);
static int		 dgram_badaddr(in_addr_t);
static int		 dgram_badinput(const struct sockaddr_storage *);

/* The sender's address, numeric, for the debug log. */
static const char *
dgram_addr(const struct sockaddr_storage *ss, char *ip, size_t len)
{
	const void *a = &((const struct sockaddr_in *)ss)->sin_addr;

	if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (inet_ntop(ss->ss_family, a, ip, len) == NULL)
		strlcpy(ip, "-", len);
	return ip;
}

static unsigned
dgram_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* An IPv4 source (host order) no datagram may truly come from. */
static int
dgram_badaddr(in_addr_t a)
{
	return IN_MULTICAST(a) || (a >> 24) == 0 || (a >> 24) == 255;
}

/*
 * Whether to leave a datagram from ss unanswered, as OpenBSD inetd's
 * dg_badinput() does. The source of a datagram is easily forged: from
 * the port of another UDP service (echo, chargen, our own port below
 * 1024, NFS's 2049) it would make us and that service answer each other
 * for ever (CERT CA-1996-01), and from a multicast or broadcast address
 * make us flood a network. Real clients send from ephemeral ports.
 */
static int
dgram_badinput(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	uint32_t a;
	unsigned port;

	switch (ss->ss_family) {
	case AF_INET:
		if (dgram_badaddr(ntohl(sin->sin_addr.s_addr)))
			return 1;
		break;
	case AF_INET6:
		if (IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr) ||
		    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&a, &sin6->sin6_addr.s6_addr[12], sizeof(a));
			if (dgram_badaddr(ntohl(a)))
				return 1;
		}
		break;
	default:
		return 1;
	}
	port = dgram_port(ss);
	return port < IPPORT_RESERVED || port == 2049;
}

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
	log_info("datagram: serving %s:%s", local.local_ip, local.local_port);
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, env->e_dgram_idle > 0 ?
		    env->e_dgram_idle * 1000 : -1);
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
		if (dgram_badinput(&ss)) {
			char ip[INET6_ADDRSTRLEN];

			nrefused++;
			log_debug("datagram: %zd bytes from %s:%u: not answered",
			    n, dgram_addr(&ss, ip, sizeof(ip)), dgram_port(&ss));
			continue;
		}
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&ss, sslen) == -1)
			log_warn("datagram: sendto (%zd bytes)", n);
		else if (log_getverbose()) {
			char ip[INET6_ADDRSTRLEN];

			log_debug("datagram: %zd bytes echoed to %s:%u", n,
			    dgram_addr(&ss, ip, sizeof(ip)), dgram_port(&ss));
		}
	}
	log_info("datagram: idle %d s: exiting after %llu datagrams, %llu bytes, "
	    "%llu not answered", env->e_dgram_idle,
	    (unsigned long long)ndgrams, (unsigned long long)nbytes,
	    (unsigned long long)nrefused);
	free(buf);
	return 0;
}
