/*
 * icmp.h: the state the ICMP echo pinger's files share (icmp.c sends and
 * runs the loop, icmpsock.c opens the socket, icmprecv.c takes in what
 * comes back); not for the rest of pinger.
 */
#ifndef PINGER_ICMP_H
#define PINGER_ICMP_H

#include <stdint.h>

#include "pinger.h"

#define ICMP_NSEQ	65536	/* the sequence number is 16 bits */
#define ICMP_RCVBUF	(65536 + 512)

/* What became of one sequence number. */
enum icmp_state {
	SEQ_FREE = 0,
	SEQ_SENT,		/* waiting for a reply until its deadline */
	SEQ_REPLIED,
	SEQ_ERROR,		/* an ICMP error answered it */
	SEQ_TIMEDOUT,
};

/* The payload's first bytes: when we sent it, to match and time replies. */
struct icmp_stamp {
	int64_t	st_sec;
	int64_t	st_nsec;
};

struct icmp_slot {
	struct icmp_stamp s_stamp;
	long long	 s_sent_us;	/* monotonic, microseconds */
	uint8_t		 s_state;	/* enum icmp_state */
};

struct icmp_ctx {
	struct pinger	*c_p;
	int		 c_fd;
	int		 c_raw;		/* raw socket, not a ping socket */
	int		 c_v6;
	uint16_t	 c_ident;	/* identifier, host order */
	struct icmp_slot	*c_seq;		/* ICMP_NSEQ entries */
	unsigned char	*c_out;		/* ICMP_HDRLEN + datalen */
	unsigned char	*c_in;		/* ICMP_RCVBUF */
	long		 c_next;	/* next sequence number to send */
	long		 c_oldest;	/* oldest still waiting */
};

/*
 * icmpsock.c: open c->c_fd for c->c_p's family, the ping socket or the
 * raw one, with its filter, identifier (c_ident), TTL options and -t.
 * Exits with PINGER_EXIT_ERROR when no socket can be had.
 */
void	icmp_open(struct icmp_ctx *c);

/*
 * icmprecv.c: drain the socket (at most 64 datagrams), each reply and
 * error about our requests accounted in c and printed.
 */
void	icmp_read(struct icmp_ctx *c);
/* The same for the socket's error queue (ip(7) IP_RECVERR). */
void	icmp_read_errqueue(struct icmp_ctx *c);

#endif
