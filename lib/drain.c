/*
 * drain: SIGTERM as a handler's graceful stop; see drain.h.
 */
#include <sys/epoll.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drain.h"

static volatile sig_atomic_t drain_flag;
/* The listener's descriptors; the handler closes them in DRAIN_CLOSE. */
static volatile int drain_fds[2] = { -1, -1 };
static enum drain_how drain_mode;
/* The signal mask to wait with: the loop's, SIGTERM unblocked. */
static sigset_t drain_waitmask;

static void	drain_handler(int);

static void
drain_handler(int sig)
{
	int e = errno, i;

	(void)sig;
	drain_flag = 1;
	if (drain_mode == DRAIN_CLOSE)
		for (i = 0; i < 2; i++)
			if (drain_fds[i] != -1) {
				close(drain_fds[i]);
				drain_fds[i] = -1;
			}
	errno = e;
}

int
drain_watch(int lfd, enum drain_how how)
{
	struct sigaction sa;
	struct stat a, b;
	sigset_t term;

	drain_fds[0] = lfd;
	drain_fds[1] = -1;
	/* forkd and inetd put the listener on fds 0 and 1 alike. */
	if (lfd == 0 && fstat(0, &a) == 0 && fstat(1, &b) == 0 &&
	    S_ISSOCK(a.st_mode) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		drain_fds[1] = 1;
	drain_mode = how;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, how == DRAIN_WAIT ? &term : NULL,
	    &drain_waitmask) == -1)
		return -1;
	sigdelset(&drain_waitmask, SIGTERM);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = drain_handler;
	sigemptyset(&sa.sa_mask);
	/*
	 * SA_RESETHAND: a second SIGTERM takes the default action. SA_RESTART:
	 * the connections being served see no EINTR in their reads.
	 */
	sa.sa_flags = SA_RESETHAND | SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) == -1)
		return -1;
	/* A SIGTERM that came before the handler was set ended us; fine. */
	if (how == DRAIN_CLOSE)
		(void)sigprocmask(SIG_UNBLOCK, &term, NULL);
	return 0;
}

int
drain_requested(void)
{
	return drain_flag != 0;
}

void
drain_close_listener(void)
{
	sigset_t term, old;
	int i;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	for (i = 0; i < 2; i++)
		if (drain_fds[i] != -1) {
			close(drain_fds[i]);
			drain_fds[i] = -1;
		}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
drain_poll(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec ts;

	if (timeout_ms < 0)
		return ppoll(pfd, n, NULL, &drain_waitmask);
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
	return ppoll(pfd, n, &ts, &drain_waitmask);
}

int
drain_epoll_wait(int ep, struct epoll_event *ev, int n, int timeout_ms)
{
	return epoll_pwait(ep, ev, n, timeout_ms, &drain_waitmask);
}
