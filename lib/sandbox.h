/*
 * sandbox: one interface for the handlers' seccomp profiles, in the shape
 * of OpenSSH's sandbox-seccomp-filter.c.
 *
 * A handler opens what it needs (spool, document root, syslog), then calls
 * sandbox_enter() with its profile before it reads a byte from the peer.
 * Order: rlimits, PR_SET_NO_NEW_PRIVS, then the filter. The default action
 * is SCMP_ACT_KILL_PROCESS: a syscall outside the profile kills the
 * handler with SIGSYS, and forkd logs that as a sandbox violation.
 *
 * Environment:
 *   FORKD_SANDBOX=trap   trap instead of kill: a SIGSYS handler logs the
 *                        syscall's name and exits 111 (debugging a profile)
 *   FORKD_SANDBOX=off    no filter at all (the null back end); logged
 */
#ifndef FORKD_SANDBOX_H
#define FORKD_SANDBOX_H

#include <sys/resource.h>
#include <stddef.h>

#include <seccomp.h>

struct sandbox_profile {
	const char	*sp_name;	/* "echod", for the log */
	/* Syscalls allowed, on top of the base set in sandbox.c. */
	const int	*sp_allow;
	size_t		 sp_nallow;
	/* Syscalls refused softly with EACCES instead of killing. */
	const int	*sp_refuse;
	size_t		 sp_nrefuse;
	/*
	 * Extra rules (argument filters) added to ctx; NULL for none.
	 * Returns 0, or a negative errno as libseccomp does.
	 */
	int		(*sp_rules)(scmp_filter_ctx ctx);
	rlim_t		 sp_nofile;	/* RLIMIT_NOFILE; 0: leave it */
	rlim_t		 sp_fsize;	/* RLIMIT_FSIZE in bytes; 0: leave it */
};

/*
 * Enter profile p. Returns only on success (0). On any failure it logs why
 * and exits 111: a handler never serves unconfined because its filter
 * would not load (fail closed).
 */
int	sandbox_enter(const struct sandbox_profile *p);

/* Number of elements of a static array, for sp_nallow and sp_nrefuse. */
#define SANDBOX_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#endif
