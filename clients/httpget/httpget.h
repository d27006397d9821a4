/*
 * httpget: a small HTTP/1.1 client (the classic "client host port
 * path"), made real: RFC 9112 message framing with
 * Content-Length, chunked and close-delimited bodies, every read under a
 * deadline, every buffer bounded, hostile input refused, never trusted.
 *
 * The response parsers (response.c, chunked.c, conn_getline) return -1
 * with the reason in hg_error on a malformed response, so they can be
 * driven from a buffer; main() ends the program with it. I/O failures end
 * the program at once with err(3)/errx(3) and the exit status of the
 * project: 1 a failure (a bad or non-2xx response, an output error), 100
 * a usage error, 111 a temporary failure (no connection, a timeout, a
 * reset).
 */
#ifndef HTTPGET_H
#define HTTPGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "cli.h"		/* EXIT_USAGE, EXIT_TEMP */

/* Receive buffer in bytes: also the bound on any one line we accept. */
#define HG_BUFSIZE	16384
/* Bounds on what a server may send before the body (RFC 9110 5.4). */
#define HG_LINE_MAX	8192		/* status line or one field line */
#define HG_HEADER_MAX	65536		/* the whole header section */
#define HG_FIELDS_MAX	128		/* field lines in the header section */
#define HG_INTERIM_MAX	16		/* 1xx responses before the final one */
/* Bounds on chunked coding (RFC 9112 7.1). */
#define HG_CHUNKLINE_MAX 1024		/* chunk-size [chunk-ext] CRLF */
#define HG_CHUNK_MAX	 ((uint64_t)1 << 60)	/* a chunk-size we believe */
#define HG_TRAILER_MAX	65536		/* the whole trailer section */

/* How the response body is delimited (RFC 9112 6.3). */
enum hg_framing {
	HG_BODY_NONE,		/* HEAD, 1xx, 204, 304 */
	HG_BODY_LENGTH,		/* Content-Length */
	HG_BODY_CHUNKED,	/* Transfer-Encoding ending in chunked */
	HG_BODY_CLOSE,		/* until the server closes */
};

/* The state of one run: options, the connection, its receive buffer. */
struct httpget {
	/* options */
	int		 hg_include;	/* -i: status line and fields too */
	int		 hg_head;	/* -I: HEAD instead of GET */
	const char	*hg_outfile;	/* -o file, or NULL for stdout */
	int		 hg_timeout_ms;	/* -t: each connect and each read */
	const char	*hg_host;
	const char	*hg_port;
	const char	*hg_path;

	/* the connection */
	int		 hg_fd;
	char		 hg_peer[64];	/* "127.0.0.1 port 80", for messages */
	char		 hg_portnum[8];	/* numeric port actually connected */
	int		 hg_family;	/* AF_INET or AF_INET6 */

	/* receive buffer: unread bytes are hg_buf[hg_off .. hg_len) */
	char		 hg_buf[HG_BUFSIZE];
	size_t		 hg_off;
	size_t		 hg_len;
	int		 hg_eof;

	/* output */
	int		 hg_out;	/* fd the body (and -i) goes to */

	/* the final response */
	int		 hg_status;	/* 200 */
	char		 hg_statusline[256];	/* vis'd, for stderr */
	enum hg_framing	 hg_framing;
	uint64_t	 hg_length;	/* for HG_BODY_LENGTH, bytes */

	/* why a parser returned -1, for stderr */
	char		 hg_error[256];
};

/* dial.c */
/*
 * Connect to hg_host port hg_port over TCP, trying each address that
 * getaddrinfo(3) gives in turn, each attempt bounded by hg_timeout_ms.
 * Sets hg_fd (non-blocking), hg_peer, hg_portnum, hg_family. Exits 111
 * when no address answers, 100 when the port is not a service.
 */
void	dial_connect(struct httpget *hg);

/* conn.c */
/*
 * Read more bytes from the server into the buffer, waiting at most
 * hg_timeout_ms. Returns the number of bytes added, 0 at end of stream
 * (hg_eof set). Exits 111 on a timeout or a read error.
 */
size_t	conn_fill(struct httpget *hg);
/*
 * The next line in the buffer, reading more as needed, at most max bytes
 * with its terminator (max <= HG_BUFSIZE). *line gets a pointer into the
 * buffer, valid until the next conn_* call; *raw the length with the CRLF
 * (or a bare LF, RFC 9112 2.2), *len the length without it; the line is
 * consumed. Returns 1, 0 at end of stream, or -1 when the line is longer
 * than max (hg_error names what).
 */
int	conn_getline(struct httpget *hg, size_t max, char **line,
	    size_t *raw, size_t *len, const char *what);
/* Send all len bytes of buf within hg_timeout_ms. Exits 111 on failure. */
void	conn_send(struct httpget *hg, const void *buf, size_t len);
/* Write len bytes to the output. Exits 1 on failure. */
void	conn_output(struct httpget *hg, const void *buf, size_t len);
/*
 * Copy n bytes of body from the connection to the output. Returns the
 * number copied, less than n only at end of stream.
 */
uint64_t conn_copy(struct httpget *hg, uint64_t n);

/* response.c */
/*
 * Read the status line and header section of the final response (RFC
 * 9112 4, 5), skipping 1xx interim responses (RFC 9110 15.2), and decide
 * the framing of its body (RFC 9112 6.3): sets hg_status, hg_statusline,
 * hg_framing, hg_length. With -i, what was read is written to the output
 * as it came. Returns 0, or -1 on a malformed or truncated response with
 * the reason in hg_error.
 */
int	response_head(struct httpget *hg);
/*
 * Read the body per hg_framing and write it out. Returns 0, or -1 on a
 * truncated or malformed body with the reason in hg_error.
 */
int	response_body(struct httpget *hg);

/* chunked.c */
/*
 * Decode a chunked body (RFC 9112 7.1) to the output: chunk sizes and
 * extensions bounded, trailer section read and discarded (7.1.2). Returns
 * 0, or -1 on a malformed or truncated body with the reason in hg_error.
 */
int	chunked_body(struct httpget *hg);

#endif
