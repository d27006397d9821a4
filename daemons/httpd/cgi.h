/*
 * cgi.h: what the three parts of CGI/1.1 (RFC 3875) share: the worker's
 * hand-off (cgi.c), the helper process and its children (cgi_helper.c)
 * and a child's exchange with its script (cgi_response.c).
 */
#ifndef HTTPD_CGI_H
#define HTTPD_CGI_H

#include <netinet/in.h>

#include <stdint.h>

#include "httpd.h"

#define CGI_MAGIC	0x66636769	/* "fcgi" */
#define CGI_ENV_MAX	32768	/* bytes of meta-variables */
#define CGI_ENV_N	160	/* meta-variables */
#define CGI_HEAD_MAX	8192	/* the script's header section */
#define CGI_NAME_MAX	256
/* Local redirects followed for one request: Apache's LimitInternalRecursion. */
#define CGI_LOCAL_MAX	10
/* cgi_exchange(): the script answered with a local redirect. */
#define CGI_LOCAL	1

/* The hand-off message; the env strings and the body bytes follow it. */
struct cgi_msg {
	uint32_t	cm_magic;
	int32_t		cm_version;	/* HTTP_09, HTTP_10, HTTP_11 */
	int32_t		cm_head;	/* HEAD: no body in the reply */
	int32_t		cm_nfd;		/* 1: rfd == wfd; 2: two fds */
	int32_t		cm_expect;	/* "Expect: 100-continue" */
	int64_t		cm_clen;	/* request body length, 0: none */
	int32_t		cm_chunked;	/* the body is chunked (RFC 9112 7.1) */
	int32_t		cm_reqtime;	/* -t (s): the chunked body's limit */
	int64_t		cm_maxbody;	/* -b (bytes) */
	uint32_t	cm_envlen;	/* bytes of NUL-terminated strings */
	uint32_t	cm_bodylen;	/* body bytes that follow */
	char		cm_script[CGI_NAME_MAX];
	char		cm_ip[INET6_ADDRSTRLEN];
	char		cm_line[LOG_VIS_MAX];
	char		cm_referer[LOG_VIS_MAX];
	char		cm_agent[LOG_VIS_MAX];
};

#define CGI_MSG_MAX	(sizeof(struct cgi_msg) + CGI_ENV_MAX + \
			    HTTPD_HEAD_MAX * 2)

/* What one CGI child knows about its request. */
struct cgi_run {
	struct cgi_msg	*cr_msg;
	struct httpd	*cr_h;
	char		*cr_env[CGI_ENV_N + 8];	/* + CONTENT_LENGTH or a
						   local redirect's, NULL */
	char		 cr_clenvar[40];	/* of a chunked body */
	char		 cr_local[CGI_HEAD_MAX];	/* a local redirect */
	char		 cr_renv[CGI_ENV_MAX];	/* its meta-variables */
	char		 cr_extra[1024];	/* header lines of an error */
	char		*cr_body;	/* bytes read by the worker */
	size_t		 cr_bodylen;
	int		 cr_rfd;
	int		 cr_wfd;
	int		 cr_dirfd;	/* cgi-bin */
	int		 cr_in;		/* the script's stdin, -1: closed */
	int		 cr_out;	/* the script's stdout */
	int		 cr_timeout;	/* s */
	int		 cr_status;
	long long	 cr_bytes;
};
/*
 * Append "NAME=value" (printf format fmt) to the env blob of NUL-terminated
 * strings (*len bytes, *n strings so far, at most CGI_ENV_MAX bytes and
 * CGI_ENV_N strings). Returns 0, or -1 when it does not fit.
 */
int	cgi_env_add(char *blob, size_t *len, int *n, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/*
 * Feed the body to the script's stdin (pid, its process group) and its
 * stdout to the client until the script closes stdout or the time limit.
 * Returns 0, 504 on the time limit before a reply, 502 on an invalid
 * reply, CGI_LOCAL on a local redirect (RFC 3875 6.2.2), -1 when the
 * client went away or the limit fell after the reply began.
 */
int	cgi_exchange(struct cgi_run *cr, pid_t pid);
/*
 * Decode the chunked request body (RFC 9112 7.1) into cr_body, within
 * -t seconds and -b bytes. Returns 0, an HTTP status to answer with
 * (400, 408, 413, 503), or -1 when the client went away.
 */
int	cgi_unchunk(struct cgi_run *cr);
/* Answer status (error page, cr_extra's header lines) and log it. */
void	cgi_reply_error(struct cgi_run *cr, int status);
/* Read what the client still sends, so close(2) sends no RST. */
void	cgi_linger(struct cgi_run *cr);

#endif
