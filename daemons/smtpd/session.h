/*
 * session.h: what the files of the SMTP dialogue share (session.c, the
 * commands and the loop; io.c, input and output with deadlines; text.c,
 * the DATA state; data.c, the rules of the message text; reply.c, the
 * replies; path.c, the arguments of commands). Not used outside
 * daemons/smtpd.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "smtpd.h"

#define SESSION_INBUF	8192	/* bytes of pipelined input held */
#define SESSION_OUTBUF	4096	/* bytes of replies held before a flush */

enum smtp_line {
	LINE_OK,
	LINE_LONG,	/* command: over SMTPD_CMDLINE_MAX, discarded;
			   text: the last piece of a line over
			   SMTPD_TEXTLINE_MAX */
	LINE_PART,	/* text: a piece of a line over SMTPD_TEXTLINE_MAX,
			   more follows */
	LINE_TIMEOUT,
	LINE_SLOW,	/* text: under -r bytes per second */
	LINE_EOF,	/* the peer closed, or an I/O error */
};

enum smtp_state {
	SMTP_STATE_CMD,		/* reading commands */
	SMTP_STATE_DATA,	/* reading the text after 354 */
};

/* What the text after DATA turned out to be (data.c). */
enum smtp_verdict {
	DATA_OK,
	DATA_BARE,	/* a bare CR or LF (RFC 5321 2.3.8) */
	DATA_LONG,	/* a line over 1000 octets (RFC 5321 4.5.3.1.6) */
	DATA_BIG,	/* over -s (RFC 1870) */
	DATA_NOMEM,
};

/* One mail transaction (RFC 5321 3.3): MAIL, RCPT, DATA. */
struct smtp_tx {
	int		 tx_mail;	/* MAIL accepted */
	char		 tx_sender[SMTPD_PATH_MAX];	/* "" for <> */
	char		*tx_rcpts[SMTPD_RCPT_MAX];
	size_t		 tx_nrcpts;
	struct buf	 tx_body;	/* the message as stored, LF ends */
	size_t		 tx_size;	/* bytes of text received, CRLFs in */
	int		 tx_bare;	/* a bare CR or LF seen */
	int		 tx_toolong;	/* a line over 1000 octets seen */
	int		 tx_toobig;	/* tx_size over -s */
	int		 tx_nomem;	/* the body could not grow */
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
	unsigned long long s_rcvd;	/* bytes read into s_in, ever */
	int		 s_skipping;	/* discarding an overlong line */
	enum smtp_state	 s_state;
	long long	 s_datastart;	/* serve_now_ms() at 354 */
	unsigned long long s_datapos;	/* s_rcvd at the text's start */
	char		 s_out[SESSION_OUTBUF];
	size_t		 s_outlen;
	int		 s_dead;	/* write failed or peer gone */
	int		 s_quit;	/* close after the replies */
	int		 s_bye;		/* QUIT answered in the clear */
	int		 s_errors;	/* error replies so far */
	int		 s_junk;	/* NOOP, RSET, VRFY since a delivery */
	int		 s_helo;	/* 0, 'H' after HELO, 'E' after EHLO */
	char		 s_heloname[SMTPD_NAME_MAX];
	struct smtp_tx	 s_tx;
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
 * smtp_getline() gives the next line of the session's state, valid until
 * the next read: a command line, NUL-terminated without its CRLF or LF;
 * or a text line without its CRLF (only CRLF ends one), or a piece of an
 * overlong one. smtp_linger() closes the write side and drains the peer
 * briefly, unless the session ended with QUIT and nothing is unread.
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

/*
 * path.c, pure functions of a command's argument. smtp_trim() strips
 * blanks from both ends in place. smtp_printable(): only printable ASCII
 * without blanks, as smtpd(8) defines an address. smtp_path() splits
 * "<path> params" or a bare "path" (RFC 5321 4.1.2) in place: *addr the
 * path without angle brackets, *params what follows; 0, or -1 on a
 * syntax error (empty, no '>', no blank before the parameters).
 * smtp_valid_addr(): printable and short enough to store.
 */
char	*smtp_trim(char *);
int	smtp_printable(const char *);
int	smtp_path(char *, char **, char **);
int	smtp_valid_addr(const char *);

/*
 * text.c: the DATA state. smtp_text_begin() enters it after 354;
 * smtp_text() takes what smtp_getline() returned in it and, at the line
 * ".", delivers or refuses the message and goes back to commands.
 */
void	smtp_text_begin(struct smtp_session *);
void	smtp_text(struct smtp_session *, enum smtp_line, char *, size_t);

/*
 * data.c: the text's rules, no I/O (RFC 5321 4.1.1.4, 4.5.2, 2.3.8).
 * smtp_data_begin() starts the text of tx. smtp_data_line() takes one
 * text line of n bytes without its CRLF: 1 when it is the end ".",
 * else 0 after counting it against maxsize (bytes) and storing it
 * dot-unstuffed and quoted for format (mboxrd "From ", the seed
 * format's record lines). smtp_data_long() takes a piece of a line
 * over 1000 octets. smtp_data_verdict() says whether to deliver.
 * smtp_tx_reset() forgets the transaction (RFC 5321 4.1.1.5), keeping
 * the body's memory; smtp_tx_free() frees it too.
 */
void	smtp_data_begin(struct smtp_tx *);
int	smtp_data_line(struct smtp_tx *, const char *, size_t,
	    enum smtpd_format, size_t);
void	smtp_data_long(struct smtp_tx *, const char *, size_t);
enum smtp_verdict smtp_data_verdict(const struct smtp_tx *);
void	smtp_tx_reset(struct smtp_tx *);
void	smtp_tx_free(struct smtp_tx *);

#endif
