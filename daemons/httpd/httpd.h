/*
 * httpd: the HTTP handler of forkd (RFC 9110, RFC 9112, CGI/1.1 RFC 3875).
 *
 * One process serves fd 0 per the inetd contract (lib/serve.h): many
 * connections at once with epoll(7) on a listening socket, or the one
 * connection it was given. Static files are served in a seccomp profile;
 * CGI scripts run below a helper process forked before that profile.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "serve.h"

/* Bounds (bytes unless said otherwise). */
#define HTTPD_LINE_MAX		8192	/* request line: 414 past it */
#define HTTPD_HEAD_MAX		16384	/* request line + header section: 431 */
#define HTTPD_HEADERS_MAX	64	/* header fields per request: 431 */
#define HTTPD_OUT_MAX		4096	/* response header section + error page */
#define HTTPD_PATH_MAX		4096	/* decoded path */
#define HTTPD_CGI_MAX		64	/* CGI scripts at once per worker */

struct http_request;
struct file_reply;

/* Options and what was opened at start-up: one per process. */
struct httpd {
	const char	*h_root;	/* document root as given (-r) */
	char		 h_rootabs[HTTPD_PATH_MAX];	/* realpath of it */
	int		 h_rootfd;	/* O_PATH|O_DIRECTORY fd of the root */
	int		 h_cgifd;	/* socket to the CGI helper, -1: no CGI */
	int		 h_timeout;	/* -t: a request must arrive within (s) */
	int		 h_idle;	/* -k: keep-alive idle timeout (s) */
	int		 h_maxreq;	/* -n: requests per connection */
	int		 h_maxconn;	/* -c: connections per worker */
	int		 h_cgitime;	/* -C: CGI time limit (s) */
	long long	 h_maxbody;	/* -b: request body limit */
	int		 h_debug;	/* -d */
	int		 h_dotfiles;	/* -D: serve names starting with '.' */
	const char	*h_mimefile;	/* -M, default /etc/mime.types */
	int		 h_nconn;	/* connections open now */
};

/* One header field of a request, pointing into the connection's buffer. */
struct http_field {
	const char	*f_name;
	size_t		 f_namelen;
	const char	*f_value;	/* leading/trailing whitespace trimmed */
	size_t		 f_valuelen;
};

/* HTTP versions as major * 10 + minor; 9 is HTTP/0.9 (no version). */
#define HTTP_09	9
#define HTTP_10	10
#define HTTP_11	11

/* A parsed request (RFC 9112 section 3 and 5). */
struct http_request {
	char		 r_method[16];
	int		 r_version;
	const char	*r_target;	/* request-target as sent */
	size_t		 r_targetlen;
	char		 r_path[HTTPD_PATH_MAX];	/* decoded, normalised */
	char		 r_query[HTTPD_LINE_MAX];	/* after '?', raw */
	int		 r_hasquery;
	struct http_field r_fields[HTTPD_HEADERS_MAX];
	int		 r_nfields;
	size_t		 r_headlen;	/* bytes of request line + headers */
	long long	 r_clen;	/* Content-Length, -1: none */
	int		 r_chunked;	/* Transfer-Encoding: chunked */
	int		 r_keepalive;	/* the client wants the connection kept */
	int		 r_slash;	/* the decoded path ended in '/' */
	int		 r_hidden;	/* req_path_hidden(r_path, 1) */
	const char	*r_reqline;	/* the request line as sent, for the log */
	size_t		 r_reqlinelen;	/* 0: none was read */
	/* The fields the server reads, as the parser found them; NULL: absent. */
	const struct http_field *r_referer;
	const struct http_field *r_agent;	/* User-Agent */
	const struct http_field *r_range;
	const struct http_field *r_ifrange;	/* If-Range */
	const struct http_field *r_ims;		/* If-Modified-Since */
	const struct http_field *r_inm;		/* If-None-Match */
	const struct http_field *r_host;	/* for CGI's SERVER_NAME */
	const struct http_field *r_expect;	/* 100-continue, for CGI */
	const struct http_field *r_ctype;	/* Content-Type, for CGI */
};

/* request.c */
enum req_result {
	REQ_INCOMPLETE = 0,	/* need more bytes */
	REQ_OK = 1,		/* r filled */
	/* anything else: an HTTP status code to answer with */
};
/*
 * Parse the request at buf (len bytes received so far) into r.
 * Returns REQ_INCOMPLETE when the header section has not ended yet,
 * REQ_OK, or an error status (400, 414, 431, 501, 505) with as much
 * of r filled as was parsed (r_version, r_reqline) for the error reply.
 * A pure function of the buffer: r points into buf, nothing is escaped.
 */
int	req_parse(const char *buf, size_t len, struct http_request *r);
/* Header field value by case-insensitive name; NULL if absent. */
const struct http_field *req_field(const struct http_request *r,
	    const char *name);
/* Does the comma-separated field value v (vlen bytes) list token tok? */
int	req_has_token(const char *v, size_t vlen, const char *tok);
/* The value of hex digit c (RFC 5234 HEXDIG, either case), or -1. */
int	req_hex(int c);

/*
 * Percent-decode target path src (srclen bytes, before any '?') once
 * into dst (dstsize bytes) and remove dot-segments (RFC 3986 5.2.4),
 * collapsing repeated slashes. Refuses %00, an encoded '/', bad escapes
 * and control bytes. Returns 0, -1 (answer 400), or -2 when the path
 * does not fit in dstsize or HTTPD_PATH_MAX (answer 414).
 */
int	req_path_decode(const char *src, size_t srclen, char *dst,
	    size_t dstsize);
/*
 * Does decoded path (as req_path_decode() leaves it) have a component
 * that starts with '.'? With wellknown, a first component ".well-known"
 * (RFC 8615) does not count. Returns 1 or 0.
 */
int	req_path_hidden(const char *path, int wellknown);

/* chunked.c: the chunked transfer coding (RFC 9112 7.1). */
struct chunked {
	int		 cd_state;
	uint64_t	 cd_size;	/* chunk-size, then its bytes left */
	int		 cd_digits;	/* hex digits of chunk-size so far */
	size_t		 cd_linelen;	/* extension or trailer bytes */
	long long	 cd_total;	/* body bytes decoded */
};
#define CHUNKED_MORE	0	/* all input taken, the body goes on */
#define CHUNKED_DONE	1	/* the body ended */
#define CHUNKED_BAD	(-1)	/* malformed: answer 400 and close */
/* Start decoding a new body. */
void	chunked_init(struct chunked *cd);
/*
 * Decode the next len bytes of a chunked body at in. The chunk data is
 * copied to out (out may be in: it never passes the byte being read;
 * NULL: thrown away) and *outlen gets its length; *used gets the input
 * bytes taken, which with CHUNKED_DONE end at the final CRLF, so what
 * follows is the next request. Strict: lines end in CRLF only, a
 * chunk-size has at most 16 hex digits and fits in 63 bits, extensions
 * and trailer fields are ignored but bounded. Returns CHUNKED_MORE,
 * CHUNKED_DONE or CHUNKED_BAD.
 */
int	chunked_decode(struct chunked *cd, char *in, size_t len, char *out,
	    size_t *outlen, size_t *used);

/* date.c */
/* Length of an IMF-fixdate (RFC 9110 5.6.7), bytes. */
#define HTTP_DATE_LEN	29
/* IMF-fixdate of t (RFC 9110 5.6.7) into buf (at least 30 bytes). */
void	http_date_fmt(time_t t, char *buf, size_t len);
/* IMF-fixdate of now, formatted at most once a second; static storage. */
const char *http_date_now(void);
/* Parse an HTTP-date (any of the three forms); -1 if it is not one. */
time_t	http_date_parse(const char *s, size_t len);

/* response.c */
/* Reason phrase of status code (RFC 9110 section 15). */
const char *resp_reason(int status);
/*
 * Build a response header section into buf (len bytes): status line,
 * Date, Server, Connection, and the extra header lines in extra (each
 * ending in CRLF; may be NULL), then the empty line. Returns the length,
 * or -1 when it does not fit.
 */
int	resp_head(char *buf, size_t len, int version, int status,
	    int keepalive, const char *extra);
/*
 * resp_head() with reason phrase reason (RFC 9112 4) instead of the
 * standard one: a CGI script's Status line (RFC 3875 6.3.3).
 */
int	resp_head_reason(char *buf, size_t len, int version, int status,
	    const char *reason, int keepalive, const char *extra);
/*
 * The header lines of file answer fr into buf (len bytes), CRLF each:
 * Content-Type, Content-Length, Last-Modified and Accept-Ranges for 200
 * and 206 (with Content-Range), Last-Modified for 304, Location for 301,
 * Content-Range for 416; none for the others. Returns the length, or -1
 * when they do not fit.
 */
int	resp_file_fields(char *buf, size_t len, const struct file_reply *fr);
/*
 * A whole error response: header section and small HTML body, into buf.
 * head: no body (HEAD). HTTP/0.9: the body alone. extra as above.
 * Returns the length; *bodylen gets the body's length.
 */
int	resp_error(char *buf, size_t len, int version, int status,
	    int keepalive, int head, const char *extra, size_t *bodylen);
/*
 * Write one combined-log-format access line to syslog: peer ip, request
 * line, status, body bytes (0: "-"), Referer and User-Agent, all three
 * already escaped with resp_vis() ("-" when absent).
 */
void	resp_log(const char *ip, const char *line, int status,
	    long long bytes, const char *referer, const char *agent);
/* on 0: resp_log() logs nothing (-L, as nginx's "access_log off"). */
void	resp_log_set(int on);
/*
 * log_vis() of len bytes at src into dst (LOG_VIS_MAX bytes), '"'
 * escaped as well, for a field of the access log line. Returns dst.
 */
char	*resp_vis(char *dst, const char *src, size_t len);
/* Escape field f (may be NULL: "-") for the log into dst (LOG_VIS_MAX). */
void	resp_log_field(char *dst, const struct http_field *f);
/*
 * Escape r's request line, Referer and User-Agent ("-" for each absent)
 * for the log into line, referer and agent (LOG_VIS_MAX bytes each).
 */
void	resp_log_request(const struct http_request *r, char *line,
	    char *referer, char *agent);

/* alog.c: the access log, sent in batches. */
/*
 * From now on (a worker, after the sandbox) queue access log lines and
 * send them to syslog together with alog_flush(), one sendmmsg(2) a
 * round of the event loop. Under -d or forkd -d (FORKD_LOG=stderr) lines
 * keep going out one by one through lib/log.c, copied to stderr.
 */
void	alog_batch(int debug);
/* Log line msg (len bytes, no newline) at LOG_INFO, now or queued. */
void	alog_add(const char *msg, size_t len);
/* Send what is queued. */
void	alog_flush(void);

/* mime.c */
/* Load file (mime.types(5) format); a missing file leaves the table. */
void	mime_init(const char *file);
/* Content-Type for path name by its extension. */
const char *mime_type(const char *name);

/*
 * file.c: the answer to a static GET or HEAD as found, for response.c
 * to write its head (resp_file_fields()).
 */
struct fcache_entry;
#define FILE_LOCATION_MAX	1012	/* a 301's Location, NUL included */
struct file_reply {
	int		 fr_status;	/* 200, 206, 304, 301, 403, 404, 416... */
	int		 fr_fd;		/* body file, -1: none */
	struct fcache_entry *fr_cache;	/* fr_fd is the cache's: release it */
	const char	*fr_body;	/* NULL, or fr_len bytes in memory */
	const char	*fr_type;	/* Content-Type (200, 206) */
	off_t		 fr_size;	/* the file's size (200, 206, 416) */
	time_t		 fr_mtime;	/* its Last-Modified (200, 206, 304) */
	off_t		 fr_off;	/* first byte to send */
	off_t		 fr_len;	/* bytes to send */
	char		 fr_location[FILE_LOCATION_MAX];	/* 301: the target */
};
/*
 * Resolve r's path beneath the document root and fill fr. Never opens a
 * file outside the root: openat2(2) with RESOLVE_BENEATH. fr_fd is owned
 * by the caller when >= 0 and fr_cache is NULL; otherwise the caller
 * gives it back with fcache_release(fr_cache) once sent.
 */
void	file_serve(struct httpd *h, const struct http_request *r,
	    struct file_reply *fr);
/*
 * One "bytes=" range (RFC 9110 14.1.2), the Range field's value v (vlen
 * bytes), against a representation of size bytes. Returns 1 with *first
 * and *last set, 0 to ignore the field (bad syntax, another unit,
 * several ranges), -1 when unsatisfiable (416).
 */
int	file_range(const char *v, size_t vlen, off_t size, off_t *first,
	    off_t *last);

/* fcache.c: open files kept between requests. */
#define FCACHE_SLOTS	128	/* files (and descriptors) kept per worker */
/*
 * The answer to GET or HEAD r from the cache into fr, when r's path was
 * served whole before and still names the same file (one fstatat(2)).
 * Returns 1 (fr filled, 200), or 0: resolve it with file_serve's long way.
 */
int	fcache_lookup(struct httpd *h, const struct http_request *r,
	    struct file_reply *fr);
/*
 * Keep fr's open file (st its fstat, rel its path beneath the root) for
 * r's path when fr is a whole 200 answer: fr_cache is then set.
 */
void	fcache_insert(const struct http_request *r, const char *rel,
	    struct file_reply *fr, const struct stat *st);
/* The connection has sent the cached file it was given. */
void	fcache_release(struct fcache_entry *fe);
/*
 * Watch the cached files (inotify(7)) from now on, so that they are
 * trusted without an fstatat(2) until they or a directory above them
 * change; rootfd is the document root. Returns the descriptor to poll
 * for reading, then to call fcache_events() before anything else of the
 * round; -1: nothing is watched, every hit is checked.
 */
int	fcache_watch(int rootfd);
/* Read the watches' events: what changed is no longer trusted. */
void	fcache_events(void);

/* conn.c */
struct conn;
/*
 * A new connection on rfd/wfd (the same socket, or stdin/stdout); issock
 * 1 when wfd is a socket, 0 when not, -1 to find out.
 */
struct conn *conn_new(struct httpd *h, int rfd, int wfd,
	    const struct serve_peer *peer, int issock);
/* Do what can be done without blocking. Returns 0, or -1: closed. */
int	conn_event(struct conn *c);
/* The deadline has passed: answer 408 or close. Returns -1: closed. */
int	conn_timeout(struct conn *c);
/* Close and free. */
void	conn_free(struct conn *c);
/*
 * Does another process hold the connection's socket too (handed to the
 * CGI helper)? Then closing it does not take it out of an epoll set.
 */
int	conn_shared(const struct conn *c);
/* What the connection waits for: POLLIN/POLLOUT on which fd, until. */
int	conn_events(const struct conn *c, int *fd);
long long conn_deadline(const struct conn *c);

/* loop.c */
/*
 * Serve listening socket lfd: the epoll worker loop, until the supervisor
 * dies (serve_stopping(): the listener is closed, the open connections
 * finished, then 0). Returns an exit status.
 */
int	loop_listener(int lfd, void *arg);
/* Serve one connection on rfd/wfd. Returns an exit status. */
int	loop_connection(int rfd, int wfd, const struct serve_peer *peer,
	    void *arg);

/* cgi.c */
/*
 * Fork the CGI helper if the root has a cgi-bin directory; it serves
 * hand-offs until h_cgifd closes. Called before the sandbox.
 */
void	cgi_start(struct httpd *h);
/* Is decoded path a CGI request (under /cgi-bin/)? */
int	cgi_match(const char *path);
/*
 * Hand connection fd to the helper with request r and the body bytes
 * already read (body, bodylen). The helper's child answers and closes
 * it. Returns 0, or an HTTP status to answer with instead (503).
 */
int	cgi_handoff(struct httpd *h, int rfd, int wfd,
	    const struct http_request *r,
	    const struct serve_peer *peer, const char *body, size_t bodylen);

/* profile.c */
/* Enter the static-serving profile (worker). */
void	profile_worker(struct httpd *h);
/* Enter the CGI helper's rules (denylist; inherited by scripts). */
void	profile_cgi(void);

#endif
