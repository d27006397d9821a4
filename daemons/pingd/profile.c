/*
 * profile: pingd's seccomp profile.
 *
 * After set-up pingd only receives, sends, polls, reads the clocks, draws
 * random numbers (getrandom) and logs: the base set of lib/sandbox.c
 * covers all of it, so the profile adds nothing. Nothing may be opened,
 * no socket other than syslog's made, nothing executed, no process
 * started (RLIMIT_NPROC 0). RLIMIT_FSIZE is left alone: under -d stderr
 * may be a regular file.
 */
#include <stddef.h>

#include "sandbox.h"
#include "pingd.h"

static const struct sandbox_profile pingd_profile = {
	.sp_name = "pingd",
	.sp_forks = 0,
	/* the socket, 0-2, syslog, slack */
	.sp_nofile = 16,
};

/* The profiles the build compiles to BPF (mk/sandbox_gen.c). */
const struct sandbox_profile *const sandbox_profiles[] = {
	&pingd_profile, NULL,
};

void
pingd_sandbox(void)
{
	sandbox_enter(&pingd_profile);
}
