/*
 * profile: smtpd's seccomp profile, on top of the base set of
 * lib/sandbox.c (memory, time, I/O on open descriptors, syslog).
 *
 * smtpd enters it once the spool directory and its lock file are open:
 * from then on files are reached only relative to the spool's O_DIRECTORY
 * descriptor, so opening, renaming and locking is all it may do to the
 * file system.
 *
 * STARTTLS (tls.c) adds nothing: the certificate and key are read and
 * parsed before the sandbox (-c, -k), and a handshake needs memory,
 * getrandom(2), the clock and I/O on the connection, all in the base set.
 */
#include <signal.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"
#include "smtpd.h"

static const int smtpd_allow[] = {
	/* prefork: accept connections on the listening socket (serve.c) */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(getpeername),
	SCMP_SYS(getsockname), SCMP_SYS(setsockopt),
	/* delivery (mailbox.c): the locks (flock, and fcntl's OFD lock in
	 * the base set), the mailbox, backups */
	SCMP_SYS(flock), SCMP_SYS(openat), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(pwritev), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(renameat2), SCMP_SYS(renameat),
	SCMP_SYS(statx),
	/* a deadline's sleep after EMFILE in serve.c */
	SCMP_SYS(clock_nanosleep),
};

/*
 * SIGKILL to itself only: the test-only crash points of a delivery
 * (SMTPD_TEST_CRASH) die as a kill -9 from outside would.
 */
static int
smtpd_rules(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
	    SCMP_A2(SCMP_CMP_EQ, SIGKILL));
}

const struct sandbox_profile smtpd_profile = {
	.sp_name = "smtpd",
	.sp_allow = smtpd_allow,
	.sp_nallow = SANDBOX_NELEM(smtpd_allow),
	.sp_refuse = NULL,
	.sp_nrefuse = 0,
	.sp_rules = smtpd_rules,
	/* one connection, the spool, the lock, the mailbox, syslog */
	.sp_nofile = 16,
	.sp_fsize = 0,
};
