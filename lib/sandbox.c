/*
 * sandbox: the seccomp back end (a filter compiled by the build, or built
 * by libseccomp), Landlock for a profile's directory, and the null back
 * end.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/landlock.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

/*
 * The compiled profiles of this program, from the build
 * (mk/sandbox_gen.c). Weak: a program without a profile.c, and the compiler
 * itself, have none, and build their filter at run time.
 */
extern const struct sandbox_bpf sandbox_bpf[] __attribute__((weak));

/*
 * What every handler needs after it is set up: memory, time, signals,
 * I/O on fds it already holds, exit.
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
	/* syslog(3) reconnecting to /dev/log (the socket: below) */
	SCMP_SYS(connect),
	/* time */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	/* signals and process */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(futex),
	SCMP_SYS(getrandom),
};

static const struct sandbox_arg sandbox_base_args[] = {
	/* syslog(3) reconnects when syslogd restarts: AF_UNIX only. */
	SANDBOX_ARG(SCMP_SYS(socket), 0, AF_UNIX),
	/*
	 * abort(3) raises SIGABRT with tgkill: glibc calls it when
	 * _FORTIFY_SOURCE, the stack protector or malloc finds memory
	 * corrupted, and that must not be logged as a sandbox violation.
	 * SIGABRT to this process only.
	 */
	SANDBOX_ARG2(SCMP_SYS(tgkill), 0, SANDBOX_SELF, 2, SIGABRT),
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

/*
 * The file system rights of Landlock's first ABI, which every kernel with
 * Landlock knows. The later ones concern calls no beneath profile allows
 * (truncate(2) by path, ioctl(2) on a device) or a rename to another
 * directory, which is then refused as under the first ABI (EXDEV).
 */
#define SANDBOX_LL_HANDLED	((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

/*
 * What a profile's beneath rule allows under its directory: files read,
 * written, made, renamed and removed; no directories, devices, links,
 * sockets or programs.
 */
#define SANDBOX_LL_BENEATH	(LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE)

static void
sandbox_sigsys(int sig, siginfo_t *info, void *ctx)
{
	char *name;

	(void)sig;
	(void)ctx;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    info->si_syscall);
	syslog(LOG_CRIT, "sandbox: syscall %s (%d) not allowed",
	    name != NULL ? name : "?", info->si_syscall);
	_exit(111);
}

/* Log what failed, as p, and exit 111: a handler never runs unconfined. */
static void
sandbox_fail(const struct sandbox_profile *p, const char *what)
{
	log_warn("%s: sandbox: %s", p->sp_name, what);
	exit(111);
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

	if (getrlimit(resource, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    want > rl.rlim_max)
		want = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = want;
	return setrlimit(resource, &rl);
}

static int
sandbox_rlimits(const struct sandbox_profile *p,
    const struct sandbox_limits *lim)
{
	rlim_t nofile = p->sp_nofile;
	int r;

	if (lim != NULL && lim->sl_nofile != 0)
		nofile = lim->sl_nofile;
	r = sandbox_limit(RLIMIT_CORE, 0);
	/* A process that never forks may not start one (nor a thread). */
	if (!p->sp_forks)
		r |= sandbox_limit(RLIMIT_NPROC, 0);
	if (nofile != 0)
		r |= sandbox_limit(RLIMIT_NOFILE, nofile);
	return r;
}

/*
 * The beneath rule: from now on files are opened only beneath the
 * directory lim->sl_beneath, whatever path openat(2) is given (seccomp
 * cannot check one: an absolute path ignores the directory fd); without
 * lim, landlock_add_rule(2) fails with EBADF. Returns 0, also when the
 * kernel has no Landlock (logged), or -1 with errno.
 */
static int
sandbox_landlock(const struct sandbox_profile *p,
    const struct sandbox_limits *lim)
{
	struct landlock_ruleset_attr ra;
	struct landlock_path_beneath_attr pb;
	int rfd, r;

	if (!p->sp_beneath)
		return 0;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = SANDBOX_LL_HANDLED;
	rfd = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	/* Not built in (ENOSYS), or off at boot (EOPNOTSUPP). */
	if (rfd == -1 && (errno == ENOSYS || errno == EOPNOTSUPP)) {
		log_warn("%s: sandbox: no Landlock, files not confined to "
		    "a directory", p->sp_name);
		return 0;
	}
	if (rfd == -1)
		return -1;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = SANDBOX_LL_BENEATH;
	pb.parent_fd = lim != NULL ? lim->sl_beneath : -1;
	r = (int)syscall(SYS_landlock_add_rule, rfd,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (r == 0)
		r = (int)syscall(SYS_landlock_restrict_self, rfd, 0);
	(void)close(rfd);
	return r;
}

/* Allow a's syscall when its arguments match; self replaces SANDBOX_SELF. */
static int
sandbox_rule_arg(scmp_filter_ctx ctx, const struct sandbox_arg *a,
    uint64_t self)
{
	struct scmp_arg_cmp cmp[2];
	unsigned i;

	for (i = 0; i < a->sa_ncmp && i < 2; i++) {
		cmp[i].arg = a->sa_arg[i];
		cmp[i].op = SCMP_CMP_EQ;
		cmp[i].datum_a = a->sa_value[i] == SANDBOX_SELF ? self :
		    a->sa_value[i];
		cmp[i].datum_b = 0;
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, a->sa_nr, i, cmp);
}

/* Add each of the n syscalls of list to ctx with action. */
static int
sandbox_rules(scmp_filter_ctx ctx, uint32_t action, const int *list,
    size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++)
		r = seccomp_rule_add(ctx, action, list[i], 0);
	return r;
}

/* The rules of an allow list: the base set, then the profile's. */
static int
sandbox_allowlist(scmp_filter_ctx ctx, const struct sandbox_profile *p,
    uint64_t self)
{
	size_t i;
	int r;

	r = sandbox_rules(ctx, SCMP_ACT_ALLOW, sandbox_base,
	    SANDBOX_NELEM(sandbox_base));
	for (i = 0; r == 0 && i < SANDBOX_NELEM(sandbox_base_args); i++)
		r = sandbox_rule_arg(ctx, &sandbox_base_args[i], self);
#ifdef FORKD_SANITIZE
	if (r == 0)
		r = sandbox_rules(ctx, SCMP_ACT_ALLOW, sandbox_sanitizer,
		    SANDBOX_NELEM(sandbox_sanitizer));
#endif
	if (r == 0)
		r = sandbox_rules(ctx, SCMP_ACT_ALLOW, p->sp_syscalls,
		    p->sp_nsyscalls);
	if (r == 0)
		r = sandbox_rules(ctx, SCMP_ACT_ERRNO(EACCES), p->sp_refuse,
		    p->sp_nrefuse);
	for (i = 0; r == 0 && i < p->sp_nargs; i++)
		r = sandbox_rule_arg(ctx, &p->sp_args[i], self);
	return r;
}

/* p's filter with self for SANDBOX_SELF; NULL with errno on failure. */
static scmp_filter_ctx
sandbox_build_self(const struct sandbox_profile *p, int trap, uint64_t self)
{
	scmp_filter_ctx ctx;
	uint32_t deflt, deny = SCMP_ACT_ERRNO(EPERM);
	int r;

	if (p->sp_list == SANDBOX_DENYLIST) {
		deflt = SCMP_ACT_ALLOW;
		if (trap)
			deny = SCMP_ACT_TRAP;
	} else
		deflt = trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
	if ((ctx = seccomp_init(deflt)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (p->sp_list == SANDBOX_DENYLIST)
		r = sandbox_rules(ctx, deny, p->sp_syscalls, p->sp_nsyscalls);
	else
		r = sandbox_allowlist(ctx, p, self);
	if (r != 0) {
		seccomp_release(ctx);
		errno = -r;
		return NULL;
	}
	return ctx;
}

scmp_filter_ctx
sandbox_build(const struct sandbox_profile *p, int trap)
{
	return sandbox_build_self(p, trap, SANDBOX_SELF);
}

/* This program's compiled filter for p, or NULL. */
static const struct sandbox_bpf *
sandbox_compiled(const struct sandbox_profile *p)
{
	const struct sandbox_bpf *b;

	if (sandbox_bpf == NULL)
		return NULL;
	for (b = sandbox_bpf; b->sb_name != NULL; b++)
		if (strcmp(b->sb_name, p->sp_name) == 0)
			return b;
	return NULL;
}

/*
 * Load a compiled filter: this process's pid where the compiler left
 * SANDBOX_SELF (an equality test's constant), then seccomp(2) by prctl.
 * The instructions are changed in place: a process enters one sandbox.
 * Returns 0 or -1 with errno.
 */
static int
sandbox_load_bpf(struct sock_filter *insns, unsigned short n)
{
	struct sock_fprog prog;
	unsigned short i;

	for (i = 0; i < n; i++)
		if (insns[i].code == (BPF_JMP | BPF_JEQ | BPF_K) &&
		    insns[i].k == SANDBOX_SELF)
			insns[i].k = (uint32_t)getpid();
	prog.len = n;
	prog.filter = insns;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/*
 * Load p's filter: the compiled one, else libseccomp's. Returns how, for
 * the log, or NULL with errno.
 */
static const char *
sandbox_load(const struct sandbox_profile *p, int trap)
{
	const struct sandbox_bpf *b;
	scmp_filter_ctx ctx;
	int r;

	if ((b = sandbox_compiled(p)) != NULL) {
		r = trap ? sandbox_load_bpf(b->sb_trap, b->sb_ntrap) :
		    sandbox_load_bpf(b->sb_kill, b->sb_nkill);
		return r == 0 ? "compiled by the build" : NULL;
	}
	if ((ctx = sandbox_build_self(p, trap, (uint64_t)getpid())) == NULL)
		return NULL;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	errno = -r;
	return r == 0 ? "built at run time" : NULL;
}

/* FORKD_SANDBOX=trap: name the syscall that a profile misses, then 111. */
static void
sandbox_trap(const struct sandbox_profile *p)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		sandbox_fail(p, "sigaction");
}

void
sandbox_enter_limits(const struct sandbox_profile *p,
    const struct sandbox_limits *lim)
{
	const char *mode = getenv("FORKD_SANDBOX"), *how;
	int trap = mode != NULL && strcmp(mode, "trap") == 0;

	if (sandbox_rlimits(p, lim) == -1)
		sandbox_fail(p, "setrlimit");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		sandbox_fail(p, "PR_SET_NO_NEW_PRIVS");
	if (mode != NULL && strcmp(mode, "off") == 0) {
		log_warnx("%s: sandbox: off (FORKD_SANDBOX=off)", p->sp_name);
		return;
	}
	if (trap)
		sandbox_trap(p);
	if (sandbox_landlock(p, lim) != 0)
		sandbox_fail(p, "Landlock");
	if ((how = sandbox_load(p, trap)) == NULL)
		sandbox_fail(p, "cannot load the seccomp filter");
	log_debug("%s: sandbox: entered%s, filter %s", p->sp_name,
	    trap ? " (trap mode)" : "", how);
}

void
sandbox_enter(const struct sandbox_profile *p)
{
	sandbox_enter_limits(p, NULL);
}
