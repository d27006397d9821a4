/*
 * drain: the graceful stop of a handler that serves a listening socket
 * (forkd "prefork.N", or "wait" on a stream), one convention for every
 * handler and every reason to stop (forkd's SIGTERM, its binary upgrade,
 * a supervisor that went away):
 *
 *   SIGTERM means "stop accepting, finish the connections in hand, exit".
 *
 * The first SIGTERM sets the flag drain_requested() reads; the handler
 * then closes its descriptors of the listener at once (so the socket can
 * close, and new clients are refused rather than queued to be reset),
 * serves what it holds within its own deadlines, and exits 0. A second
 * SIGTERM ends the process at once (SA_RESETHAND), which is what a
 * supervisor sends when its bound for the drain has passed.
 */
#ifndef FORKD_DRAIN_H
#define FORKD_DRAIN_H

#include <sys/epoll.h>

#include <poll.h>
#include <signal.h>

/* How a loop learns of the stop (drain_watch's how). */
enum drain_how {
	/*
	 * SIGTERM is blocked but while the loop waits in drain_poll() or
	 * drain_epoll_wait(), so a stop that comes between the loop's check
	 * and its wait is never lost. The loop closes the listener itself
	 * (drain_close_listener). For loops that multiplex with poll/epoll.
	 */
	DRAIN_WAIT,
	/*
	 * SIGTERM stays unblocked and its handler closes the listener's
	 * descriptors itself: an accept(2) blocked on it, or entered after
	 * the signal, then fails with EBADF at once (SA_RESTART restarts it
	 * on the closed descriptor). For loops that block in accept(2) and
	 * serve one connection at a time.
	 */
	DRAIN_CLOSE,
};

/*
 * Catch SIGTERM as above for listener lfd, as forkd and inetd hand it:
 * on fd 0, and on fd 1 as well when fd 1 is the same socket. Call once,
 * before the loop. Returns 0, or -1 with errno from sigaction(2) or
 * sigprocmask(2).
 */
int	drain_watch(int lfd, enum drain_how how);

/* 1 once SIGTERM asked for a drain, else 0. */
int	drain_requested(void);

/*
 * Close this process's descriptors of the listener given to drain_watch
 * (lfd, and fd 1 when it is the same socket); the kernel's socket closes
 * when its last holder does. Idempotent.
 */
void	drain_close_listener(void);

/*
 * poll(2) and epoll_wait(2) for a DRAIN_WAIT loop: ppoll(2) and
 * epoll_pwait(2) with SIGTERM unblocked for the wait only. timeout_ms in
 * milliseconds, -1 for none. Return as the calls do (-1 with EINTR when
 * SIGTERM came).
 */
int	drain_poll(struct pollfd *pfd, nfds_t n, int timeout_ms);
int	drain_epoll_wait(int ep, struct epoll_event *ev, int n,
	    int timeout_ms);

#endif
