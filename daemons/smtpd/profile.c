/*
 * profile: smtpd's seccomp profile, on top of the base set of
 * lib/sandbox.c (memory, time, I/O on open descriptors, syslog).
 *
 * smtpd enters it once the spool directory and its lock file are open:
 * from then on files are reached only relative to the spool's O_DIRECTORY
 * descriptor, so opening, renaming and locking is all it may do to the
 * file system. seccomp cannot hold it to the spool (openat(2) with an
 * absolute path ignores the directory fd): Landlock does, with the
 * profile's beneath rule on the spool's descriptor.
 *
 * STARTTLS (tls.c) adds nothing: the certificate and key are read and
 * parsed before the sandbox (-c, -k), and a handshake needs memory,
 * getrandom(2), the clock and I/O on the connection, all in the base set.
 */
#include <signal.h>

#include <seccomp.h>

#include "sandbox.h"
#include "smtpd.h"

static const int smtpd_allow[] = {
	/* prefork: accept connections on the listening socket (serve.c) */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(getpeername),
	SCMP_SYS(getsockname),
	/* delivery (mailbox.c): the locks (flock, and fcntl's OFD lock in
	 * the base set), the mailbox, backups */
	SCMP_SYS(flock), SCMP_SYS(openat), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(pwritev), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(renameat2), SCMP_SYS(renameat),
	SCMP_SYS(statx),
};

static const struct sandbox_arg smtpd_args[] = {
	/*
	 * SIGKILL to itself only: the test-only crash points of a delivery
	 * (SMTPD_TEST_CRASH) die as a kill -9 from outside would.
	 */
	SANDBOX_ARG2(SCMP_SYS(tgkill), 0, SANDBOX_SELF, 2, SIGKILL),
};

static const struct sandbox_profile smtpd_profile = {
	.sp_name = "smtpd",
	.sp_syscalls = smtpd_allow,
	.sp_nsyscalls = SANDBOX_NELEM(smtpd_allow),
	.sp_args = smtpd_args,
	.sp_nargs = SANDBOX_NELEM(smtpd_args),
	.sp_forks = 0,
	.sp_beneath = 1,
	/* one connection, the spool, the lock, the mailbox, syslog */
	.sp_nofile = 16,
};

/* The profiles the build compiles to BPF (mk/sandbox_gen.c). */
const struct sandbox_profile *const sandbox_profiles[] = {
	&smtpd_profile, NULL,
};

void
smtpd_sandbox(const struct smtpd *sd)
{
	struct sandbox_limits lim = {
		.sl_nofile = 0,
		.sl_beneath = sd->sd_spoolfd,
	};

	sandbox_enter_limits(&smtpd_profile, &lim);
}
