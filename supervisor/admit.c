/*
 * admit: what a nowait connection passes before its handler runs, in the
 * forked child (so a slow client holds only its own process, never
 * forkd's loop): the PROXY header of a "+proxy" service, then the
 * per-source limits, counted for the client the header names.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "forkd.h"
#include "persource.h"
#include "proxy.h"
#include "serve.h"

void
admit_nowait(struct servtab *sep, const struct sockaddr_storage *peer)
{
	char ip[INET6_ADDRSTRLEN], port[8];
	struct proxy_hdr ph;
	const char *why = "?";
	int logit;

	addr_fmt((const struct sockaddr *)peer, sizeof(*peer), ip, sizeof(ip),
	    port, sizeof(port));
	if (sep->se_proxy) {
		if (proxy_read(0, PROXY_TIMEOUT_MS, &ph, &why) == -1) {
			/* Said once, on fd 2: forkd logs it. Not served. */
			dprintf(2, "%s:%s: PROXY header: %s: closed\n", ip,
			    port, why);
			_exit(0);
		}
		if (!ph.ph_local) {
			strlcpy(ip, ph.ph_src_ip, sizeof(ip));
			snprintf(port, sizeof(port), "%u", ph.ph_src_port);
			setenv("TCPREMOTEIP", ip, 1);
			setenv("TCPREMOTEPORT", port, 1);
			setenv("TCPLOCALIP", ph.ph_dst_ip, 1);
			snprintf(port, sizeof(port), "%u", ph.ph_dst_port);
			setenv("TCPLOCALPORT", port, 1);
		}
	}
	if (sep->se_ps == NULL || !SE_PERSOURCE(sep))
		return;
	/*
	 * The slot is this process's: the pid stays the handler's across
	 * exec, and forkd gives the slot back when it reaps the pid.
	 */
	switch (persource_enter(sep->se_ps, ip, getpid(), clock_ms(), &logit)) {
	case PERSOURCE_OK:
		break;
	case PERSOURCE_UNCOUNTED:
		if (logit)
			dprintf(2, "per-source table full: %s served "
			    "uncounted\n", ip);
		break;
	case PERSOURCE_CHILD:
		if (logit)
			dprintf(2, "%s: refused: max-child-per-ip %d reached "
			    "(logged once a minute per address)\n", ip,
			    sep->se_maxperip);
		setenv(SERVE_REFUSED_ENV, "1", 1);
		break;
	case PERSOURCE_RATE:
		if (logit)
			dprintf(2, "%s: refused: max-connections-per-ip-per-"
			    "minute %d reached (logged once a minute per "
			    "address)\n", ip, sep->se_maxcpm);
		setenv(SERVE_REFUSED_ENV, "1", 1);
		break;
	}
}
