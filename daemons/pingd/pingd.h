/*
 * pingd: the UDP pinger server (pingd(8)) and its heartbeat receiver.
 *
 * pingd.c     options, the socket (fd 0 from forkd, or its own with -p)
 *             and the receive loop with its idle deadline
 * profile.c   the seccomp profile
 * ping.c      the pinger: reply in upper case, simulated loss (-l)
 * heartbeat.c the heartbeat receiver (-H): one-way loss, delay, "down"
 */
#ifndef PINGD_H
#define PINGD_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dguard.h"

/*
 * Large enough for any UDP payload (65507 bytes over IPv4, 65527 over
 * IPv6), so a request is never cut and the reply can be exactly as long.
 */
#define PINGD_BUFSIZE	65536

/* Printed form of a peer: "127.0.0.1:40312" or "[::1]:40312". */
#define PINGD_ADDRSTRLEN	64

/* Heartbeat clients followed at once; the least recently heard is reused. */
#define HB_MAXCLIENTS	64

struct hb_client {
	struct sockaddr_storage	 hc_addr;
	socklen_t		 hc_addrlen;
	int			 hc_used;
	int			 hc_down;	/* "down" already logged */
	uint32_t		 hc_lastseq;	/* highest sequence number seen */
	long long		 hc_lastms;	/* monotonic ms of the last one */
	unsigned long long	 hc_received;
	unsigned long long	 hc_lost;	/* gaps in the sequence */
	double			 hc_dmin;	/* one-way delay, ms */
	double			 hc_dmax;
	double			 hc_dsum;
};

/* The one state struct of the program. */
struct pingd {
	int		 pd_fd;		/* the bound datagram socket */
	int		 pd_loss;	/* -l: percent of requests dropped */
	int		 pd_heartbeat;	/* -H */
	int		 pd_down_s;	/* -T: seconds of silence = down */
	int		 pd_idle_s;	/* -x: exit after this idle; 0 never */
	long long	 pd_lastrx_ms;	/* monotonic ms of the last datagram */
	unsigned long long pd_requests;
	unsigned long long pd_answered;
	unsigned long long pd_dropped;	/* simulated loss */
	unsigned long long pd_refused;	/* not answered: see dguard.h */
	struct dguard	 pd_guard;
	struct hb_client pd_clients[HB_MAXCLIENTS];
	unsigned char	 pd_buf[PINGD_BUFSIZE];
};

/*
 * Enter pingd's seccomp profile (profile.c). Returns only when it is in
 * force (else exit 111).
 */
void	pingd_sandbox(void);

/*
 * Serve one ping request of len bytes in pd->pd_buf from peer sa: drop it
 * with probability pd_loss percent, or send it back to sa in upper case
 * (ASCII a-z only, the same length: a reply is never larger than its
 * request). A datagram dguard_check() refuses is not answered. Returns 0, or -1 if sendto(2) failed (logged,
 * not fatal).
 */
int	ping_request(struct pingd *pd, size_t len, const struct sockaddr *sa,
	    socklen_t salen);

/*
 * Take one heartbeat datagram of len bytes in pd->pd_buf from sa, of the
 * form "Heartbeat SEQ SECONDS.MICROSECONDS" (ASCII, single spaces, an
 * optional line end): log the first one, gaps in SEQ (one-way loss) and
 * the one-way delay (our CLOCK_REALTIME minus the sender's time, ms).
 * now_ms is CLOCK_MONOTONIC ms. Malformed datagrams are logged, ignored.
 */
void	hb_receive(struct pingd *pd, size_t len, const struct sockaddr *sa,
	    socklen_t salen, long long now_ms);

/*
 * Log "down" for every client silent for pd_down_s seconds at now_ms.
 * Returns the ms until the next client would go down (-1: none pending),
 * for the poll(2) timeout.
 */
long long hb_check(struct pingd *pd, long long now_ms);

/*
 * Parse a heartbeat payload buf (len bytes, not NUL-terminated) into its
 * sequence number and the sender's time in microseconds since the epoch.
 * Returns 0, or -1 if it is not "Heartbeat SEQ SECONDS.FRACTION".
 */
int	hb_parse(const unsigned char *buf, size_t len, uint32_t *seq,
	    long long *sent_us);

#endif
