/*
 * activate: systemd's socket activation for forkd itself, so a
 * forkd.socket unit holds the ports while forkd restarts: connections
 * wait in the kernel's backlog instead of being refused.
 *
 * The protocol of sd_listen_fds(3): when LISTEN_PID is our pid,
 * LISTEN_FDS sockets start at fd 3 (SD_LISTEN_FDS_START). They are
 * matched to forkd.conf's services by address and type (listen.c), not
 * by name, so the unit's ListenStream= lines need no FileDescriptorName=.
 * The variables are removed whatever they say, so no handler mistakes
 * them for its own.
 *
 * A minimal reading of the documented protocol, kept in the supervisor
 * until lib/ offers one for the handlers and forkd alike.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "forkd.h"

#define ACTIVATE_FDS_START	3	/* SD_LISTEN_FDS_START */

int
activate_listen_fds(void)
{
	const char *pid_s, *fds_s;
	char err[256], *end;
	long pid, n, i;
	int taken = 0;

	pid_s = getenv("LISTEN_PID");
	fds_s = getenv("LISTEN_FDS");
	if (pid_s == NULL || fds_s == NULL)
		goto out;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno != 0 || *pid_s == '\0' || *end != '\0' || pid != getpid())
		goto out;
	n = strtol(fds_s, &end, 10);
	if (*fds_s == '\0' || *end != '\0' || n <= 0 ||
	    n > INT_MAX - ACTIVATE_FDS_START)
		goto out;
	for (i = 0; i < n; i++) {
		if (listen_inherit(ACTIVATE_FDS_START + (int)i, "systemd",
		    err, sizeof(err)) == -1)
			fprintf(stderr, "forkd: %s\n", err);
		else
			taken++;
	}
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return taken;
}
