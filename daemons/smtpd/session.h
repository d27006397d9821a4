/*
 * session.h: what the files of the SMTP dialogue share (session.c, the
 * commands; reply.c, the replies; io.c, input and output with deadlines;
 * data.c, the message text). Not used outside daemons/smtpd.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

#include "smtpd.h"

#define SESSION_INBUF	8192	/* bytes of pipelined input held */
#define SESSION_OUTBUF	4096	/* bytes of replies held before a flush */

enum smtp_line {
	LINE_OK,
	LINE_LONG,	/* over SMTPD_CMDLINE_MAX, discarded */
	LINE_TIMEOUT,
	LINE_EOF,	/* the peer closed, or an I/O error */
};

/* One connection's state; a prefork worker makes a new one per client. */
struct smtp_session {
	struct smtpd	*s_sd;
	int		 s_rfd;
	int		 s_wfd;
	int		 s_socket;	/* non-blocking socket, not stdio */
	char		 s_peer[INET6_ADDRSTRLEN + 8];	/* for the log */
	char		 s_in[SESSION_INBUF];
	size_t		 s_inoff;	/* first unread byte */
	size_t		 s_inlen;	/* bytes in s_in */
	int		 s_skipping;	/* discarding an overlong line */
	char		 s_out[SESSION_OUTBUF];
	size_t		 s_outlen;
	int		 s_dead;	/* write failed or peer gone */
	int		 s_quit;	/* close after the replies */
	int		 s_errors;	/* error replies so far */
	int		 s_junk;	/* NOOP, RSET, VRFY since a delivery */
	int		 s_helo;	/* 0, 'H' after HELO, 'E' after EHLO */
	char		 s_heloname[SMTPD_NAME_MAX];
	int		 s_mail;	/* MAIL accepted */
	char		 s_sender[SMTPD_PATH_MAX];	/* "" for <> */
	char		*s_rcpts[SMTPD_RCPT_MAX];
	size_t		 s_nrcpts;
	char		*s_body;	/* the message as stored, LF ends */
	size_t		 s_bodylen;	/* bytes */
	size_t		 s_bodycap;	/* bytes allocated */
	struct tls	*s_tls;		/* after STARTTLS; NULL: in the clear */
};

/*
 * reply.c. smtp_reply() queues one reply line (CRLF added); smtp_error()
 * also counts it against -e and adds the 421 line when the count is
 * reached. One function per error reply.
 */
void	smtp_reply(struct smtp_session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	smtp_error(struct smtp_session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	smtp_err_syntax(struct smtp_session *, const char *);
void	smtp_err_unknown(struct smtp_session *);
void	smtp_err_need(struct smtp_session *, const char *);
void	smtp_err_dup_helo(struct smtp_session *);
void	smtp_err_nested(struct smtp_session *);
void	smtp_err_sender(struct smtp_session *, const char *);
void	smtp_err_rcpt(struct smtp_session *, const char *);
void	smtp_err_param(struct smtp_session *);
void	smtp_err_cmd_long(struct smtp_session *);
void	smtp_err_text_long(struct smtp_session *);
void	smtp_err_rcpts(struct smtp_session *);
void	smtp_err_size(struct smtp_session *);
void	smtp_err_bare(struct smtp_session *);
void	smtp_err_storage(struct smtp_session *);
void	smtp_err_local(struct smtp_session *);
void	smtp_err_timeout(struct smtp_session *);
void	smtp_err_tls_unavailable(struct smtp_session *);
void	smtp_err_tls_active(struct smtp_session *);
void	smtp_err_tls_required(struct smtp_session *);

/*
 * io.c. smtp_flush() writes the queued replies (0, or -1: the peer is
 * gone). smtp_fill() reads more input by deadline (serve_now_ms()
 * milliseconds): 1 bytes came, 0 EOF or error, -1 timeout.
 * smtp_getline() gives the next command line, NUL-terminated without its
 * CRLF or LF, valid until the next read. smtp_linger() closes the write
 * side and drains the peer briefly.
 */
int	smtp_flush(struct smtp_session *);
int	smtp_fill(struct smtp_session *, long long);
enum smtp_line smtp_getline(struct smtp_session *, char **, size_t *);
void	smtp_linger(struct smtp_session *);

/*
 * tls.c. smtp_starttls() runs the server side of the TLS handshake
 * (RFC 3207 4) on the session's descriptors after the 220 was flushed;
 * on success the session forgets what the client said before (4.2). On
 * failure it logs why and marks the session dead. smtp_tls_read() and
 * smtp_tls_write() move bytes through TLS until deadline (serve_now_ms()
 * milliseconds): bytes moved, 0 at EOF or an error, -1 on timeout.
 * smtp_tls_end() sends close_notify and frees the connection.
 */
void	smtp_starttls(struct smtp_session *);
ssize_t	smtp_tls_read(struct smtp_session *, void *, size_t, long long);
ssize_t	smtp_tls_write(struct smtp_session *, const void *, size_t,
	    long long);
void	smtp_tls_end(struct smtp_session *);

/* data.c: read the message after 354, then deliver or refuse it. */
void	smtp_data(struct smtp_session *);

/* session.c: forget the transaction (MAIL, RCPT, text); keep HELO. */
void	smtp_reset(struct smtp_session *);

#endif
