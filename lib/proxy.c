/*
 * proxy: parse and read the PROXY protocol header, v1 (text) and v2
 * (binary), as haproxy's doc/proxy-protocol.txt defines them.
 *
 * The parser is a pure function of a buffer; the reader around it takes
 * from the socket exactly the header's bytes, so what follows (an SMTP
 * client's EHLO, an HTTP request line) is left for the handler.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "proxy.h"

/* Spec 2.2: the twelve bytes that open every v2 header. */
static const unsigned char proxy_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char proxy_v1_word[] = "PROXY ";

#define PROXY_V2_INET	12	/* 2 x 4 address bytes, 2 x 2 port bytes */
#define PROXY_V2_INET6	36	/* 2 x 16, 2 x 2 */
#define PROXY_V2_UNIX	216	/* 2 x 108 */
/* The most bytes the reader keeps: a v1 line, or a v2 head and INET6. */
#define PROXY_BUF	(PROXY_V1_MAX + 1)

static enum proxy_result proxy_v1(const unsigned char *, size_t,
		    struct proxy_hdr *, const char **);
static enum proxy_result proxy_v2(const unsigned char *, size_t,
		    struct proxy_hdr *, const char **);

static enum proxy_result
proxy_bad(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	return PROXY_BAD;
}

/* A decimal port of 1 to 5 digits, no leading zero (spec 2.1). */
static int
proxy_v1_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* A numeric address of family af, written back in its canonical form. */
static int
proxy_v1_addr(int af, const char *s, size_t len, char *out, size_t outlen)
{
	unsigned char a[sizeof(struct in6_addr)];
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(af, tmp, a) != 1)
		return -1;
	if (inet_ntop(af, a, out, (socklen_t)outlen) == NULL)
		return -1;
	return 0;
}

/*
 * "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN...\r\n",
 * at most PROXY_V1_MAX bytes.
 */
static enum proxy_result
proxy_v1(const unsigned char *b, size_t len, struct proxy_hdr *ph,
    const char **why)
{
	const char *line = (const char *)b, *f[5];
	size_t flen[5], end, i, nf, start;

	ph->ph_version = 1;
	for (end = 0; end < len && end < PROXY_V1_MAX; end++) {
		/* Only printable ASCII until the CR of CRLF. */
		if (b[end] == '\r')
			break;
		if (b[end] < 0x20 || b[end] > 0x7e)
			return proxy_bad(why, "v1: a control or non-ASCII "
			    "byte in the line");
	}
	if (end == len || end + 1 == len) {
		if (len >= PROXY_V1_MAX)
			return proxy_bad(why, "v1: no CRLF within 107 bytes");
		ph->ph_need = len + 1;
		return PROXY_MORE;
	}
	if (end == PROXY_V1_MAX)
		return proxy_bad(why, "v1: no CRLF within 107 bytes");
	if (b[end + 1] != '\n')
		return proxy_bad(why, "v1: CR not followed by LF");
	ph->ph_len = end + 2;

	/* The fields after "PROXY ", split at single spaces. */
	nf = 0;
	start = sizeof(proxy_v1_word) - 1;
	for (i = start; i <= end; i++) {
		if (i < end && line[i] != ' ')
			continue;
		if (i == start)
			return proxy_bad(why, "v1: an empty field (two "
			    "spaces, or a space at the end)");
		if (nf == 5)
			return proxy_bad(why, "v1: more than six fields");
		f[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
		/* UNKNOWN may carry anything after it (spec 2.1). */
		if (nf == 1 && flen[0] == 7 &&
		    memcmp(f[0], "UNKNOWN", 7) == 0) {
			ph->ph_local = 1;
			ph->ph_family = AF_UNSPEC;
			return PROXY_DONE;
		}
	}
	if (flen[0] == 4 && memcmp(f[0], "TCP4", 4) == 0)
		ph->ph_family = AF_INET;
	else if (flen[0] == 4 && memcmp(f[0], "TCP6", 4) == 0)
		ph->ph_family = AF_INET6;
	else
		return proxy_bad(why, "v1: protocol is not TCP4, TCP6 or "
		    "UNKNOWN");
	if (nf != 5)
		return proxy_bad(why, "v1: fewer than six fields");
	if (proxy_v1_addr(ph->ph_family, f[1], flen[1], ph->ph_src_ip,
	    sizeof(ph->ph_src_ip)) == -1)
		return proxy_bad(why, "v1: bad source address");
	if (proxy_v1_addr(ph->ph_family, f[2], flen[2], ph->ph_dst_ip,
	    sizeof(ph->ph_dst_ip)) == -1)
		return proxy_bad(why, "v1: bad destination address");
	if (proxy_v1_port(f[3], flen[3], &ph->ph_src_port) == -1)
		return proxy_bad(why, "v1: bad source port");
	if (proxy_v1_port(f[4], flen[4], &ph->ph_dst_port) == -1)
		return proxy_bad(why, "v1: bad destination port");
	return PROXY_DONE;
}

static enum proxy_result
proxy_v2(const unsigned char *b, size_t len, struct proxy_hdr *ph,
    const char **why)
{
	size_t body, need;
	int cmd, af, proto;

	ph->ph_version = 2;
	if (len < PROXY_V2_HEAD) {
		ph->ph_need = PROXY_V2_HEAD;
		return PROXY_MORE;
	}
	if ((b[12] >> 4) != 2)
		return proxy_bad(why, "v2: version is not 2");
	cmd = b[12] & 0x0f;
	af = b[13] >> 4;
	proto = b[13] & 0x0f;
	body = ((size_t)b[14] << 8) | b[15];
	ph->ph_len = PROXY_V2_HEAD + body;
	if (cmd > 1)
		return proxy_bad(why, "v2: command is neither LOCAL nor PROXY");
	if (af > 3)
		return proxy_bad(why, "v2: unknown address family");
	if (proto > 2)
		return proxy_bad(why, "v2: unknown transport protocol");
	/* LOCAL: the balancer's own connection; the block is ignored. */
	if (cmd == 0) {
		ph->ph_local = 1;
		ph->ph_family = AF_UNSPEC;
		return PROXY_DONE;
	}
	if (proto == 2)
		return proxy_bad(why, "v2: DGRAM on a stream service");
	if ((af == 0) != (proto == 0))
		return proxy_bad(why, "v2: family and protocol disagree "
		    "(one is UNSPEC)");
	switch (af) {
	case 1:
		need = PROXY_V2_INET;
		break;
	case 2:
		need = PROXY_V2_INET6;
		break;
	case 3:
		need = PROXY_V2_UNIX;
		break;
	default:
		need = 0;
		break;
	}
	if (body < need)
		return proxy_bad(why, "v2: length shorter than its "
		    "addresses");
	/* UNSPEC and AF_UNIX name no IP client: the connection's stands. */
	if (af == 0 || af == 3) {
		ph->ph_local = 1;
		ph->ph_family = AF_UNSPEC;
		return PROXY_DONE;
	}
	if (len < PROXY_V2_HEAD + need) {
		ph->ph_need = PROXY_V2_HEAD + need;
		return PROXY_MORE;
	}
	b += PROXY_V2_HEAD;
	if (af == 1) {
		ph->ph_family = AF_INET;
		inet_ntop(AF_INET, b, ph->ph_src_ip, sizeof(ph->ph_src_ip));
		inet_ntop(AF_INET, b + 4, ph->ph_dst_ip,
		    sizeof(ph->ph_dst_ip));
		b += 8;
	} else {
		ph->ph_family = AF_INET6;
		inet_ntop(AF_INET6, b, ph->ph_src_ip, sizeof(ph->ph_src_ip));
		inet_ntop(AF_INET6, b + 16, ph->ph_dst_ip,
		    sizeof(ph->ph_dst_ip));
		b += 32;
	}
	ph->ph_src_port = (uint16_t)((b[0] << 8) | b[1]);
	ph->ph_dst_port = (uint16_t)((b[2] << 8) | b[3]);
	return PROXY_DONE;
}

enum proxy_result
proxy_parse(const void *buf, size_t len, struct proxy_hdr *ph,
    const char **why)
{
	const unsigned char *b = buf;
	size_t n;

	memset(ph, 0, sizeof(*ph));
	if (len == 0) {
		ph->ph_need = PROXY_PREFIX;
		return PROXY_MORE;
	}
	if (b[0] == proxy_sig[0]) {
		n = len < sizeof(proxy_sig) ? len : sizeof(proxy_sig);
		if (memcmp(b, proxy_sig, n) != 0)
			return proxy_bad(why, "v2: bad signature");
		if (len < PROXY_PREFIX) {
			ph->ph_need = PROXY_PREFIX;
			return PROXY_MORE;
		}
		return proxy_v2(b, len, ph, why);
	}
	n = sizeof(proxy_v1_word) - 1;
	if (len < n) {
		if (memcmp(b, proxy_v1_word, len) != 0)
			return proxy_bad(why, "no PROXY header (neither "
			    "\"PROXY \" nor the v2 signature)");
		ph->ph_need = PROXY_PREFIX;
		return PROXY_MORE;
	}
	if (memcmp(b, proxy_v1_word, n) != 0)
		return proxy_bad(why, "no PROXY header (neither \"PROXY \" "
		    "nor the v2 signature)");
	if (len < PROXY_PREFIX) {
		ph->ph_need = PROXY_PREFIX;
		return PROXY_MORE;
	}
	return proxy_v1(b, len, ph, why);
}

/*
 * recv(2) up to len bytes (flags as recv's) once fd is readable before
 * deadline. Returns the count, or -1 with errno (ETIMEDOUT; ECONNRESET
 * when the peer closed first).
 */
static ssize_t
proxy_recv(int fd, void *buf, size_t len, int flags, long long deadline)
{
	ssize_t n;

	for (;;) {
		if (io_wait(fd, POLLIN, deadline) != 1)
			return -1;	/* ETIMEDOUT, or poll's errno */
		n = recv(fd, buf, len, flags | MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
	}
}

int
proxy_read(int fd, int timeout_ms, struct proxy_hdr *ph, const char **why)
{
	unsigned char buf[PROXY_BUF], skip[512], *nl;
	long long deadline = io_deadline(timeout_ms);
	size_t have = 0, want;
	ssize_t n;
	enum proxy_result r;

	for (;;) {
		r = proxy_parse(buf, have, ph, why);
		if (r == PROXY_DONE)
			break;
		if (r == PROXY_BAD) {
			errno = EPROTO;
			return -1;
		}
		if (have >= PROXY_PREFIX && buf[0] == 'P') {
			/* v1: look ahead, take through the first LF only. */
			n = proxy_recv(fd, buf + have, PROXY_V1_MAX - have,
			    MSG_PEEK, deadline);
			if (n > 0) {
				nl = memchr(buf + have, '\n', (size_t)n);
				want = nl != NULL ?
				    (size_t)(nl - (buf + have)) + 1 :
				    (size_t)n;
				n = recv(fd, buf + have, want, MSG_DONTWAIT);
			}
		} else {
			want = ph->ph_need > sizeof(buf) ? sizeof(buf) :
			    ph->ph_need;
			n = proxy_recv(fd, buf + have, want - have, 0,
			    deadline);
		}
		if (n == -1)
			goto fail;
		have += (size_t)n;
	}
	/* v2 TLVs past what the parser needed: read and drop them. */
	while (have < ph->ph_len) {
		want = ph->ph_len - have;
		if (want > sizeof(skip))
			want = sizeof(skip);
		if ((n = proxy_recv(fd, skip, want, 0, deadline)) == -1)
			goto fail;
		have += (size_t)n;
	}
	return 0;
fail:
	if (why != NULL) {
		if (errno == ETIMEDOUT)
			*why = "slow: no whole header in time";
		else if (errno == ECONNRESET)
			*why = "truncated: the peer closed within the header";
		else
			*why = "read error";
	}
	return -1;
}
