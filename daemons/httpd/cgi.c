/*
 * cgi: CGI/1.1 (RFC 3875) for executables in the document root's
 * cgi-bin directory.
 *
 * The worker serves static files in a strict seccomp profile that has no
 * fork or exec, so scripts run below a helper process forked before that
 * profile was entered, with rules of its own (profile_cgi()). For a
 * request under /cgi-bin/ the worker sends the helper one message over a
 * SOCK_SEQPACKET socket: the meta-variables it built from the request,
 * the body bytes it already read, and the client's socket (SCM_RIGHTS).
 * It then forgets the connection. The helper forks a child per request
 * that runs the script in its own process group, feeds it the body,
 * turns its CGI response (RFC 3875 6) into an HTTP one, writes the
 * access log line and closes the connection. A script that outlives -C
 * seconds has its process group killed; every child is reaped.
 *
 * This file is the worker's side: the hand-off. The helper and its
 * children are in cgi_helper.c, a child's exchange with its script in
 * cgi_response.c.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cgi.h"
#include "httpd.h"
#include "io.h"

static void	cgi_server_name(const struct http_request *,
		    const struct serve_peer *, char *, size_t);
static int	cgi_env_meta(const struct httpd *, const struct http_request *,
		    const struct serve_peer *, const struct cgi_msg *,
		    const char *, const char *, char *, size_t *, int *);
static int	cgi_env_fields(const struct http_request *, char *, size_t *,
		    int *);
static int	cgi_send(const struct httpd *, struct cgi_msg *, size_t, int,
		    int);

int
cgi_match(const char *path)
{
	return strncmp(path, "/cgi-bin/", 9) == 0 && path[9] != '\0';
}

/* Append "NAME=value" to the env blob (NUL-terminated strings). */
int
cgi_env_add(char *blob, size_t *len, int *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= CGI_ENV_N)
		return -1;
	va_start(ap, fmt);
	k = vsnprintf(blob + *len, CGI_ENV_MAX - *len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= CGI_ENV_MAX - *len)
		return -1;
	*len += k + 1;
	(*n)++;
	return 0;
}

int
cgi_handoff(struct httpd *h, int rfd, int wfd, const struct http_request *r,
    const struct serve_peer *peer, const char *body, size_t bodylen)
{
	const struct http_field *f;
	struct cgi_msg *m;
	char *blob, host[256];
	const char *script, *slash, *pinfo;
	size_t envlen = 0, k;
	int nenv = 0, bad = 0;

	if (!h->h_dotfiles && r->r_hidden)
		return 404;
	script = r->r_path + 9;
	slash = strchr(script, '/');
	k = slash != NULL ? (size_t)(slash - script) : strlen(script);
	pinfo = slash != NULL ? slash : "";
	if (k == 0 || k >= CGI_NAME_MAX)
		return 404;
	if ((m = calloc(1, CGI_MSG_MAX)) == NULL)
		return 503;
	blob = (char *)(m + 1);
	m->cm_magic = CGI_MAGIC;
	m->cm_version = r->r_version;
	m->cm_head = strcmp(r->r_method, "HEAD") == 0;
	m->cm_clen = r->r_clen > 0 ? r->r_clen : 0;
	m->cm_chunked = r->r_chunked;
	m->cm_reqtime = h->h_timeout;
	m->cm_maxbody = h->h_maxbody;
	f = r->r_expect;
	m->cm_expect = r->r_version == HTTP_11 && f != NULL &&
	    f->f_valuelen == 12 && strncasecmp(f->f_value, "100-continue",
	    12) == 0;
	memcpy(m->cm_script, script, k);
	strlcpy(m->cm_ip, peer->remote_ip, sizeof(m->cm_ip));
	resp_log_request(r, m->cm_line, m->cm_referer, m->cm_agent);

	cgi_server_name(r, peer, host, sizeof(host));
	bad |= cgi_env_meta(h, r, peer, m, host, pinfo, blob, &envlen, &nenv);
	bad |= cgi_env_fields(r, blob, &envlen, &nenv);
	if (bad) {
		free(m);
		return 431;
	}
	m->cm_envlen = envlen;
	m->cm_bodylen = bodylen;
	memcpy(blob + envlen, body, bodylen);

	if (cgi_send(h, m, envlen + bodylen, rfd, wfd) == -1) {
		log_warn("cgi: hand-off to the helper");
		free(m);
		return 503;
	}
	free(m);
	return 0;
}

/*
 * SERVER_NAME: the Host field without its port (RFC 3875 4.1.14), into
 * host (hostsz bytes); our own address when there is no usable Host.
 */
static void
cgi_server_name(const struct http_request *r, const struct serve_peer *peer,
    char *host, size_t hostsz)
{
	const struct http_field *f;
	const char *slash;

	strlcpy(host, peer->local_ip, hostsz);
	if ((f = r->r_host) != NULL && f->f_valuelen > 0 &&
	    f->f_valuelen < hostsz) {
		memcpy(host, f->f_value, f->f_valuelen);
		host[f->f_valuelen] = '\0';
		if (host[0] != '[' && (slash = strchr(host, ':')) != NULL)
			host[slash - host] = '\0';
		else if (host[0] == '[' && (slash = strchr(host, ']')) != NULL)
			host[slash - host + 1] = '\0';
	}
}

/*
 * The meta-variables of RFC 3875 4.1, in a fresh environment: appended to
 * blob. Nonzero when one did not fit (cgi_env_add()), so the caller can
 * answer 431 rather than run the script with a partial environment.
 */
static int
cgi_env_meta(const struct httpd *h, const struct http_request *r,
    const struct serve_peer *peer, const struct cgi_msg *m, const char *host,
    const char *pinfo, char *blob, size_t *envlen, int *nenv)
{
	const struct http_field *f;
	int bad = 0;

	bad |= cgi_env_add(blob, envlen, nenv, "GATEWAY_INTERFACE=CGI/1.1");
	bad |= cgi_env_add(blob, envlen, nenv,
	    "SERVER_SOFTWARE=forkd-httpd");
	bad |= cgi_env_add(blob, envlen, nenv, "SERVER_PROTOCOL=%s",
	    r->r_version == HTTP_11 ? "HTTP/1.1" : r->r_version == HTTP_10 ?
	    "HTTP/1.0" : "HTTP/0.9");
	bad |= cgi_env_add(blob, envlen, nenv, "SERVER_NAME=%s", host);
	bad |= cgi_env_add(blob, envlen, nenv, "SERVER_PORT=%s",
	    peer->local_port);
	bad |= cgi_env_add(blob, envlen, nenv, "REQUEST_METHOD=%s",
	    r->r_method);
	bad |= cgi_env_add(blob, envlen, nenv, "SCRIPT_NAME=/cgi-bin/%s",
	    m->cm_script);
	bad |= cgi_env_add(blob, envlen, nenv, "QUERY_STRING=%s",
	    r->r_query);
	bad |= cgi_env_add(blob, envlen, nenv, "REMOTE_ADDR=%s",
	    peer->remote_ip);
	bad |= cgi_env_add(blob, envlen, nenv, "REMOTE_PORT=%s",
	    peer->remote_port);
	bad |= cgi_env_add(blob, envlen, nenv, "REQUEST_URI=%.*s",
	    (int)r->r_targetlen, r->r_target);
	bad |= cgi_env_add(blob, envlen, nenv, "DOCUMENT_ROOT=%s",
	    h->h_rootabs);
	bad |= cgi_env_add(blob, envlen, nenv,
	    "PATH=/usr/local/bin:/usr/bin:/bin");
	if (*pinfo != '\0') {
		bad |= cgi_env_add(blob, envlen, nenv, "PATH_INFO=%s", pinfo);
		bad |= cgi_env_add(blob, envlen, nenv,
		    "PATH_TRANSLATED=%s%s", h->h_rootabs, pinfo);
	}
	if (r->r_clen > 0)
		bad |= cgi_env_add(blob, envlen, nenv, "CONTENT_LENGTH=%lld",
		    r->r_clen);
	if ((f = r->r_ctype) != NULL)
		bad |= cgi_env_add(blob, envlen, nenv, "CONTENT_TYPE=%.*s",
		    (int)f->f_valuelen, f->f_value);
	return bad;
}

/*
 * The request's header fields as HTTP_* meta-variables (RFC 3875
 * 4.1.18), appended to blob after the others. Nonzero as for
 * cgi_env_meta().
 */
static int
cgi_env_fields(const struct http_request *r, char *blob, size_t *envlen,
    int *nenv)
{
	const struct http_field *f;
	char name[128];
	size_t i;
	int j, bad = 0;

	for (j = 0; j < r->r_nfields; j++) {
		f = &r->r_fields[j];
		if (f->f_namelen >= sizeof(name) - 6)
			continue;
		/*
		 * HTTP_* (RFC 3875 4.1.18), but never HTTP_PROXY: a client's
		 * "Proxy:" field would become the script's proxy setting
		 * (httpoxy, CVE-2016-5385). Names with '_' are dropped, or
		 * "X_A" could pose as "X-A". Credentials and the fields
		 * given above stay out, and so does Transfer-Encoding: the
		 * script gets the body decoded, its length in CONTENT_LENGTH.
		 */
		if (memchr(f->f_name, '_', f->f_namelen) != NULL ||
		    (f->f_namelen == 5 && strncasecmp(f->f_name, "Proxy",
		    5) == 0) || (f->f_namelen == 13 && strncasecmp(f->f_name,
		    "Authorization", 13) == 0) || (f->f_namelen == 14 &&
		    strncasecmp(f->f_name, "Content-Length", 14) == 0) ||
		    (f->f_namelen == 12 && strncasecmp(f->f_name,
		    "Content-Type", 12) == 0) || (f->f_namelen == 17 &&
		    strncasecmp(f->f_name, "Transfer-Encoding", 17) == 0))
			continue;
		memcpy(name, "HTTP_", 5);
		for (i = 0; i < f->f_namelen; i++)
			name[5 + i] = f->f_name[i] == '-' ? '_' :
			    toupper((unsigned char)f->f_name[i]);
		name[5 + i] = '\0';
		bad |= cgi_env_add(blob, envlen, nenv, "%s=%.*s", name,
		    (int)f->f_valuelen, f->f_value);
	}
	return bad;
}

/*
 * The one SOCK_SEQPACKET message to the helper: m with its environment
 * and body (len bytes after it), and the client's socket(s) as
 * SCM_RIGHTS; one descriptor when rfd and wfd are the same. A single
 * sendmsg() and no other system call: the worker runs in a strict seccomp
 * profile. Returns -1 with errno set when it failed.
 */
static int
cgi_send(const struct httpd *h, struct cgi_msg *m, size_t len, int rfd,
    int wfd)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	int fds[2];

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = m;
	iov.iov_len = sizeof(*m) + len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	fds[0] = rfd;
	fds[1] = wfd;
	m->cm_nfd = rfd == wfd ? 1 : 2;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(m->cm_nfd * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(m->cm_nfd * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, m->cm_nfd * sizeof(int));
	return sendmsg(h->h_cgifd, &mh, MSG_NOSIGNAL) == -1 ? -1 : 0;
}
