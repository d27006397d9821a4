/*
 * spawn: fork and exec handlers, and forward what they write to stderr.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vis.h>

#include "clock.h"
#include "forkd.h"
#include "log.h"
#include "persource.h"
#include "serve.h"

/* The signals forkd ignores, which a child sets back to the default. */
static sigset_t	spawn_ignored;

static void	spawn_env(int, const struct sockaddr_storage *);
static void	spawn_front(struct servtab *);
static void	spawn_user(const struct servtab *);
static void	spawn_started(const struct servtab *, pid_t,
		    const struct sockaddr_storage *);
static void	spawn_child(struct servtab *, int, int,
		    const struct sockaddr_storage *, pid_t)
		    __attribute__((noreturn));

/*
 * One line a handler wrote to stderr. A line starting "<PRI>" is the copy
 * of a line the handler has sent to syslog itself (lib/log.h, LOG_ENV):
 * forkd -d shows it on its stderr, tagged with the service and pid, and
 * syslog is not given it twice. Any other line (a message before the
 * handler opened its log, a crash report) is logged here. The handler
 * escaped the client's text already; vis(3) again keeps control bytes
 * out, but leaves its backslashes alone (VIS_NOSLASH).
 */
static void
spawn_logline(struct forkd *f, struct child *ch, const char *s, size_t len)
{
	char vis[LOG_VIS_MAX];
	size_t skip;

	if (len == 0)
		return;
	if (log_pri_parse(s, len, &skip) != -1) {
		if (f->debug)
			log_stderr("%s: pid %ld: %s", ch->ch_name,
			    (long)ch->ch_pid, log_visx(vis, sizeof(vis),
			    s + skip, len - skip, VIS_NOSLASH));
		return;
	}
	log_warnx("%s: pid %ld: %s", ch->ch_name, (long)ch->ch_pid,
	    log_vis(vis, sizeof(vis), s, len));
}

void
spawn_stderr(struct forkd *f, struct child *ch)
{
	char *nl;
	ssize_t n;
	int rounds;

	/* Bounded: a chatty child cannot starve the loop. */
	for (rounds = 0; ch->ch_errfd != -1 && rounds < 16; rounds++) {
		n = read(ch->ch_errfd, ch->ch_errbuf + ch->ch_errlen,
		    sizeof(ch->ch_errbuf) - ch->ch_errlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			spawn_logline(f, ch, ch->ch_errbuf, ch->ch_errlen);
			ch->ch_errlen = 0;
			close(ch->ch_errfd);
			ch->ch_errfd = -1;
			return;
		}
		ch->ch_errlen += n;
		while ((nl = memchr(ch->ch_errbuf, '\n', ch->ch_errlen))
		    != NULL) {
			size_t l = nl - ch->ch_errbuf;

			spawn_logline(f, ch, ch->ch_errbuf, l);
			memmove(ch->ch_errbuf, nl + 1, ch->ch_errlen - l - 1);
			ch->ch_errlen -= l + 1;
		}
		/* A line longer than the buffer is logged in pieces. */
		if (ch->ch_errlen == sizeof(ch->ch_errbuf)) {
			spawn_logline(f, ch, ch->ch_errbuf, ch->ch_errlen);
			ch->ch_errlen = 0;
		}
	}
}

void
spawn_forget(struct forkd *f, struct child *ch)
{
	/* The child is gone: what it wrote is all in the pipe now. */
	if (ch->ch_errfd != -1) {
		int fl = fcntl(ch->ch_errfd, F_GETFL);

		if (fl != -1)
			fcntl(ch->ch_errfd, F_SETFL, fl | O_NONBLOCK);
		spawn_stderr(f, ch);
		spawn_logline(f, ch, ch->ch_errbuf, ch->ch_errlen);
		if (ch->ch_errfd != -1)
			close(ch->ch_errfd);
	}
	child_remove(f, ch);
}

/*
 * Log a start: a nowait handler with its client's address, as xinetd's
 * "START: service pid=N from=addr" does, so a connection in a handler's
 * own log lines can be traced to forkd's. Prefork and wait handlers serve
 * many clients: their start is a debug line.
 */
static void
spawn_started(const struct servtab *sep, pid_t pid,
    const struct sockaddr_storage *peer)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (peer == NULL) {
		log_debug("%s: pid %ld started", sep->se_name, (long)pid);
		return;
	}
	if (getnameinfo((const struct sockaddr *)peer, sizeof(*peer), host,
	    sizeof(host), port, sizeof(port), NI_NUMERICHOST |
	    NI_NUMERICSERV) != 0) {
		strlcpy(host, "?", sizeof(host));
		strlcpy(port, "?", sizeof(port));
	}
	log_info("%s: pid %ld from %s port %s", sep->se_name, (long)pid, host,
	    port);
}

/* UCSPI-TCP names (tcp-environ(5)), as tcpserver sets them. */
static void
spawn_env(int fd, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN], port[8];
	const struct sockaddr_storage *a[2];
	const char *ipvar[2] = { "TCPREMOTEIP", "TCPLOCALIP" };
	const char *portvar[2] = { "TCPREMOTEPORT", "TCPLOCALPORT" };
	int i;

	if (peer == NULL) {
		for (i = 0; i < 2; i++) {
			unsetenv(ipvar[i]);
			unsetenv(portvar[i]);
		}
		unsetenv("PROTO");
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		ss.ss_family = AF_UNSPEC;
	a[0] = peer;
	a[1] = &ss;
	setenv("PROTO", "TCP", 1);
	for (i = 0; i < 2; i++) {
		const struct sockaddr_in *sin = (const void *)a[i];
		const struct sockaddr_in6 *sin6 = (const void *)a[i];

		if (a[i]->ss_family == AF_INET) {
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			snprintf(port, sizeof(port), "%u",
			    ntohs(sin->sin_port));
		} else if (a[i]->ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			snprintf(port, sizeof(port), "%u",
			    ntohs(sin6->sin6_port));
		} else
			continue;
		setenv(ipvar[i], ip, 1);
		setenv(portvar[i], port, 1);
	}
}

/*
 * In the child, before closefrom: the per-source table on fd 3 and the
 * variables that tell handlers about it and about "+proxy"
 * (serve.h, persource.h). A nowait child uses the table itself (admit.c)
 * and passes neither on; prefork and wait handlers accept, so they get
 * both.
 */
static void
spawn_front(struct servtab *sep)
{
	int psfd;

	unsetenv(PERSOURCE_ENV);
	unsetenv(SERVE_PROXY_ENV);
	unsetenv(SERVE_REFUSED_ENV);
	if (sep->se_proxy && sep->se_mode != SE_NOWAIT)
		setenv(SERVE_PROXY_ENV, "1", 1);
	if (sep->se_ps == NULL)
		return;
	psfd = persource_fd(sep->se_ps);
	if (psfd == 3 ? fcntl(3, F_SETFD, 0) == -1 : dup2(psfd, 3) == -1) {
		dprintf(2, "per-source table: %s\n", strerror(errno));
		_exit(111);
	}
	if (sep->se_mode == SE_NOWAIT) {
		/* This child's own view, on the descriptor it keeps. */
		if ((sep->se_ps = persource_attach(3)) == NULL) {
			dprintf(2, "per-source table: %s\n",
			    strerror(errno));
			_exit(111);
		}
	} else
		setenv(PERSOURCE_ENV, "3", 1);
}

/*
 * In the child: the service's groups, group and user (when forkd runs as
 * root; otherwise it must be that user already). A failure is said on
 * fd 2 and the child exits 111.
 */
static void
spawn_user(const struct servtab *sep)
{
	if (getuid() == 0) {
		if ((sep->se_groups != NULL ? setgroups(sep->se_ngroups,
		    sep->se_groups) : initgroups(sep->se_user,
		    sep->se_gid)) == -1) {
			dprintf(2, "initgroups %s: %s\n", sep->se_user,
			    strerror(errno));
			_exit(111);
		}
		if (setgid(sep->se_gid) == -1 || getgid() != sep->se_gid ||
		    getegid() != sep->se_gid) {
			dprintf(2, "setgid %u: %s\n", (unsigned)sep->se_gid,
			    strerror(errno));
			_exit(111);
		}
		if (setuid(sep->se_uid) == -1) {
			dprintf(2, "setuid %u: %s\n", (unsigned)sep->se_uid,
			    strerror(errno));
			_exit(111);
		}
		/* Check it took, and that root cannot be regained. */
		if (sep->se_uid != 0 && (getuid() != sep->se_uid ||
		    geteuid() != sep->se_uid || setuid(0) != -1)) {
			dprintf(2, "setuid %u did not take\n",
			    (unsigned)sep->se_uid);
			_exit(111);
		}
	} else if (geteuid() != sep->se_uid) {
		dprintf(2, "cannot run as %s: forkd is not root\n",
		    sep->se_user);
		_exit(111);
	}
}

/*
 * In the child: fds 0 and 1 the socket, fd 2 the stderr pipe, nothing else
 * open; the environment; the service's user and group; exec. Anything that
 * fails is said on fd 2 (so forkd logs it) and the child exits 111: it never
 * runs the handler with more privilege than the config gives it.
 */
static void
spawn_child(struct servtab *sep, int fd, int errfd,
    const struct sockaddr_storage *peer, pid_t forkd)
{
	sigset_t none;
	int sig;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * execv(2) resets caught signals itself; only the ignored ones
	 * (SIGPIPE, and any forkd was started with) would stay ignored.
	 */
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&spawn_ignored, sig) == 1)
			signal(sig, SIG_DFL);
	/* Its own session: Ctrl-C on forkd -d's terminal is forkd's. */
	setsid();

	if (dup2(errfd, 2) == -1)
		_exit(111);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1) {
		dprintf(2, "dup2: %s\n", strerror(errno));
		_exit(111);
	}
	spawn_front(sep);
	closefrom(sep->se_ps != NULL ? 4 : 3);
	spawn_env(0, peer);

	spawn_user(sep);
	if (sep->se_mode == SE_NOWAIT && peer != NULL)
		admit_nowait(sep, peer);
	/*
	 * A wait or prefork handler holds the service's socket: should
	 * forkd die without stopping it (kill -9, a crash), it would go
	 * on serving and keep the port from a new forkd. The kernel tells
	 * it with SIGHUP, on which forkd's handlers finish what they serve
	 * and exit (lib/serve.h). Set after the credentials change, which
	 * clears it; if forkd is already gone, nothing is started. A nowait
	 * handler serves its one connection to the end, as under inetd.
	 */
	if (sep->se_mode != SE_NOWAIT) {
		if (prctl(PR_SET_PDEATHSIG, SIGHUP) == -1) {
			dprintf(2, "prctl PR_SET_PDEATHSIG: %s\n",
			    strerror(errno));
			_exit(111);
		}
		if (getppid() != forkd)
			_exit(111);
	}
	execv(sep->se_program, sep->se_argv);
	dprintf(2, "execv %s: %s\n", sep->se_program, strerror(errno));
	_exit(111);
}

pid_t
spawn_handler(struct forkd *f, struct servtab *sep, int fd,
    const struct sockaddr_storage *peer)
{
	static int ignored_known;
	struct sigaction sa;
	int pfd[2], sig;
	pid_t pid, self = getpid();

	/* forkd's signal dispositions are set before its first spawn. */
	if (!ignored_known) {
		sigemptyset(&spawn_ignored);
		for (sig = 1; sig < NSIG; sig++)
			if (sigaction(sig, NULL, &sa) == 0 &&
			    sa.sa_handler == SIG_IGN)
				sigaddset(&spawn_ignored, sig);
		ignored_known = 1;
	}

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", sep->se_name);
		return -1;
	}
	/* The per-source table, made before the first fork that needs it. */
	if (SE_PERSOURCE(sep) && sep->se_ps == NULL &&
	    (sep->se_ps = persource_create(sep->se_maxperip,
	    sep->se_maxcpm)) == NULL)
		log_warn("%s: per-source table: limits not counted",
		    sep->se_name);
	switch ((pid = fork())) {
	case -1:
		log_warn("%s: fork", sep->se_name);
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	case 0:
		/* Handlers copy their log lines to the pipe under -d. */
		setenv(LOG_ENV, f->debug ? "stderr" : "syslog", 1);
		spawn_child(sep, fd, pfd[1], peer, self);
		/* NOTREACHED */
	default:
		break;
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	if (child_add(f, pid, sep, pfd[0]) == NULL) {
		/* Out of memory: keep no record we cannot keep; stop it. */
		log_warnx("%s: pid %ld: out of memory, killing it",
		    sep->se_name, (long)pid);
		kill(pid, SIGKILL);
		close(pfd[0]);
		return -1;
	}
	sep->se_nchild++;
	spawn_started(sep, pid, peer);
	sep->se_nspawned++;
	return pid;
}
