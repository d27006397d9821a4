/*
 * echod: RFC 862 echo, the handler's shared declarations.
 *
 * stream.c   one connection: the line-"." terminator (echod(8) -t), the
 *            blocking one-connection service and handle_connection(),
 *            the non-blocking step of the multiplexing server
 * listener.c many connections in one process, with poll(2)
 * datagram.c RFC 862 over UDP
 * profile.c  the seccomp profile
 */
#ifndef ECHOD_H
#define ECHOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"
#include "serve.h"

/* Bytes a connection may hold between reading and writing them back. */
#define ECHO_BUFSZ	16384
/*
 * After the terminator's echo and our FIN, how long a connection waits
 * for the peer's EOF before it closes anyway (ms): Apache's lingering
 * close waits 2 s too. Never longer than the idle time (-i).
 */
#define ECHO_LINGER_MS	2000
/* Largest UDP payload: 65535 - 8 (UDP header); IPv4 allows 20 bytes less. */
#define ECHO_DGRAMSZ	65535

/* The program's state: options and counters. */
struct echod {
	int		 e_terminator;	/* -t: a line "." ends a connection */
	int		 e_idle;	/* -i: seconds a connection may idle */
	int		 e_dgram_idle;	/* -x: seconds of datagram silence; 0 never */
	int		 e_maxconns;	/* -c: connections per process */
};

/* Where the terminator scanner is: see term_scan() in stream.c. */
enum echo_term {
	TERM_BOL,	/* at the beginning of a line (also before any byte) */
	TERM_MID,	/* inside a line */
	TERM_DOT,	/* a line that so far is "." */
	TERM_DOTCR,	/* a line that so far is ".\r" */
};

/* One connection of the multiplexing server. */
struct echo_conn {
	int		 ec_fd;
	struct serve_peer ec_peer;
	const struct echod *ec_env;
	size_t		 ec_off;	/* ec_buf[ec_off..ec_len) is still to write */
	size_t		 ec_len;
	enum echo_term	 ec_term;
	bool		 ec_done;	/* terminator read: close once flushed */
	bool		 ec_shut;	/* FIN sent: input dropped until EOF */
	uint64_t	 ec_in;		/* bytes read from the peer */
	uint64_t	 ec_out;	/* bytes written back */
	long long	 ec_last;	/* serve_now_ms() of the last progress,
					   or of the FIN once ec_shut */
	const char	*ec_why;	/* why it closed, for the log */
	/* A large transfer: splice(2) through a pipe, see stream.c. */
	bool		 ec_splice;	/* ec_pipe is open and in use */
	bool		 ec_nosplice;	/* refused once: read/write only */
	int		 ec_pipe[2];
	size_t		 ec_piped;	/* bytes in the pipe, still to write */
	/* Last: everything before it is set anew for each connection. */
	unsigned char	 ec_buf[ECHO_BUFSZ];
};

/* Pipe capacity asked for a spliced connection (bytes, F_SETPIPE_SZ). */
#define ECHO_PIPESZ	(1024 * 1024)

/*
 * Scan len bytes at p for the terminator line "." (LF "." LF, ".\n" as
 * the very first line, or "." CR LF), carrying the scanner state in *st
 * across calls. Returns the number of bytes up to and including the
 * terminator's LF, or len when there is none; *found says which.
 */
size_t	term_scan(enum echo_term *st, const unsigned char *p, size_t len,
	    bool *found);

/*
 * Serve one connection, blocking: read from rfd, write to wfd, until EOF,
 * the terminator (-t), e_idle seconds without a byte, or an error. Logs
 * the open and the close with the byte counts. Returns 0, or 1 on an I/O
 * error. The serve_handler's sh_connection.
 */
int	echo_connection(int rfd, int wfd, const struct serve_peer *peer,
	    void *arg);

/*
 * One non-blocking step of connection ec (a poll loop's handle_connection):
 * write what is pending, and only when nothing is pending read what the
 * peer sent and try to write it back; after the terminator's echo, send
 * our FIN and drop input until the peer's EOF. Returns true while the
 * connection stays open, false when it is to be closed (ec_why says why).
 */
bool	handle_connection(struct echo_conn *ec);

/*
 * poll(2) events ec waits for: POLLOUT while output is pending (and then
 * not POLLIN: back-pressure), POLLIN otherwise.
 */
short	echo_events(const struct echo_conn *ec);

/*
 * When (serve_now_ms()) ec is to be closed if nothing happens: e_idle
 * seconds after its last progress, or ECHO_LINGER_MS after its FIN.
 */
long long echo_deadline(const struct echo_conn *ec);

/* Log ec's close and close its fd. */
void	echo_close(struct echo_conn *ec);

/*
 * Serve listening socket lfd: accept and serve up to e_maxconns
 * connections at once with poll(2), until the supervisor dies
 * (serve_stopping(): the listener is closed, the connections finished,
 * then 0 is returned). Returns 111 when the listener fails. The
 * serve_handler's sh_listener.
 */
int	echo_listener(int lfd, void *arg);

/*
 * Serve bound datagram socket fd (RFC 862 section "UDP Based Echo
 * Service"): send each datagram back to its sender unless dguard_check()
 * refuses it (a source that could start a loop), until e_dgram_idle
 * seconds pass without one or the supervisor dies (serve_stopping()).
 * Returns 0, or 111 when the socket fails.
 */
int	echo_datagram(int fd, void *arg);

/*
 * Enter echod's seccomp profile (profile.c) with RLIMIT_NOFILE fitting
 * maxconns connections. Returns only when it is in force (else exit 111).
 */
void	echo_sandbox(int maxconns);

#endif
