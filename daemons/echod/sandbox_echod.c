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
#include <sys/socket.h>

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
	/* a bulk transfer spliced through a pipe (stream.c) */
	SCMP_SYS(pipe2),
	SCMP_SYS(splice),
	/* poll(2) is ppoll on some architectures' libc; both in the base */
};

/*
 * setsockopt(2) only for the listener's accept timeout (SO_RCVTIMEO,
 * listener.c), set once: no other socket option may change.
 */
static int
echod_rules(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
	    SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET),
	    SCMP_A2(SCMP_CMP_EQ, SO_RCVTIMEO));
}

/*
 * File descriptors beyond the connections: 0-2, syslog, slack. A
 * connection spliced through a pipe holds two more; when they run out,
 * pipe2(2) fails with EMFILE and the connection stays on read/write.
 */
#define ECHOD_SPARE_FDS	16

static struct sandbox_profile echod_profile = {
	.sp_name = "echod",
	.sp_allow = echod_allow,
	.sp_nallow = SANDBOX_NELEM(echod_allow),
	.sp_refuse = NULL,
	.sp_nrefuse = 0,
	.sp_rules = echod_rules,
	.sp_nofile = 0,
	.sp_fsize = 0,
};

const struct sandbox_profile *
echo_sandbox_profile(int maxconns)
{
	echod_profile.sp_nofile = (rlim_t)maxconns + ECHOD_SPARE_FDS;
	return &echod_profile;
}
