/*
 * forkd: a supervisor in the tradition of inetd(8).
 *
 * The start-up: options, the config, the pidfile, every listener bound
 * (a bind failure is an error before anything detaches), the signals
 * blocked for a signalfd, daemon(3); then the event loop (loop.c).
 */
#include <sys/types.h>
#include <sys/signalfd.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <paths.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "forkd.h"
#include "log.h"

#define FORKD_CONF	PREFIX "/etc/forkd.conf"
#define FORKD_PIDFILE	"/var/run/forkd.pid"
#define FORKD_STOP_MS	5000	/* -t: how long a drain may take */

extern char **environ;

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

/*
 * Started with descriptor 0, 1 or 2 closed, the pidfile or a listener
 * would take that number and daemon(3) would put /dev/null over it: hold
 * them first.
 */
static void
main_hold_stdio(void)
{
	int n;

	do {
		if ((n = open(_PATH_DEVNULL, O_RDWR)) == -1)
			err(1, "%s", _PATH_DEVNULL);
	} while (n < 3);
	close(n);
}

/* The options into f; returns 1 for -n (check the config only). */
static int
main_options(struct forkd *f, int argc, char *argv[])
{
	int ch, check = 0;

	while ((ch = getopt(argc, argv, "df:hnp:t:v")) != -1) {
		switch (ch) {
		case 'd':
			f->debug = 1;
			break;
		case 'f':
			f->conffile = optarg;
			break;
		case 'h':
			cli_help(usage);
		case 'n':
			check = 1;
			break;
		case 'p':
			f->pidpath = optarg;
			break;
		case 't':
			f->stop_ms = (int)cli_number("-t", optarg, 0, 3600) *
			    1000;
			break;
		case 'v':
			f->verbose = 1;
			break;
		default:
			cli_usage(usage);
		}
	}
	if (optind != argc)
		cli_usage(usage);
	if (f->pidpath == NULL && !f->debug)
		f->pidpath = FORKD_PIDFILE;
	/* daemon(3) moves to "/": a reload and an upgrade still find them. */
	if ((f->conffile = upgrade_abspath(f->conffile)) == NULL ||
	    (f->pidpath != NULL && (f->pidpath = upgrade_abspath(f->pidpath)) ==
	    NULL))
		err(1, "malloc");
	return check;
}

/*
 * A second forkd on the same pidfile says who runs, and stops. The new
 * forkd of an upgrade takes the pidfile when the old lets it go.
 */
static void
main_pidfile(struct forkd *f)
{
	pid_t other;

	if (f->pidpath == NULL || f->upgrade_fd != -1)
		return;
	f->pfh = pidfile_open(f->pidpath, 0644, &other);
	if (f->pfh == NULL && errno == EINVAL &&
	    forkd_pidfile_read(f->pidpath, &other) == 0)
		errno = EEXIST;
	if (f->pfh == NULL) {
		if (errno == EEXIST)
			errx(1, "already running as pid %ld (pidfile %s)",
			    (long)other, f->pidpath);
		err(1, "pidfile %s", f->pidpath);
	}
}

/* Bind everything before detaching: a failure is said here. */
static void
main_bind(struct forkd *f)
{
	struct servtab *sep;
	char msg[8192];

	/* Sockets systemd bound for us are taken before any is bound. */
	activate_listen_fds();
	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		if (listen_open(sep, msg, sizeof(msg)) == -1) {
			if (f->pfh != NULL)
				pidfile_remove(f->pfh);
			errx(1, "%s", msg);
		}
		listen_flags(sep);
	}
}

/*
 * Block the signals before detaching: once the pidfile is written an rc
 * script may send SIGHUP at once, whose default action would end forkd.
 * They wait for the signalfd.
 */
static void
main_block_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGCHLD);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGUSR1);
	sigaddset(mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, mask, NULL) == -1)
		err(1, "sigprocmask");
}

/* From stderr to syslog, into the background, the pidfile written. */
static void
main_detach(struct forkd *f)
{
	/*
	 * With no syslog daemon every line is lost, the handlers' too, and
	 * nothing says so later: say it once while stderr is a person's.
	 */
	if (log_syslog_listening() == 0)
		warnx("nothing listens on %s: log lines are lost%s; install a "
		    "syslog daemon (apt-get install rsyslog)", _PATH_LOG,
		    f->debug ? " except on this terminal" : "");
	/* FORKD_LOG is for forkd's handlers, never forkd's own log. */
	unsetenv(LOG_ENV);
	upgrade_stderr(f);
	log_init(f->debug, LOG_DAEMON, "forkd");
	log_setverbose(f->verbose);
	listen_inherit_drop();
	/* The new forkd of an upgrade runs detached already. */
	if (!f->debug && f->upgrade_fd == -1 && daemon(0, 0) == -1) {
		if (f->pfh != NULL)
			pidfile_remove(f->pfh);
		err(1, "daemon");
	}
	if (f->pfh != NULL && forkd_pidfile_write(f->pfh) == -1)
		log_warn("pidfile %s", f->pidpath);
}

/* "listening" for each service, then "started". */
static void
main_started(struct forkd *f)
{
	struct servtab *sep;
	char mode[32];
	int n = 0;

	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		n++;
		log_info("%s: listening, %s, %s as %s%s%s", sep->se_name,
		    listen_mode_name(sep, mode, sizeof(mode)),
		    sep->se_program, sep->se_user, sep->se_inherited != NULL ?
		    ", socket from " : "", sep->se_inherited != NULL ?
		    sep->se_inherited : "");
	}
	setproctitle("%s", f->conffile);
	if (f->upgrade_fd != -1) {
		/* Our pools first: the old handlers drain once we say so. */
		pool_refill(f);
		upgrade_ready(f);
		log_info("started: %d services from %s, upgraded in place", n,
		    f->conffile);
	} else
		log_info("started: %d services from %s", n, f->conffile);
}

int
main(int argc, char *argv[])
{
	struct forkd f;
	char msg[8192];
	sigset_t mask;
	int check;

	main_hold_stdio();
	memset(&f, 0, sizeof(f));
	f.conffile = FORKD_CONF;
	f.sigfd = -1;
	f.stop_ms = FORKD_STOP_MS;
	f.started = clock_ms();
	/* Before setproctitle takes argv's memory over. */
	upgrade_init(&f, argv[0]);
	setproctitle_init(argc, argv, environ);
	cli_init(argv, EXIT_USAGE);
	check = main_options(&f, argc, argv);

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
	main_pidfile(&f);
	main_bind(&f);
	main_block_signals(&mask);
	main_detach(&f);
	if ((f.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	main_started(&f);
	loop_run(&f);
}
