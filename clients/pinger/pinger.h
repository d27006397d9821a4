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

/* icmp.c: run the ICMP echo pinger; returns the exit status. */
int	icmp_run(struct pinger *p);

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
