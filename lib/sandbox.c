/*
 * sandbox: seccomp back end (libseccomp) and the null back end.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

/*
 * What every handler needs after it is set up: memory, time, signals,
 * I/O on fds it already holds, exit. syslog(3) reconnects to /dev/log with
 * socket(AF_UNIX)/connect when syslogd restarts: allowed below for AF_UNIX
 * only.
 */
static const int sandbox_base[] = {
	/* exit */
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* memory */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	/* I/O on descriptors already open */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	/* time */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	/* signals and process */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(futex),
	SCMP_SYS(getrandom),
};

#ifdef FORKD_SANITIZE
/*
 * The sanitizer build only (make check-asan): what the AddressSanitizer
 * and UBSan runtimes call in a process that is already sandboxed. At
 * exit ASan takes down the alternate signal stack it set up for its
 * SEGV handler (sigaltstack). Nothing here is in a normal build, so the
 * tests that check a profile check the same profile in both builds.
 */
static const int sandbox_sanitizer[] = {
	SCMP_SYS(sigaltstack),
};
#endif

static void
sandbox_sigsys(int sig, siginfo_t *info, void *ctx)
{
	char msg[128];
	char *name;

	(void)sig;
	(void)ctx;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    info->si_syscall);
	snprintf(msg, sizeof(msg), "sandbox: syscall %s (%d) not allowed",
	    name != NULL ? name : "?", info->si_syscall);
	syslog(LOG_CRIT, "%s", msg);
	_exit(111);
}

/*
 * Set resource's soft and hard limits to want, or to the hard limit in
 * force when that is lower: a profile's limit is a ceiling, and raising a
 * hard limit needs privilege a handler run as nobody lacks (EPERM would
 * stop it from starting at all under a stricter ulimit -Hn).
 */
static int
sandbox_limit(int resource, rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == -1)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = want;
	return setrlimit(resource, &rl);
}

static int
sandbox_rlimits(const struct sandbox_profile *p)
{
	if (sandbox_limit(RLIMIT_CORE, 0) == -1)
		return -1;
	if (p->sp_nofile != 0 && sandbox_limit(RLIMIT_NOFILE,
	    p->sp_nofile) == -1)
		return -1;
	if (p->sp_fsize != 0 && sandbox_limit(RLIMIT_FSIZE,
	    p->sp_fsize) == -1)
		return -1;
	return 0;
}

int
sandbox_enter(const struct sandbox_profile *p)
{
	const char *mode = getenv("FORKD_SANDBOX");
	scmp_filter_ctx ctx = NULL;
	uint32_t deflt = SCMP_ACT_KILL_PROCESS;
	size_t i;
	int r = 0;

	if (sandbox_rlimits(p) == -1) {
		log_warn("%s: sandbox: setrlimit", p->sp_name);
		exit(111);
	}
	if (mode != NULL && strcmp(mode, "off") == 0) {
		log_warnx("%s: sandbox: off (FORKD_SANDBOX=off)", p->sp_name);
		return 0;
	}
	if (mode != NULL && strcmp(mode, "trap") == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1) {
			log_warn("%s: sandbox: sigaction", p->sp_name);
			exit(111);
		}
		deflt = SCMP_ACT_TRAP;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("%s: sandbox: PR_SET_NO_NEW_PRIVS", p->sp_name);
		exit(111);
	}
	if ((ctx = seccomp_init(deflt)) == NULL) {
		log_warnx("%s: sandbox: seccomp_init failed", p->sp_name);
		exit(111);
	}
	for (i = 0; r == 0 && i < SANDBOX_NELEM(sandbox_base); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_base[i], 0);
	/* syslog(3) reconnecting to /dev/log: AF_UNIX sockets only. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
	/*
	 * abort(3) raises SIGABRT with tgkill: glibc calls it when
	 * _FORTIFY_SOURCE, the stack protector or malloc finds memory
	 * corrupted, and that must not be logged as a sandbox violation.
	 * SIGABRT to this process only.
	 */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
		    SCMP_A2(SCMP_CMP_EQ, SIGABRT));
#ifdef FORKD_SANITIZE
	for (i = 0; r == 0 && i < SANDBOX_NELEM(sandbox_sanitizer); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_sanitizer[i],
		    0);
#endif
	for (i = 0; r == 0 && i < p->sp_nallow; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p->sp_allow[i], 0);
	for (i = 0; r == 0 && i < p->sp_nrefuse; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
		    p->sp_refuse[i], 0);
	if (r == 0 && p->sp_rules != NULL)
		r = p->sp_rules(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0) {
		errno = -r;
		log_warn("%s: sandbox: cannot load the seccomp filter",
		    p->sp_name);
		exit(111);
	}
	log_debug("%s: sandbox: entered%s", p->sp_name,
	    deflt == SCMP_ACT_TRAP ? " (trap mode)" : "");
	return 0;
}
