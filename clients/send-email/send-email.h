/*
 * send-email: an SMTP client (RFC 5321), "send-email SERVER RECIPIENT WORD".
 *
 * The files: main.c reads the command line, session.c runs the transaction,
 * dial.c connects (getaddrinfo, each address in turn, with a deadline),
 * conn.c moves the bytes, in the clear or in TLS (libtls, RFC 3207 and
 * RFC 8314), auth.c logs in (RFC 4954), reply.c reads and classifies the
 * server's replies (RFC 5321 4.2) and sends commands, message.c builds
 * the RFC 5322 message with CRLF line ends and dot-stuffing (RFC 5321
 * 4.5.2), attach.c reads the files to attach and names their media
 * types (libmagic), mime.c shapes the body (RFC 2045, 2046), buf.c is
 * the growing buffer they all write into.
 */
#ifndef SEND_EMAIL_H
#define SEND_EMAIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Exit statuses, as qmail-remote and ucspi-tcp use them (cli.h): 0,
 * EXIT_USAGE for a usage error or a 5xx refusal, EXIT_TEMP for a 4xx,
 * a connection failure or a timeout.
 */
#include "buf.h"
#include "cli.h"

/*
 * A reply line is at most 512 octets with its CRLF (RFC 5321
 * 4.5.3.1.5); we take up to 2048 so a chatty server still works, and
 * call anything longer a protocol error.
 */
#define SE_LINE_MAX	2048
/* Room for log_vis() of a line of SE_LINE_MAX bytes, never cut (bytes). */
#define SE_VIS_MAX	(SE_LINE_MAX * 4 + 4)
/* Lines of one multi-line reply we keep (an EHLO reply is ~10). */
#define SE_REPLY_LINES	64
/* A text line is at most 998 octets without its CRLF (RFC 5322 2.1.1). */
#define SE_TEXT_MAX	998
/* The largest body read from stdin, in bytes. */
#define SE_BODY_MAX	(32 * 1024 * 1024)
/* A path is at most 256 octets with its "<>" (RFC 5321 4.5.3.1.3). */
#define SE_PATH_MAX	254

/* One reply: its code and the text of each line, without the code. */
struct se_reply {
	int	 r_code;			/* 200..599 */
	size_t	 r_nlines;
	char	 r_text[SE_REPLY_LINES][SE_LINE_MAX];
};

/* A file to send with the text (-a, -i): what mime_build() needs. */
struct mime_part {
	const char		*mp_name;	/* file name, no directory */
	const char		*mp_type;	/* media type, "image/png" */
	const unsigned char	*mp_data;
	size_t			 mp_len;	/* bytes */
	int			 mp_inline;	/* -i: shown in the HTML */
};

/* Everything the body depends on, so mime_build() is a pure function. */
struct mime_input {
	const char		*mi_text;	/* CRLF lines, each <= 998 */
	size_t			 mi_textlen;	/* bytes */
	const struct mime_part	*mi_parts;
	size_t			 mi_nparts;
	const char		*mi_boundary;	/* [0-9a-z]{1,40}, unique */
	const char		*mi_domain;	/* right side of Content-IDs */
	int			 mi_8bitmime;	/* the server takes 8-bit */
};

/* How send-email uses TLS. */
enum se_tls_mode {
	SE_TLS_AUTO,		/* STARTTLS when the server offers it */
	SE_TLS_REQUIRE,		/* -S, or -u: STARTTLS or fail */
	SE_TLS_IMPLICIT		/* -T: TLS from the first byte (RFC 8314) */
};

/* User names and passwords of RFC 4616 are at most 255 octets. */
#define SE_SECRET_MAX	255

struct tls;
struct tls_config;

/* The program's one state struct. */
struct se_state {
	/* from the command line */
	const char	*se_server;
	const char	*se_port;		/* "25" */
	const char	*se_from;		/* reverse path; "" for <> */
	const char	*se_author;		/* the From: header */
	const char	*se_subject;
	const char	*se_helo;		/* EHLO/HELO domain */
	const char	*se_word;		/* NULL: the body is stdin */
	char		**se_rcpt;		/* forward paths */
	size_t		 se_nrcpt;
	int		 se_family;		/* AF_UNSPEC, AF_INET, AF_INET6 */
	int		 se_verbose;		/* -v: the dialogue on stderr */
	int		 se_timeout_ms;		/* per connect, reply, write */
	enum se_tls_mode se_tls_mode;
	const char	*se_cafile;		/* -C; NULL: the system's CAs */
	int		 se_insecure;		/* -k: no certificate check */
	const char	*se_user;		/* -u; NULL: no AUTH */
	char		 se_pass[SE_SECRET_MAX + 1];
	struct mime_part *se_parts;		/* -a and -i, in order */
	size_t		 se_nparts;

	/* the connection */
	int		 se_fd;			/* -1 when not connected */
	struct tls_config *se_tlscfg;
	struct tls	*se_tls;		/* NULL: in the clear */
	char		 se_ioerr[256];		/* why conn_* failed */
	char		 se_rbuf[SE_LINE_MAX * 2];
	size_t		 se_rlen;
	struct se_reply	 se_reply;		/* the last reply read */
	char		 se_cmd[64];		/* the last command, for errors */

	/* the server's EHLO keywords (RFC 5321 4.1.1.1) */
	int		 se_esmtp;		/* 1 when EHLO was accepted */
	int		 se_8bitmime;		/* RFC 6152 */
	unsigned long long se_size;		/* RFC 1870 SIZE; 0: none */
	int		 se_starttls;		/* RFC 3207 */
	int		 se_auth_plain;		/* RFC 4954 AUTH PLAIN */
	int		 se_auth_login;		/* AUTH LOGIN */

	/* the message: header fields, the text, then the whole of it */
	struct buf	 se_head;
	struct buf	 se_text;		/* CRLF lines */
	char		 se_boundary[40];
	struct buf	 se_msg;			/* CRLF, not yet dot-stuffed */
	int		 se_8bit;		/* a byte >= 0x80 in it */
};

/*
 * dial.c: connect se_fd to se_server:se_port, trying each address that
 * getaddrinfo(3) gives in turn, each within se_timeout_ms milliseconds.
 * The socket is left non-blocking. Returns 0, or an exit status
 * (EXIT_USAGE for a name that does not exist, EXIT_TEMP otherwise)
 * after printing why on stderr.
 */
int	dial_connect(struct se_state *st);

/*
 * reply.c: read one whole reply (every line of a multi-line one, RFC
 * 5321 4.2.1) into st->se_reply within se_timeout_ms milliseconds.
 * Returns 0, or -1 after printing why on stderr (timeout, connection
 * closed, a malformed or over-long line, inconsistent codes).
 */
int	reply_read(struct se_state *st);

/*
 * Add one reply line (len bytes at line, without its CRLF; need not be
 * NUL-terminated) to r, whose r_nlines is 0 for a new reply: RFC 5321
 * 4.2, "xyz-text" or "xyz text" or "xyz", the code's first digit 2 to 5
 * (4.2.1), every line of a multi-line reply with the same code. The text
 * after the code is kept (cut at SE_LINE_MAX - 1 bytes; lines past
 * SE_REPLY_LINES are checked, not kept). Returns 1 for the reply's last
 * line, 0 when more lines follow, -1 for a malformed line.
 */
int	reply_parse_line(struct se_reply *r, const char *line, size_t len);

/*
 * The EHLO keywords (RFC 5321 4.1.1.1) we act on in the 250 reply in
 * st->se_reply, one per line after the first: 8BITMIME (RFC 6152) sets
 * se_8bitmime, STARTTLS (RFC 3207) se_starttls, "AUTH PLAIN LOGIN" (RFC
 * 4954; "AUTH=" too) se_auth_plain and se_auth_login, "SIZE n" (RFC 1870)
 * se_size to n bytes. Sets se_esmtp.
 */
void	reply_ehlo_keywords(struct se_state *st);

/*
 * Write the reply's lines in one line for a message: "550 5.1.1 text
 * more text", each line escaped with log_vis(). dst holds dstsize bytes.
 */
char	*reply_string(const struct se_reply *r, char *dst, size_t dstsize);

/* Print "S: line" / "C: line" (escaped) on stderr when -v is given. */
void	reply_trace(const struct se_state *st, char dir, const char *line,
	    size_t len);

/*
 * Send one command line, fmt and its arguments (without CRLF; it is
 * added), within se_timeout_ms. Under -v the line is shown as shown when
 * that is not NULL, so that the AUTH secrets never reach the terminal
 * (RFC 4954 14). Returns 0, or -1 after printing why on stderr.
 */
int	reply_command_secret(struct se_state *st, const char *shown,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same for a command with nothing secret in it. */
#define reply_command(st, ...)	reply_command_secret((st), NULL, __VA_ARGS__)

/*
 * message.c: read the body (st->se_word, or stdin up to SE_BODY_MAX
 * bytes) into st->se_text with CRLF line ends and build the header
 * fields in st->se_head. Returns 0, or EXIT_USAGE after printing why (a
 * line over SE_TEXT_MAX octets, a NUL byte, a bad header value).
 */
int	message_build(struct se_state *st);

/*
 * Put the header fields and the MIME body together in st->se_msg, once
 * the EHLO keywords say whether 8-bit data may go (RFC 6152); sets
 * st->se_8bit when it does. Returns 0, or -1 on ENOMEM.
 */
int	message_compose(struct se_state *st);

/*
 * mime.c: append to out the MIME header fields (none for plain ASCII
 * text), a blank line and the body for in (RFC 2045, 2046, 2183, 2231,
 * 2387); *eight is set to 1 when the result holds 8-bit text, to be sent
 * with BODY=8BITMIME. Only ever reads its inputs. Returns 0, or -1 with
 * errno ENOMEM.
 */
int	mime_build(const struct mime_input *in, struct buf *out,
	    int *eight);

/*
 * Append len bytes of data in base64 (RFC 2045 6.8) to out, in lines of
 * width characters each ending in CRLF (0: one line, no CRLF). Returns 0
 * or -1 (ENOMEM).
 */
int	mime_base64(struct buf *out, const void *data, size_t len,
	    size_t width);

/*
 * Append text (len bytes of CRLF lines) as quoted-printable (RFC 2045
 * 6.7) to out, lines at most 76 characters. Returns 0 or -1 (ENOMEM).
 */
int	mime_qp(struct buf *out, const char *text, size_t len);

/*
 * attach.c: read path (at most SE_BODY_MAX bytes, all files together)
 * into a new part of st, its media type named by libmagic; inline parts
 * must be images. Exits with EXIT_USAGE on a file that cannot be read
 * or is not an image for -i.
 */
void	attach_add(struct se_state *st, const char *path, int inline_);

/*
 * conn.c: the connection's bytes, in the clear or through TLS. Each
 * returns -1 with the reason in st->se_ioerr.
 *
 * conn_configure: set up the TLS configuration (CA file, -k) before
 * connecting. Returns 0, or -1 (a CA file that cannot be read).
 */
int	conn_configure(struct se_state *st);

/*
 * Run the TLS handshake on the connected socket within se_timeout_ms,
 * verifying the certificate and that it names se_server (unless -k).
 * Returns 0 or -1.
 */
int	conn_tls(struct se_state *st);

/*
 * Read at most len bytes until deadline (clock_ms() milliseconds).
 * Returns the count, 0 at the end of the stream, -1 on an error, -2 when
 * the deadline passed.
 */
ssize_t	conn_read(struct se_state *st, void *buf, size_t len,
	    long long deadline);

/*
 * Write all len bytes, giving up when the server takes no byte for
 * se_timeout_ms (a large attachment may take longer than that in all).
 * Returns 0 or -1.
 */
int	conn_write(struct se_state *st, const void *buf, size_t len);

/* End TLS (close_notify, RFC 8446 6.1) and close the socket. */
void	conn_close(struct se_state *st);

/*
 * auth.c: AUTH PLAIN, or LOGIN, as se_user with se_pass (RFC 4954),
 * only ever inside TLS. Returns 0 when the server answered 235, or the
 * exit status after saying why (a refused password: EXIT_USAGE with the
 * server's reply).
 */
int	auth_login(struct se_state *st);

/*
 * session.c: the transaction on the connected st, from the greeting to
 * QUIT (RFC 5321 3.3). Returns 0 when the message was accepted for every
 * recipient, else the exit status (EXIT_USAGE for a 5xx, EXIT_TEMP for a
 * 4xx, a timeout or a lost connection) after saying why on stderr.
 */
int	se_transaction(struct se_state *st);
/* Report a refusal with the server's reply, QUIT, return the status. */
int	se_refused(struct se_state *st, const char *what);
/* RFC 5321 4.1.1.10: QUIT, and wait for the 221 (or give up). */
void	se_quit(struct se_state *st);

/*
 * Dot-stuff (RFC 5321 4.5.2) the message and end it with CRLF.CRLF into
 * out. Returns 0, or -1 on ENOMEM.
 */
int	message_stuff(const struct buf *msg, struct buf *out);

/* buf.c: append the formatted text to b (lib/buf.h's buf_add).
 * Returns 0, or -1 with errno ENOMEM. */
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
