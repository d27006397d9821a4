/*
 * dial: the TCP connection, to a name, an IPv4 or an IPv6 address.
 */
#include <sys/socket.h>

#include <string.h>

#include "dial.h"
#include "httpget.h"

void
dial_connect(struct httpget *hg)
{
	struct dial_peer peer;

	hg->hg_fd = dial_client(hg->hg_host, hg->hg_port, AF_UNSPEC,
	    hg->hg_timeout_ms, &peer);
	strlcpy(hg->hg_peer, peer.dp_name, sizeof(hg->hg_peer));
	strlcpy(hg->hg_portnum, peer.dp_port, sizeof(hg->hg_portnum));
	hg->hg_family = peer.dp_family;
}
