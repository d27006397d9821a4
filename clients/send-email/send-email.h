/*
 * send-email: an SMTP client (RFC 5321), "send-email SERVER RECIPIENT WORD".
 *
 * The files: main.c reads the command line and runs the transaction,
 * dial.c connects (getaddrinfo, each address in turn, with a deadline),
 * reply.c reads and classifies the server's replies (RFC 5321 4.2) and
 * sends commands, message.c builds the RFC 5322 message with CRLF line
 * ends and dot-stuffing (RFC 5321 4.5.2).
 */
#ifndef SEND_EMAIL_H
#define SEND_EMAIL_H

#include <stddef.h>

/*
 * Exit statuses, as qmail-remote and ucspi-tcp use them (cli.h): 0,
 * EXIT_USAGE for a usage error or a 5xx refusal, EXIT_TEMP for a 4xx,
 * a connection failure or a timeout.
 */
#include "cli.h"

/*
 * A reply line is at most 512 octets with its CRLF (RFC 5321
 * 4.5.3.1.5); we take up to 2048 so a chatty server still works, and
 * call anything longer a protocol error.
 */
#define SE_LINE_MAX	2048
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

/* A growing byte buffer for the message (bounded by its user). */
struct se_buf {
	char	*b_data;
	size_t	 b_len;
	size_t	 b_cap;
};

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

	/* the connection */
	int		 se_fd;			/* -1 when not connected */
	char		 se_rbuf[SE_LINE_MAX * 2];
	size_t		 se_rlen;
	struct se_reply	 se_reply;		/* the last reply read */
	char		 se_cmd[64];		/* the last command, for errors */

	/* the server's EHLO keywords (RFC 5321 4.1.1.1) */
	int		 se_esmtp;		/* 1 when EHLO was accepted */
	int		 se_8bitmime;		/* RFC 6152 */
	unsigned long long se_size;		/* RFC 1870 SIZE; 0: none */

	/* the message, headers and body, CRLF, not yet dot-stuffed */
	struct se_buf	 se_msg;
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
 * Send one command line (without CRLF; it is added) within
 * se_timeout_ms. Returns 0, or -1 after printing why on stderr.
 */
int	reply_command(struct se_state *st, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Write the reply's lines in one line for a message: "550 5.1.1 text
 * more text", escaped with vis(3). dst holds dstsize bytes.
 */
char	*reply_string(const struct se_reply *r, char *dst, size_t dstsize);

/* Print "S: line" / "C: line" (escaped) on stderr when -v is given. */
void	reply_trace(const struct se_state *st, char dir, const char *line,
	    size_t len);

/*
 * message.c: read the body (st->se_word, or stdin up to SE_BODY_MAX
 * bytes) and build the whole message in st->se_msg with CRLF line ends.
 * Returns 0, or EXIT_USAGE after printing why (a line over
 * SE_TEXT_MAX octets, a NUL byte, a bad header value).
 */
int	message_build(struct se_state *st);

/*
 * Dot-stuff (RFC 5321 4.5.2) the message and end it with CRLF.CRLF into
 * out. Returns 0, or -1 on ENOMEM.
 */
int	message_stuff(const struct se_buf *msg, struct se_buf *out);

/* Append len bytes to b. Returns 0, or -1 with errno ENOMEM. */
int	buf_add(struct se_buf *b, const void *p, size_t len);
int	buf_printf(struct se_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
