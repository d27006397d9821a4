/*
 * serve: the inetd contract (DESIGN.md), shared by every handler.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "addr.h"
#include "clock.h"
#include "io.h"
#include "log.h"
#include "persource.h"
#include "proxy.h"
#include "serve.h"

/* How long a refused client gets to read its refusal (ms). */
#define SERVE_REFUSE_MS		1000
#define SERVE_LINGER_MS		200

/*
 * What forkd set up for this handler, read once by serve_main (one state
 * for the library, not one per handler).
 */
static struct serve_state {
	const struct serve_handler *ss_h;
	int		 ss_proxy;	/* "+proxy": a PROXY header first */
	struct persource *ss_ps;	/* per-source limits; NULL: none */
	/* By fd: the address a connection is counted against; "" none. */
	char		(*ss_counted)[INET6_ADDRSTRLEN];
	int		 ss_ncounted;
} serve_st;

static void	serve_setup(const struct serve_handler *);
static int	serve_proxy(int, struct serve_peer *);
static int	serve_admit(int, const struct serve_peer *);
static void	serve_refuse(int);
/* SIGHUP (the supervisor's death) or SIGTERM (a drain) has arrived. */
static volatile sig_atomic_t serve_hup;
/*
 * In serve_sequential(), SIGHUP and SIGTERM are let in, and their
 * handler closes the listener at once (close(2) is async-signal-safe):
 * an SMTP session may last minutes, and the port must not wait for it;
 * a worker asleep in accept(2) wakes to a closed listener.
 * serve_seq_lfd is the listener then, -1 otherwise or once closed;
 * serve_seq_fd1: descriptor 1 is the same socket, to close as well.
 */
static volatile sig_atomic_t serve_seq_lfd = -1;
static volatile sig_atomic_t serve_seq_fd1;
/* The mask to wait with, SIGHUP let in; valid when serve_hup_blocked. */
static sigset_t	serve_waitmask;
static int	serve_hup_blocked;

static void	serve_onhup(int);
static void	serve_hup_init(void);
static int	serve_fd1_same(int);

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

int
serve_accept(int lfd, int flags, struct serve_peer *peer)
{
	struct sockaddr_storage ss;
	struct serve_peer p;
	socklen_t len = sizeof(ss);
	int fd;

	memset(&ss, 0, sizeof(ss));
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len, flags)) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	addr_fmt((struct sockaddr *)&ss, sizeof(ss),
	    p.remote_ip, sizeof(p.remote_ip), p.remote_port,
	    sizeof(p.remote_port));
	serve_peer_local(lfd, fd, &p);
	if (serve_st.ss_proxy && serve_proxy(fd, &p) == -1) {
		close(fd);
		errno = ECONNABORTED;
		return -1;
	}
	if (serve_st.ss_ps != NULL && serve_admit(fd, &p) == -1) {
		errno = ECONNABORTED;
		return -1;
	}
	if (peer != NULL)
		*peer = p;
	return fd;
}

/*
 * Read the PROXY header on fd and put the client it names in peer (v2
 * LOCAL and v1 UNKNOWN leave the balancer's own connection in peer).
 * Returns 0, or -1 after logging why.
 */
static int
serve_proxy(int fd, struct serve_peer *peer)
{
	struct proxy_hdr ph;
	const char *why = "?";

	if (proxy_read(fd, PROXY_TIMEOUT_MS, &ph, &why) == -1) {
		log_warnx("%s:%s: PROXY header: %s: closed", peer->remote_ip,
		    peer->remote_port, why);
		return -1;
	}
	if (ph.ph_local) {
		log_debug("%s:%s: PROXY v%d LOCAL: the balancer's own "
		    "connection", peer->remote_ip, peer->remote_port,
		    ph.ph_version);
		return 0;
	}
	log_debug("%s:%s: PROXY v%d: client %s:%u", peer->remote_ip,
	    peer->remote_port, ph.ph_version, ph.ph_src_ip, ph.ph_src_port);
	strlcpy(peer->remote_ip, ph.ph_src_ip, sizeof(peer->remote_ip));
	snprintf(peer->remote_port, sizeof(peer->remote_port), "%u",
	    ph.ph_src_port);
	strlcpy(peer->local_ip, ph.ph_dst_ip, sizeof(peer->local_ip));
	snprintf(peer->local_port, sizeof(peer->local_port), "%u",
	    ph.ph_dst_port);
	return 0;
}

/*
 * Count fd's connection against its client's address. Returns 0, or -1
 * when it is over a per-source limit: refused and closed.
 */
static int
serve_admit(int fd, const struct serve_peer *peer)
{
	enum persource_verdict v;
	int logit, n;

	v = persource_enter(serve_st.ss_ps, peer->remote_ip, getpid(),
	    clock_ms(), &logit);
	switch (v) {
	case PERSOURCE_OK:
		if (fd >= serve_st.ss_ncounted) {
			void *p;

			n = fd + 64;
			p = reallocarray(serve_st.ss_counted, n,
			    sizeof(*serve_st.ss_counted));
			if (p == NULL) {
				/* Not remembered: not counted. */
				persource_leave(serve_st.ss_ps,
				    peer->remote_ip, getpid());
				return 0;
			}
			serve_st.ss_counted = p;
			memset(serve_st.ss_counted + serve_st.ss_ncounted, 0,
			    (n - serve_st.ss_ncounted) *
			    sizeof(*serve_st.ss_counted));
			serve_st.ss_ncounted = n;
		}
		strlcpy(serve_st.ss_counted[fd], peer->remote_ip,
		    sizeof(serve_st.ss_counted[fd]));
		return 0;
	case PERSOURCE_UNCOUNTED:
		if (logit)
			log_warnx("per-source table full: %s:%s served "
			    "uncounted", peer->remote_ip, peer->remote_port);
		return 0;
	case PERSOURCE_CHILD:
	case PERSOURCE_RATE:
	default:
		if (logit)
			log_warnx("%s:%s: refused: %s (logged once a minute "
			    "per address)", peer->remote_ip,
			    peer->remote_port, v == PERSOURCE_CHILD ?
			    "max-child-per-ip reached" :
			    "max-connections-per-ip-per-minute reached");
		serve_refuse(fd);
		close(fd);
		return -1;
	}
}

/*
 * Tell a refused client so in its protocol, then let it read that: what
 * it already sent is drained first and briefly after, so the close does
 * not become a reset that could destroy the refusal in flight (RFC 9112
 * 9.6, lingering close).
 */
static void
serve_refuse(int fd)
{
	const char *msg = serve_st.ss_h != NULL ?
	    serve_st.ss_h->sh_refusal : NULL;
	char junk[4096];
	int i;

	if (msg == NULL)
		return;
	for (i = 0; i < 16 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0;
	    i++)
		;
	if (io_write_all(fd, msg, strlen(msg), SERVE_REFUSE_MS) == -1)
		return;
	/* The drain after is bounded as the one before: 16 reads. */
	(void)io_linger(fd, fd, SERVE_LINGER_MS, 16 * sizeof(junk));
}

int
serve_close(int fd)
{
	if (fd >= 0 && fd < serve_st.ss_ncounted &&
	    serve_st.ss_counted[fd][0] != '\0') {
		persource_leave(serve_st.ss_ps, serve_st.ss_counted[fd],
		    getpid());
		serve_st.ss_counted[fd][0] = '\0';
	}
	return close(fd);
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
	return clock_ms();
}

int
serve_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	return io_write_all(fd, buf, len, timeout_ms);
}

static void
serve_onhup(int sig)
{
	int lfd = serve_seq_lfd, saved_errno = errno;

	serve_hup = sig;
	if (lfd != -1) {
		serve_seq_lfd = -1;
		if (serve_seq_fd1)
			close(1);
		close(lfd);
	}
	errno = saved_errno;
}

/*
 * Block SIGHUP, to be let in only where the handler waits: ppoll(2) and
 * epoll_pwait(2) return EINTR after a handler whatever SA_RESTART says,
 * and with it a read or a lock in a connection of serve_sequential() is
 * not cut short.
 */
static void
serve_hup_init(void)
{
	struct sigaction sa;
	sigset_t hup;

	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigaddset(&hup, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &hup, &serve_waitmask) == -1)
		return;
	sigdelset(&serve_waitmask, SIGHUP);
	sigdelset(&serve_waitmask, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_onhup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) == -1) {
		sigprocmask(SIG_SETMASK, &serve_waitmask, NULL);
		return;
	}
	/*
	 * SIGTERM, forkd's drain and the end of its upgrade, is the same
	 * stop; a second SIGTERM, what a supervisor sends when its bound for
	 * the drain has passed, takes the default action (SA_RESETHAND).
	 */
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	if (sigaction(SIGTERM, &sa, NULL) == -1) {
		sigprocmask(SIG_SETMASK, &serve_waitmask, NULL);
		return;
	}
	serve_hup_blocked = 1;
}

int
serve_stopping(void)
{
	return serve_hup != 0;
}

const char *
serve_stop_reason(void)
{
	return serve_hup == SIGTERM ? "SIGTERM, draining" : "supervisor gone";
}

const sigset_t *
serve_sigmask(void)
{
	return serve_hup_blocked ? &serve_waitmask : NULL;
}

int
serve_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	return ppoll(fds, nfds, tsp, serve_sigmask());
}

/* Is descriptor 1 the same socket as listener lfd 0? */
static int
serve_fd1_same(int lfd)
{
	struct stat a, b;

	return lfd == 0 && fstat(0, &a) == 0 && fstat(1, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
serve_listener_tcpopt(int fd, int opt, int value)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
	    !listening)
		return -1;
	return setsockopt(fd, IPPROTO_TCP, opt, &value, sizeof(value));
}

void
serve_close_listener(int lfd)
{
	serve_peer_forget(lfd);
	if (serve_fd1_same(lfd))
		close(1);
	close(lfd);
}

/*
 * One connection at a time, as each worker of a pool does.
 *
 * The wait is in accept(2) itself: the kernel wakes one sleeping
 * accepter a connection (an exclusive wait), where poll(2) on the shared
 * listener woke every idle worker of the pool and all but one found
 * EAGAIN: with 32 workers, most of a short session's context switches.
 * SIGHUP and SIGTERM are let in for the whole loop, and their handler
 * closes the listener at once (serve_onhup), so an accept(2) asleep when
 * one comes, or about to start, fails (EINTR, EBADF) and the loop ends;
 * none is lost between a look at serve_stopping() and the accept. A
 * listener another holder made non-blocking (the workers of an older
 * forkd, across an upgrade) gives EAGAIN: then the wait is in
 * serve_poll(), as the other holders expect.
 */
static int
serve_sequential(const struct serve_handler *h, int lfd, void *arg)
{
	struct serve_peer peer;
	struct pollfd pfd;
	int fd;

	if (serve_hup_blocked) {
		/* Whether fd 1 is the listener too, asked once. */
		serve_seq_fd1 = serve_fd1_same(lfd);
		serve_seq_lfd = lfd;
		sigprocmask(SIG_SETMASK, &serve_waitmask, NULL);
	}
	for (;;) {
		if (serve_stopping()) {
			/* -1: the signal's handler closed the listener. */
			if (serve_seq_lfd != -1) {
				serve_seq_lfd = -1;
				serve_close_listener(lfd);
			}
			log_info("%s: no more connections, exiting",
			    serve_stop_reason());
			return 0;
		}
		if ((fd = serve_accept(lfd, SOCK_CLOEXEC, &peer)) != -1) {
			h->sh_connection(fd, fd, &peer, arg);
			serve_close(fd);
			continue;
		}
		if (serve_stopping())
			continue;
		switch (serve_accept_error(errno)) {
		case SERVE_ACCEPT_NONE:
			pfd.fd = lfd;
			pfd.events = POLLIN;
			if (serve_poll(&pfd, 1, -1) == -1 && errno != EINTR) {
				log_warn("poll");
				return 111;
			}
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
}

/*
 * Take what forkd passed in the environment, and take it out of the
 * environment, so a CGI program or anything else the handler runs does
 * not inherit it.
 */
static void
serve_setup(const struct serve_handler *h)
{
	const char *v, *errstr;
	int fd;

	serve_st.ss_h = h;
	if ((v = getenv(SERVE_PROXY_ENV)) != NULL && strcmp(v, "1") == 0)
		serve_st.ss_proxy = 1;
	if ((v = getenv(PERSOURCE_ENV)) != NULL) {
		fd = (int)strtonum(v, 3, INT_MAX, &errstr);
		if (errstr != NULL ||
		    (serve_st.ss_ps = persource_attach(fd)) == NULL)
			log_warnx("%s=%s: not a per-source table: limits not "
			    "counted", PERSOURCE_ENV, v);
	}
	unsetenv(SERVE_PROXY_ENV);
	unsetenv(PERSOURCE_ENV);
}

int
serve_main(const struct serve_handler *h, void *arg)
{
	struct serve_peer peer;
	int fd = 0, n, saved;

	/* A peer that goes away must give EPIPE, not kill the handler. */
	signal(SIGPIPE, SIG_IGN);
	serve_setup(h);

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
		/* forkd read the PROXY header and counted the client. */
		if (getenv(SERVE_REFUSED_ENV) != NULL) {
			serve_refuse(fd);
			return 0;
		}
		serve_peer(fd, &peer);
		return h->sh_connection(fd, fd == 0 ? 1 : fd, &peer, arg);
	case SERVE_LISTENING:
		serve_hup_init();
		if (h->sh_listener != NULL)
			return h->sh_listener(fd, arg);
		return serve_sequential(h, fd, arg);
	case SERVE_DATAGRAM:
		if (h->sh_datagram == NULL) {
			log_warnx("fd %d is a datagram socket: not served by "
			    "this handler", fd);
			return 100;
		}
		serve_hup_init();
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
