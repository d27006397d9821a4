/*
 * sandbox: one interface for the handlers' seccomp profiles, in the shape
 * of OpenSSH's sandbox-seccomp-filter.c.
 *
 * A handler opens what it needs (spool, document root, syslog), then calls
 * sandbox_enter() with its profile before it reads a byte from the peer.
 * Order: rlimits, PR_SET_NO_NEW_PRIVS, Landlock (a profile's "beneath this
 * directory" rule), then the filter.
 *
 * A profile is a static const table in its program's profile.c. An allow
 * list (the default) adds syscalls to the base set of sandbox.c and kills
 * the process for anything else (SCMP_ACT_KILL_PROCESS; forkd logs it as
 * a sandbox violation). A deny list (for a process that runs programs)
 * allows everything but its list, which fails with EPERM.
 *
 * The build compiles every profile of a program to BPF once
 * (mk/sandbox_gen.c, seccomp_export_bpf(3)) into a table named sandbox_bpf;
 * sandbox_enter() loads a profile's compiled filter from there with
 * seccomp(2), and builds it with libseccomp only for a profile the table
 * lacks (a program the build has no profile.c for).
 *
 * Environment:
 *   FORKD_SANDBOX=trap   trap instead of kill (or of EPERM, in a deny
 *                        list): a SIGSYS handler logs the syscall's name
 *                        and exits 111 (debugging a profile)
 *   FORKD_SANDBOX=off    no filter and no Landlock (the null back end);
 *                        logged. The rlimits still apply.
 */
#ifndef FORKD_SANDBOX_H
#define FORKD_SANDBOX_H

#include <sys/resource.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

#include <seccomp.h>

/* What a profile's list means. */
enum sandbox_list {
	SANDBOX_ALLOWLIST = 0,	/* base set + sp_syscalls; the rest kills */
	SANDBOX_DENYLIST,	/* sp_syscalls fail with EPERM; the rest runs */
};

/*
 * A syscall allowed only with certain arguments (OpenSSH's SC_ALLOW_ARG):
 * argument sa_arg[i] (0-5) equal to sa_value[i] for each i < sa_ncmp. Two
 * rules for one syscall allow either. SANDBOX_SELF as a value stands for
 * the calling process's pid, filled in when the filter is loaded.
 */
struct sandbox_arg {
	int		 sa_nr;		/* SCMP_SYS(name) */
	unsigned	 sa_ncmp;	/* 1 or 2 */
	unsigned	 sa_arg[2];
	uint64_t	 sa_value[2];
};
#define SANDBOX_ARG(nr, a, v)	{ (nr), 1, { (a), 0 }, { (v), 0 } }
#define SANDBOX_ARG2(nr, a, v, b, w) \
	{ (nr), 2, { (a), (b) }, { (v), (w) } }
/* Above any pid (PID_MAX_LIMIT is 2^22), below any errno or arch token. */
#define SANDBOX_SELF		((uint64_t)0x7fab5e1f)

struct sandbox_profile {
	const char	*sp_name;	/* "echod", for the log; unique */
	enum sandbox_list sp_list;
	/* Allow list: allowed on top of the base set. Deny list: EPERM. */
	const int	*sp_syscalls;
	size_t		 sp_nsyscalls;
	/* Allow list: refused softly with EACCES instead of killing. */
	const int	*sp_refuse;
	size_t		 sp_nrefuse;
	/* Allow list: allowed with these arguments only. */
	const struct sandbox_arg *sp_args;
	size_t		 sp_nargs;
	/* 0: it never forks, RLIMIT_NPROC 0. 1: it forks (no limit set). */
	int		 sp_forks;
	/*
	 * Landlock: 1 when files may be opened, made, renamed and removed
	 * only beneath the directory given at run time (sl_beneath).
	 */
	int		 sp_beneath;
	rlim_t		 sp_nofile;	/* RLIMIT_NOFILE; 0: leave it */
};

/* What is known only at run time; the profile's table stays const. */
struct sandbox_limits {
	rlim_t		 sl_nofile;	/* RLIMIT_NOFILE; 0: the profile's */
	int		 sl_beneath;	/* directory fd for sp_beneath */
};

/*
 * A profile compiled to BPF by the build (mk/sandbox_gen.c); not const:
 * the process's pid is written in when it is loaded.
 */
struct sandbox_bpf {
	const char	*sb_name;	/* the profile's sp_name; NULL ends */
	struct sock_filter *sb_kill;	/* the filter */
	unsigned short	 sb_nkill;	/* its instructions, <= BPF_MAXINSNS */
	struct sock_filter *sb_trap;	/* FORKD_SANDBOX=trap's */
	unsigned short	 sb_ntrap;
};

/*
 * Enter profile p with the run-time values lim (NULL: none; a profile
 * with sp_beneath needs sl_beneath, else it fails with EBADF). Returns
 * only on success. On any failure it logs why and exits 111: a handler
 * never serves unconfined because its filter would not load (fail
 * closed). Where the kernel has no Landlock (ENOSYS, EOPNOTSUPP) the
 * beneath rule is skipped with one log line; the filter still holds.
 */
void	sandbox_enter_limits(const struct sandbox_profile *p,
	    const struct sandbox_limits *lim);

/* sandbox_enter_limits(p, NULL). */
void	sandbox_enter(const struct sandbox_profile *p);

/*
 * For the build's compiler of profiles: the filter of p as libseccomp
 * builds it, with the default action of FORKD_SANDBOX=trap when trap is
 * 1, and SANDBOX_SELF left in place of the pid. Returns the context for
 * seccomp_export_bpf(3), or NULL (errno set).
 */
scmp_filter_ctx sandbox_build(const struct sandbox_profile *p, int trap);

/* Number of elements of a static array, for sp_nsyscalls and the like. */
#define SANDBOX_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#endif
