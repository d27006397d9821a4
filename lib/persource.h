/*
 * persource: per-source limits of a service (FreeBSD inetd's
 * max-child-per-ip and max-connections-per-ip-per-minute, xinetd's
 * per_source), counted in one table that forkd and every handler of the
 * service share.
 *
 * forkd creates the table (a memfd, mapped MAP_SHARED) before it forks;
 * nowait children inherit the mapping, and exec'd prefork and wait
 * handlers, which accept connections themselves, find the table's fd in
 * the environment variable PERSOURCE_ENV. A connection holds a slot keyed
 * by its client address and the pid that serves it; a process killed
 * while holding slots loses them when forkd reaps it (persource_reap),
 * and one killed inside the table's lock (a POSIX record lock on the
 * memfd) loses the lock with its life.
 */
#ifndef FORKD_PERSOURCE_H
#define FORKD_PERSOURCE_H

#include <sys/types.h>

/* The descriptor number of the table in a handler's environment. */
#define PERSOURCE_ENV	"FORKD_PERSOURCE_FD"

struct persource;

enum persource_verdict {
	PERSOURCE_OK,		/* admitted and counted: leave it later */
	PERSOURCE_UNCOUNTED,	/* admitted, no slot free in its bucket, or
				   an address that is not an IP */
	PERSOURCE_CHILD,	/* refused: max-child-per-ip reached */
	PERSOURCE_RATE,		/* refused: max-connections-per-ip-per-minute */
};

/*
 * Create a table allowing maxperip connections at once and maxcpm a
 * minute from one address (0: no limit). Returns the table, or NULL with
 * errno (memfd_create, ftruncate, mmap).
 */
struct persource *persource_create(int maxperip, int maxcpm);
/* Map the table inherited on descriptor fd (FD_CLOEXEC is set on it).
 * Returns NULL with errno (EINVAL: not a table). */
struct persource *persource_attach(int fd);
/* The table's descriptor, to be passed to a handler. */
int	persource_fd(const struct persource *ps);
/* Change the limits in place: every process sees them at once. */
void	persource_set(struct persource *ps, int maxperip, int maxcpm);
/* Unmap and close. */
void	persource_close(struct persource *ps);

/*
 * Admit a connection from numeric address ip ("192.0.2.1", "2001:db8::1",
 * IPv4-mapped IPv6 counted as IPv4) served by process pid, at now_ms
 * (CLOCK_MONOTONIC milliseconds, the same clock in every process). On a
 * refusal *logit is 1 for the first refusal of that address in a minute,
 * and 0 after, so the caller logs once per address and minute; with
 * PERSOURCE_UNCOUNTED because the table is full, once a minute.
 */
enum persource_verdict persource_enter(struct persource *ps, const char *ip,
	    pid_t pid, long long now_ms, int *logit);
/* The connection from ip that pid served with PERSOURCE_OK has ended. */
void	persource_leave(struct persource *ps, const char *ip, pid_t pid);
/* pid has ended: drop every slot it held. Returns how many it held. */
int	persource_reap(struct persource *ps, pid_t pid);
/* Connections held now from ip (for logs and tests). */
int	persource_count(struct persource *ps, const char *ip);
/* Refusals since the table was created. */
unsigned long persource_refusals(struct persource *ps);

#endif
