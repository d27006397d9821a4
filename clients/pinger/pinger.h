/*
 * pinger: ICMP echo (RFC 792, RFC 4443) and the UDP pinger and heartbeat of
 * pingd(8). One state struct for the whole program, in the way of iputils'
 * struct ping_rts: options, the target, the socket and the statistics.
 */
#ifndef PINGER_H
#define PINGER_H

#include <sys/socket.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>

#include "clock.h"

/* Exit statuses of ping(8), which scripts already test (the issue). */
#define PINGER_EXIT_REPLY	0	/* at least one reply */
#define PINGER_EXIT_NOREPLY	1	/* nothing came back */
#define PINGER_EXIT_ERROR	2	/* usage or system error */

#define PINGER_DATALEN		56	/* ping's default payload, bytes */
#define PINGER_MAXDATA		65507	/* 65535 - 20 (IPv4) - 8 (ICMP), bytes */

enum pinger_mode {
	PINGER_ICMP,		/* echo request / echo reply */
	PINGER_UDP,		/* -u: "Ping N time" to a pingd */
	PINGER_HEARTBEAT,	/* -H: "Heartbeat N time", one way */
};

struct pinger {
	/* Options. */
	enum pinger_mode p_mode;
	const char	*p_host;	/* as the user typed it */
	long		 p_count;	/* -c; -1: until interrupted */
	long long	 p_interval_us;	/* -i, microseconds */
	long long	 p_timeout_us;	/* -W, microseconds per request */
	int		 p_datalen;	/* -s, ICMP payload bytes */
	int		 p_ttl;		/* -t; 0: the system's default */
	int		 p_quiet;	/* -q */
	int		 p_verbose;	/* -v */
	int		 p_family;	/* AF_UNSPEC, -4: AF_INET, -6: AF_INET6 */
	int		 p_port;	/* -u / -H port */

	/* The target, resolved once. */
	struct sockaddr_storage p_addr;
	socklen_t	 p_addrlen;
	char		 p_addrstr[INET6_ADDRSTRLEN];

	/* Statistics, in the words of ping's summary. */
	long		 p_ntransmitted;
	long		 p_nreceived;
	long		 p_nrepeats;	/* duplicates */
	long		 p_nerrors;	/* ICMP errors about our requests */
	long		 p_ntimedout;
	long		 p_nsenderr;	/* sends the kernel refused */
	long long	 p_tmin_us, p_tmax_us;
	double		 p_tsum_us, p_tsum2_us;	/* for avg and mdev */
	long		 p_ntimed;	/* replies with an RTT */
	long long	 p_start_us;	/* first transmission, monotonic */
};

/* Set by SIGINT/SIGTERM/SIGALRM: stop sending and print the summary. */
extern volatile sig_atomic_t pinger_stop;
/* The signal mask while waiting: those three are blocked at other times. */
extern sigset_t pinger_waitmask;

/*
 * pinger.c: the numeric address of sa (salen bytes) into buf (size
 * bytes), as ping(8) shows it: an IPv6 one with its scope ("fe80::1%eth0",
 * getnameinfo(3) NI_NUMERICHOST), "?" when it cannot be shown. Returns buf.
 */
char	*pinger_addrstr(const struct sockaddr *sa, socklen_t salen, char *buf,
	    size_t size);

/* icmp.c: run the ICMP echo pinger; returns the exit status. */
int	icmp_run(struct pinger *p);

/* icmpmsg.c: received ICMP messages, functions of their bytes alone. */
#define ICMP_HDRLEN	8	/* type, code, checksum, identifier, sequence */

enum icmp_msg_kind {
	ICMP_MSG_IGNORE,	/* not about an echo request of ours */
	ICMP_MSG_REPLY,		/* an echo reply with our identifier */
	ICMP_MSG_ERROR,		/* an error quoting an echo request of ours */
};

/* What icmp_parse() found in one message. */
struct icmp_msg {
	int		 im_type;	/* ICMP or ICMPv6 type and code */
	int		 im_code;
	uint32_t	 im_info;	/* errors: next-hop MTU or pointer */
	uint16_t	 im_seq;	/* the echo's sequence number */
	const unsigned char *im_data;	/* a reply's payload ... */
	size_t		 im_datalen;	/* ... and its length in bytes */
};

/*
 * Classify the ICMP message at b, len bytes from its ICMP header on (an
 * ICMPv6 one when v6), for a pinger with identifier ident (host order)
 * sending echo requests to target (a sockaddr_in, or a sockaddr_in6 when
 * v6). Returns ICMP_MSG_REPLY (im_type, im_code, im_seq, im_data and
 * im_datalen set), ICMP_MSG_ERROR (an RFC 792 type 3, 11 or 12 error, or
 * an RFC 4443 section 3 one, whose quoted datagram is an echo request
 * from ident to target: im_type, im_code, im_info, im_seq set), or
 * ICMP_MSG_IGNORE for anything else, however short or malformed. The
 * checksum is not checked here (see icmp_cksum()).
 */
int	icmp_parse(const unsigned char *b, size_t len, int v6, uint16_t ident,
	    const struct sockaddr_storage *target, struct icmp_msg *m);
/*
 * The IPv4 header a raw socket hands over first (RFC 791), len bytes at
 * b: its version and header length are checked against len. Returns the
 * header length in bytes with the TTL in *ttl, or -1 if it is malformed.
 */
int	icmp_parse_ip4(const unsigned char *b, size_t len, int *ttl);
/*
 * RFC 1071 Internet checksum of len bytes at buf, in network order: 0
 * over a message that carries a correct one.
 */
uint16_t icmp_cksum(const void *buf, size_t len);
/*
 * The text ping(8) prints for an error of type and code (ICMPv6 when v6)
 * with info (MTU or pointer), into buf (size bytes). Returns buf.
 */
const char *icmp_errname(int v6, int type, int code, uint32_t info,
	    char *buf, size_t size);

/* udp.c: the UDP pinger (-u) and the heartbeat client (-H). */
int	udp_ping_run(struct pinger *p);
int	udp_heartbeat_run(struct pinger *p);

/* stats.c */
/* Account one reply with round-trip time rtt_us (microseconds). */
void	stats_rtt(struct pinger *p, long long rtt_us);
/*
 * Format rtt_us (microseconds) as ping does, into buf (size bytes):
 * three decimals under 1 ms, two under 10 ms, one under 100 ms, none
 * above. Returns buf.
 */
char	*stats_fmt_ms(char *buf, size_t size, long long rtt_us);
/* Print the "--- host ping statistics ---" block on stdout. */
void	stats_summary(const struct pinger *p);
/*
 * The exit status for the statistics: 0 if any reply, 1 if none, 2 if
 * nothing could even be sent (no route: an error, as ping has it).
 */
int	stats_exit(const struct pinger *p);
/*
 * Sleep in poll(2) on fd (-1: none) for events until deadline_us
 * (monotonic, microseconds) or pinger_stop. Returns poll's revents, 0 on
 * timeout or interruption, -1 on error with errno.
 */
int	stats_wait(int fd, short events, long long deadline_us);

#endif
