/*
 * A handler that breaks its sandbox on purpose, for t/forkd/guards.t:
 * it enters an empty profile (the base set only), answers one line, then
 * makes a system call outside the profile (socket(AF_INET)), which must
 * kill it with SIGSYS and make forkd log a sandbox violation.
 * With the argument "abort" it calls abort(3) instead, as glibc does on a
 * failed check (_FORTIFY_SOURCE, the stack protector, malloc): that must
 * end it with SIGABRT, not be taken for a sandbox violation.
 *
 * "smtpd SPOOL PATH" enters smtpd's own profile (daemons/smtpd/
 * profile.c) with SPOOL as its spool, then tries what smtpd may and may
 * not do to files, one line each on stdout (t/smtpd/sandbox.t):
 *   inside: ok|errno name     a file made beneath SPOOL, relative to it
 *   outside: ok|errno name    PATH opened for reading (absolute path)
 *   escape: ok|errno name     "../" from the spool's fd
 * "smtpd-kill" enters it and makes a call outside it (socket(AF_INET)).
 * "smtpd-abort" enters it and calls abort(3): SIGABRT, not SIGSYS (the
 * filter the build compiled for smtpd, linked in, must hold this pid).
 * "smtpd-kill9" enters it and raises SIGKILL, as smtpd's test-only crash
 * points do: the profile lets it end itself so, not with SIGSYS.
 * "smtpd-file FILE" gives it a regular file as the spool: Landlock
 * refuses that, and the sandbox must fail closed (exit 111).
 * "smtpd-nolandlock SPOOL PATH" first hides Landlock (a filter that fails
 * landlock_create_ruleset(2) with ENOSYS, as an old kernel does), then
 * does what "smtpd" does: the opens succeed (logged: no Landlock), and
 * the seccomp profile still holds (socket(AF_INET) after them: SIGSYS).
 * "smtpd-llerror SPOOL PATH" has landlock_create_ruleset(2) fail with
 * EINVAL instead: not a missing Landlock, so the sandbox fails closed
 * (exit 111) before any open.
 * "deny" enters a deny list of unshare(2) and calls unshare(0): it must
 * fail with EPERM ("unshare: EPERM"), or under FORKD_SANDBOX=trap end
 * the process with 111 and a log line naming unshare.
 */
#include <sys/socket.h>

#include <sched.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "../../daemons/smtpd/smtpd.h"

static const struct sandbox_profile violator_profile = {
	.sp_name = "violator",
};

static const int violator_deny[] = {
	SCMP_SYS(unshare),
};

static const struct sandbox_profile violator_denylist = {
	.sp_name = "violator-deny",
	.sp_list = SANDBOX_DENYLIST,
	.sp_syscalls = violator_deny,
	.sp_nsyscalls = SANDBOX_NELEM(violator_deny),
	.sp_forks = 1,
};

/* One line: what, then "ok" or the errno's name. */
static void
violator_say(const char *what, int fd)
{
	printf("%s: %s\n", what, fd != -1 ? "ok" :
	    errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" :
	    strerror(errno));
	if (fd != -1)
		close(fd);
}

/* Make landlock_create_ruleset(2) fail with error e from now on. */
static void
violator_hide_landlock(int e)
{
	scmp_filter_ctx ctx;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(e),
	    SCMP_SYS(landlock_create_ruleset), 0) != 0 ||
	    seccomp_load(ctx) != 0) {
		fprintf(stderr, "violator: cannot hide Landlock\n");
		exit(1);
	}
	seccomp_release(ctx);
}

/* smtpd's profile on spool; then what mode says (the comment above). */
static int
violator_smtpd(const char *spool, const char *mode, const char *path)
{
	struct smtpd sd;

	memset(&sd, 0, sizeof(sd));
	sd.sd_spool = spool;
	if ((sd.sd_spoolfd = open(spool, O_RDONLY | O_CLOEXEC)) == -1) {
		perror(spool);
		return 1;
	}
	if (strcmp(mode, "smtpd-nolandlock") == 0)
		violator_hide_landlock(ENOSYS);
	if (strcmp(mode, "smtpd-llerror") == 0)
		violator_hide_landlock(EINVAL);
	smtpd_sandbox(&sd);
	violator_say("inside", openat(sd.sd_spoolfd, "inside",
	    O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	if (strcmp(mode, "smtpd-abort") == 0)
		abort();
	if (strcmp(mode, "smtpd-kill9") == 0)
		raise(SIGKILL);
	if (path == NULL) {
		/* Not in the profile: SIGSYS. */
		(void)socket(AF_INET, SOCK_STREAM, 0);
		printf("survived\n");
		return 0;
	}
	violator_say("outside", openat(sd.sd_spoolfd, path,
	    O_RDONLY | O_CLOEXEC));
	violator_say("escape", openat(sd.sd_spoolfd, "../escape",
	    O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	if (strcmp(mode, "smtpd-nolandlock") == 0)
		(void)socket(AF_INET, SOCK_STREAM, 0);
	return 0;
}

int
main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* -d's stderr copy: the trap mode's line comes from syslog(3). */
	log_init(argc > 1 && strcmp(argv[1], "deny") == 0, LOG_DAEMON,
	    "violator");
	if (argc == 4 && strncmp(argv[1], "smtpd", 5) == 0)
		return violator_smtpd(argv[2], argv[1], argv[3]);
	if (argc == 3 && strncmp(argv[1], "smtpd-", 6) == 0)
		return violator_smtpd(argv[2], argv[1], NULL);
	if (argc == 2 && strcmp(argv[1], "deny") == 0) {
		sandbox_enter(&violator_denylist);
		violator_say("unshare", unshare(0) == -1 ? -1 : dup(1));
		return 0;
	}
	sandbox_enter(&violator_profile);
	if (write(1, "entered\n", 8) == -1)
		return 1;
	if (argc > 1 && strcmp(argv[1], "abort") == 0)
		abort();
	/* Not in the profile: SIGSYS. */
	(void)socket(AF_INET, SOCK_STREAM, 0);
	if (write(1, "survived\n", 9) == -1)
		return 1;
	return 0;
}
