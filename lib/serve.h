/*
 * serve: the inetd contract of DESIGN.md, in one place for every handler.
 *
 * A handler finds on fd 0 one of:
 *   - a connected stream socket (forkd "nowait", inetd nowait, tcpserver):
 *     it serves that one connection and exits;
 *   - a listening stream socket (forkd "prefork.N", or "wait" on a stream):
 *     it accepts and serves connections;
 *   - a bound datagram socket (forkd "wait" on dgram): it serves
 *     datagrams until idle, then exits;
 *   - anything else (a pipe, a terminal, a file): it serves stdin/stdout as
 *     one connection, which is how tests drive a handler without a network.
 *
 * A socket passed the systemd way instead (LISTEN_PID and LISTEN_FDS=1,
 * the socket on fd 3; lib/activation.h) is served as fd 0 would be.
 */
#ifndef FORKD_SERVE_H
#define FORKD_SERVE_H

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>

enum serve_kind {
	SERVE_CONNECTED,	/* connected stream socket */
	SERVE_LISTENING,	/* listening stream socket (SO_ACCEPTCONN) */
	SERVE_DATAGRAM,		/* bound datagram socket */
	SERVE_STDIO,		/* not a socket: a pipe, a tty or a file */
};

/* Numeric addresses and ports of both ends, for logs and CGI. */
struct serve_peer {
	char	remote_ip[INET6_ADDRSTRLEN];	/* "127.0.0.1", "::1", "-" */
	char	remote_port[6];			/* "40312", "-" */
	char	local_ip[INET6_ADDRSTRLEN];
	char	local_port[6];
};

struct serve_handler {
	/*
	 * Serve one connection: read from rfd, write to wfd (the same fd for
	 * a socket; 0 and 1 for stdio). Return 0, or an exit status for the
	 * nowait/stdio case. Required.
	 */
	int	(*sh_connection)(int rfd, int wfd, const struct serve_peer *peer,
		    void *arg);
	/*
	 * Serve a listening socket. NULL: serve_main() accepts one
	 * connection at a time and calls sh_connection for each (smtpd's
	 * model, a pool of sequential workers). Handlers that multiplex
	 * (echod, httpd) set it and run their own poll/epoll loop with
	 * serve_accept().
	 */
	int	(*sh_listener)(int lfd, void *arg);
	/* Serve a bound datagram socket; NULL: refused with exit 100. */
	int	(*sh_datagram)(int fd, void *arg);
	/*
	 * What a client over the service's per-source limits is told
	 * before the connection closes: the protocol's whole refusal
	 * (SMTP's "421 ...\r\n", HTTP's 503 response). NULL: a close.
	 */
	const char *sh_refusal;
};

/*
 * Set by forkd in a handler's environment (forkd.conf(5)): "1" when the
 * service's mode has "+proxy", so every accepted connection starts with
 * a PROXY protocol header (read by serve_accept, or by forkd itself for
 * nowait); and "1" when forkd refused a nowait connection over its
 * per-source limits, so the handler only sends sh_refusal.
 */
#define SERVE_PROXY_ENV		"FORKD_PROXY"
#define SERVE_REFUSED_ENV	"FORKD_REFUSED"

/* What fd is, per the contract above. */
enum serve_kind serve_kind(int fd);

/*
 * Serve fd 0 per the contract with handler h; arg is passed through. When
 * the process was socket-activated (sd_listen_fds(3)) with one socket, fd
 * 3 is served instead, and LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are
 * removed from the environment (a CGI program never sees them).
 * Returns the exit status for main() to return: the handler's; 100 when
 * more than one socket, or a malformed LISTEN_FDS, was passed; 111 on a
 * temporary failure of the contract itself (logged).
 */
int	serve_main(const struct serve_handler *h, void *arg);

/*
 * Fill peer for connected socket fd. For fd 0 the UCSPI-TCP variables
 * (TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT) are used when
 * present, as set by forkd and tcpserver; otherwise getpeername(2) and
 * getsockname(2). Fields that cannot be known are "-". Never fails.
 */
void	serve_peer(int fd, struct serve_peer *peer);

/*
 * Fill the local end (local_ip, local_port) of connection fd, accepted on
 * listening socket lfd, in peer: the listener's own address when it is
 * bound to one address (asked of lfd once, not of every connection), else
 * getsockname(2) of fd; "-" when neither answers. Never fails.
 */
void	serve_peer_local(int lfd, int fd, struct serve_peer *peer);

/* Forget what serve_peer_local learnt of listener lfd (it is closing, and
 * its descriptor number may name another socket next). */
void	serve_peer_forget(int lfd);

/*
 * accept4(2) on listening socket lfd with flags (SOCK_NONBLOCK,
 * SOCK_CLOEXEC), filling peer from the accepted address. Returns the new
 * fd, or -1 with errno (EAGAIN when nothing is pending on a non-blocking
 * listener; ECONNABORTED, EINTR and the like are for the caller to retry).
 *
 * Under forkd with "+proxy" it first reads the PROXY header (at most
 * PROXY_TIMEOUT_MS) and peer is the client the header names; a missing,
 * malformed, truncated or slow header is logged and the connection
 * closed (ECONNABORTED). With per-source limits the connection is
 * counted against its client's address; one over a limit is sent the
 * handler's sh_refusal, closed and logged once a minute per address
 * (ECONNABORTED). A connection from serve_accept is closed with
 * serve_close, which gives its count back.
 */
int	serve_accept(int lfd, int flags, struct serve_peer *peer);

/* Close a connection from serve_accept (or any fd): close(2), and the
 * end of its per-source count. Returns close's result. */
int	serve_close(int fd);

/* What a handler does after serve_accept() failed; see serve_accept_error. */
enum serve_accept_err {
	SERVE_ACCEPT_RETRY,	/* that connection went away: accept again */
	SERVE_ACCEPT_NONE,	/* nothing pending (non-blocking listener) */
	SERVE_ACCEPT_PAUSE,	/* out of descriptors or memory: rest */
	SERVE_ACCEPT_FATAL,	/* the listener itself is broken */
};

/*
 * Classify errno e of a failed accept(2) (accept(2) ERRORS): EINTR,
 * ECONNABORTED and EPROTO are RETRY; EAGAIN/EWOULDBLOCK NONE; EMFILE,
 * ENFILE, ENOBUFS and ENOMEM PAUSE (logged by the caller; accepting again
 * at once would spin); anything else FATAL.
 */
enum serve_accept_err serve_accept_error(int e);

/* Set or clear O_NONBLOCK on fd. Returns 0, or -1 with errno. */
int	serve_nonblock(int fd, int on);

/*
 * When fd is a listening socket (a prefork or wait service), set its TCP
 * option opt (IPPROTO_TCP level, an int) to value; its connections take
 * it from there. For a handler's start, before its sandbox: a connected
 * socket, a datagram socket or a pipe costs one getsockopt(2). Returns 0
 * when set; -1 when fd is no listener or refuses it (a UNIX socket:
 * EOPNOTSUPP), which is for the caller to ignore.
 */
int	serve_listener_tcpopt(int fd, int opt, int value);

/*
 * io_write_all() and clock_ms() (lib/io.h, lib/clock.h) under the names
 * the handlers still call them by; new code calls those.
 */
int	serve_write_all(int fd, const void *buf, size_t len, int timeout_ms);
long long serve_now_ms(void);

/*
 * The graceful stop, one for every reason a handler that holds a listener
 * or a bound datagram socket must stop: SIGHUP, the supervisor's death
 * (forkd gives it as the parent-death signal, prctl(2) PR_SET_PDEATHSIG:
 * with forkd gone nobody would stop the handler, and it would keep the
 * port from a new forkd), and SIGTERM, forkd's drain (on its own SIGTERM,
 * and for the old handlers at the end of a binary upgrade). serve_main()
 * blocks both for those two kinds and lets them in only inside
 * serve_poll() and the wait of serve_sigmask() (and, in the one-at-a-time
 * loop of serve_main, while a connection is served: its handler then
 * closes the listener at once), so they can never cut a read or a write in
 * the middle of a connection. Then the handler stops accepting
 * (serve_close_listener()), finishes the connections it is serving within
 * its own timeouts, and exits 0; a datagram handler exits at once. A
 * second SIGTERM ends the handler (default action).
 */

/* Whether SIGHUP or SIGTERM has asked for the stop: 1 or 0. */
int	serve_stopping(void);
/* Why, for a log line: "supervisor gone" or "SIGTERM, draining". */
const char *serve_stop_reason(void);

/*
 * poll(2) on nfds fds for up to timeout_ms milliseconds (-1: no limit),
 * during which SIGHUP or SIGTERM may arrive: then -1 with errno EINTR, and
 * serve_stopping() says so. Returns what poll(2) returns.
 */
int	serve_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/*
 * The signal mask to wait with in epoll_pwait(2) (SIGHUP and SIGTERM let in), or
 * NULL when serve_main() did not block it.
 */
const sigset_t *serve_sigmask(void);

/*
 * Stop accepting: close listening socket lfd, and descriptor 1 too when
 * lfd is 0 and 1 is the same socket (as forkd and inetd pass it), so this
 * process no longer holds the port.
 */
void	serve_close_listener(int lfd);

#endif
