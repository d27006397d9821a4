/*
 * forkd: a supervisor in the tradition of inetd(8).
 *
 * Binds every listener first (a bind failure is an error before anything
 * detaches), then daemon(3), a pidfile, and one event loop: poll(2) over
 * the listeners, the children's stderr pipes and a signalfd(2) for
 * SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1 and SIGUSR2. Signal handlers
 * do nothing; the loop acts (OpenSSH's server_accept_loop).
 */
#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <paths.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "forkd.h"
#include "log.h"
#include "persource.h"

#define FORKD_CONF	PREFIX "/etc/forkd.conf"
#define FORKD_PIDFILE	"/var/run/forkd.pid"
#define FORKD_STOP_MS	5000	/* -t: how long a drain may take */
#define FORKD_KILL_MS	1000	/* then after a second TERM, KILL */
#define FORKD_ACCEPTS	16	/* accepts per listener per loop turn */

extern char **environ;

static int	forkd_open(struct servtab *);
static void	forkd_reconfig(struct forkd *);
static void	forkd_loop(struct forkd *) __attribute__((noreturn));
static void	forkd_accept(struct forkd *, struct servtab *);
static int	forkd_rate(struct servtab *);
static void	forkd_blocking(struct servtab *);
static int	forkd_pidfile_write(struct pidfh *);
static int	forkd_pidfile_read(const char *, pid_t *);

static const char usage[] =
    "forkd [-dnv] [-f config] [-p pidfile] [-t seconds]\n";

/*
 * Write the pidfile as one text line, "1234\n": pidfile_write(3) leaves
 * the newline out, and a shell's `read pid <file` then reports failure.
 * Returns 0, or -1 with errno set.
 */
static int
forkd_pidfile_write(struct pidfh *pfh)
{
	char line[32];
	int n;

	if (pidfile_write(pfh) == -1)
		return -1;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (pwrite(pidfile_fileno(pfh), line, n, 0) != n)
		return -1;
	return 0;
}

/*
 * The pid in the pidfile path, "1234\n" as forkd_pidfile_write puts it:
 * pidfile_open(3) reads a running forkd's pid only without the newline
 * and fails with EINVAL. Returns 0, or -1 when the file holds no pid.
 */
static int
forkd_pidfile_read(const char *path, pid_t *pid)
{
	char line[32], *end;
	ssize_t n;
	long v;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	errno = 0;
	v = strtol(line, &end, 10);
	if (errno != 0 || end == line || v <= 0 || strcmp(end, "\n") != 0)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

static const char *
mode_name(const struct servtab *sep, char *buf, size_t len)
{
	if (sep->se_mode == SE_PREFORK)
		snprintf(buf, len, "prefork.%d", sep->se_max);
	else
		snprintf(buf, len, "%s", sep->se_mode == SE_WAIT ? "wait" :
		    "nowait");
	return buf;
}

/*
 * The parent accepts for nowait services: their listeners are
 * non-blocking. wait and prefork handlers accept themselves and may
 * expect a blocking socket, and O_NONBLOCK is shared by every process
 * holding the socket, so theirs are blocking.
 */
static void
forkd_blocking(struct servtab *sep)
{
	int fl;

	if (sep->se_fd == -1 || (fl = fcntl(sep->se_fd, F_GETFL)) == -1)
		return;
	if (sep->se_mode == SE_NOWAIT)
		fl |= O_NONBLOCK;
	else if (!sep->se_inherited)
		fl &= ~O_NONBLOCK;
	/*
	 * An inherited socket is left as its holders have it: the old
	 * forkd's handlers (echod, httpd) made it non-blocking and still
	 * accept on it while they drain; made blocking, one of them could
	 * sleep in accept(2) with its drain signal blocked.
	 */
	fcntl(sep->se_fd, F_SETFL, fl);
}

/* Bind sep if it is not bound; -1 (logged) when that fails. */
static int
forkd_open(struct servtab *sep)
{
	char msg[256], mode[32];

	if (sep->se_fd != -1)
		return 0;
	if (listen_open(sep, msg, sizeof(msg)) == -1) {
		log_warnx("%s", msg);
		return -1;
	}
	forkd_blocking(sep);
	/*
	 * Bound anew (a reload or the end of the looping guard's pause):
	 * the spawns that tripped the guard count no more, or the next
	 * connection would trip it again.
	 */
	sep->se_disabled_until = 0;
	sep->se_count = 0;
	sep->se_count_start = 0;
	log_info("%s: listening, %s, %s as %s", sep->se_name,
	    mode_name(sep, mode, sizeof(mode)), sep->se_program,
	    sep->se_user);
	return 0;
}

/*
 * inetd's looping guard: more than se_max spawns in 60 s disables the
 * service for 10 minutes, its socket closed so clients are refused rather
 * than left to time out.
 */
static int
forkd_rate(struct servtab *sep)
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
forkd_accept(struct forkd *f, struct servtab *sep)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	if (sep->se_mode == SE_WAIT) {
		if (!forkd_rate(sep))
			return;
		if (spawn_handler(f, sep, sep->se_fd, NULL) != -1)
			sep->se_busy = 1;
		else
			sep->se_pause_until = clock_ms() + 1000;
		return;
	}
	for (i = 0; i < FORKD_ACCEPTS && sep->se_fd != -1; i++) {
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
		if (forkd_rate(sep) &&
		    spawn_handler(f, sep, fd, &ss) == -1) {
			/* Out of processes: the backlog waits a second. */
			sep->se_pause_until = clock_ms() + 1000;
			close(fd);
			return;
		}
		close(fd);
	}
}

static void
forkd_reconfig(struct forkd *f)
{
	struct servtab *list, *sep, *o;
	char err[8192], *line, *next;

	if (conf_parse(f->conffile, &list, err, sizeof(err)) == -1) {
		for (line = err; line != NULL && *line != '\0'; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			log_warnx("%s", line);
		}
		log_warnx("reload: %s has errors: the running configuration "
		    "stays", f->conffile);
		return;
	}
	for (o = f->services; o != NULL; o = o->se_next)
		o->se_matched = 0;
	for (sep = list; sep != NULL; sep = sep->se_next) {
		for (o = f->services; o != NULL; o = o->se_next)
			if (!o->se_matched && conf_same_listener(o, sep))
				break;
		if (o == NULL)
			continue;
		/* Kept: the socket and the children stay. */
		o->se_matched = 1;
		sep->se_fd = o->se_fd;
		/*
		 * Only a wait service waits for its handler: one that became
		 * nowait or prefork is forkd's to poll (or its pool's) now,
		 * and a reap would never clear se_busy for it.
		 */
		sep->se_busy = sep->se_mode == SE_WAIT ? o->se_busy : 0;
		sep->se_nchild = o->se_nchild;
		sep->se_count = o->se_count;
		sep->se_count_start = o->se_count_start;
		sep->se_disabled_until = o->se_disabled_until;
		sep->se_backoff = o->se_backoff;
		sep->se_next_spawn = o->se_next_spawn;
		/* The counts stay; new limits hold at once, everywhere. */
		sep->se_ps = o->se_ps;
		o->se_ps = NULL;
		if (sep->se_ps != NULL)
			persource_set(sep->se_ps, sep->se_maxperip,
			    sep->se_maxcpm);
		status_carry(sep, o);
		o->se_fd = -1;
		child_move(f, o, sep);
		/*
		 * O_NONBLOCK is shared with the handlers holding the socket
		 * (a multiplexing handler sets it itself): touch it only when
		 * the mode changes.
		 */
		if ((o->se_mode == SE_NOWAIT) != (sep->se_mode == SE_NOWAIT))
			forkd_blocking(sep);
		/* Prefork handlers of a changed program are replaced. */
		if (o->se_mode == SE_PREFORK && !conf_same_handler(o, sep)) {
			log_info("%s: handler changed: replacing the pool",
			    sep->se_name);
			child_signal(f, sep, SIGTERM);
			/* A fixed program starts at once, not after the
			 * broken one's back-off. */
			sep->se_backoff = 0;
			sep->se_next_spawn = 0;
		} else if (sep->se_mode == SE_PREFORK &&
		    sep->se_nchild > sep->se_max) {
			/* A smaller pool: end the handlers past its size. */
			log_info("%s: pool of %d: ending %d handlers",
			    sep->se_name, sep->se_max,
			    sep->se_nchild - sep->se_max);
			child_kill_excess(f, sep, sep->se_max, SIGTERM);
		}
	}
	for (o = f->services; o != NULL; o = o->se_next) {
		if (o->se_matched)
			continue;
		log_info("%s: removed", o->se_name);
		/* A pool accepts forever: stop it. Others finish. */
		if (o->se_mode == SE_PREFORK)
			child_signal(f, o, SIGTERM);
		child_move(f, o, NULL);
		listen_close(o);
	}
	conf_free(f->services);
	f->services = list;
	/* New services; a reload also ends a looping guard's pause. */
	for (sep = list; sep != NULL; sep = sep->se_next)
		if (forkd_open(sep) == -1 && sep->se_disabled_until == 0)
			/* Retried in a minute, as inetd does. */
			sep->se_disabled_until = clock_ms() + 60000;
	setproctitle("%s", f->conffile);
	log_info("reload: %s", f->conffile);
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
forkd_stop(struct forkd *f)
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
forkd_exit(struct forkd *f)
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
forkd_signals(struct forkd *f)
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
				forkd_reconfig(f);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: stopping", strsignal(si.ssi_signo));
			forkd_stop(f);
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

static void
forkd_loop(struct forkd *f)
{
	struct pollfd *pfd = NULL;
	struct servtab **psep = NULL, *sep;
	struct child **pch = NULL, *ch;
	size_t npfd, maxpfd = 0, i, nsvc, nlisten;
	long long now;
	int timeout, w;

	for (;;) {
		now = clock_ms();
		if (f->stopping && (f->nchildren == 0 ||
		    (f->kill_deadline != 0 && now >= f->kill_deadline)))
			forkd_exit(f);
		if (f->stopping && f->kill_deadline == 0 &&
		    now >= f->stop_deadline) {
			log_warnx("stopping: %zu children still run at the "
			    "bound of %d ms: SIGTERM", f->nchildren,
			    f->stop_ms);
			child_signal(f, NULL, SIGTERM);
			f->kill_deadline = now + FORKD_KILL_MS;
		}
		upgrade_timeout(f);

		/* Services disabled by the looping guard come back. */
		for (sep = f->services; sep != NULL; sep = sep->se_next) {
			if (f->stopping || sep->se_disabled_until == 0 ||
			    now < sep->se_disabled_until)
				continue;
			sep->se_disabled_until = 0;
			log_info("%s: enabled again", sep->se_name);
			if (forkd_open(sep) == -1)
				sep->se_disabled_until = now + 60000;
		}
		timeout = 1000;
		if ((w = pool_refill(f)) >= 0 && w < timeout)
			timeout = w;
		if (f->stopping && (w = (int)((f->kill_deadline != 0 ?
		    f->kill_deadline : f->stop_deadline) - now)) < timeout)
			timeout = w < 0 ? 0 : w;

		nsvc = 0;
		for (sep = f->services; sep != NULL; sep = sep->se_next)
			nsvc++;
		if (2 + nsvc + f->nchildren > maxpfd) {
			maxpfd = 2 + nsvc + f->nchildren + 64;
			free(pfd);
			free(psep);
			free(pch);
			pfd = calloc(maxpfd, sizeof(*pfd));
			psep = calloc(maxpfd, sizeof(*psep));
			pch = calloc(maxpfd, sizeof(*pch));
			if (pfd == NULL || psep == NULL || pch == NULL)
				fatal("calloc");
		}
		npfd = 0;
		pfd[npfd].fd = f->sigfd;
		pfd[npfd++].events = POLLIN;
		/* The new forkd's handshake, while an upgrade is under way. */
		pfd[npfd].fd = f->up.up_fd;
		pfd[npfd++].events = POLLIN;
		for (sep = f->services; sep != NULL; sep = sep->se_next) {
			if (sep->se_fd == -1 || sep->se_mode == SE_PREFORK ||
			    sep->se_busy || f->stopping)
				continue;
			/* nowait max-child: the backlog waits for an exit. */
			if (sep->se_mode == SE_NOWAIT && sep->se_maxchild > 0 &&
			    sep->se_nchild >= sep->se_maxchild)
				continue;
			if (now < sep->se_pause_until) {
				if (sep->se_pause_until - now < timeout)
					timeout = (int)(sep->se_pause_until -
					    now);
				continue;
			}
			psep[npfd] = sep;
			pfd[npfd].fd = sep->se_fd;
			pfd[npfd++].events = POLLIN;
		}
		nlisten = npfd;
		for (ch = NULL; (ch = child_next(f, ch)) != NULL;) {
			pch[npfd] = ch;
			pfd[npfd].fd = ch->ch_errfd;
			pfd[npfd++].events = POLLIN;
		}
		if (poll(pfd, npfd, timeout) == -1) {
			if (errno != EINTR)
				fatal("poll");
			continue;
		}
		/*
		 * Children's pipes first: the entries below hold only until
		 * a child is added or reaped (the table moves).
		 */
		for (i = nlisten; i < npfd; i++)
			if (pfd[i].revents != 0 && pfd[i].fd != -1)
				spawn_stderr(f, pch[i]);
		for (i = 2; i < nlisten; i++)
			if (pfd[i].revents != 0 && psep[i]->se_fd != -1 &&
			    !psep[i]->se_busy && !f->stopping)
				forkd_accept(f, psep[i]);
		if (pfd[1].revents != 0 && f->up.up_fd != -1)
			upgrade_read(f);
		if (pfd[0].revents & POLLIN)
			forkd_signals(f);
	}
}

int
main(int argc, char *argv[])
{
	struct forkd f;
	struct servtab *sep;
	char msg[8192];
	sigset_t mask;
	pid_t other;
	int ch, check = 0, verbose = 0, n;

	/*
	 * Started with descriptor 0, 1 or 2 closed, the pidfile or a
	 * listener would take that number and daemon(3) would put /dev/null
	 * over it: hold them first.
	 */
	do {
		if ((n = open(_PATH_DEVNULL, O_RDWR)) == -1)
			err(1, "%s", _PATH_DEVNULL);
	} while (n < 3);
	close(n);

	memset(&f, 0, sizeof(f));
	f.conffile = FORKD_CONF;
	f.sigfd = -1;
	f.stop_ms = FORKD_STOP_MS;
	f.started = clock_ms();
	/* Before setproctitle takes argv's memory over. */
	upgrade_init(&f, argv[0]);
	setproctitle_init(argc, argv, environ);
	cli_init(argv, EXIT_USAGE);

	while ((ch = getopt(argc, argv, "df:hnp:t:v")) != -1) {
		switch (ch) {
		case 'd':
			f.debug = 1;
			break;
		case 'f':
			f.conffile = optarg;
			break;
		case 'h':
			cli_help(usage);
		case 'n':
			check = 1;
			break;
		case 'p':
			f.pidpath = optarg;
			break;
		case 't':
			f.stop_ms = (int)cli_number("-t", optarg, 0, 3600) *
			    1000;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			cli_usage(usage);
		}
	}
	if (optind != argc)
		cli_usage(usage);
	if (f.pidpath == NULL && !f.debug)
		f.pidpath = FORKD_PIDFILE;
	f.verbose = verbose;
	/* daemon(3) moves to "/": a reload and an upgrade still find them. */
	if ((f.conffile = upgrade_abspath(f.conffile)) == NULL ||
	    (f.pidpath != NULL && (f.pidpath = upgrade_abspath(f.pidpath)) ==
	    NULL))
		err(1, "malloc");

	if (conf_parse(f.conffile, &f.services, msg, sizeof(msg)) == -1) {
		fputs(msg, stderr);
		if (check)
			exit(1);
		errx(1, "%s: configuration has errors", f.conffile);
	}
	if (check) {
		conf_print(stdout, f.services);
		exit(0);
	}

	/*
	 * A second forkd on the same pidfile says who runs, and stops. The
	 * new forkd of an upgrade takes the pidfile when the old lets it go.
	 */
	if (f.pidpath != NULL && f.upgrade_fd == -1) {
		f.pfh = pidfile_open(f.pidpath, 0644, &other);
		if (f.pfh == NULL && errno == EINVAL &&
		    forkd_pidfile_read(f.pidpath, &other) == 0)
			errno = EEXIST;
		if (f.pfh == NULL) {
			if (errno == EEXIST)
				errx(1, "already running as pid %ld "
				    "(pidfile %s)", (long)other, f.pidpath);
			err(1, "pidfile %s", f.pidpath);
		}
	}
	/* Sockets systemd bound for us are taken before any is bound. */
	activate_listen_fds();
	/* Bind everything before detaching: a failure is said here. */
	for (sep = f.services; sep != NULL; sep = sep->se_next) {
		if (listen_open(sep, msg, sizeof(msg)) == -1) {
			if (f.pfh != NULL)
				pidfile_remove(f.pfh);
			errx(1, "%s", msg);
		}
		forkd_blocking(sep);
	}

	/*
	 * Block the signals before detaching: once the pidfile is written an
	 * rc script may send SIGHUP at once, whose default action would end
	 * forkd. They wait for the signalfd.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		err(1, "sigprocmask");

	/*
	 * With no syslog daemon every line is lost, the handlers' too, and
	 * nothing says so later: say it once while stderr is a person's.
	 */
	if (log_syslog_listening() == 0)
		warnx("nothing listens on %s: log lines are lost%s; install a "
		    "syslog daemon (apt-get install rsyslog)", _PATH_LOG,
		    f.debug ? " except on this terminal" : "");
	/* FORKD_LOG is for forkd's handlers, never forkd's own log. */
	unsetenv(LOG_ENV);
	upgrade_stderr(&f);
	log_init(f.debug, LOG_DAEMON, "forkd");
	log_setverbose(verbose);
	listen_inherit_drop();
	/* The new forkd of an upgrade runs detached already. */
	if (!f.debug && f.upgrade_fd == -1 && daemon(0, 0) == -1) {
		if (f.pfh != NULL)
			pidfile_remove(f.pfh);
		err(1, "daemon");
	}
	if (f.pfh != NULL && forkd_pidfile_write(f.pfh) == -1)
		log_warn("pidfile %s", f.pidpath);

	if ((f.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);

	n = 0;
	for (sep = f.services; sep != NULL; sep = sep->se_next) {
		char mode[32];

		n++;
		log_info("%s: listening, %s, %s as %s%s%s", sep->se_name,
		    mode_name(sep, mode, sizeof(mode)), sep->se_program,
		    sep->se_user, sep->se_inherited != NULL ?
		    ", socket from " : "", sep->se_inherited != NULL ?
		    sep->se_inherited : "");
	}
	setproctitle("%s", f.conffile);
	if (f.upgrade_fd != -1) {
		/* Our pools first: the old handlers drain once we say so. */
		pool_refill(&f);
		upgrade_ready(&f);
		log_info("started: %d services from %s, upgraded in place", n,
		    f.conffile);
	} else
		log_info("started: %d services from %s", n, f.conffile);
	forkd_loop(&f);
}
