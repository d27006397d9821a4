/*
 * spawn: start handlers (a vfork-style clone, or fork where the child has
 * more to do than system calls) and forward what they write to stderr.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vis.h>

#include "addr.h"
#include "clock.h"
#include "forkd.h"
#include "log.h"
#include "persource.h"
#include "serve.h"

/*
 * The signals forkd ignores, which a child sets back to the default: bit
 * sig - 1 for signal sig, 1 to 64, the C library's own real-time signals
 * (32, 33) included, which its sigaction(3) refuses to name.
 */
static uint64_t	spawn_ignored;

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64 and the
 * like: handler, flags, restorer, then the 64-bit mask. */
struct spawn_ksigaction {
	void		(*ks_handler)(int);
	unsigned long	  ks_flags;
	void		(*ks_restorer)(void);
	uint64_t	  ks_mask;
};

/* Where a child stopped before execve, for the message forkd logs. */
enum spawn_step {
	SPAWN_OK,
	SPAWN_DUP2,
	SPAWN_PERSOURCE,
	SPAWN_GROUPS,
	SPAWN_SETGID,
	SPAWN_SETUID,
	SPAWN_UIDCHECK,
	SPAWN_NOTROOT,
	SPAWN_PDEATHSIG,
	SPAWN_EXEC,
};

/*
 * What a child needs, made by forkd before the clone. Between the clone
 * and execve the child only reads it and makes system calls
 * (async-signal-safe ones): a CLONE_VM child runs on forkd's memory, with
 * forkd stopped until it has executed the handler or exited.
 */
struct spawn_plan {
	struct servtab	*sp_sep;
	int		 sp_fd;		/* the socket for fds 0 and 1 */
	int		 sp_errfd;	/* the stderr pipe's write end */
	const struct sockaddr_storage *sp_peer;	/* nowait: the client */
	pid_t		 sp_forkd;	/* for the PR_SET_PDEATHSIG check */
	char		**sp_envp;	/* the handler's whole environment */
	int		 sp_vm;		/* 1: shares forkd's memory */
	/* Set by a CLONE_VM child that failed: forkd says why. */
	enum spawn_step	 sp_step;
	int		 sp_errno;
};

/* The variables forkd sets for a handler, dropped from its own. */
static const char *const spawn_ours[] = {
	"PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP",
	"TCPLOCALPORT", LOG_ENV, PERSOURCE_ENV, SERVE_PROXY_ENV,
	SERVE_REFUSED_ENV,
};
#define SPAWN_NOURS	(sizeof(spawn_ours) / sizeof(spawn_ours[0]))

/* "TCPREMOTEIP=" and an address: the longest variable forkd sets. */
#define SPAWN_VARLEN	(16 + INET6_ADDRSTRLEN)

extern char **environ;

static int	spawn_child(void *) __attribute__((noreturn));
static void	spawn_started(const struct servtab *, pid_t, const char *,
		    const char *);

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
		/* Non-blocking since spawn_handler(): no read waits. */
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
 * many clients: their start is a debug line. ip and port are the
 * client's, as the environment has them; NULL for no client.
 */
static void
spawn_started(const struct servtab *sep, pid_t pid, const char *ip,
    const char *port)
{
	if (ip == NULL)
		log_debug("%s: pid %ld started", sep->se_name, (long)pid);
	else
		log_info("%s: pid %ld from %s port %s", sep->se_name,
		    (long)pid, ip, port);
}

/*
 * "NAMEip" and "NAMEport" (tcp-environ(5)) for the address ss into the
 * buffers ip and port (SPAWN_VARLEN bytes each). Returns 0, or -1 for an
 * address that is neither IPv4 nor IPv6.
 */
static int
spawn_addrvars(const struct sockaddr_storage *ss, const char *name,
    char *ip, char *port)
{
	char a[ADDR_IPMAX], p[ADDR_PORTMAX];

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return -1;
	addr_fmt((const struct sockaddr *)ss, sizeof(*ss), a, sizeof(a), p,
	    sizeof(p));
	snprintf(ip, SPAWN_VARLEN, "TCP%sIP=%s", name, a);
	snprintf(port, SPAWN_VARLEN, "TCP%sPORT=%s", name, p);
	return 0;
}

/* 1 if the "NAME=value" string e names a variable forkd sets itself. */
static int
spawn_is_ours(const char *e)
{
	size_t i, n;

	for (i = 0; i < SPAWN_NOURS; i++) {
		n = strlen(spawn_ours[i]);
		if (strncmp(e, spawn_ours[i], n) == 0 && e[n] == '=')
			return 1;
	}
	return 0;
}

/*
 * The handler's environment, made in forkd for each spawn: forkd's own
 * less the variables below (filtered at the first spawn: forkd's own
 * does not change once it has started), then LOG_ENV (handlers copy their log lines
 * to the pipe under -d), the UCSPI-TCP names as tcpserver sets them for a
 * client on fd (peer), and for prefork and wait handlers, which accept,
 * "+proxy" and the per-source table's descriptor (serve.h, persource.h).
 * A nowait child counts its client itself (admit.c) and passes neither on.
 * Returns a NULL-terminated array that holds until the next call, or NULL
 * when out of memory. *ip and *port point at the client's address in it.
 */
static char **
spawn_envp(struct forkd *f, const struct servtab *sep, int fd,
    const struct sockaddr_storage *peer, const char **ip, const char **port)
{
	static char **envp;
	static size_t nbase;	/* forkd's own variables, first in envp */
	static char var[4][SPAWN_VARLEN];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	size_t n = 0, i;
	char **e;

	/* forkd's environment is set at start-up: filtered once. */
	if (envp == NULL) {
		for (e = environ; *e != NULL; e++)
			n++;
		if ((envp = reallocarray(NULL, n + 10, sizeof(*envp))) == NULL)
			return NULL;
		for (n = 0, e = environ; *e != NULL; e++)
			if (!spawn_is_ours(*e))
				envp[n++] = *e;
		nbase = n;
	}
	n = nbase;
	envp[n++] = f->debug ? LOG_ENV "=stderr" : LOG_ENV "=syslog";
	if (sep->se_mode != SE_NOWAIT && sep->se_proxy)
		envp[n++] = SERVE_PROXY_ENV "=1";
	if (sep->se_mode != SE_NOWAIT && sep->se_ps != NULL)
		envp[n++] = PERSOURCE_ENV "=3";
	*ip = *port = NULL;
	if (peer != NULL && spawn_addrvars(peer, "REMOTE", var[0],
	    var[1]) == 0) {
		envp[n++] = "PROTO=TCP";
		*ip = strchr(var[0], '=') + 1;
		*port = strchr(var[1], '=') + 1;
		memset(&ss, 0, sizeof(ss));
		i = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
		    spawn_addrvars(&ss, "LOCAL", var[2], var[3]) == 0 ? 4 : 2;
		while (i > 0)
			envp[n++] = var[--i];
	}
	envp[n] = NULL;
	return envp;
}

/* Why a child stopped at sp's step, as forkd logs it, into buf (len). */
static const char *
spawn_why(const struct spawn_plan *sp, char *buf, size_t len)
{
	const struct servtab *sep = sp->sp_sep;
	const char *why = strerror(sp->sp_errno);

	switch (sp->sp_step) {
	case SPAWN_DUP2:
		snprintf(buf, len, "dup2: %s", why);
		break;
	case SPAWN_PERSOURCE:
		snprintf(buf, len, "per-source table: %s", why);
		break;
	case SPAWN_GROUPS:
		snprintf(buf, len, "initgroups %s: %s", sep->se_user, why);
		break;
	case SPAWN_SETGID:
		snprintf(buf, len, "setgid %u: %s", (unsigned)sep->se_gid, why);
		break;
	case SPAWN_SETUID:
		snprintf(buf, len, "setuid %u: %s", (unsigned)sep->se_uid, why);
		break;
	case SPAWN_UIDCHECK:
		snprintf(buf, len, "setuid %u did not take",
		    (unsigned)sep->se_uid);
		break;
	case SPAWN_NOTROOT:
		snprintf(buf, len, "cannot run as %s: forkd is not root",
		    sep->se_user);
		break;
	case SPAWN_PDEATHSIG:
		snprintf(buf, len, "prctl PR_SET_PDEATHSIG: %s", why);
		break;
	case SPAWN_EXEC:
		snprintf(buf, len, "execv %s: %s", sep->se_program, why);
		break;
	default:
		snprintf(buf, len, "%s", why);
		break;
	}
	return buf;
}

/*
 * In the child: stop at step with errno err and exit 111. A forked child
 * says why on fd 2 (forkd logs it); a CLONE_VM child leaves it in the
 * plan for forkd, as it may call nothing but system calls.
 */
static void __attribute__((noreturn))
spawn_fail(struct spawn_plan *sp, enum spawn_step step, int err)
{
	char buf[256];

	sp->sp_step = step;
	sp->sp_errno = err;
	if (!sp->sp_vm)
		dprintf(2, "%s\n", spawn_why(sp, buf, sizeof(buf)));
	_exit(111);
}

/*
 * In the child: the service's groups, group and user (when forkd runs as
 * root; otherwise it must be that user already), by the system calls
 * themselves: the C library's wrappers may signal other threads
 * (setxid), which a CLONE_VM child must not. The groups are from
 * conf.c's getgrouplist(3); initgroups(3), which reads the group
 * database, only in a forked child (spawn_handler).
 */
static void
spawn_user(struct spawn_plan *sp)
{
	const struct servtab *sep = sp->sp_sep;

	if (getuid() == 0) {
		if ((sep->se_groups != NULL ? syscall(SYS_setgroups,
		    sep->se_ngroups, sep->se_groups) : initgroups(sep->se_user,
		    sep->se_gid)) == -1)
			spawn_fail(sp, SPAWN_GROUPS, errno);
		if (syscall(SYS_setgid, sep->se_gid) == -1)
			spawn_fail(sp, SPAWN_SETGID, errno);
		if (getgid() != sep->se_gid || getegid() != sep->se_gid)
			spawn_fail(sp, SPAWN_SETGID, EPERM);
		if (syscall(SYS_setuid, sep->se_uid) == -1)
			spawn_fail(sp, SPAWN_SETUID, errno);
		/* Check it took, and that root cannot be regained. */
		if (sep->se_uid != 0 && (getuid() != sep->se_uid ||
		    geteuid() != sep->se_uid || syscall(SYS_setuid, 0) != -1))
			spawn_fail(sp, SPAWN_UIDCHECK, 0);
	} else if (geteuid() != sep->se_uid)
		spawn_fail(sp, SPAWN_NOTROOT, 0);
}

/*
 * In the child, before closefrom: the per-source table on fd 3. A nowait
 * child (always forked) attaches to it for its own view (admit.c).
 */
static void
spawn_front(struct spawn_plan *sp)
{
	struct servtab *sep = sp->sp_sep;
	int psfd;

	if (sep->se_ps == NULL)
		return;
	psfd = persource_fd(sep->se_ps);
	if (psfd == 3 ? fcntl(3, F_SETFD, 0) == -1 : dup2(psfd, 3) == -1)
		spawn_fail(sp, SPAWN_PERSOURCE, errno);
	if (sep->se_mode == SE_NOWAIT &&
	    (sep->se_ps = persource_attach(3)) == NULL)
		spawn_fail(sp, SPAWN_PERSOURCE, errno);
}

/*
 * The child: fds 0 and 1 the socket, fd 2 the stderr pipe, fd 3 the
 * per-source table when there is one, nothing else open; its own session;
 * the service's user and group; exec with the environment forkd made.
 * Anything that fails stops it with exit 111 and forkd logs why: it never
 * runs the handler with more privilege than the config gives it.
 * forkd catches no signal (it reads them from a signalfd), so no handler
 * of its can run here on the memory a CLONE_VM child shares.
 */
static int
spawn_child(void *arg)
{
	static const struct spawn_ksigaction dfl = { .ks_handler = SIG_DFL };
	struct spawn_plan *sp = arg;
	struct servtab *sep = sp->sp_sep;
	sigset_t none;
	int sig;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * execve(2) resets caught signals itself; only the ignored ones
	 * (SIGPIPE, and any forkd was started with) would stay ignored.
	 */
	for (sig = 1; sig <= 64; sig++)
		if (spawn_ignored & (UINT64_C(1) << (sig - 1)))
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL,
			    sizeof(uint64_t));
	/* Its own session: Ctrl-C on forkd -d's terminal is forkd's. */
	setsid();
	if (dup2(sp->sp_errfd, 2) == -1)
		_exit(111);
	if (dup2(sp->sp_fd, 0) == -1 || dup2(sp->sp_fd, 1) == -1)
		spawn_fail(sp, SPAWN_DUP2, errno);
	spawn_front(sp);
	/* close_range(2), or a scan of /proc/self/fd: async-signal-safe. */
	closefrom(sep->se_ps != NULL ? 4 : 3);
	spawn_user(sp);
	if (!sp->sp_vm && sep->se_mode == SE_NOWAIT && sp->sp_peer != NULL) {
		/* admit.c sets variables: the environment is environ. */
		environ = sp->sp_envp;
		admit_nowait(sep, sp->sp_peer);
		sp->sp_envp = environ;
	}
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
		if (prctl(PR_SET_PDEATHSIG, SIGHUP) == -1)
			spawn_fail(sp, SPAWN_PDEATHSIG, errno);
		if (getppid() != sp->sp_forkd)
			_exit(111);
	}
	execve(sep->se_program, sep->se_argv, sp->sp_envp);
	spawn_fail(sp, SPAWN_EXEC, errno);
}

/*
 * Start the child of plan sp; returns its pid, or -1 with errno. A nowait
 * child that reads a PROXY header or counts its client (admit.c) may wait
 * on the network and calls the C library, and so does initgroups(3):
 * those are forked. Every other child is a clone(CLONE_VM|CLONE_VFORK),
 * as posix_spawn(3) makes: no copy of forkd's memory to make and then
 * throw away at execve, which is most of the cost of a fork-and-exec.
 */
static pid_t
spawn_start(struct spawn_plan *sp)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	const struct servtab *sep = sp->sp_sep;
	pid_t pid;

	if ((sep->se_mode == SE_NOWAIT && sp->sp_peer != NULL &&
	    (sep->se_proxy || sep->se_ps != NULL)) ||
	    (sep->se_groups == NULL && getuid() == 0)) {
		sp->sp_vm = 0;
		if ((pid = fork()) == 0)
			spawn_child(sp);
		return pid;
	}
	sp->sp_vm = 1;
	return clone(spawn_child, stack + sizeof(stack),
	    CLONE_VM | CLONE_VFORK | SIGCHLD, sp);
}

/* forkd's signal dispositions are set before its first spawn. */
static void
spawn_signals(void)
{
	static int known;
	struct spawn_ksigaction ksa;
	int sig;

	if (known)
		return;
	spawn_ignored = 0;
	for (sig = 1; sig <= 64; sig++)
		if (syscall(SYS_rt_sigaction, sig, NULL, &ksa,
		    sizeof(uint64_t)) == 0 && ksa.ks_handler == SIG_IGN)
			spawn_ignored |= UINT64_C(1) << (sig - 1);
	known = 1;
}

pid_t
spawn_handler(struct forkd *f, struct servtab *sep, int fd,
    const struct sockaddr_storage *peer)
{
	static pid_t self;
	struct spawn_plan sp;
	const char *ip, *port;
	char why[256];
	int pfd[2];
	pid_t pid;

	spawn_signals();
	if (self == 0)
		self = getpid();
	/* The per-source table, made before the first spawn that needs it. */
	if (SE_PERSOURCE(sep) && sep->se_ps == NULL &&
	    (sep->se_ps = persource_create(sep->se_maxperip,
	    sep->se_maxcpm)) == NULL)
		log_warn("%s: per-source table: limits not counted",
		    sep->se_name);
	memset(&sp, 0, sizeof(sp));
	sp.sp_sep = sep;
	sp.sp_fd = fd;
	sp.sp_peer = peer;
	sp.sp_forkd = self;
	if ((sp.sp_envp = spawn_envp(f, sep, fd, peer, &ip, &port)) == NULL) {
		log_warn("%s: environment", sep->se_name);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", sep->se_name);
		return -1;
	}
	sp.sp_errfd = pfd[1];
	pid = spawn_start(&sp);
	close(pfd[1]);
	if (pid == -1) {
		log_warn("%s: fork", sep->se_name);
		close(pfd[0]);
		return -1;
	}
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
	spawn_started(sep, pid, ip, port);
	/* A CLONE_VM child that failed has exited: say why for it. */
	if (sp.sp_vm && sp.sp_step != SPAWN_OK)
		log_warnx("%s: pid %ld: %s", sep->se_name, (long)pid,
		    spawn_why(&sp, why, sizeof(why)));
	sep->se_nspawned++;
	return pid;
}
