/*
 * upgrade: SIGUSR2 re-executes forkd's binary, the new one after an
 * install, keeping the listening sockets, as nginx's binary upgrade does:
 * no moment when a connection is refused.
 *
 *   old forkd                          new forkd (its child)
 *   SIGUSR2: socketpair, fork, exec -> adopts FORKD_LISTENERS by address,
 *     serves on                        binds what is new, starts its pools
 *                                 <-   "READY"
 *   pidfile_close, "GO"           ->   pidfile_open/write: its pid
 *   drains (loop_drain), exits 0       serves
 *
 * Until READY every line the new forkd writes to stderr (its err(3)
 * messages: a config with errors, a bind that fails) reaches the old
 * forkd, which logs it; an exec that fails, a new forkd that exits or is
 * not ready within UPGRADE_READY_MS leave the old forkd serving as
 * before. Handlers of the old forkd finish under it: prefork and wait
 * handlers drain (lib/serve.h), nowait ones end with their connection.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "forkd.h"
#include "io.h"
#include "log.h"

#define UPGRADE_ENV_FDS		"FORKD_LISTENERS"	/* "5,6,7" */
#define UPGRADE_ENV_SOCK	"FORKD_UPGRADE"		/* "9" */
#define UPGRADE_READY		"READY"
#define UPGRADE_GO		"GO\n"
#define UPGRADE_READY_MS	10000	/* the new forkd's time to start */
#define UPGRADE_GO_MS		5000	/* the old one's time to answer */

extern char **environ;

static char	*upgrade_exepath(const char *);
static void	upgrade_child(struct forkd *, int) __attribute__((noreturn));
static void	upgrade_fail(struct forkd *, const char *);
static void	upgrade_handoff(struct forkd *);

/*
 * The absolute path of the program as started: argv0 if it has a slash
 * (made absolute against the working directory, daemon(3) leaves "/"),
 * else the first match in PATH, as execvp(3) finds it; /proc/self/exe
 * last. Symbolic links are kept: an install that moves a link to a new
 * version is followed.
 */
static char *
upgrade_exepath(const char *argv0)
{
	char buf[PATH_MAX], cwd[PATH_MAX], *path, *dir, *save;
	ssize_t n;

	if (argv0 != NULL && argv0[0] == '/')
		return strdup(argv0);
	if (argv0 != NULL && strchr(argv0, '/') != NULL) {
		if (getcwd(cwd, sizeof(cwd)) != NULL && (size_t)snprintf(buf,
		    sizeof(buf), "%s/%s", cwd, argv0) < sizeof(buf))
			return strdup(buf);
	} else if (argv0 != NULL && (path = getenv("PATH")) != NULL &&
	    (path = strdup(path)) != NULL) {
		for (dir = strtok_r(path, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			if (*dir != '/' || (size_t)snprintf(buf, sizeof(buf),
			    "%s/%s", dir, argv0) >= sizeof(buf))
				continue;
			if (access(buf, X_OK) == 0) {
				free(path);
				return strdup(buf);
			}
		}
		free(path);
	}
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		return strdup(buf);
	}
	return NULL;
}

char *
upgrade_abspath(const char *path)
{
	char cwd[PATH_MAX], *p;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	if (asprintf(&p, "%s/%s", cwd, path) == -1)
		return NULL;
	return p;
}

void
upgrade_init(struct forkd *f, const char *argv0)
{
	char err[256], *list, *p, *end;
	const char *s;
	long fd;

	f->exepath = upgrade_exepath(argv0);
	f->upgrade_fd = f->upgrade_stderr = -1;
	f->up.up_fd = -1;
	if ((s = getenv(UPGRADE_ENV_SOCK)) == NULL)
		return;
	fd = strtol(s, &end, 10);
	unsetenv(UPGRADE_ENV_SOCK);
	if (*s == '\0' || *end != '\0' || fd < 3 || fd > INT_MAX ||
	    fcntl((int)fd, F_GETFD) == -1)
		return;
	f->upgrade_fd = (int)fd;
	fcntl(f->upgrade_fd, F_SETFD, FD_CLOEXEC);
	/* What we would say on stderr until READY goes to the old forkd. */
	if ((f->upgrade_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3)) != -1)
		dup2(f->upgrade_fd, 2);

	if ((s = getenv(UPGRADE_ENV_FDS)) != NULL &&
	    (list = strdup(s)) != NULL) {
		for (p = list; *p != '\0'; p = end) {
			fd = strtol(p, &end, 10);
			if (end == p || fd < 3 || fd > INT_MAX)
				break;
			if (listen_inherit((int)fd, "upgrade", err,
			    sizeof(err)) == -1)
				fprintf(stderr, "forkd: %s\n", err);
			if (*end == ',')
				end++;
		}
		free(list);
	}
	unsetenv(UPGRADE_ENV_FDS);
}

void
upgrade_stderr(struct forkd *f)
{
	if (f->upgrade_stderr != -1) {
		dup2(f->upgrade_stderr, 2);
		close(f->upgrade_stderr);
		f->upgrade_stderr = -1;
	}
}

int
upgrade_ready(struct forkd *f)
{
	long long deadline;
	pid_t other;
	char buf[16];
	int r = 0;

	if (f->upgrade_fd == -1)
		return 0;
	upgrade_stderr(f);
	if (write(f->upgrade_fd, UPGRADE_READY "\n",
	    sizeof(UPGRADE_READY)) == -1)
		log_warn("upgrade: telling the old forkd");
	/* "GO": the old forkd let the pidfile go (or it is gone: EOF). */
	deadline = io_deadline(UPGRADE_GO_MS);
	while (io_wait(f->upgrade_fd, POLLIN, deadline) == 1)
		if (read(f->upgrade_fd, buf, sizeof(buf)) != -1)
			break;
	close(f->upgrade_fd);
	f->upgrade_fd = -1;
	if (f->pidpath == NULL)
		return 0;
	/* The lock is free now, or in a moment. */
	deadline = clock_ms() + UPGRADE_GO_MS;
	while ((f->pfh = pidfile_open(f->pidpath, 0644, &other)) == NULL &&
	    errno == EEXIST && clock_ms() < deadline)
		poll(NULL, 0, 50);
	if (f->pfh == NULL) {
		log_warn("upgrade: pidfile %s", f->pidpath);
		r = -1;
	} else if (pidfile_write(f->pfh) == -1) {
		log_warn("upgrade: pidfile %s", f->pidpath);
		r = -1;
	}
	return r;
}

/*
 * In the forked child: the listeners and the handshake socket survive
 * the exec (FD_CLOEXEC cleared), every other descriptor of ours is
 * close-on-exec. The signals stay blocked: the new forkd takes them from
 * its signalfd. Arguments are rebuilt from the state, with absolute
 * paths.
 */
static void
upgrade_child(struct forkd *f, int sock)
{
	struct servtab *sep;
	char fds[4096], num[16], tbuf[16], *argv[12];
	size_t off = 0;
	int argc = 0, n;

	/*
	 * libbsd opens the pidfile without O_CLOEXEC: its lock, held by
	 * the open file, would pass to the new forkd and keep it out.
	 */
	if (f->pfh != NULL)
		close(pidfile_fileno(f->pfh));
	fds[0] = '\0';
	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		if (sep->se_fd == -1)
			continue;
		n = snprintf(fds + off, sizeof(fds) - off, "%s%d",
		    off > 0 ? "," : "", sep->se_fd);
		if (n < 0 || (size_t)n >= sizeof(fds) - off)
			break;
		off += n;
		fcntl(sep->se_fd, F_SETFD, 0);
	}
	fcntl(sock, F_SETFD, 0);
	snprintf(num, sizeof(num), "%d", sock);
	if (setenv(UPGRADE_ENV_FDS, fds, 1) == -1 ||
	    setenv(UPGRADE_ENV_SOCK, num, 1) == -1) {
		dprintf(sock, "forkd: setenv: %s\n", strerror(errno));
		_exit(111);
	}
	argv[argc++] = f->exepath;
	if (f->debug)
		argv[argc++] = "-d";
	if (f->verbose)
		argv[argc++] = "-v";
	argv[argc++] = "-f";
	argv[argc++] = (char *)f->conffile;
	if (f->pidpath != NULL) {
		argv[argc++] = "-p";
		argv[argc++] = (char *)f->pidpath;
	}
	snprintf(tbuf, sizeof(tbuf), "%d", (f->stop_ms + 999) / 1000);
	argv[argc++] = "-t";
	argv[argc++] = tbuf;
	argv[argc] = NULL;
	execve(f->exepath, argv, environ);
	dprintf(sock, "forkd: execve %s: %s\n", f->exepath, strerror(errno));
	_exit(111);
}

void
upgrade_start(struct forkd *f)
{
	int sp[2];
	pid_t pid;

	if (f->stopping) {
		log_warnx("upgrade: draining already: ignored");
		return;
	}
	if (f->up.up_pid != 0) {
		log_warnx("upgrade: pid %ld is starting already: ignored",
		    (long)f->up.up_pid);
		return;
	}
	if (f->exepath == NULL) {
		log_warnx("upgrade: the path of forkd's program is unknown");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("upgrade: socketpair");
		return;
	}
	switch ((pid = fork())) {
	case -1:
		log_warn("upgrade: fork");
		close(sp[0]);
		close(sp[1]);
		return;
	case 0:
		close(sp[0]);
		upgrade_child(f, sp[1]);
		/* NOTREACHED */
	default:
		break;
	}
	close(sp[1]);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	f->up.up_pid = pid;
	f->up.up_fd = sp[0];
	f->up.up_len = 0;
	f->up.up_deadline = clock_ms() + UPGRADE_READY_MS;
	log_info("upgrade: starting %s as pid %ld", f->exepath, (long)pid);
}

/* The upgrade is over and we serve on. */
static void
upgrade_fail(struct forkd *f, const char *why)
{
	char vis[LOG_VIS_MAX];

	if (f->up.up_len > 0)
		log_warnx("upgrade: pid %ld: %s", (long)f->up.up_pid,
		    log_vis(vis, sizeof(vis), f->up.up_buf, f->up.up_len));
	log_warnx("upgrade: pid %ld %s: pid %ld serves on", (long)f->up.up_pid,
	    why, (long)getpid());
	if (f->up.up_fd != -1)
		close(f->up.up_fd);
	f->up.up_fd = -1;
	f->up.up_len = 0;
	/* Reaped later (upgrade_reaped, or as no child of ours). */
	f->up.up_pid = 0;
}

/* The new forkd serves: give it the pidfile, then drain. */
static void
upgrade_handoff(struct forkd *f)
{
	f->up.up_handed = f->up.up_pid;
	if (f->pfh != NULL) {
		/* Unlocked, not removed: it holds our pid until the new
		 * forkd writes its own. */
		pidfile_close(f->pfh);
		f->pfh = NULL;
	}
	if (write(f->up.up_fd, UPGRADE_GO, sizeof(UPGRADE_GO) - 1) == -1)
		log_warn("upgrade: answering pid %ld", (long)f->up.up_pid);
	close(f->up.up_fd);
	f->up.up_fd = -1;
	f->up.up_pid = 0;
	log_info("upgrade: pid %ld serves now; draining %zu handlers",
	    (long)f->up.up_handed, f->nchildren);
	loop_drain(f);
}

void
upgrade_read(struct forkd *f)
{
	char vis[LOG_VIS_MAX], *nl;
	size_t l;
	ssize_t n;

	while (f->up.up_fd != -1) {
		n = read(f->up.up_fd, f->up.up_buf + f->up.up_len,
		    sizeof(f->up.up_buf) - f->up.up_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* Its exit status says the rest (upgrade_reaped). */
			close(f->up.up_fd);
			f->up.up_fd = -1;
			return;
		}
		f->up.up_len += n;
		while ((nl = memchr(f->up.up_buf, '\n', f->up.up_len))
		    != NULL) {
			l = nl - f->up.up_buf;
			if (l == sizeof(UPGRADE_READY) - 1 && memcmp(
			    f->up.up_buf, UPGRADE_READY, l) == 0) {
				upgrade_handoff(f);
				return;
			}
			log_warnx("upgrade: pid %ld: %s", (long)f->up.up_pid,
			    log_vis(vis, sizeof(vis), f->up.up_buf, l));
			memmove(f->up.up_buf, nl + 1, f->up.up_len - l - 1);
			f->up.up_len -= l + 1;
		}
		if (f->up.up_len == sizeof(f->up.up_buf)) {
			log_warnx("upgrade: pid %ld: %s", (long)f->up.up_pid,
			    log_vis(vis, sizeof(vis), f->up.up_buf,
			    f->up.up_len));
			f->up.up_len = 0;
		}
	}
}

void
upgrade_timeout(struct forkd *f)
{
	pid_t pid = f->up.up_pid;

	if (pid == 0 || clock_ms() < f->up.up_deadline)
		return;
	upgrade_fail(f, "was not ready in time, killed");
	kill(pid, SIGKILL);
}

void
upgrade_reaped(struct forkd *f, int status)
{
	char why[64];

	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exited %d", WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "killed by signal %d",
		    WTERMSIG(status));
	/* Whatever it wrote before it went is logged first. */
	if (f->up.up_fd != -1)
		upgrade_read(f);
	if (f->up.up_pid != 0)
		upgrade_fail(f, why);
}
