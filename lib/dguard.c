/*
 * dguard: no forged datagram starts a UDP loop (see dguard.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "dguard.h"

static int	dguard_key(const struct sockaddr *, socklen_t, uint8_t *,
		    uint16_t *);
static int	dguard_badaddr(const uint8_t *);
static uint64_t	dguard_digest(const void *, size_t);
static void	dguard_refill(long long *, long long, int, int);

/*
 * sa as a 16-byte address (IPv4 v4-mapped, so a dual-stack socket's
 * IPv4 peers and a plain IPv4 socket's agree) and a port. -1: not IP.
 */
static int
dguard_key(const struct sockaddr *sa, socklen_t salen, uint8_t *addr,
    uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET && salen >= sizeof(*sin)) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		memcpy(addr, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

/* A source no datagram can truly come from, or a broadcast to flood. */
static int
dguard_badaddr(const uint8_t *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const uint8_t zero[16];

	if (memcmp(a, mapped, 12) == 0)
		/* 0.0.0.0/8, multicast 224/4 and up to 255.255.255.255. */
		return a[12] == 0 || a[12] >= 224;
	return a[0] == 0xff || memcmp(a, zero, 16) == 0;
}

/* FNV-1a, 64 bits, of the bytes and their count; never 0. */
static uint64_t
dguard_digest(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h = (h ^ len) * 0x100000001b3ULL;
	return h != 0 ? h : 1;
}

/*
 * A token bucket in 1/1000 replies: refill *tokens for elapsed_ms at
 * rate a second, up to burst.
 */
static void
dguard_refill(long long *tokens, long long elapsed_ms, int burst, int rate)
{
	if (elapsed_ms > 0) {
		*tokens += elapsed_ms * rate;
		if (*tokens > burst * 1000LL)
			*tokens = burst * 1000LL;
	}
}

void
dguard_init(struct dguard *g, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint8_t addr[16];
	uint16_t port;

	memset(g, 0, sizeof(*g));
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    dguard_key((struct sockaddr *)&ss, len, addr, &port) == 0)
		g->dg_port = port;
}

enum dguard_verdict
dguard_check(struct dguard *g, const struct sockaddr *sa, socklen_t salen,
    const void *buf, size_t len, long long now_ms)
{
	struct dguard_src *s = NULL, *stalest = NULL, *t;
	long long elapsed;
	uint8_t addr[16];
	uint16_t port;
	size_t i;

	g->dg_cur = NULL;
	if (dguard_key(sa, salen, addr, &port) == -1 || dguard_badaddr(addr))
		return DGUARD_BADADDR;
	if (port < IPPORT_RESERVED || port == 2049)
		return DGUARD_PORT;
	if (port == g->dg_port)
		return DGUARD_SELF;

	for (i = 0; i < DGUARD_SLOTS; i++) {
		t = &g->dg_src[i];
		if (t->ds_port == port && memcmp(t->ds_addr, addr, 16) == 0) {
			s = t;
			break;
		}
		if (stalest == NULL || t->ds_port == 0 ||
		    (stalest->ds_port != 0 && t->ds_last_ms <
		    stalest->ds_last_ms))
			stalest = t;
	}
	if (s == NULL) {
		/*
		 * A new source, or one forgotten: full budgets. A loop's
		 * source is the one heard from last, never the stalest, so
		 * sources made up to flush the table do not refill it.
		 */
		s = stalest;
		memset(s, 0, sizeof(*s));
		memcpy(s->ds_addr, addr, 16);
		s->ds_port = port;
		s->ds_last_ms = now_ms;
		s->ds_tokens = DGUARD_BURST * 1000LL;
		s->ds_echoes = DGUARD_ECHO_BURST * 1000LL;
	}
	elapsed = now_ms - s->ds_last_ms;
	if (elapsed > 0)
		s->ds_last_ms = now_ms;
	dguard_refill(&s->ds_tokens, elapsed, DGUARD_BURST, DGUARD_RATE);
	dguard_refill(&s->ds_echoes, elapsed, DGUARD_ECHO_BURST,
	    DGUARD_ECHO_RATE);
	if (s->ds_digest != 0 && s->ds_digest == dguard_digest(buf, len)) {
		if (s->ds_echoes < 1000)
			return DGUARD_ECHOES;
		s->ds_echoes -= 1000;
	}
	if (s->ds_tokens < 1000)
		return DGUARD_BUDGET;
	s->ds_tokens -= 1000;
	g->dg_cur = s;
	return DGUARD_ANSWER;
}

void
dguard_sent(struct dguard *g, const void *buf, size_t len)
{
	if (g->dg_cur != NULL)
		g->dg_cur->ds_digest = dguard_digest(buf, len);
}

const char *
dguard_reason(enum dguard_verdict v)
{
	switch (v) {
	case DGUARD_ANSWER:
		return "answered";
	case DGUARD_BADADDR:
		return "not a unicast source";
	case DGUARD_PORT:
		return "from another server's port";
	case DGUARD_SELF:
		return "from our own port";
	case DGUARD_ECHOES:
		return "it sends our replies back";
	case DGUARD_BUDGET:
	default:
		return "the source's reply budget is spent";
	}
}
