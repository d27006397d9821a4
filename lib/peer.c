/*
 * peer: who is at each end of a connection a handler serves, told by the
 * UCSPI-TCP variables forkd and tcpserver set, or asked of the socket.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "serve.h"

/*
 * The local end of a connection accepted on a listener bound to one
 * address (forkd's "127.0.0.1:7") is that address: asked of the listener
 * once, not of every connection with getsockname(2). A listener on the
 * wildcard address (0.0.0.0, ::) is asked per connection.
 */
static struct serve_local {
	int		 sl_lfd;	/* the listener asked; -1: none yet */
	int		 sl_fixed;	/* bound to one address: sl_ip, sl_port */
	char		 sl_ip[INET6_ADDRSTRLEN];
	char		 sl_port[6];
} serve_local = { .sl_lfd = -1 };

/* Copy variable name into dst (len bytes). Returns 1, or 0 when unset. */
static int
env_fill(const char *name, char *dst, size_t len)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0' || strlen(v) >= len)
		return 0;
	strlcpy(dst, v, len);
	return 1;
}

/*
 * Fill the end of fd that getname (getpeername or getsockname) names into
 * ip and port, each only when its flag says the environment left it out.
 */
static void
serve_peer_ask(int fd, int (*getname)(int, struct sockaddr *, socklen_t *),
    char *ip, size_t iplen, int need_ip, char *port, size_t portlen,
    int need_port)
{
	struct sockaddr_storage ss;
	char a[INET6_ADDRSTRLEN], p[6];
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	addr_fmt((struct sockaddr *)&ss, sizeof(ss), a, sizeof(a), p,
	    sizeof(p));
	if (need_ip)
		strlcpy(ip, a, iplen);
	if (need_port)
		strlcpy(port, p, portlen);
}

void
serve_peer(int fd, struct serve_peer *peer)
{
	int rip = 0, rport = 0, lip = 0, lport = 0;

	memset(peer, 0, sizeof(*peer));
	strlcpy(peer->remote_ip, "-", sizeof(peer->remote_ip));
	strlcpy(peer->remote_port, "-", sizeof(peer->remote_port));
	strlcpy(peer->local_ip, "-", sizeof(peer->local_ip));
	strlcpy(peer->local_port, "-", sizeof(peer->local_port));

	/*
	 * forkd and tcpserver say who the peer is; believe them on fd 0,
	 * and ask the socket only for what they leave out: a handler
	 * started per connection spends no system call on what it is told.
	 */
	if (fd == 0) {
		rip = env_fill("TCPREMOTEIP", peer->remote_ip,
		    sizeof(peer->remote_ip));
		rport = env_fill("TCPREMOTEPORT", peer->remote_port,
		    sizeof(peer->remote_port));
		lip = env_fill("TCPLOCALIP", peer->local_ip,
		    sizeof(peer->local_ip));
		lport = env_fill("TCPLOCALPORT", peer->local_port,
		    sizeof(peer->local_port));
	}
	if (!rip || !rport)
		serve_peer_ask(fd, getpeername, peer->remote_ip,
		    sizeof(peer->remote_ip), !rip, peer->remote_port,
		    sizeof(peer->remote_port), !rport);
	if (!lip || !lport)
		serve_peer_ask(fd, getsockname, peer->local_ip,
		    sizeof(peer->local_ip), !lip, peer->local_port,
		    sizeof(peer->local_port), !lport);
}

/* Is sa the wildcard address of its family (INADDR_ANY, in6addr_any)? */
static int
serve_wildcard(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return 1;	/* another family: ask each connection */
}

/*
 * Fill the local end of connection fd, accepted on listener lfd, in
 * peer: the listener's own address when it is bound to one (see
 * serve_local), else getsockname(2) of fd; "-" when neither answers.
 */
void
serve_peer_local(int lfd, int fd, struct serve_peer *peer)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (serve_local.sl_lfd != lfd) {
		serve_local.sl_lfd = lfd;
		serve_local.sl_fixed = 0;
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(lfd, (struct sockaddr *)&ss, &len) == 0 &&
		    !serve_wildcard(&ss)) {
			addr_fmt((struct sockaddr *)&ss, len,
			    serve_local.sl_ip, sizeof(serve_local.sl_ip),
			    serve_local.sl_port, sizeof(serve_local.sl_port));
			serve_local.sl_fixed = 1;
		}
	}
	if (serve_local.sl_fixed) {
		strlcpy(peer->local_ip, serve_local.sl_ip,
		    sizeof(peer->local_ip));
		strlcpy(peer->local_port, serve_local.sl_port,
		    sizeof(peer->local_port));
		return;
	}
	strlcpy(peer->local_ip, "-", sizeof(peer->local_ip));
	strlcpy(peer->local_port, "-", sizeof(peer->local_port));
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_fmt((struct sockaddr *)&ss, sizeof(ss),
		    peer->local_ip, sizeof(peer->local_ip), peer->local_port,
		    sizeof(peer->local_port));
}

void
serve_peer_forget(int lfd)
{
	if (serve_local.sl_lfd == lfd)
		serve_local.sl_lfd = -1;
}
