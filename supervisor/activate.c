/*
 * activate: systemd's socket activation for forkd itself, so a socket
 * unit holds the ports while forkd restarts: connections wait in the
 * kernel's backlog instead of being refused.
 *
 * lib/activation.c reads the protocol of sd_listen_fds(3) (LISTEN_PID,
 * LISTEN_FDS, and removes the variables so no handler mistakes them for
 * its own); here the sockets are matched to forkd.conf's services by
 * address and type (listen.c), not by name, so the unit's ListenStream=
 * lines need no FileDescriptorName=.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "activation.h"
#include "forkd.h"

int
activate_listen_fds(void)
{
	char err[256];
	int i, n, taken = 0;

	if ((n = activation_listen_fds(1, NULL)) == -1) {
		fprintf(stderr, "forkd: LISTEN_PID/LISTEN_FDS: %s: ignored\n",
		    strerror(errno));
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (listen_inherit(ACTIVATION_FDS_START + i, "systemd", err,
		    sizeof(err)) == -1)
			fprintf(stderr, "forkd: %s\n", err);
		else
			taken++;
	}
	return taken;
}
