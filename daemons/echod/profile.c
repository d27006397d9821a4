/*
 * profile: what echod may do once it is set up, on top of the base set
 * in lib/sandbox.c (memory, time, signals, read/write/poll/close on fds it
 * holds, sendto/recvfrom, syslog's AF_UNIX reconnect).
 *
 * echod opens no file, starts no program and sets no socket option after
 * set-up: every syscall outside this list and the base kills it
 * (SCMP_ACT_KILL_PROCESS), and forkd logs that as a sandbox violation.
 */
#include <seccomp.h>

#include "echod.h"

static const int echod_allow[] = {
	/* the listener: non-blocking accept, names for the log */
	SCMP_SYS(accept4),
	SCMP_SYS(accept),
	SCMP_SYS(getsockname),
	SCMP_SYS(getpeername),
	/* ending a connection after the terminator: FIN (base), then drain */
	/* a bulk transfer spliced through a pipe (stream.c) */
	SCMP_SYS(pipe2),
	SCMP_SYS(splice),
	/* poll(2) is ppoll on some architectures' libc; both in the base */
};

/*
 * File descriptors beyond the connections: 0-2, syslog, slack. A
 * connection spliced through a pipe holds two more; when they run out,
 * pipe2(2) fails with EMFILE and the connection stays on read/write.
 */
#define ECHOD_SPARE_FDS	16

static const struct sandbox_profile echod_profile = {
	.sp_name = "echod",
	.sp_syscalls = echod_allow,
	.sp_nsyscalls = SANDBOX_NELEM(echod_allow),
	.sp_forks = 0,
};

/* The profiles the build compiles to BPF (mk/sandbox_gen.c). */
const struct sandbox_profile *const sandbox_profiles[] = {
	&echod_profile, NULL,
};

void
echo_sandbox(int maxconns)
{
	struct sandbox_limits lim = {
		.sl_nofile = (rlim_t)maxconns + ECHOD_SPARE_FDS,
		.sl_beneath = -1,
	};

	sandbox_enter_limits(&echod_profile, &lim);
}
