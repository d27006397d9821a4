/*
 * reload: SIGHUP, the configuration read again (inetd's config()). The
 * steps: parse (a config with errors changes nothing), match each new
 * service to a running one on the same listener and carry its state over,
 * replace or shrink a prefork pool, stop what was removed, bind what is
 * new.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <libutil.h>
#include <signal.h>
#include <string.h>

#include "clock.h"
#include "forkd.h"
#include "log.h"
#include "persource.h"

static void	reload_errors(struct forkd *, char *);
static struct servtab *reload_match(struct forkd *, const struct servtab *);
static void	reload_keep(struct forkd *, struct servtab *, struct servtab *);
static void	reload_pool(struct forkd *, const struct servtab *,
		    struct servtab *);
static void	reload_remove(struct forkd *);

/* Log conf_parse's lines, one each, and that nothing changes. */
static void
reload_errors(struct forkd *f, char *err)
{
	char *line, *next;

	for (line = err; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_warnx("%s", line);
	}
	log_warnx("reload: %s has errors: the running configuration stays",
	    f->conffile);
}

/* The running service on sep's listener not matched yet; NULL: none. */
static struct servtab *
reload_match(struct forkd *f, const struct servtab *sep)
{
	struct servtab *o;

	for (o = f->services; o != NULL; o = o->se_next)
		if (!o->se_matched && conf_same_listener(o, sep))
			return o;
	return NULL;
}

/* Kept: sep takes o's socket, children, guard, back-off and counters. */
static void
reload_keep(struct forkd *f, struct servtab *o, struct servtab *sep)
{
	o->se_matched = 1;
	sep->se_fd = o->se_fd;
	/*
	 * A handler may have set TCP_DEFER_ACCEPT on its listener (httpd
	 * does): another program, which may speak first (SMTP), gets the
	 * socket without it.
	 */
	if (sep->se_socktype == SOCK_STREAM &&
	    strcmp(sep->se_program, o->se_program) != 0)
		(void)setsockopt(sep->se_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
		    &(int){ 0 }, sizeof(int));
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
		persource_set(sep->se_ps, sep->se_maxperip, sep->se_maxcpm);
	status_carry(sep, o);
	sep->se_nonblock = o->se_nonblock;
	o->se_fd = -1;
	child_move(f, o, sep);
	reload_flags(f, sep);
}

void
reload_flags(struct forkd *f, struct servtab *sep)
{
	/*
	 * O_NONBLOCK is shared with the handlers holding the socket (a
	 * multiplexing handler sets it itself): it changes only with the
	 * mode, and only once no handler holds the socket. Until then a
	 * service turned nowait is not polled (the backlog waits), as for
	 * a busy wait service.
	 */
	if ((sep->se_mode == SE_NOWAIT) != sep->se_nonblock &&
	    !child_holds_listener(f, sep))
		listen_flags(sep);
}

/* A pool of a changed program is replaced; a smaller one shrinks. */
static void
reload_pool(struct forkd *f, const struct servtab *o, struct servtab *sep)
{
	if (o->se_mode == SE_PREFORK && !conf_same_handler(o, sep)) {
		log_info("%s: handler changed: replacing the pool",
		    sep->se_name);
		child_signal(f, sep, SIGTERM);
		/* A fixed program starts at once, not after the broken
		 * one's back-off. */
		sep->se_backoff = 0;
		sep->se_next_spawn = 0;
	} else if (sep->se_mode == SE_PREFORK &&
	    sep->se_nchild > sep->se_max) {
		/* A smaller pool: end the handlers past its size. */
		log_info("%s: pool of %d: ending %d handlers", sep->se_name,
		    sep->se_max, sep->se_nchild - sep->se_max);
		child_kill_excess(f, sep, sep->se_max, SIGTERM);
	}
}

/* Running services the new config has not: closed, their pools ended. */
static void
reload_remove(struct forkd *f)
{
	struct servtab *o;

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
}

void
reload_conf(struct forkd *f)
{
	struct servtab *list, *sep, *o;
	char err[8192];

	if (conf_parse(f->conffile, &list, err, sizeof(err)) == -1) {
		reload_errors(f, err);
		return;
	}
	for (o = f->services; o != NULL; o = o->se_next)
		o->se_matched = 0;
	for (sep = list; sep != NULL; sep = sep->se_next)
		if ((o = reload_match(f, sep)) != NULL) {
			reload_keep(f, o, sep);
			reload_pool(f, o, sep);
		}
	reload_remove(f);
	conf_free(f->services);
	f->services = list;
	/* New services; a reload also ends a looping guard's pause. */
	for (sep = list; sep != NULL; sep = sep->se_next)
		if (listen_start(sep) == -1 && sep->se_disabled_until == 0)
			/* Retried in a minute, as inetd does. */
			sep->se_disabled_until = clock_ms() + 60000;
	setproctitle("%s", f->conffile);
	log_info("reload: %s", f->conffile);
}
