/*
 * loop: the two ways httpd is handed work (DESIGN.md, the inetd contract).
 *
 * A listening socket (prefork.N, wait): the worker loop of nginx and
 * lighttpd, one process serving many connections with epoll(7) and
 * non-blocking sockets, so an idle keep-alive connection costs a slot,
 * never the whole worker. A connected socket or stdio (nowait, inetd,
 * tcpserver): poll(2) on the one connection.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"

#define LOOP_EVENTS	64	/* epoll events per wakeup */
#define LOOP_ACCEPTS	32	/* connections accepted per wakeup */
#define LOOP_FCACHE	UINT64_MAX	/* epoll data of the cache's inotify fd */

struct loop {
	struct httpd	*l_h;
	int		 l_ep;
	int		 l_lfd;
	int		 l_listening;	/* the listener is in the epoll set */
	struct conn	**l_conns;	/* slot -> connection */
	int		*l_events;	/* slot -> events registered */
	int		*l_free;	/* stack of free slots */
	int		 l_nfree;
	/*
	 * No connection's deadline is before this (ms): the slots are only
	 * scanned once it has passed, not every round (512 slots by
	 * default, most of them empty).
	 */
	long long	 l_next;
};

static int	loop_epoll_events(int);
static void	loop_listen(struct loop *, int);
static void	loop_accept(struct loop *);
static void	loop_close(struct loop *, int);
static void	loop_update(struct loop *, int);
static int	loop_wait_ms(struct loop *);
static void	loop_deadline(struct loop *, int);
static void	loop_timeouts(struct loop *);
static void	loop_watch(struct loop *);
static void	loop_dispatch(struct loop *, const struct epoll_event *, int);

/*
 * EPOLLRDHUP only while reading: the set is level-triggered, so a peer
 * that shut its side while we wait to write would wake us at once,
 * forever, and the worker would spin until the deadline. A write to a
 * peer that is gone fails by itself.
 */
static int
loop_epoll_events(int pollev)
{
	return (pollev & POLLIN ? EPOLLIN | EPOLLRDHUP : 0) |
	    (pollev & POLLOUT ? EPOLLOUT : 0);
}

/*
 * Listen or not: when every slot is taken the listener leaves the set,
 * so the kernel's backlog (and the other workers) hold new clients.
 * EPOLLEXCLUSIVE wakes one waiting worker per connection, not all.
 */
static void
loop_listen(struct loop *l, int on)
{
	struct epoll_event ev;

	if (on == l->l_listening)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.u64 = 0;
	if (on && epoll_ctl(l->l_ep, EPOLL_CTL_ADD, l->l_lfd, &ev) == -1)
		fatal("epoll_ctl add listener");
	if (!on && epoll_ctl(l->l_ep, EPOLL_CTL_DEL, l->l_lfd, &ev) == -1)
		fatal("epoll_ctl del listener");
	l->l_listening = on;
}

static void
loop_close(struct loop *l, int slot)
{
	struct conn *c = l->l_conns[slot];
	int fd;

	/* close(2) takes a socket no one else holds out of the set. */
	if (conn_shared(c)) {
		conn_events(c, &fd);
		epoll_ctl(l->l_ep, EPOLL_CTL_DEL, fd, NULL);
	}
	conn_free(c);
	l->l_conns[slot] = NULL;
	l->l_free[l->l_nfree++] = slot;
}

/* Register what slot's connection waits for now, if it changed. */
static void
loop_update(struct loop *l, int slot)
{
	struct epoll_event ev;
	int fd, want;

	want = conn_events(l->l_conns[slot], &fd);
	if (want == l->l_events[slot])
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = loop_epoll_events(want);
	ev.data.u64 = (uint64_t)slot + 1;
	if (epoll_ctl(l->l_ep, l->l_events[slot] == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD, fd, &ev) == -1) {
		log_warn("epoll_ctl");
		loop_close(l, slot);
		return;
	}
	l->l_events[slot] = want;
}

static void
loop_accept(struct loop *l)
{
	struct serve_peer peer;
	struct conn *c;
	int fd, i, slot;

	for (i = 0; i < LOOP_ACCEPTS && l->l_nfree > 0; i++) {
		fd = serve_accept(l->l_lfd, SOCK_NONBLOCK | SOCK_CLOEXEC, &peer);
		if (fd == -1) {
			switch (serve_accept_error(errno)) {
			case SERVE_ACCEPT_RETRY:
				continue;
			case SERVE_ACCEPT_NONE:
				return;	/* another worker took it */
			case SERVE_ACCEPT_PAUSE:
			case SERVE_ACCEPT_FATAL:
				/* EMFILE and the like: try again later. */
				log_warn("accept");
				return;
			}
		}
		if ((c = conn_new(l->l_h, fd, fd, &peer, 1)) == NULL) {
			log_warn("conn_new");
			serve_close(fd);
			continue;
		}
		slot = l->l_free[--l->l_nfree];
		l->l_conns[slot] = c;
		l->l_events[slot] = 0;
		/*
		 * A client sends its request right after the handshake, so
		 * it is most often here already: answer it now, and a
		 * connection closed after one response never enters the
		 * epoll set at all.
		 */
		if (conn_event(c) == -1) {
			loop_close(l, slot);
			continue;
		}
		loop_deadline(l, slot);
		loop_update(l, slot);
	}
}

/* Slot's connection may have a new deadline: keep l_next below it. */
static void
loop_deadline(struct loop *l, int slot)
{
	long long d;

	if (l->l_conns[slot] != NULL &&
	    (d = conn_deadline(l->l_conns[slot])) < l->l_next)
		l->l_next = d;
}

/* Milliseconds until the earliest connection deadline; -1: none. */
static int
loop_wait_ms(struct loop *l)
{
	long long now;

	if (l->l_next == LLONG_MAX)
		return -1;
	now = serve_now_ms();
	return l->l_next <= now ? 0 : (int)(l->l_next - now);
}

/* A deadline has passed: time out whom it concerns, find the next one. */
static void
loop_timeouts(struct loop *l)
{
	long long now = serve_now_ms();
	int slot;

	l->l_next = LLONG_MAX;
	for (slot = 0; slot < l->l_h->h_maxconn; slot++) {
		if (l->l_conns[slot] == NULL)
			continue;
		if (conn_deadline(l->l_conns[slot]) <= now &&
		    conn_timeout(l->l_conns[slot]) == -1) {
			loop_close(l, slot);
			continue;
		}
		loop_deadline(l, slot);
		loop_update(l, slot);
	}
}

/*
 * Watch the open-file cache's files (fcache.c) through the epoll set,
 * so a cached file is trusted without an fstatat(2) until it changes.
 */
static void
loop_watch(struct loop *l)
{
	struct epoll_event ev;
	int fd;

	if ((fd = fcache_watch(l->l_h->h_rootfd)) == -1)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = LOOP_FCACHE;
	if (epoll_ctl(l->l_ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl add inotify");
}

/*
 * The n events of one round: the cache's changes first, so that no
 * request of the round is answered from a file that changed before it
 * was sent; then new connections and the ready ones.
 */
static void
loop_dispatch(struct loop *l, const struct epoll_event *evs, int n)
{
	int i, slot;

	for (i = 0; i < n; i++)
		if (evs[i].data.u64 == LOOP_FCACHE)
			fcache_events();
	for (i = 0; i < n; i++) {
		if (evs[i].data.u64 == LOOP_FCACHE)
			continue;
		if (evs[i].data.u64 == 0) {
			loop_accept(l);
			continue;
		}
		slot = (int)evs[i].data.u64 - 1;
		if (l->l_conns[slot] == NULL)
			continue;
		if (conn_event(l->l_conns[slot]) == -1)
			loop_close(l, slot);
		else {
			loop_deadline(l, slot);
			loop_update(l, slot);
		}
	}
}

int
loop_listener(int lfd, void *arg)
{
	struct httpd *h = arg;
	struct epoll_event evs[LOOP_EVENTS];
	struct loop l;
	int i, n;

	memset(&l, 0, sizeof(l));
	l.l_h = h;
	l.l_lfd = lfd;
	l.l_next = LLONG_MAX;
	if (serve_nonblock(lfd, 1) == -1)
		fatal("listener: O_NONBLOCK");
	if ((l.l_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	l.l_conns = calloc(h->h_maxconn, sizeof(*l.l_conns));
	l.l_events = calloc(h->h_maxconn, sizeof(*l.l_events));
	l.l_free = calloc(h->h_maxconn, sizeof(*l.l_free));
	if (l.l_conns == NULL || l.l_events == NULL || l.l_free == NULL)
		fatal("calloc");
	for (i = 0; i < h->h_maxconn; i++)
		l.l_free[l.l_nfree++] = h->h_maxconn - 1 - i;
	loop_listen(&l, 1);
	loop_watch(&l);
	alog_batch(h->h_debug);

	for (;;) {
		/*
		 * The supervisor died, or SIGTERM drains (lib/serve.h): no
		 * new connections, the port let go at once, after taking
		 * what its backlog holds for us (a close would reset it);
		 * the open ones end after their current response (conn.c).
		 */
		if (serve_stopping() && l.l_lfd != -1) {
			loop_accept(&l);
			loop_listen(&l, 0);
			serve_close_listener(l.l_lfd);
			l.l_lfd = -1;
			log_info("%s: finishing %d connections",
			    serve_stop_reason(), h->h_maxconn - l.l_nfree);
		}
		if (l.l_lfd == -1 && l.l_nfree == h->h_maxconn)
			return 0;
		n = epoll_pwait(l.l_ep, evs, LOOP_EVENTS, loop_wait_ms(&l),
		    serve_sigmask());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return 111;
		}
		loop_dispatch(&l, evs, n);
		if (l.l_next <= serve_now_ms())
			loop_timeouts(&l);
		loop_listen(&l, l.l_nfree > 0 && l.l_lfd != -1 &&
		    !serve_stopping());
		/* The access log lines of this round, in one send. */
		alog_flush();
	}
}

int
loop_connection(int rfd, int wfd, const struct serve_peer *peer, void *arg)
{
	struct httpd *h = arg;
	struct pollfd pfd;
	struct conn *c;
	long long left;
	int n, type, issock;
	socklen_t len = sizeof(type);

	/* Sockets only: a terminal's O_NONBLOCK would outlive us. */
	if ((issock = getsockopt(rfd, SOL_SOCKET, SO_TYPE, &type,
	    &len) == 0)) {
		serve_nonblock(rfd, 1);
		if (wfd != rfd)
			serve_nonblock(wfd, 1);
	}
	if ((c = conn_new(h, rfd, wfd, peer, rfd == wfd ? issock : -1)) == NULL)
		fatal("conn_new");
	alog_batch(h->h_debug);
	for (;;) {
		alog_flush();
		pfd.events = conn_events(c, &pfd.fd);
		pfd.revents = 0;
		left = conn_deadline(c) - serve_now_ms();
		n = poll(&pfd, 1, left < 0 ? 0 : (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("poll");
			break;
		}
		if (n == 0) {
			if (conn_timeout(c) == -1)
				break;
			continue;
		}
		if (conn_event(c) == -1)
			break;
	}
	conn_free(c);
	alog_flush();
	return 0;
}
