/*
 * dguard: which datagrams a UDP service that answers (echo, the pinger)
 * may answer, so that no forged datagram starts a loop.
 *
 * A UDP reply goes to whatever source the request claims. Forged from the
 * address and port of another service that answers anything (or of the
 * service itself), one datagram makes the two answer each other for ever
 * (CERT CA-1996-01). inetd's defence (OpenBSD dg_badinput(), FreeBSD
 * check_loop()) refuses sources on the ports of known services; that
 * holds only for ports it knows. So the guard refuses:
 *   - sources no datagram can truly come from: multicast, broadcast,
 *     0.0.0.0/8, the unspecified address;
 *   - source ports below 1024 and 2049 (NFS): other servers' ports;
 *   - our own port, on any address: our own replies, or a twin;
 * and, for any port at all, gives each source (address and port) two
 * budgets. A loop is one datagram bouncing: once one side leaves it
 * unanswered, it is over.
 *   - A reflection, a datagram that holds exactly the bytes of our last
 *     reply to its source, is what a loop between two of our services
 *     carries (echo returns the bytes, the pinger's upper case is the
 *     same after one round): DGUARD_ECHO_BURST of them are answered at
 *     once, DGUARD_ECHO_RATE a second after that. A client that repeats
 *     itself is answered at that rate too.
 *   - Any datagram: DGUARD_BURST at once, DGUARD_RATE a second after
 *     that, which bounds a loop with any service that answers anything,
 *     changing its bytes, as long as the loop runs faster than the rate
 *     (a loopback round trip takes microseconds).
 * So one forged datagram costs at most about DGUARD_ECHO_BURST replies
 * from each of our services it reaches, and DGUARD_BURST from any.
 */
#ifndef FORKD_DGUARD_H
#define FORKD_DGUARD_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define DGUARD_BURST	256	/* replies a source may get at once */
#define DGUARD_RATE	200	/* and then a second */
#define DGUARD_ECHO_BURST 8	/* replies to reflections at once */
#define DGUARD_ECHO_RATE 2	/* and then a second */
#define DGUARD_SLOTS	256	/* sources followed; the stalest is reused */

enum dguard_verdict {
	DGUARD_ANSWER = 0,	/* answer it */
	DGUARD_BADADDR,		/* multicast, broadcast, unspecified */
	DGUARD_PORT,		/* another server's port (< 1024, 2049) */
	DGUARD_SELF,		/* our own port */
	DGUARD_BUDGET,		/* the source's budget is spent */
	DGUARD_ECHOES,		/* it sends our replies back too often */
};

struct dguard_src {
	uint8_t		 ds_addr[16];	/* IPv4 as v4-mapped IPv6 */
	uint16_t	 ds_port;	/* host order; 0: slot unused */
	long long	 ds_last_ms;	/* last refill (CLOCK_MONOTONIC) */
	long long	 ds_tokens;	/* replies left, in 1/1000 */
	long long	 ds_echoes;	/* replies to reflections left, 1/1000 */
	uint64_t	 ds_digest;	/* of our last reply to it; 0: none */
};

struct dguard {
	unsigned	 dg_port;	/* our own port, host order; 0: unknown */
	struct dguard_src *dg_cur;	/* the source of the last check */
	struct dguard_src dg_src[DGUARD_SLOTS];
};

/* Start guarding bound datagram socket fd: learns our own port. */
void	dguard_init(struct dguard *g, int fd);

/*
 * May the datagram of len bytes at buf from sa (salen bytes) be
 * answered at now_ms (CLOCK_MONOTONIC milliseconds)? Takes one reply
 * from the source's budgets when it may. Returns DGUARD_ANSWER or why
 * not.
 */
enum dguard_verdict dguard_check(struct dguard *g, const struct sockaddr *sa,
	    socklen_t salen, const void *buf, size_t len, long long now_ms);

/*
 * The reply of len bytes at buf was sent to the source of the last
 * dguard_check() that answered DGUARD_ANSWER: remember its digest.
 */
void	dguard_sent(struct dguard *g, const void *buf, size_t len);

/* A word for the log: "answered", "bad address", "budget spent", ... */
const char *dguard_reason(enum dguard_verdict v);

#endif
