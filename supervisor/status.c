/*
 * status: what forkd runs, on SIGUSR1, as xinetd's dump and s6-svstat
 * give it: one log line per service and one per handler (syslog, and
 * stderr under -d). The lines are made for people and for grep:
 *
 *   status: forkd pid 812 up 3600 s, 4 services, 11 handlers, config F
 *   status: SERVICE: MODE, STATE, handlers N, spawned N, exits 0:N 1:N,
 *       killed SIG:N, refused N per source
 *   status: SERVICE: pid 840 age 12.345 s
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "forkd.h"
#include "log.h"
#include "persource.h"

/* Room for a service's line: its counters are bounded in number. */
#define STATUS_LINE	1024

static size_t	status_state(const struct servtab *, long long, char *,
		    size_t);
static size_t	status_exits(const struct servtab *, char *, size_t);
static size_t	status_refused(const struct servtab *, char *, size_t);
static void	status_append(char *, size_t, size_t *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static void
status_append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n < len - *off ? (size_t)n : len - *off - 1;
}

/* listening, busy (a wait handler holds the socket), disabled, closed */
static size_t
status_state(const struct servtab *sep, long long now, char *buf,
    size_t len)
{
	size_t off = 0;

	if (sep->se_disabled_until != 0)
		status_append(buf, len, &off, "disabled until +%lld s",
		    (sep->se_disabled_until - now + 999) / 1000);
	else if (sep->se_fd == -1)
		status_append(buf, len, &off, "closed");
	else if (sep->se_mode == SE_WAIT && sep->se_busy)
		status_append(buf, len, &off, "listening, busy");
	else
		status_append(buf, len, &off, "listening");
	if (sep->se_mode == SE_PREFORK && sep->se_backoff > 0)
		status_append(buf, len, &off, ", back-off %d ms",
		    sep->se_backoff);
	return off;
}

/* "exits 0:12 111:1, killed 15:2": only the statuses seen. */
static size_t
status_exits(const struct servtab *sep, char *buf, size_t len)
{
	size_t off = 0;
	int i, any = 0;

	status_append(buf, len, &off, "exits");
	for (i = 0; i < 256; i++)
		if (sep->se_exits[i] != 0) {
			status_append(buf, len, &off, " %d:%lu", i,
			    sep->se_exits[i]);
			any = 1;
		}
	if (!any)
		status_append(buf, len, &off, " none");
	any = 0;
	for (i = 1; i < 65; i++)
		if (sep->se_killed[i] != 0) {
			status_append(buf, len, &off, "%s %s:%lu",
			    any ? "" : ", killed", sigabbrev_np(i) != NULL ?
			    sigabbrev_np(i) : "?", sep->se_killed[i]);
			any = 1;
		}
	return off;
}

/*
 * Per-source refusals (FreeBSD inetd's max-child-per-ip and
 * max-connections-per-ip-per-minute), counted in the service's table by
 * forkd and its handlers alike: ", refused N" when the service has a
 * per-source limit.
 */
static size_t
status_refused(const struct servtab *sep, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (sep->se_ps != NULL)
		status_append(buf, len, &off, ", refused %lu per source",
		    persource_refusals(sep->se_ps));
	return off;
}

void
status_log(struct forkd *f)
{
	struct servtab *sep;
	struct child *ch;
	char line[STATUS_LINE], mode[64], state[64], exits[STATUS_LINE / 2],
	    refused[64];
	long long now = clock_ms();
	int n = 0;

	for (sep = f->services; sep != NULL; sep = sep->se_next)
		n++;
	log_info("status: forkd pid %ld up %lld s, %d services, %zu "
	    "handlers, config %s%s", (long)getpid(),
	    (now - f->started) / 1000, n, f->nchildren, f->conffile,
	    f->stopping ? ", draining" : "");
	if (f->up.up_pid != 0)
		log_info("status: upgrade under way: new forkd pid %ld",
		    (long)f->up.up_pid);
	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		conf_mode_name(sep, mode, sizeof(mode));
		status_state(sep, now, state, sizeof(state));
		status_exits(sep, exits, sizeof(exits));
		status_refused(sep, refused, sizeof(refused));
		snprintf(line, sizeof(line), "status: %s: %s, %s, handlers "
		    "%d, spawned %lu, %s%s", sep->se_name, mode, state,
		    sep->se_nchild, sep->se_nspawned, exits, refused);
		log_info("%s", line);
		for (ch = NULL; (ch = child_next_of(f, sep, ch)) != NULL;)
			log_info("status: %s: pid %ld age %lld.%03lld s",
			    sep->se_name, (long)ch->ch_pid,
			    (now - ch->ch_started) / 1000,
			    (now - ch->ch_started) % 1000);
	}
	/* Handlers of services a reload removed, finishing. */
	for (ch = NULL; (ch = child_next_of(f, NULL, ch)) != NULL;)
		log_info("status: %s (removed): pid %ld age %lld.%03lld s",
		    ch->ch_name, (long)ch->ch_pid,
		    (now - ch->ch_started) / 1000,
		    (now - ch->ch_started) % 1000);
}

void
status_exit(struct servtab *sep, int status)
{
	if (WIFEXITED(status))
		sep->se_exits[WEXITSTATUS(status)]++;
	else if (WIFSIGNALED(status) && WTERMSIG(status) < 65)
		sep->se_killed[WTERMSIG(status)]++;
}

void
status_carry(struct servtab *sep, const struct servtab *o)
{
	sep->se_nspawned = o->se_nspawned;
	memcpy(sep->se_exits, o->se_exits, sizeof(sep->se_exits));
	memcpy(sep->se_killed, o->se_killed, sizeof(sep->se_killed));
}
