/*
 * sandbox_echod: what echod may do once it is set up, on top of the base
 * set in lib/sandbox.c (memory, time, signals, read/write/poll/close on
 * fds it holds, sendto/recvfrom, syslog's AF_UNIX reconnect).
 *
 * echod opens no file and starts no program after set-up: every syscall
 * outside this list and the base kills it (SCMP_ACT_KILL_PROCESS), and
 * forkd logs that as a sandbox violation.
 */
#include <sys/resource.h>

#include <seccomp.h>

#include "echod.h"

static const int echod_allow[] = {
	/* the listener: non-blocking accept, names for the log */
	SCMP_SYS(accept4),
	SCMP_SYS(accept),
	SCMP_SYS(getsockname),
	SCMP_SYS(getpeername),
	/* ending a connection after the terminator: FIN, then drain */
	SCMP_SYS(shutdown),
	/* poll(2) is ppoll on some architectures' libc; both in the base */
};

/* File descriptors beyond the connections: 0-2, syslog, slack. */
#define ECHOD_SPARE_FDS	16

static struct sandbox_profile echod_profile = {
	.sp_name = "echod",
	.sp_allow = echod_allow,
	.sp_nallow = SANDBOX_NELEM(echod_allow),
	.sp_refuse = NULL,
	.sp_nrefuse = 0,
	.sp_rules = NULL,
	.sp_nofile = 0,
	.sp_fsize = 0,
};

const struct sandbox_profile *
echo_sandbox_profile(int maxconns)
{
	echod_profile.sp_nofile = (rlim_t)maxconns + ECHOD_SPARE_FDS;
	return &echod_profile;
}
