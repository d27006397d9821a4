/*
 * A handler that breaks its sandbox on purpose, for t/forkd/guards.t:
 * it enters an empty profile (the base set only), answers one line, then
 * makes a system call outside the profile (socket(AF_INET)), which must
 * kill it with SIGSYS and make forkd log a sandbox violation.
 * With the argument "abort" it calls abort(3) instead, as glibc does on a
 * failed check (_FORTIFY_SOURCE, the stack protector, malloc): that must
 * end it with SIGABRT, not be taken for a sandbox violation.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

static const struct sandbox_profile violator_profile = {
	.sp_name = "violator",
};

int
main(int argc, char *argv[])
{
	log_init(0, LOG_DAEMON, "violator");
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
