/*
 * pingd's datagram handlers: the pinger's request (the upper-case reply,
 * the reflector check) and the heartbeat receiver (its parser, the
 * client table, loss and delay), over a run of datagrams. Each is
 *   ctl(1) len(2, big-endian) payload(len)
 * where ctl's bit 7 picks heartbeat or ping, bits 0-6 the source (one of
 * 128 IPv4 and IPv6 addresses and ports, more than the table holds; a few
 * are reflector ports dguard refuses). The socket is -1: replies fail in
 * sendto(2), as they may for real.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../daemons/pingd/pingd.h"
#include "log.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pingd pd;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	long long now_ms = 1000000;
	socklen_t salen;
	size_t len;
	int ctl, src;

	log_setverbose(1);
	memset(&pd, 0, sizeof(pd));
	pd.pd_fd = -1;
	dguard_init(&pd.pd_guard, -1);
	pd.pd_guard.dg_port = 12000;	/* as if bound there */
	pd.pd_down_s = 3;
	while (size >= 3) {
		ctl = data[0];
		len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		memcpy(pd.pd_buf, data, len);
		data += len;
		size -= len;
		src = ctl & 0x7f;
		memset(&ss, 0, sizeof(ss));
		if (src & 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = in6addr_loopback;
			sin6->sin6_port = htons((uint16_t)(src < 8 ?
			    src * 300 : 10000 + src));
			salen = sizeof(*sin6);
		} else {
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sin->sin_port = htons((uint16_t)(src < 8 ?
			    src * 300 : 10000 + src));
			salen = sizeof(*sin);
		}
		now_ms += 1 + (ctl & 0x7f) * 50;
		if (ctl & 0x80)
			hb_receive(&pd, len, (struct sockaddr *)&ss, salen,
			    now_ms);
		else
			(void)ping_request(&pd, len, (struct sockaddr *)&ss,
			    salen);
		(void)hb_check(&pd, now_ms);
	}
	return 0;
}
