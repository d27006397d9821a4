/*
 * conn.h: struct conn, shared by the connection's two halves: reading
 * and answering requests (conn.c), sending the answer (conn_send.c).
 */
#ifndef HTTPD_CONN_H
#define HTTPD_CONN_H

#include <sys/types.h>

#include "httpd.h"

enum conn_state {
	CS_READ,	/* reading a request head */
	CS_BODY,	/* skipping the rest of a request body */
	CS_WRITE,	/* writing c_out */
	CS_FILE,	/* sending the body file */
	CS_LINGER,	/* after an error: output shut, reading till EOF */
};

struct conn {
	struct httpd	*c_h;
	int		 c_rfd;
	int		 c_wfd;
	int		 c_issock;
	int		 c_nodelay;	/* TCP_NODELAY is set */
	int		 c_handed;	/* given to the CGI helper */
	struct serve_peer c_peer;
	enum conn_state	 c_state;
	long long	 c_deadline;	/* ms, CLOCK_MONOTONIC */
	int		 c_nreq;	/* requests answered */
	int		 c_keepalive;	/* keep after this response */

	size_t		 c_inlen;
	long long	 c_skip;	/* request body bytes still to skip */
	int		 c_chunking;	/* decoding a chunked body after the head */
	size_t		 c_headlen;	/* of the request whose body that is */
	struct chunked	 c_chunk;

	size_t		 c_outlen;
	size_t		 c_outoff;
	int		 c_filefd;
	struct fcache_entry *c_fcache;	/* c_filefd is the cache's */
	off_t		 c_fileoff;
	off_t		 c_fileleft;
	int		 c_nosendfile;

	/* The access log line of the response in progress. */
	int		 c_status;
	long long	 c_bytes;	/* body bytes sent */
	long long	 c_bodylen;	/* body bytes in c_out */

	/*
	 * The buffers, from here on, are not cleared for a new connection
	 * (conn_new()): each is written before it is read.
	 */
	struct http_request c_req;	/* the request at the front of c_in */
	char		 c_in[HTTPD_HEAD_MAX * 2];
	char		 c_out[HTTPD_OUT_MAX];
	char		 c_line[LOG_VIS_MAX];
	char		 c_referer[LOG_VIS_MAX];
	char		 c_agent[LOG_VIS_MAX];
};

/*
 * Write c_out, then the body file. Return 0 (done for now, or the
 * response left and the connection is kept or lingers), or -1: closed
 * (logged as cut short when the peer went away).
 */
int	conn_write(struct conn *c);
int	conn_file(struct conn *c);
/* After an error reply: read until EOF. Returns 0, or -1 at EOF. */
int	conn_linger(struct conn *c);
/* The response in progress ends unfinished: log it as it stands. */
void	conn_log_cut(struct conn *c);
/* Done with the body file: close it, or give it back to the cache. */
void	conn_file_close(struct conn *c);

#endif
