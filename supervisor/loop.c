/*
 * loop: forkd's one event loop: poll(2) over the listeners, the children's
 * stderr pipes and a signalfd(2) for SIGCHLD, SIGHUP, SIGTERM, SIGINT,
 * SIGUSR1 and SIGUSR2. Signal handlers do nothing; the loop acts
 * (OpenSSH's server_accept_loop). Also the accept of nowait services, the
 * looping guard and the drain.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <libutil.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "forkd.h"
#include "log.h"

#define LOOP_KILL_MS	1000	/* after the drain's second TERM, KILL */
#define LOOP_ACCEPTS	16	/* accepts per listener per loop turn */

static void	loop_accept(struct forkd *, struct servtab *);
static int	loop_rate(struct servtab *);

/*
 * inetd's looping guard: more than se_max spawns in 60 s disables the
 * service for 10 minutes, its socket closed so clients are refused rather
 * than left to time out.
 */
static int
loop_rate(struct servtab *sep)
{
	long long now = clock_ms();

	if (sep->se_max == 0)
		return 1;
	if (sep->se_count_start == 0 || now - sep->se_count_start >= 60000) {
		sep->se_count_start = now;
		sep->se_count = 0;
	}
	if (++sep->se_count <= sep->se_max)
		return 1;
	log_warnx("%s: more than %d spawns in 60 s (looping?): service "
	    "disabled for %d minutes", sep->se_name, sep->se_max,
	    SE_RETRY_MS / 60000);
	listen_close(sep);
	sep->se_disabled_until = now + SE_RETRY_MS;
	return 0;
}

static void
loop_accept(struct forkd *f, struct servtab *sep)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	if (sep->se_mode == SE_WAIT) {
		if (!loop_rate(sep))
			return;
		if (spawn_handler(f, sep, sep->se_fd, NULL) != -1)
			sep->se_busy = 1;
		else
			sep->se_pause_until = clock_ms() + 1000;
		return;
	}
	for (i = 0; i < LOOP_ACCEPTS && sep->se_fd != -1; i++) {
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(sep->se_fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("%s: accept", sep->se_name);
			return;
		}
		if (loop_rate(sep) &&
		    spawn_handler(f, sep, fd, &ss) == -1) {
			/* Out of processes: the backlog waits a second. */
			sep->se_pause_until = clock_ms() + 1000;
			close(fd);
			return;
		}
		close(fd);
	}
}

/*
 * The drain: listeners close at once (new clients are refused, or wait in
 * the backlog of a socket an upgraded forkd or systemd still holds);
 * handlers holding a listener get SIGTERM, which for them means "stop
 * accepting, finish the connections in hand, exit" (lib/serve.h); nowait
 * handlers finish their one connection. At the bound (-t) what is left
 * gets SIGTERM (a second one for the draining handlers, which ends them),
 * then SIGKILL.
 */
void
loop_drain(struct forkd *f)
{
	struct servtab *sep;

	if (f->stopping)
		return;
	f->stopping = 1;
	f->stop_deadline = clock_ms() + f->stop_ms;
	f->kill_deadline = 0;
	/* A new forkd still starting would serve on without us: stop it. */
	if (f->up.up_pid != 0) {
		log_warnx("stopping: ending pid %ld, the upgrade under way",
		    (long)f->up.up_pid);
		kill(f->up.up_pid, SIGTERM);
		if (f->up.up_fd != -1)
			close(f->up.up_fd);
		f->up.up_fd = -1;
		f->up.up_pid = 0;
	}
	for (sep = f->services; sep != NULL; sep = sep->se_next)
		listen_close(sep);
	log_info("stopping: %zu children to end within %d ms", f->nchildren,
	    f->stop_ms);
	child_signal_listeners(f, SIGTERM);
}

static void __attribute__((noreturn))
loop_exit(struct forkd *f)
{
	struct child *ch;

	if (f->nchildren > 0) {
		log_warnx("stopping: %zu children did not end in %d ms: "
		    "killing them", f->nchildren, f->stop_ms);
		child_signal(f, NULL, SIGKILL);
		while ((ch = child_next(f, NULL)) != NULL) {
			waitpid(ch->ch_pid, NULL, 0);
			spawn_forget(f, ch);
		}
	}
	if (f->pfh != NULL)
		pidfile_remove(f->pfh);
	if (f->up.up_handed != 0)
		log_info("stopped: pid %ld serves", (long)f->up.up_handed);
	else
		log_info("stopped");
	exit(0);
}

static void
loop_signals(struct forkd *f)
{
	struct signalfd_siginfo si;
	ssize_t n;

	for (;;) {
		n = read(f->sigfd, &si, sizeof(si));
		if (n != sizeof(si))
			break;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_children(f);
			break;
		case SIGHUP:
			if (!f->stopping)
				reload_conf(f);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: stopping", strsignal(si.ssi_signo));
			loop_drain(f);
			break;
		case SIGUSR1:
			status_log(f);
			break;
		case SIGUSR2:
			upgrade_start(f);
			break;
		}
	}
	/* Signals coalesce: reap whatever has ended, whatever woke us. */
	reap_children(f);
}

/* What one poll(2) watches: [0] signals, [1] the upgrade, listeners, pipes. */
struct loop_poll {
	struct pollfd	*lp_pfd;
	struct servtab	**lp_sep;	/* the listeners' services */
	struct child	**lp_ch;	/* the pipes' children */
	size_t		 lp_n;
	size_t		 lp_nlisten;	/* listeners end here, pipes start */
	size_t		 lp_max;
};

/*
 * The drain's bounds (at the first, SIGTERM to what is left; then exit),
 * the upgrade's, and the end of the looping guard's pauses.
 */
static void
loop_deadlines(struct forkd *f, long long now)
{
	struct servtab *sep;

	if (f->stopping && (f->nchildren == 0 ||
	    (f->kill_deadline != 0 && now >= f->kill_deadline)))
		loop_exit(f);
	if (f->stopping && f->kill_deadline == 0 && now >= f->stop_deadline) {
		log_warnx("stopping: %zu children still run at the bound of "
		    "%d ms: SIGTERM", f->nchildren, f->stop_ms);
		child_signal(f, NULL, SIGTERM);
		f->kill_deadline = now + LOOP_KILL_MS;
	}
	upgrade_timeout(f);

	/* Services disabled by the looping guard come back. */
	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		if (f->stopping || sep->se_disabled_until == 0 ||
		    now < sep->se_disabled_until)
			continue;
		sep->se_disabled_until = 0;
		log_info("%s: enabled again", sep->se_name);
		if (listen_start(sep) == -1)
			sep->se_disabled_until = now + 60000;
	}
}

/* How long poll may wait (ms): the pools' next spawn, the drain's bound. */
static int
loop_timeout(struct forkd *f, long long now)
{
	int timeout = 1000, w;

	if ((w = pool_refill(f)) >= 0 && w < timeout)
		timeout = w;
	if (f->stopping && (w = (int)((f->kill_deadline != 0 ?
	    f->kill_deadline : f->stop_deadline) - now)) < timeout)
		timeout = w < 0 ? 0 : w;
	return timeout;
}

/* Room for every service and child, and the two fixed entries. */
static void
loop_grow(struct forkd *f, struct loop_poll *lp)
{
	struct servtab *sep;
	size_t nsvc = 0;

	for (sep = f->services; sep != NULL; sep = sep->se_next)
		nsvc++;
	if (2 + nsvc + f->nchildren <= lp->lp_max)
		return;
	lp->lp_max = 2 + nsvc + f->nchildren + 64;
	free(lp->lp_pfd);
	free(lp->lp_sep);
	free(lp->lp_ch);
	lp->lp_pfd = calloc(lp->lp_max, sizeof(*lp->lp_pfd));
	lp->lp_sep = calloc(lp->lp_max, sizeof(*lp->lp_sep));
	lp->lp_ch = calloc(lp->lp_max, sizeof(*lp->lp_ch));
	if (lp->lp_pfd == NULL || lp->lp_sep == NULL || lp->lp_ch == NULL)
		fatal("calloc");
}

static void
loop_watch(struct loop_poll *lp, int fd)
{
	lp->lp_pfd[lp->lp_n].fd = fd;
	lp->lp_pfd[lp->lp_n].events = POLLIN;
	lp->lp_pfd[lp->lp_n].revents = 0;
	lp->lp_n++;
}

/*
 * Fill lp: the signalfd, the upgrade's handshake, each listener forkd
 * accepts on now (not a pool's, a busy wait service's, one paused after a
 * failed fork, which shortens *timeout), each child's stderr pipe.
 */
static void
loop_fill(struct forkd *f, struct loop_poll *lp, long long now, int *timeout)
{
	struct servtab *sep;
	struct child *ch;

	loop_grow(f, lp);
	lp->lp_n = 0;
	loop_watch(lp, f->sigfd);
	/* The new forkd's handshake, while an upgrade is under way. */
	loop_watch(lp, f->up.up_fd);
	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		if (sep->se_fd == -1 || sep->se_mode == SE_PREFORK ||
		    sep->se_busy || f->stopping)
			continue;
		/* nowait max-child: the backlog waits for an exit. */
		if (sep->se_mode == SE_NOWAIT && sep->se_maxchild > 0 &&
		    sep->se_nchild >= sep->se_maxchild)
			continue;
		/* Turned nowait, its old handlers still hold it. */
		if (sep->se_mode == SE_NOWAIT && !sep->se_nonblock)
			continue;
		if (now < sep->se_pause_until) {
			if (sep->se_pause_until - now < *timeout)
				*timeout = (int)(sep->se_pause_until - now);
			continue;
		}
		lp->lp_sep[lp->lp_n] = sep;
		loop_watch(lp, sep->se_fd);
	}
	lp->lp_nlisten = lp->lp_n;
	for (ch = NULL; (ch = child_next(f, ch)) != NULL;) {
		lp->lp_ch[lp->lp_n] = ch;
		loop_watch(lp, ch->ch_errfd);
	}
}

/* Act on what poll found. */
static void
loop_dispatch(struct forkd *f, struct loop_poll *lp)
{
	struct pollfd *pfd = lp->lp_pfd;
	struct servtab *sep;
	size_t i;

	/*
	 * Children's pipes first: the entries below hold only until
	 * a child is added or reaped (the table moves).
	 */
	for (i = lp->lp_nlisten; i < lp->lp_n; i++)
		if (pfd[i].revents != 0 && pfd[i].fd != -1)
			spawn_stderr(f, lp->lp_ch[i]);
	for (i = 2; i < lp->lp_nlisten; i++) {
		sep = lp->lp_sep[i];
		if (pfd[i].revents != 0 && sep->se_fd != -1 &&
		    !sep->se_busy && !f->stopping)
			loop_accept(f, sep);
	}
	if (pfd[1].revents != 0 && f->up.up_fd != -1)
		upgrade_read(f);
	if (pfd[0].revents & POLLIN)
		loop_signals(f);
}

void
loop_run(struct forkd *f)
{
	struct loop_poll lp;
	long long now;
	int timeout;

	memset(&lp, 0, sizeof(lp));
	for (;;) {
		now = clock_ms();
		loop_deadlines(f, now);
		timeout = loop_timeout(f, now);
		loop_fill(f, &lp, now, &timeout);
		if (poll(lp.lp_pfd, lp.lp_n, timeout) == -1) {
			if (errno != EINTR)
				fatal("poll");
			continue;
		}
		loop_dispatch(f, &lp);
	}
}
