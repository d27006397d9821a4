/*
 * listener: many echo connections in one process (forkd prefork.N, or
 * wait on a stream), the classic non-blocking server: a main loop that
 * accepts and waits in epoll(7), and handle_connection() for each ready
 * connection.
 *
 * The workers of a pool share one listener. Each has its own epoll set
 * with the listener in it as EPOLLEXCLUSIVE: a new connection wakes one
 * worker that waits, not every worker (the thundering herd, where all
 * but one find nothing to accept). A woken worker accepts until the
 * backlog is empty (accept4(2) until EAGAIN), so a burst costs one
 * wake-up, and it reads each new connection at once: a client that
 * speaks first (RFC 862) has usually sent its bytes before the accept.
 *
 * Bounds: at most e_maxconns connections at once (past it the listener
 * leaves the epoll set, so the kernel's backlog and the other workers
 * hold the callers), ECHO_BUFSZ bytes each, and e_idle seconds without
 * progress before a connection is dropped, so dead peers do not hold
 * slots.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod.h"
#include "log.h"

/* After EMFILE and the like, rest the listener this long (ms). */
#define LISTENER_PAUSE_MS	1000
/* Events taken from epoll_pwait(2) at once. */
#define LISTENER_EVENTS		64
/*
 * Closed connections kept for the next ones, so a short connection
 * costs no calloc(3) of its buffer (and no brk(2) to give it back).
 */
#define LISTENER_SPARE		32

struct listener {
	const struct echod *l_env;
	int		 l_fd;		/* the listener; -1 once closed */
	int		 l_ep;		/* our epoll set */
	int		 l_listening;	/* l_fd is in the set */
	struct echo_conn **l_conns;
	int		 l_nconns;
	struct echo_conn *l_spare[LISTENER_SPARE];
	int		 l_nspare;
	long long	 l_pause_until;	/* accept again from this time (ms) */
};

static int	listener_listen(struct listener *, int);
static int	listener_watch(struct listener *, struct echo_conn *, int);
static int	listener_accept(struct listener *);
static void	listener_step(struct listener *, struct echo_conn *);
static int	listener_timeout(const struct listener *, long long);
static void	listener_reap(struct listener *, long long);
static void	listener_stop(struct listener *);

/*
 * Put the listener in the epoll set (on) or take it out. Returns 0, or
 * -1 after logging why.
 */
static int
listener_listen(struct listener *l, int on)
{
	struct epoll_event ev;

	if (on == l->l_listening || l->l_fd == -1)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.data.ptr = NULL;
	if (on) {
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		if (epoll_ctl(l->l_ep, EPOLL_CTL_ADD, l->l_fd, &ev) == -1) {
			/* EINVAL before Linux 4.5: then every worker wakes. */
			ev.events = EPOLLIN;
			if (errno != EINVAL || epoll_ctl(l->l_ep,
			    EPOLL_CTL_ADD, l->l_fd, &ev) == -1) {
				log_warn("listener: epoll_ctl add");
				return -1;
			}
		}
	} else if (epoll_ctl(l->l_ep, EPOLL_CTL_DEL, l->l_fd, &ev) == -1) {
		log_warn("listener: epoll_ctl del");
		return -1;
	}
	l->l_listening = on;
	return 0;
}

/*
 * Wait for what connection ec wants (echo_events()), added to the set or
 * changed when it differs from what it waited for. Returns 0, or -1 with
 * the connection marked to close.
 */
static int
listener_watch(struct listener *l, struct echo_conn *ec, int add)
{
	struct epoll_event ev;
	short want = echo_events(ec);

	if (!add && want == ec->ec_events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = (want & POLLIN ? EPOLLIN : 0) |
	    (want & POLLOUT ? EPOLLOUT : 0);
	ev.data.ptr = ec;
	if (epoll_ctl(l->l_ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, ec->ec_fd,
	    &ev) == -1) {
		ec->ec_why = strerror(errno);
		echo_close(ec);
		return -1;
	}
	ec->ec_events = want;
	return 0;
}

/*
 * Accept what is pending, up to the bound, and serve what each new
 * connection has already sent. Returns 0, or -1 on failure.
 */
static int
listener_accept(struct listener *l)
{
	struct serve_peer peer;
	struct echo_conn *ec;
	int fd;

	while (l->l_nconns < l->l_env->e_maxconns) {
		fd = serve_accept(l->l_fd, SOCK_NONBLOCK | SOCK_CLOEXEC, &peer);
		if (fd == -1) {
			switch (serve_accept_error(errno)) {
			case SERVE_ACCEPT_NONE:
				return 0;
			case SERVE_ACCEPT_RETRY:
				continue;
			case SERVE_ACCEPT_PAUSE:
				log_warn("accept");
				l->l_pause_until = serve_now_ms() +
				    LISTENER_PAUSE_MS;
				return 0;
			case SERVE_ACCEPT_FATAL:
				log_warn("accept");
				return -1;
			}
		}
		if (l->l_nspare > 0)
			ec = l->l_spare[--l->l_nspare];
		else if ((ec = malloc(sizeof(*ec))) == NULL) {
			log_warn("accept %s:%s: malloc", peer.remote_ip,
			    peer.remote_port);
			serve_close(fd);
			l->l_pause_until = serve_now_ms() + LISTENER_PAUSE_MS;
			return 0;
		}
		/* Every field but the buffer, which is written before read. */
		memset(ec, 0, offsetof(struct echo_conn, ec_buf));
		ec->ec_fd = fd;
		ec->ec_peer = peer;
		ec->ec_env = l->l_env;
		ec->ec_term = TERM_BOL;
		ec->ec_last = serve_now_ms();
		l->l_conns[l->l_nconns++] = ec;
		log_info("connect %s:%s conns %d/%d", peer.remote_ip,
		    peer.remote_port, l->l_nconns, l->l_env->e_maxconns);
		if (listener_watch(l, ec, 1) == 0)
			listener_step(l, ec);
	}
	return 0;
}

/* One step of connection ec, then wait for what it wants next. */
static void
listener_step(struct listener *l, struct echo_conn *ec)
{
	if (!handle_connection(ec)) {
		echo_close(ec);
		return;
	}
	(void)listener_watch(l, ec, 0);
}

/* Milliseconds epoll may sleep: until the first idle deadline. */
static int
listener_timeout(const struct listener *l, long long now)
{
	long long first = -1, t;
	int i;

	for (i = 0; i < l->l_nconns; i++) {
		t = echo_deadline(l->l_conns[i]);
		if (first == -1 || t < first)
			first = t;
	}
	if (l->l_pause_until > now && (first == -1 || l->l_pause_until < first))
		first = l->l_pause_until;
	if (first == -1)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

/*
 * Close the connections marked closed (fd -1) or past their deadline;
 * their memory is kept for the next ones, up to LISTENER_SPARE.
 */
static void
listener_reap(struct listener *l, long long now)
{
	struct echo_conn *ec;
	int i, j;

	for (i = j = 0; i < l->l_nconns; i++) {
		ec = l->l_conns[i];
		if (ec->ec_fd != -1 && now >= echo_deadline(ec)) {
			/* A linger that ends without the peer's EOF is fine. */
			if (!ec->ec_shut)
				ec->ec_why = "idle";
			echo_close(ec);
		}
		if (ec->ec_fd == -1) {
			if (l->l_nspare < LISTENER_SPARE)
				l->l_spare[l->l_nspare++] = ec;
			else
				free(ec);
			continue;
		}
		l->l_conns[j++] = ec;
	}
	l->l_nconns = j;
}

/*
 * The supervisor died, or SIGTERM drains (lib/serve.h): no new
 * connections, the port let go at once, after taking what its backlog
 * holds for us (a close would reset it); the open ones run to their end.
 * The listener leaves the epoll set first: the set holds the socket, not
 * our descriptor, and the socket lives on in the other workers.
 */
static void
listener_stop(struct listener *l)
{
	(void)listener_listen(l, 0);
	serve_close_listener(l->l_fd);
	l->l_fd = -1;
	log_info("listener: %s: finishing %d connections",
	    serve_stop_reason(), l->l_nconns);
}

void
echo_listener_prepare(int fd)
{
	int off = 0, listening = 0;
	socklen_t len = sizeof(listening);

	/*
	 * One system call for a handler that serves one connection: a
	 * connected socket, a datagram socket and a pipe all end here.
	 */
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
	    !listening)
		return;
	/* A UNIX socket refuses it (EOPNOTSUPP): nothing to do. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof(off));
}

int
echo_listener(int lfd, void *arg)
{
	struct epoll_event evs[LISTENER_EVENTS];
	struct listener l;
	long long now;
	int i, n, accepting;

	memset(&l, 0, sizeof(l));
	l.l_env = arg;
	l.l_fd = lfd;
	l.l_conns = calloc(l.l_env->e_maxconns, sizeof(*l.l_conns));
	if (l.l_conns == NULL) {
		log_warn("listener: calloc");
		return 111;
	}
	if ((l.l_ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("listener: epoll_create1");
		return 111;
	}
	/*
	 * Workers share the listener: a lost race must give EAGAIN. The
	 * flag is the socket's, which forkd changes only on a socket no
	 * handler holds: set once, it stays.
	 */
	if (serve_nonblock(lfd, 1) == -1) {
		log_warn("listener: O_NONBLOCK");
		return 111;
	}
	log_debug("listener: up to %d connections, idle %d s",
	    l.l_env->e_maxconns, l.l_env->e_idle);

	for (;;) {
		if (serve_stopping() && l.l_fd != -1) {
			if (listener_accept(&l) == -1)
				return 111;
			listener_stop(&l);
		}
		listener_reap(&l, serve_now_ms());
		if (l.l_fd == -1 && l.l_nconns == 0)
			return 0;
		now = serve_now_ms();
		if (listener_listen(&l, l.l_nconns < l.l_env->e_maxconns &&
		    l.l_pause_until <= now) == -1)
			return 111;
		n = epoll_pwait(l.l_ep, evs, LISTENER_EVENTS,
		    listener_timeout(&l, now), serve_sigmask());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("listener: epoll_wait");
			return 111;
		}
		/* Serve the connections ready, then take new ones. */
		accepting = 0;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accepting = 1;
			else if (((struct echo_conn *)evs[i].data.ptr)->ec_fd
			    != -1)
				listener_step(&l, evs[i].data.ptr);
		}
		if (accepting && l.l_fd != -1 && !serve_stopping() &&
		    listener_accept(&l) == -1)
			return 111;
	}
}
