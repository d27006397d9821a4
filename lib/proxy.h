/*
 * proxy: the PROXY protocol header a load balancer (HAProxy's send-proxy
 * and send-proxy-v2, and any other that follows haproxy's
 * doc/proxy-protocol.txt) sends before the client's first byte, saying
 * who the client is.
 */
#ifndef FORKD_PROXY_H
#define FORKD_PROXY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* The longest v1 line, "PROXY TCP6 ..." through CRLF (spec 2.1). */
#define PROXY_V1_MAX	107
/* The fixed head of a v2 header: signature, ver_cmd, fam, len (2.2). */
#define PROXY_V2_HEAD	16
/* The bytes that tell v1 from v2; both headers are at least this long. */
#define PROXY_PREFIX	8
/* How long a handler or forkd waits for a whole header (ms). */
#define PROXY_TIMEOUT_MS	3000

struct proxy_hdr {
	int	 ph_version;	/* 1 or 2 */
	/*
	 * 1: no client to take from the header (v2 LOCAL, a health check
	 * of the balancer's own; v1 UNKNOWN; v2 PROXY with an unspecified
	 * or AF_UNIX family): the connection's own addresses stand.
	 */
	int	 ph_local;
	int	 ph_family;	/* AF_INET, AF_INET6; AF_UNSPEC when local */
	char	 ph_src_ip[INET6_ADDRSTRLEN];	/* the client */
	char	 ph_dst_ip[INET6_ADDRSTRLEN];	/* the address it called */
	uint16_t ph_src_port;
	uint16_t ph_dst_port;
	/* The header's length in bytes (v2: TLVs included). */
	size_t	 ph_len;
	/* With PROXY_MORE: have at least this many bytes before trying
	 * again (v1: one more; the line ends at its CRLF). */
	size_t	 ph_need;
};

enum proxy_result {
	PROXY_BAD = -1,		/* not a valid header; *why says why */
	PROXY_MORE = 0,		/* a valid beginning: read ph_need bytes */
	PROXY_DONE = 1,		/* a whole header: ph filled */
};

/*
 * Parse a PROXY v1 or v2 header from the len bytes at buf (a pure
 * function: no I/O, no allocation). For v2, PROXY_DONE comes once the
 * fixed head and the address block are in buf; ph_len may then be larger
 * than len by TLVs (spec 2.2.7) the caller skips unread. For v1 the line
 * must end in CRLF within PROXY_V1_MAX bytes, with single spaces, numeric
 * addresses of the named family and decimal ports without leading zeros
 * (spec 2.1). v2 rejects a version other than 2, a command other than
 * LOCAL or PROXY, an unknown family or protocol, DGRAM (these services
 * are streams) and a length shorter than the family's addresses. On
 * PROXY_BAD, *why (when why is not NULL) is a static phrase for logs.
 */
enum proxy_result proxy_parse(const void *buf, size_t len,
	    struct proxy_hdr *ph, const char **why);

/*
 * Read a PROXY header from connected socket fd within timeout_ms
 * milliseconds in all, consuming exactly the header's bytes and never
 * one of the client's protocol after it (v1: the line is looked at with
 * MSG_PEEK and read through its CRLF; v2: the fixed head, then its
 * length). Works on blocking and non-blocking sockets. Returns 0 with ph
 * filled; -1 with *why set: a malformed header (errno EPROTO), a
 * truncated one (the peer closed: ECONNRESET), a slow one (ETIMEDOUT),
 * or a read error (errno from recv(2)).
 */
int	proxy_read(int fd, int timeout_ms, struct proxy_hdr *ph,
	    const char **why);

#endif
