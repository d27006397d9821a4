/*
 * serve: the inetd contract (DESIGN.md), shared by every handler.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "log.h"
#include "serve.h"

enum serve_kind
serve_kind(int fd)
{
	int type, listening;
	socklen_t len;

	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return SERVE_STDIO;	/* ENOTSOCK: a pipe, tty or file */
	if (type == SOCK_DGRAM)
		return SERVE_DATAGRAM;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening)
		return SERVE_LISTENING;
	return SERVE_CONNECTED;
}

static void
addr_fill(const struct sockaddr_storage *ss, char *ip, size_t iplen,
    char *port, size_t portlen)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	strlcpy(ip, "-", iplen);
	strlcpy(port, "-", portlen);
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, iplen);
		snprintf(port, portlen, "%u", ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		/* Show v4-mapped peers of a dual-stack socket as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
			    iplen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, iplen);
		snprintf(port, portlen, "%u", ntohs(sin6->sin6_port));
	}
}

static void
env_fill(const char *name, char *dst, size_t len)
{
	const char *v = getenv(name);

	if (v != NULL && *v != '\0' && strlen(v) < len)
		strlcpy(dst, v, len);
}

void
serve_peer(int fd, struct serve_peer *peer)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(peer, 0, sizeof(*peer));
	strlcpy(peer->remote_ip, "-", sizeof(peer->remote_ip));
	strlcpy(peer->remote_port, "-", sizeof(peer->remote_port));
	strlcpy(peer->local_ip, "-", sizeof(peer->local_ip));
	strlcpy(peer->local_port, "-", sizeof(peer->local_port));

	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_fill(&ss, peer->remote_ip, sizeof(peer->remote_ip),
		    peer->remote_port, sizeof(peer->remote_port));
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_fill(&ss, peer->local_ip, sizeof(peer->local_ip),
		    peer->local_port, sizeof(peer->local_port));

	/* forkd and tcpserver say who the peer is; believe them on fd 0. */
	if (fd == 0) {
		env_fill("TCPREMOTEIP", peer->remote_ip,
		    sizeof(peer->remote_ip));
		env_fill("TCPREMOTEPORT", peer->remote_port,
		    sizeof(peer->remote_port));
		env_fill("TCPLOCALIP", peer->local_ip, sizeof(peer->local_ip));
		env_fill("TCPLOCALPORT", peer->local_port,
		    sizeof(peer->local_port));
	}
}

int
serve_accept(int lfd, int flags, struct serve_peer *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	memset(&ss, 0, sizeof(ss));
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len, flags)) == -1)
		return -1;
	if (peer != NULL) {
		memset(peer, 0, sizeof(*peer));
		addr_fill(&ss, peer->remote_ip, sizeof(peer->remote_ip),
		    peer->remote_port, sizeof(peer->remote_port));
		len = sizeof(ss);
		strlcpy(peer->local_ip, "-", sizeof(peer->local_ip));
		strlcpy(peer->local_port, "-", sizeof(peer->local_port));
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			addr_fill(&ss, peer->local_ip, sizeof(peer->local_ip),
			    peer->local_port, sizeof(peer->local_port));
	}
	return fd;
}

enum serve_accept_err
serve_accept_error(int e)
{
	switch (e) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return SERVE_ACCEPT_RETRY;
	case EAGAIN:
#if EAGAIN != EWOULDBLOCK
	case EWOULDBLOCK:
#endif
		return SERVE_ACCEPT_NONE;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return SERVE_ACCEPT_PAUSE;
	default:
		return SERVE_ACCEPT_FATAL;
	}
}

int
serve_nonblock(int fd, int on)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

long long
serve_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
serve_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char *p = buf;
	long long deadline = -1;
	struct pollfd pfd;
	ssize_t n;
	int wait;

	if (timeout_ms >= 0)
		deadline = serve_now_ms() + timeout_ms;
	while (len > 0) {
		n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		wait = -1;
		if (deadline >= 0) {
			long long left = deadline - serve_now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			wait = (int)left;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* One connection at a time, as seed 003's workers do. */
static int
serve_sequential(const struct serve_handler *h, int lfd, void *arg)
{
	struct serve_peer peer;
	struct pollfd pfd;
	int fd;

	for (;;) {
		fd = serve_accept(lfd, SOCK_CLOEXEC, &peer);
		if (fd == -1) {
			switch (serve_accept_error(errno)) {
			case SERVE_ACCEPT_NONE:
				/*
				 * The listener is non-blocking (another
				 * process set O_NONBLOCK on the shared file
				 * description): wait for a connection.
				 */
				pfd.fd = lfd;
				pfd.events = POLLIN;
				(void)poll(&pfd, 1, -1);
				continue;
			case SERVE_ACCEPT_RETRY:
				continue;
			case SERVE_ACCEPT_PAUSE:
				log_warn("accept");
				sleep(1);
				continue;
			case SERVE_ACCEPT_FATAL:
				log_warn("accept");
				return 111;
			}
		}
		h->sh_connection(fd, fd, &peer, arg);
		close(fd);
	}
}

int
serve_main(const struct serve_handler *h, void *arg)
{
	struct serve_peer peer;
	int fd = 0, n, saved;

	/* A peer that goes away must give EPIPE, not kill the handler. */
	signal(SIGPIPE, SIG_IGN);

	/*
	 * systemd's own socket passing (a socket unit without
	 * StandardInput=socket, systemd-socket-activate without --inetd):
	 * the one socket is on fd 3 and is served as fd 0 would be.
	 */
	if ((n = activation_listen_fds(1, NULL)) == -1) {
		saved = errno;
		log_warn("LISTEN_PID/LISTEN_FDS");
		return saved == ENOMEM ? 111 : 100;
	}
	if (n > 1) {
		log_warnx("LISTEN_FDS=%d: a handler serves one socket", n);
		return 100;
	}
	if (n == 1)
		fd = ACTIVATION_FDS_START;

	switch (serve_kind(fd)) {
	case SERVE_CONNECTED:
		serve_peer(fd, &peer);
		return h->sh_connection(fd, fd == 0 ? 1 : fd, &peer, arg);
	case SERVE_LISTENING:
		if (h->sh_listener != NULL)
			return h->sh_listener(fd, arg);
		return serve_sequential(h, fd, arg);
	case SERVE_DATAGRAM:
		if (h->sh_datagram == NULL) {
			log_warnx("fd %d is a datagram socket: not served by "
			    "this handler", fd);
			return 100;
		}
		return h->sh_datagram(fd, arg);
	case SERVE_STDIO:
	default:
		if (fd != 0) {
			log_warnx("LISTEN_FDS: fd %d is not a socket", fd);
			return 100;
		}
		memset(&peer, 0, sizeof(peer));
		strlcpy(peer.remote_ip, "-", sizeof(peer.remote_ip));
		strlcpy(peer.remote_port, "-", sizeof(peer.remote_port));
		strlcpy(peer.local_ip, "-", sizeof(peer.local_ip));
		strlcpy(peer.local_port, "-", sizeof(peer.local_port));
		return h->sh_connection(0, 1, &peer, arg);
	}
}
