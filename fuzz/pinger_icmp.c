/*
 * pinger's parsing of what an ICMP socket hands over (RFC 792, RFC 4443):
 * the first input byte chooses ICMPv6 or IPv4, and for IPv4 whether a raw
 * socket's IP header comes first; the rest is the message. The target is
 * 127.0.0.1 or ::1 and the identifier 0x4242, so errors quoting an echo
 * request of ours are reachable.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../clients/pinger/pinger.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage target;
	struct sockaddr_in *sin = (struct sockaddr_in *)&target;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&target;
	struct icmp_msg m;
	char name[96];
	int v6, raw, hlen, ttl = -1, kind;

	if (size < 1)
		return 0;
	v6 = data[0] & 1;
	raw = !v6 && (data[0] & 2);
	data++;
	size--;
	memset(&target, 0, sizeof(target));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (raw) {
		if ((hlen = icmp_parse_ip4(data, size, &ttl)) == -1)
			return 0;
		if (hlen < 20 || (size_t)hlen > size || ttl < 0 || ttl > 255)
			abort();
		data += hlen;
		size -= (size_t)hlen;
	}
	(void)icmp_cksum(data, size);
	/* Any type and code has a name, in the buffer's bound. */
	if (size >= 8) {
		uint32_t info = (uint32_t)data[4] << 24 |
		    (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];

		(void)icmp_errname(v6, data[0], data[1], info, name,
		    sizeof(name));
		if (strlen(name) >= sizeof(name))
			abort();
	}
	kind = icmp_parse(data, size, v6, 0x4242, &target, &m);
	switch (kind) {
	case ICMP_MSG_REPLY:
		if (m.im_data < data || m.im_data + m.im_datalen !=
		    data + size)
			abort();
		break;
	case ICMP_MSG_ERROR:
		(void)icmp_errname(v6, m.im_type, m.im_code, m.im_info,
		    name, sizeof(name));
		if (strlen(name) >= sizeof(name))
			abort();
		break;
	case ICMP_MSG_IGNORE:
		break;
	default:
		abort();
	}
	return 0;
}
