/*
 * forkd: the supervisor's shared declarations.
 */
#ifndef FORKD_FORKD_H
#define FORKD_FORKD_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>

/* How a service's handlers get their sockets (inetd(8), DESIGN.md). */
enum se_mode {
	SE_NOWAIT,	/* accept, fork a handler per connection */
	SE_WAIT,	/* hand the bound socket to one handler at a time */
	SE_PREFORK,	/* keep se_max handlers, each with the listener */
};

#define SE_ARGV_MAX	64	/* argv0 and args of a program */
#define SE_NAME_MAX	96	/* "127.0.0.1:4199/tcp" */

/*
 * One service: a line of forkd.conf (the fields of inetd's struct
 * servtab), and its run-time state.
 */
struct servtab {
	struct servtab	*se_next;
	/* From the config. */
	char		*se_file;	/* config file, for messages */
	int		 se_line;	/* its line number */
	char		*se_host;	/* address as written; NULL: any */
	char		*se_service;	/* service name or port as written */
	int		 se_socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	char		 se_proto[8];	/* "tcp", "tcp6", "udp", "udp6" */
	int		 se_family;	/* AF_INET or AF_INET6 */
	struct sockaddr_storage se_addr; /* where to bind */
	socklen_t	 se_addrlen;
	enum se_mode	 se_mode;
	int		 se_max;	/* nowait/wait: spawns a minute (0:
					   unlimited); prefork: pool size */
	/* FreeBSD inetd's limits: /max-child/max-connections-per-ip-per-
	   minute/max-child-per-ip after the mode; 0: none. */
	int		 se_maxchild;	/* nowait: handlers at once */
	int		 se_maxcpm;	/* connections an address a minute */
	int		 se_maxperip;	/* connections an address at once */
	int		 se_proxy;	/* "+proxy": PROXY header first */
	char		*se_user;
	char		*se_group;	/* NULL: the user's login group */
	uid_t		 se_uid;
	gid_t		 se_gid;
	/* se_user's groups with se_gid, from getgrouplist(3) at config
	   load: a spawn sets them without reading the group database. */
	gid_t		*se_groups;
	int		 se_ngroups;
	char		*se_program;	/* absolute path */
	char		*se_argv[SE_ARGV_MAX + 1];	/* NULL-terminated */
	int		 se_argc;
	char		 se_name[SE_NAME_MAX];	/* for logs */

	/* Run time. */
	int		 se_fd;		/* the listener; -1 when closed */
	int		 se_busy;	/* wait: a handler holds the socket */
	int		 se_nonblock;	/* nowait: forkd made the listener
					   non-blocking (listen_flags) and
					   accepts on it */
	int		 se_nchild;	/* handlers running */
	long long	 se_count_start; /* .max window start (ms) */
	int		 se_count;	/* spawns in the window */
	long long	 se_disabled_until; /* ms; 0: enabled */
	long long	 se_pause_until; /* ms: fork failed, wait before the
					   next accept */
	int		 se_backoff;	/* prefork back-off (ms); 0: none */
	long long	 se_next_spawn;	/* prefork: no spawn before (ms) */
	int		 se_matched;	/* reconfiguration bookkeeping */
	struct persource *se_ps;	/* per-source table; NULL: none yet */
	const char	*se_inherited;	/* the socket came from "upgrade" (an
					   older forkd) or "systemd"; NULL */
	/* Counters for SIGUSR1 (status.c), kept across reloads. */
	unsigned long	 se_nspawned;	/* handlers started */
	unsigned long	 se_exits[256];	/* exits by status */
	unsigned long	 se_killed[65];	/* deaths by signal number */
};

/* A service counts its clients per address (it has a per-source limit). */
#define SE_PERSOURCE(sep)	((sep)->se_maxcpm > 0 || (sep)->se_maxperip > 0)

/* Spawns a minute of a nowait or wait service without ".max": inetd's. */
#define SE_MAX_DEFAULT	256
/* How long the .max guard disables a service (ms), as inetd's RETRYTIME. */
#define SE_RETRY_MS	(10 * 60 * 1000)
/* The largest prefork pool. */
#define SE_PREFORK_MAX	1024

/*
 * conf: parse forkd.conf (inetd.conf syntax, read with fparseln(3)):
 *   [addr:]service socktype proto mode user[:group] program argv0 [args...]
 * mode: wait|nowait[.max]|prefork.N, then optionally FreeBSD inetd's
 * /max-child[/max-connections-per-ip-per-minute[/max-child-per-ip]], then
 * optionally "+proxy" (streams).
 * On success stores the services in file order in *list (NULL for a file
 * with none) and returns 0. On any error returns -1 and writes to err
 * (errlen bytes) one line per error, each "file:line: field: why"; *list
 * is then NULL. Users and groups are looked up now (getpwnam, getgrnam),
 * services in /etc/services (getservbyname); no DNS lookup is made: the
 * address must be numeric or "*".
 */
int	conf_parse(const char *path, struct servtab **list, char *err,
	    size_t errlen);
/*
 * mode: the mode field of one line ("nowait.256/0/0/2+proxy") into sep's
 * se_mode, se_max, limits and se_proxy; sep->se_socktype must be set.
 * Returns 0, or -1 with why (whylen bytes) saying what is wrong.
 */
int	conf_mode_parse(struct servtab *sep, const char *whole, char *why,
	    size_t whylen);
/* Free a list from conf_parse(). */
void	conf_free(struct servtab *list);
/*
 * The mode field as forkd.conf writes it ("prefork.8", "nowait.256/0/0/2",
 * "wait.0+proxy") into buf (len bytes). Returns buf.
 */
const char *conf_mode_name(const struct servtab *sep, char *buf, size_t len);
/* Print a list as forkd -n shows it, one service a line. */
void	conf_print(FILE *fp, const struct servtab *list);
/* 1 if a and b listen on the same address, port, socktype and proto. */
int	conf_same_listener(const struct servtab *a, const struct servtab *b);
/* 1 if a and b run the same program the same way (user, argv, mode). */
int	conf_same_handler(const struct servtab *a, const struct servtab *b);

/*
 * listen: bind sep's socket (SO_REUSEADDR, IPV6_V6ONLY for tcp6/udp6,
 * backlog SOMAXCONN) into sep->se_fd. Returns 0, or -1 with errno and a
 * message "name: bind addr: why" in err (errlen bytes).
 */
int	listen_open(struct servtab *sep, char *err, size_t errlen);
/* Close sep's listener, if open. */
void	listen_close(struct servtab *sep);
/*
 * Take fd, a socket bound by someone else (an older forkd handing over
 * its listeners on SIGUSR2, or systemd's socket activation), for a
 * service with its address, port and socket type; from is for messages
 * ("upgrade", "systemd", a string that stays). listen_open() uses such a socket rather than
 * bind a new one. Returns 0, or -1 when fd is no bound socket (fd is
 * then closed and a message is in err).
 */
int	listen_inherit(int fd, const char *from, char *err, size_t errlen);
/* Close the inherited sockets no service took; returns how many. */
int	listen_inherit_drop(void);
/* The mode for the "listening" log line ("prefork.8", "wait"). */
const char *listen_mode_name(const struct servtab *sep, char *buf,
	    size_t len);
/*
 * Set O_NONBLOCK on sep's listener for nowait (forkd accepts), clear it
 * for wait and prefork (their handlers accept); only on a socket no
 * handler holds. Sets se_nonblock.
 */
void	listen_flags(struct servtab *sep);
/*
 * Bind sep if it is not bound (a reload, the end of the looping guard's
 * pause), set its flags, reset the guard's count and log "listening".
 * Returns 0, or -1 (logged) when the bind fails.
 */
int	listen_start(struct servtab *sep);

/* A running handler. */
struct child {
	pid_t		 ch_pid;
	struct servtab	*ch_sep;	/* NULL once its service is removed */
	char		 ch_name[SE_NAME_MAX];	/* the service, for logs */
	int		 ch_errfd;	/* read end of its stderr pipe; -1 */
	char		 ch_errbuf[4096];	/* a partial stderr line: holds
					   any line of lib/log's whole */
	size_t		 ch_errlen;
	long long	 ch_started;	/* ms */
	int		 ch_listener;	/* it holds a listener (wait, prefork) */
};

/* A binary upgrade on SIGUSR2 (upgrade.c), as the old forkd sees it. */
struct upgrade {
	pid_t		 up_pid;	/* the new forkd; 0: none under way */
	int		 up_fd;		/* handshake socket to it; -1 */
	char		 up_buf[512];	/* a partial line from it */
	size_t		 up_len;
	long long	 up_deadline;	/* ms: it must be ready by then */
	pid_t		 up_handed;	/* the pid we handed over to; 0 */
};

/* The supervisor's state: one struct, no globals (STYLE.md). */
struct forkd {
	int		 debug;
	const char	*conffile;
	const char	*pidpath;
	struct pidfh	*pfh;
	struct servtab	*services;
	struct child	*children;
	size_t		 nchildren;
	size_t		 maxchildren;
	int		 sigfd;		/* signalfd: CHLD, HUP, TERM, INT,
					   USR1, USR2 */
	int		 verbose;	/* -v */
	int		 stop_ms;	/* -t: the drain's bound (ms) */
	int		 stopping;
	long long	 stop_deadline;	/* ms: TERM what is left */
	long long	 kill_deadline;	/* ms: then KILL; 0 not yet */
	long long	 started;	/* ms */
	char		*exepath;	/* absolute path run on SIGUSR2 */
	int		 upgrade_fd;	/* new forkd: handshake socket; -1 */
	int		 upgrade_stderr; /* new forkd: stderr saved; -1 */
	struct upgrade	 up;
};

/*
 * loop: the event loop: poll(2) over the signalfd, the upgrade's
 * handshake, the listeners forkd accepts on and the children's stderr
 * pipes, until the drain ends.
 */
void	loop_run(struct forkd *f) __attribute__((noreturn));
/*
 * loop: start the drain (SIGTERM, or the hand-over after an upgrade):
 * listeners closed, handlers holding a listener sent SIGTERM, forkd exits
 * 0 once every handler has ended, or at the bound (-t), after a second
 * SIGTERM and then SIGKILL to what is left.
 */
void	loop_drain(struct forkd *f);

/*
 * reload: SIGHUP: read the config again; a service whose address, port
 * and socket type stay keeps its socket, its children and its counters;
 * new ones are bound, removed ones closed (their handlers finish). A
 * config with errors is logged and the running one stays.
 */
void	reload_conf(struct forkd *f);
/*
 * A reload that changed sep's mode between nowait and the others leaves
 * its listener's O_NONBLOCK as it is while a handler holds the socket:
 * set it for the new mode once none does (called after each reap).
 */
void	reload_flags(struct forkd *f, struct servtab *sep);

/*
 * upgrade (the old forkd's side): SIGUSR2 forks and executes f->exepath
 * with the listeners' descriptors in FORKD_LISTENERS and a handshake
 * socket in FORKD_UPGRADE; the old forkd serves on until the new one
 * says it is ready, then gives up the pidfile and drains.
 */
void	upgrade_start(struct forkd *f);
/* Read what the new forkd said on f->up.up_fd; hand over on "ready". */
void	upgrade_read(struct forkd *f);
/* Give up an upgrade whose new forkd was not ready in time. */
void	upgrade_timeout(struct forkd *f);
/* The new forkd (pid) exited with status before it was ready. */
void	upgrade_reaped(struct forkd *f, int status);

/*
 * upgrade (the new forkd's side): before anything else in main(), note
 * the executable's absolute path (argv0 through PATH), and when started by
 * an upgrade, take the listeners and the handshake socket from the
 * environment (removing the variables) and send what goes to stderr to
 * the old forkd until upgrade_ready().
 */
void	upgrade_init(struct forkd *f, const char *argv0);
/*
 * path made absolute against the working directory, for what a forkd
 * that daemon(3) moved to "/" passes to its successor. Returns a copy
 * (malloc), or NULL when out of memory.
 */
char	*upgrade_abspath(const char *path);
/* The start-up is past its errors: stderr is ours again. */
void	upgrade_stderr(struct forkd *f);
/*
 * Tell the old forkd we serve, wait for it to release the pidfile (up to
 * a few seconds), then take the pidfile. Returns 0, or -1 (logged) when
 * the pidfile could not be taken.
 */
int	upgrade_ready(struct forkd *f);

/*
 * activate: systemd's socket activation (sd_listen_fds(3)): when
 * LISTEN_PID is our pid, the LISTEN_FDS sockets from fd 3 on are
 * inherited (listen_inherit) and the variables removed, so handlers never
 * see them. Returns the number taken.
 */
int	activate_listen_fds(void);

/* status: SIGUSR1, one log line per service and one per handler. */
void	status_log(struct forkd *f);
/* Count the exit of a handler of sep with wait(2) status. */
void	status_exit(struct servtab *sep, int status);
/* A reload keeps o's counters in its successor sep. */
void	status_carry(struct servtab *sep, const struct servtab *o);

/*
 * spawn: start a handler for sep with fd as its fds 0 and 1 (a connected
 * socket for nowait, the listener for wait and prefork) and a pipe on fd 2
 * whose lines are forwarded to syslog. peer, when not NULL, is the accepted
 * connection's address, for the UCSPI-TCP environment. The child is a
 * clone(CLONE_VM|CLONE_VFORK) that only makes system calls, or a fork for a
 * nowait child with a PROXY header or per-source limits to see to. Returns
 * the child's pid (a child that failed before execve is logged with its
 * reason and exits 111), or -1 (logged) when the clone, fork or pipe fails.
 */
pid_t	spawn_handler(struct forkd *f, struct servtab *sep, int fd,
	    const struct sockaddr_storage *peer);
/* Read what children wrote to stderr on fd and log whole lines. */
void	spawn_stderr(struct forkd *f, struct child *ch);
/* Forget child ch (after its exit), closing its pipe after a last read. */
void	spawn_forget(struct forkd *f, struct child *ch);

/*
 * child: the table of running handlers in f. A struct child pointer holds
 * only until the next child_add or child_remove (entries move).
 * child_add records pid, a handler of sep whose stderr pipe is errfd, started
 * now; returns its entry, or NULL when out of memory.
 */
struct child *child_add(struct forkd *f, pid_t pid, struct servtab *sep,
	    int errfd);
/* The child with pid; NULL if none. */
struct child *child_find(struct forkd *f, pid_t pid);
/* Iterate every child: the one after ch (NULL: the first); NULL at the end. */
struct child *child_next(struct forkd *f, struct child *ch);
/* The same over the children of sep (NULL: of removed services). */
struct child *child_next_of(struct forkd *f, const struct servtab *sep,
	    struct child *ch);
/* Take ch out of the table (its pipe is the caller's to close). */
void	child_remove(struct forkd *f, struct child *ch);
/* The children of from belong to to (NULL: from is being removed). */
void	child_move(struct forkd *f, const struct servtab *from,
	    struct servtab *to);
/* Send sig to every child of sep (NULL: of every service). */
void	child_signal(struct forkd *f, const struct servtab *sep, int sig);
/* Send sig to every child holding a listener (wait, prefork). */
void	child_signal_listeners(struct forkd *f, int sig);
/*
 * A pool made smaller: send sig to the children of sep past the first
 * keep. Returns how many were signalled.
 */
int	child_kill_excess(struct forkd *f, const struct servtab *sep, int keep,
	    int sig);
/* 1 if a child of sep holds its listener (a wait or prefork handler). */
int	child_holds_listener(struct forkd *f, const struct servtab *sep);

/*
 * admit: in a nowait handler's child, after the privileges are dropped and
 * before exec: read the PROXY header of a "+proxy" service (a bad one is
 * said on fd 2 and the child exits 0) and set the UCSPI-TCP variables to
 * the client it names; count the client against the per-source limits,
 * and over them set FORKD_REFUSED so the handler sends its refusal.
 * peer is the connection's address from accept.
 */
void	admit_nowait(struct servtab *sep, const struct sockaddr_storage *peer);

/* reap: waitpid(-1, WNOHANG) until nothing is left, logging each exit. */
void	reap_children(struct forkd *f);

/*
 * pool: start prefork handlers up to each service's pool size, heeding
 * the back-off. Returns the milliseconds until the next planned spawn, or
 * -1 when none is waiting.
 */
int	pool_refill(struct forkd *f);
/* Account a prefork handler's exit after it ran for lived ms. */
void	pool_exited(struct servtab *sep, long long lived, int quick);

#endif
