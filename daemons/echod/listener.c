/*
 * listener: many echo connections in one process (forkd prefork.N, or
 * wait on a stream), the classic non-blocking server: a main loop that
 * accepts and polls, and handle_connection() for each ready connection.
 *
 * The workers of a pool share one listener and wait in poll(2), which
 * wakes every worker that sleeps when a connection arrives: a worker
 * that loses the race gets EAGAIN. With a pool of a few workers that
 * herd is small (3 accepts in 100 found nothing, two workers and 32
 * clients at a time here), and poll's wait-queue entries exist only
 * while a worker sleeps. An epoll set per worker with the listener as
 * EPOLLEXCLUSIVE woke fewer workers, but its entries stay on every
 * socket, so each arriving segment runs its callback under their locks,
 * on the sending client's CPU: there it cost more than the herd saved
 * (the wake-up path 2-4 % of a loopback client's time with poll, 5-7 %
 * with epoll; twice the context switches per connection). A woken worker
 * accepts until the backlog is empty (accept4(2) until EAGAIN), and
 * reads each new connection at once: a client that speaks first (RFC
 * 862) has usually sent its bytes before the accept.
 *
 * Bounds: at most e_maxconns connections at once (past it the listener
 * is not polled, so the kernel's backlog and the other workers hold the
 * callers), ECHO_BUFSZ bytes each, and e_idle seconds without progress
 * before a connection is dropped, so dead peers do not hold slots.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod.h"
#include "log.h"

/* After EMFILE and the like, rest the listener this long (ms). */
#define LISTENER_PAUSE_MS	1000
/*
 * Closed connections kept for the next ones, so a short connection
 * costs no calloc(3) of its buffer (and no brk(2) to give it back).
 */
#define LISTENER_SPARE		32

struct listener {
	const struct echod *l_env;
	int		 l_fd;
	struct echo_conn **l_conns;
	struct pollfd	*l_pfd;	/* [0] the listener, [1 + i] l_conns[i] */
	int		 l_nconns;
	struct echo_conn *l_spare[LISTENER_SPARE];
	int		 l_nspare;
	long long	 l_pause_until;	/* accept again from this time (ms) */
};

static int	listener_accept(struct listener *);
static int	listener_timeout(const struct listener *, long long);
static void	listener_reap(struct listener *, long long);

/* Accept what is pending, up to the bound. Returns 0, or -1 on failure. */
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
		if (!handle_connection(ec))
			echo_close(ec);
	}
	return 0;
}

/* Milliseconds poll(2) may sleep: until the first idle deadline. */
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

int
echo_listener(int lfd, void *arg)
{
	struct listener l;
	long long now;
	int i, n, nconns;

	memset(&l, 0, sizeof(l));
	l.l_env = arg;
	l.l_fd = lfd;
	l.l_conns = calloc(l.l_env->e_maxconns, sizeof(*l.l_conns));
	l.l_pfd = calloc(l.l_env->e_maxconns + 1, sizeof(*l.l_pfd));
	if (l.l_conns == NULL || l.l_pfd == NULL) {
		log_warn("listener: calloc");
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
		/*
		 * The supervisor died, or SIGTERM drains (lib/serve.h): no
		 * new connections, the port let go at once, after taking
		 * what its backlog holds for us (a close would reset it);
		 * the open ones run to their end.
		 */
		if (serve_stopping() && lfd != -1) {
			if (listener_accept(&l) == -1)
				return 111;
			serve_close_listener(lfd);
			lfd = -1;
			log_info("listener: %s: finishing %d connections",
			    serve_stop_reason(), l.l_nconns);
		}
		/* Those listener_accept() served to their end, too. */
		listener_reap(&l, serve_now_ms());
		if (lfd == -1 && l.l_nconns == 0)
			return 0;
		now = serve_now_ms();
		l.l_pfd[0].fd = lfd;
		l.l_pfd[0].events = POLLIN;
		l.l_pfd[0].revents = 0;
		if (l.l_nconns >= l.l_env->e_maxconns || l.l_pause_until > now)
			l.l_pfd[0].fd = -1;	/* poll(2) skips it */
		nconns = l.l_nconns;
		for (i = 0; i < nconns; i++) {
			l.l_pfd[1 + i].fd = l.l_conns[i]->ec_fd;
			l.l_pfd[1 + i].events = echo_events(l.l_conns[i]);
			l.l_pfd[1 + i].revents = 0;
		}
		n = serve_poll(l.l_pfd, 1 + nconns, listener_timeout(&l, now));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("listener: poll");
			return 111;
		}
		/* Serve the connections polled, then take new ones. */
		for (i = 0; i < nconns; i++) {
			if (l.l_pfd[1 + i].revents == 0)
				continue;
			if (!handle_connection(l.l_conns[i]))
				echo_close(l.l_conns[i]);
		}
		listener_reap(&l, serve_now_ms());
		if (lfd != -1 && !serve_stopping() &&
		    (l.l_pfd[0].revents & (POLLIN | POLLERR | POLLHUP)))
			if (listener_accept(&l) == -1)
				return 111;
	}
}

