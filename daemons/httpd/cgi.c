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

#include "httpd.h"
#include "io.h"

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

static int	cgi_env_add(char *, size_t *, int *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	cgi_helper(struct httpd *, int, int);
static void	cgi_child(struct httpd *, struct cgi_msg *, int, int, int);
static void	cgi_reply_error(struct cgi_run *, int);
static int	cgi_script(struct cgi_run *);
static int	cgi_exchange(struct cgi_run *, pid_t);
static int	cgi_headers(struct cgi_run *, char *, size_t, size_t *);
static int	cgi_head_done(const char *, size_t);
static void	cgi_finish(struct cgi_run *, pid_t);
static int	cgi_local(struct cgi_run *);
static int	cgi_local_env(struct cgi_run *, const struct http_request *);
static int	cgi_local_file(struct cgi_run *, struct http_request *);
static void	cgi_end(struct cgi_run *, int);
static void	cgi_reap(int *, int);
static int	cgi_unchunk(struct cgi_run *);
static void	cgi_linger(struct cgi_run *);

int
cgi_match(const char *path)
{
	return strncmp(path, "/cgi-bin/", 9) == 0 && path[9] != '\0';
}

/* Append "NAME=value" to the env blob (NUL-terminated strings). */
static int
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
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	const struct http_field *f;
	struct cgi_msg *m;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	char *blob, name[128], host[256];
	const char *script, *slash, *pinfo;
	size_t envlen = 0, i, k;
	int nenv = 0, fds[2], j, bad = 0;

	if (!h->h_dotfiles && req_path_hidden(r->r_path, 1))
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
	f = req_field(r, "Expect");
	m->cm_expect = r->r_version == HTTP_11 && f != NULL &&
	    f->f_valuelen == 12 && strncasecmp(f->f_value, "100-continue",
	    12) == 0;
	memcpy(m->cm_script, script, k);
	strlcpy(m->cm_ip, peer->remote_ip, sizeof(m->cm_ip));
	strlcpy(m->cm_line, r->r_line, sizeof(m->cm_line));
	resp_log_field(m->cm_referer, req_field(r, "Referer"));
	resp_log_field(m->cm_agent, req_field(r, "User-Agent"));

	/* SERVER_NAME: the Host field without its port (RFC 3875 4.1.14). */
	strlcpy(host, peer->local_ip, sizeof(host));
	if ((f = req_field(r, "Host")) != NULL && f->f_valuelen > 0 &&
	    f->f_valuelen < sizeof(host)) {
		memcpy(host, f->f_value, f->f_valuelen);
		host[f->f_valuelen] = '\0';
		if (host[0] != '[' && (slash = strchr(host, ':')) != NULL)
			host[slash - host] = '\0';
		else if (host[0] == '[' && (slash = strchr(host, ']')) != NULL)
			host[slash - host + 1] = '\0';
	}

	/* The meta-variables of RFC 3875 4.1, in a fresh environment. */
	bad |= cgi_env_add(blob, &envlen, &nenv, "GATEWAY_INTERFACE=CGI/1.1");
	bad |= cgi_env_add(blob, &envlen, &nenv,
	    "SERVER_SOFTWARE=forkd-httpd");
	bad |= cgi_env_add(blob, &envlen, &nenv, "SERVER_PROTOCOL=%s",
	    r->r_version == HTTP_11 ? "HTTP/1.1" : r->r_version == HTTP_10 ?
	    "HTTP/1.0" : "HTTP/0.9");
	bad |= cgi_env_add(blob, &envlen, &nenv, "SERVER_NAME=%s", host);
	bad |= cgi_env_add(blob, &envlen, &nenv, "SERVER_PORT=%s",
	    peer->local_port);
	bad |= cgi_env_add(blob, &envlen, &nenv, "REQUEST_METHOD=%s",
	    r->r_method);
	bad |= cgi_env_add(blob, &envlen, &nenv, "SCRIPT_NAME=/cgi-bin/%s",
	    m->cm_script);
	bad |= cgi_env_add(blob, &envlen, &nenv, "QUERY_STRING=%s",
	    r->r_query);
	bad |= cgi_env_add(blob, &envlen, &nenv, "REMOTE_ADDR=%s",
	    peer->remote_ip);
	bad |= cgi_env_add(blob, &envlen, &nenv, "REMOTE_PORT=%s",
	    peer->remote_port);
	bad |= cgi_env_add(blob, &envlen, &nenv, "REQUEST_URI=%.*s",
	    (int)r->r_targetlen, r->r_target);
	bad |= cgi_env_add(blob, &envlen, &nenv, "DOCUMENT_ROOT=%s",
	    h->h_rootabs);
	bad |= cgi_env_add(blob, &envlen, &nenv,
	    "PATH=/usr/local/bin:/usr/bin:/bin");
	if (*pinfo != '\0') {
		bad |= cgi_env_add(blob, &envlen, &nenv, "PATH_INFO=%s", pinfo);
		bad |= cgi_env_add(blob, &envlen, &nenv,
		    "PATH_TRANSLATED=%s%s", h->h_rootabs, pinfo);
	}
	if (r->r_clen > 0)
		bad |= cgi_env_add(blob, &envlen, &nenv, "CONTENT_LENGTH=%lld",
		    r->r_clen);
	if ((f = req_field(r, "Content-Type")) != NULL)
		bad |= cgi_env_add(blob, &envlen, &nenv, "CONTENT_TYPE=%.*s",
		    (int)f->f_valuelen, f->f_value);
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
		bad |= cgi_env_add(blob, &envlen, &nenv, "%s=%.*s", name,
		    (int)f->f_valuelen, f->f_value);
	}
	if (bad) {
		free(m);
		return 431;
	}
	m->cm_envlen = envlen;
	m->cm_bodylen = bodylen;
	memcpy(blob + envlen, body, bodylen);

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = m;
	iov.iov_len = sizeof(*m) + envlen + bodylen;
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
	if (sendmsg(h->h_cgifd, &mh, MSG_NOSIGNAL) == -1) {
		log_warn("cgi: hand-off to the helper");
		free(m);
		return 503;
	}
	free(m);
	return 0;
}

void
cgi_start(struct httpd *h)
{
	struct open_how how;
	struct timeval tv = { 2, 0 };
	int sv[2], dfd, null;
	pid_t pid;

	h->h_cgifd = -1;
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
	if ((dfd = syscall(SYS_openat2, h->h_rootfd, "cgi-bin", &how,
	    sizeof(how))) == -1)
		return;		/* no cgi-bin: no CGI */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("cgi: socketpair");
	if ((pid = fork()) == -1)
		fatal("cgi: fork");
	if (pid == 0) {
		/*
		 * The helper must not hold the client's connection or the
		 * listener: a nowait client would wait for our EOF.
		 */
		close(sv[0]);
		if ((null = open("/dev/null", O_RDWR)) == -1)
			fatal("cgi: /dev/null");
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
		/* The root stays open: a local redirect is served here. */
		setproctitle("cgi helper");
		profile_cgi();
		cgi_helper(h, sv[1], dfd);
		_exit(0);
	}
	close(sv[1]);
	close(dfd);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	h->h_cgifd = sv[0];
}

/* Reap exited children; block: wait for all of them. */
static void
cgi_reap(int *nchild, int block)
{
	pid_t pid;
	int status;

	while (*nchild > 0) {
		pid = waitpid(-1, &status, block ? 0 : WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		(*nchild)--;
	}
}

/* The helper: one child per hand-off, until the worker goes away. */
static void
cgi_helper(struct httpd *h, int sock, int dirfd)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct cgi_msg *m;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	struct pollfd pfd;
	ssize_t n;
	int fds[2], nfd, nchild = 0;
	pid_t pid;

	if ((m = malloc(CGI_MSG_MAX)) == NULL)
		fatal("cgi: malloc");
	for (;;) {
		cgi_reap(&nchild, 0);
		pfd.fd = sock;
		pfd.events = POLLIN;
		/* Wake each second to reap even when nothing arrives. */
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = m;
		iov.iov_len = CGI_MSG_MAX;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the worker exited */
		nfd = 0;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS) {
				nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				if (nfd > 2)
					nfd = 2;
				memcpy(fds, CMSG_DATA(cm), nfd * sizeof(int));
			}
		if (nfd == 0 || (size_t)n < sizeof(*m) ||
		    m->cm_magic != CGI_MAGIC ||
		    sizeof(*m) + m->cm_envlen + m->cm_bodylen != (size_t)n) {
			log_warnx("cgi: bad hand-off message");
			while (nfd > 0)
				close(fds[--nfd]);
			continue;
		}
		if (nfd == 1)
			fds[1] = fds[0];
		if (nchild >= HTTPD_CGI_MAX) {
			struct cgi_run cr;

			memset(&cr, 0, sizeof(cr));
			cr.cr_msg = m;
			cr.cr_wfd = fds[1];
			cgi_reply_error(&cr, 503);
		} else if ((pid = fork()) == -1) {
			log_warn("cgi: fork");
		} else if (pid == 0) {
			close(sock);
			cgi_child(h, m, fds[0], fds[1], dirfd);
			_exit(0);
		} else
			nchild++;
		close(fds[0]);
		if (fds[1] != fds[0])
			close(fds[1]);
	}
	/* The worker is gone: let the scripts running now finish. */
	cgi_reap(&nchild, 1);
}

static void
cgi_reply_error(struct cgi_run *cr, int status)
{
	char buf[HTTPD_OUT_MAX];
	size_t bodylen;
	int n;

	cr->cr_status = status;
	n = resp_error(buf, sizeof(buf), cr->cr_msg->cm_version, status, 0,
	    cr->cr_msg->cm_head, cr->cr_extra[0] != '\0' ? cr->cr_extra : NULL,
	    &bodylen);
	if (n > 0 && serve_write_all(cr->cr_wfd, buf, n, 2000) == 0)
		cr->cr_bytes = bodylen;
	resp_log(cr->cr_msg->cm_ip, cr->cr_msg->cm_line, status,
	    cr->cr_bytes, cr->cr_msg->cm_referer, cr->cr_msg->cm_agent);
}

/*
 * The script's header section (RFC 3875 6.2, 6.3) in buf (len bytes, the
 * blank line included: *hlen bytes) to an HTTP header section sent to
 * the client. Returns 0, CGI_LOCAL for a local redirect (cr_local; nothing
 * sent), -1 for a response that is not valid (502), or -2 when the
 * client went away.
 */
static int
cgi_headers(struct cgi_run *cr, char *buf, size_t len, size_t *hlen)
{
	char extra[CGI_HEAD_MAX], out[CGI_HEAD_MAX + 512], date[64];
	char reason[64];
	char *p = buf, *e = buf + len, *lf, *colon, *v, *locv = NULL;
	size_t xlen = 0, ll;
	int status = 0, ctype = 0, loc = 0, n;

	reason[0] = '\0';
	for (;;) {
		if ((lf = memchr(p, '\n', e - p)) == NULL)
			return -1;
		ll = lf - p;
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;
		p[ll] = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			return -1;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(p, "Status") == 0) {
			/* "Status: 404 Not Found" (RFC 3875 6.3.3). */
			if (strlen(v) < 3 || !isdigit((unsigned char)v[0]) ||
			    !isdigit((unsigned char)v[1]) ||
			    !isdigit((unsigned char)v[2]) ||
			    (v[3] != '\0' && v[3] != ' '))
				return -1;
			status = atoi(v);
			if (status < 100 || status > 599)
				return -1;
			if (v[3] == ' ')
				strlcpy(reason, v + 4, sizeof(reason));
		} else if (strcasecmp(p, "Connection") == 0 ||
		    strcasecmp(p, "Transfer-Encoding") == 0 ||
		    strcasecmp(p, "Date") == 0 ||
		    strcasecmp(p, "Server") == 0 ||
		    strcasecmp(p, "Keep-Alive") == 0) {
			/* Framing and these fields are ours. */
		} else {
			if (strcasecmp(p, "Content-Type") == 0)
				ctype = 1;
			if (strcasecmp(p, "Location") == 0) {
				loc = 1;
				locv = v;
			}
			n = snprintf(extra + xlen, sizeof(extra) - xlen,
			    "%s: %s\r\n", p, v);
			if (n < 0 || (size_t)n >= sizeof(extra) - xlen)
				return -1;
			xlen += n;
		}
		p = lf + 1;
	}
	*hlen = lf + 1 - buf;
	extra[xlen] = '\0';
	/*
	 * A Location that is a local path, without Status, asks the server
	 * to serve that path in the script's place (RFC 3875 6.2.2): the
	 * script's other fields and body are not the client's.
	 */
	if (status == 0 && locv != NULL && locv[0] == '/' && locv[1] != '/') {
		strlcpy(cr->cr_local, locv, sizeof(cr->cr_local));
		return CGI_LOCAL;
	}
	/* A Location without Status is a redirect (RFC 3875 6.2.3, 6.2.4). */
	if (status == 0)
		status = loc ? 302 : 200;
	if (!ctype && !loc)
		return -1;
	cr->cr_status = status;
	if (cr->cr_msg->cm_version == HTTP_09)
		return 0;
	if (reason[0] == '\0')
		strlcpy(reason, resp_reason(status), sizeof(reason));
	for (v = reason; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			*v = ' ';
	resp_date(time(NULL), date, sizeof(date));
	/* The body is close-delimited (RFC 9112 6.3, rule 8). */
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\nDate: %s\r\n"
	    "Server: forkd-httpd\r\nConnection: close\r\n%s\r\n", status,
	    reason, date, extra);
	if (n < 0 || (size_t)n >= sizeof(out))
		return -1;
	return serve_write_all(cr->cr_wfd, out, n,
	    cr->cr_timeout * 1000) == -1 ? -2 : 0;
}

/* A blank line ending the script's header section in buf? */
static int
cgi_head_done(const char *buf, size_t len)
{
	if (len >= 1 && buf[0] == '\n')
		return 1;
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		return 1;
	return memmem(buf, len, "\n\n", 2) != NULL ||
	    memmem(buf, len, "\n\r\n", 3) != NULL;
}

/*
 * Feed the body to the script's stdin and its stdout to the client until
 * the script closes stdout or the time limit. Returns 0, 504 on the
 * time limit before a reply, 502 on an invalid reply, CGI_LOCAL on a
 * local redirect, -1 when the client went away or the limit fell after
 * the reply began.
 */
static int
cgi_exchange(struct cgi_run *cr, pid_t pid)
{
	struct cgi_msg *m = cr->cr_msg;
	struct pollfd p[3];
	char head[CGI_HEAD_MAX], buf[16384], body[16384];
	const char *bp = cr->cr_body;
	size_t headlen = 0, hlen, bleft = cr->cr_bodylen;
	long long remaining = m->cm_clen - (long long)cr->cr_bodylen;
	long long deadline, left;
	ssize_t r;
	int n, i, replied = 0, pin, pout, prfd, st;

	deadline = serve_now_ms() + cr->cr_timeout * 1000LL;
	serve_nonblock(cr->cr_in, 1);
	if (remaining < 0)
		remaining = 0;
	/*
	 * A client that asked to be told before it sends the body (RFC
	 * 9110 10.1.1) would otherwise wait for its own timeout first.
	 */
	if (m->cm_expect && remaining > 0 && serve_write_all(cr->cr_wfd,
	    "HTTP/1.1 100 Continue\r\n\r\n", 25, 2000) == -1)
		return -1;
	while (cr->cr_out != -1) {
		if (cr->cr_in != -1 && bleft == 0 && remaining == 0) {
			close(cr->cr_in);	/* EOF on the script's stdin */
			cr->cr_in = -1;
		}
		n = 0;
		pin = pout = prfd = -1;
		p[n].fd = cr->cr_out;
		p[n].events = POLLIN;
		pout = n++;
		if (cr->cr_in != -1 && bleft > 0) {
			p[n].fd = cr->cr_in;
			p[n].events = POLLOUT;
			pin = n++;
		} else if (cr->cr_in != -1 && remaining > 0) {
			p[n].fd = cr->cr_rfd;
			p[n].events = POLLIN;
			prfd = n++;
		}
		if ((left = deadline - serve_now_ms()) <= 0)
			goto timeout;
		for (i = 0; i < n; i++)
			p[i].revents = 0;
		if (poll(p, n, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pin != -1 && p[pin].revents != 0) {
			r = write(cr->cr_in, bp, bleft);
			if (r > 0) {
				bp += r;
				bleft -= r;
			} else if (r == -1 && errno != EAGAIN && errno != EINTR) {
				/* The script will not read its input. */
				close(cr->cr_in);
				cr->cr_in = -1;
			}
		}
		if (prfd != -1 && p[prfd].revents != 0) {
			r = read(cr->cr_rfd, body, remaining < (long long)
			    sizeof(body) ? (size_t)remaining : sizeof(body));
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR))
				return -1;	/* the client went away */
			if (r > 0) {
				bp = body;
				bleft = r;
				remaining -= r;
			}
		}
		if (p[pout].revents == 0)
			continue;
		if (!replied) {
			r = read(cr->cr_out, head + headlen,
			    sizeof(head) - headlen);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				return 502;	/* no header section */
			headlen += r;
			if (!cgi_head_done(head, headlen)) {
				if (headlen == sizeof(head))
					return 502;
				continue;
			}
			if ((st = cgi_headers(cr, head, headlen, &hlen)) == -1)
				return 502;
			if (st == -2)
				return -1;
			if (st == CGI_LOCAL)
				return CGI_LOCAL;
			replied = 1;
			r = headlen - hlen;
			if (r > 0 && !m->cm_head) {
				if (serve_write_all(cr->cr_wfd, head + hlen, r,
				    cr->cr_timeout * 1000) == -1)
					return -1;
				cr->cr_bytes += r;
			}
			continue;
		}
		r = read(cr->cr_out, buf, sizeof(buf));
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		if (m->cm_head)
			continue;
		if (serve_write_all(cr->cr_wfd, buf, r,
		    cr->cr_timeout * 1000) == -1)
			return -1;
		cr->cr_bytes += r;
	}
	return 0;
timeout:
	log_warnx("cgi %s: killed after %d s", m->cm_script, cr->cr_timeout);
	kill(-pid, SIGKILL);
	return replied ? -1 : 504;
}

/* One request: runs below the helper, exits when it is answered. */
static void
cgi_child(struct httpd *h, struct cgi_msg *m, int rfd, int wfd, int dirfd)
{
	struct cgi_run *cr;
	char *p;
	int i, result, depth;

	/* Large (a local redirect's buffers): not on the stack. */
	if ((cr = calloc(1, sizeof(*cr))) == NULL) {
		log_warn("cgi: calloc");
		return;
	}
	cr->cr_msg = m;
	cr->cr_h = h;
	cr->cr_rfd = rfd;
	cr->cr_wfd = wfd;
	cr->cr_dirfd = dirfd;
	cr->cr_timeout = h->h_cgitime;
	setproctitle("cgi %s", m->cm_script);

	/* The env blob: NUL-terminated strings, at most CGI_ENV_N. */
	p = (char *)(m + 1);
	for (i = 0; i < CGI_ENV_N && p < (char *)(m + 1) + m->cm_envlen;
	    i++) {
		cr->cr_env[i] = p;
		p += strnlen(p, (char *)(m + 1) + m->cm_envlen - p) + 1;
	}
	cr->cr_env[i] = NULL;
	cr->cr_body = (char *)(m + 1) + m->cm_envlen;
	cr->cr_bodylen = m->cm_bodylen;

	result = cgi_script(cr);
	for (depth = 0; result == CGI_LOCAL; depth++) {
		if (depth == CGI_LOCAL_MAX) {
			log_warnx("cgi %s: more than %d local redirects",
			    m->cm_script, CGI_LOCAL_MAX);
			result = 500;
			break;
		}
		result = cgi_local(cr);
	}
	cgi_end(cr, result);
}

/*
 * Run the script m->cm_script with cr's environment and body, and pass
 * its answer to the client. Returns what cgi_exchange() returns, or an
 * HTTP status to answer with when it could not run (404, 403, 503, or
 * what the chunked body gave).
 */
static int
cgi_script(struct cgi_run *cr)
{
	struct cgi_msg *m = cr->cr_msg;
	struct stat st;
	char *argv[2];
	int in[2], out[2], i, result, dirfd = cr->cr_dirfd;
	int timeout = cr->cr_timeout;
	pid_t pid;

	/*
	 * The script: one name in cgi-bin, a regular file (no symlink out
	 * of it), executable by us.
	 */
	m->cm_script[sizeof(m->cm_script) - 1] = '\0';
	if (strchr(m->cm_script, '/') != NULL || m->cm_script[0] == '.' ||
	    fstatat(dirfd, m->cm_script, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 404;
	if (!S_ISREG(st.st_mode) || faccessat(dirfd, m->cm_script, X_OK,
	    AT_EACCESS) == -1)
		return 403;
	if (m->cm_chunked && (i = cgi_unchunk(cr)) != 0)
		return i;
	if (pipe2(in, O_CLOEXEC) == -1)
		return 503;
	if (pipe2(out, O_CLOEXEC) == -1) {
		close(in[0]);
		close(in[1]);
		return 503;
	}
	if ((pid = fork()) == -1) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return 503;
	}
	if (pid == 0) {
		struct rlimit rl;
		sigset_t none;

		/*
		 * Its own process group, so the time limit kills whatever
		 * it started too; and killed if we die first.
		 */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1)
			_exit(127);
		if (fchdir(dirfd) == -1)
			_exit(127);
		closefrom(3);
		/* Ignored signals would stay ignored across execve(2). */
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		rl.rlim_cur = rl.rlim_max = timeout + 1;
		setrlimit(RLIMIT_CPU, &rl);
		argv[0] = m->cm_script;
		argv[1] = NULL;
		char path[CGI_NAME_MAX + 3];
		snprintf(path, sizeof(path), "./%s", m->cm_script);
		execve(path, argv, cr->cr_env);
		fprintf(stderr, "httpd: cgi %s: %s\n", m->cm_script,
		    strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	cr->cr_in = in[1];
	cr->cr_out = out[0];
	result = cgi_exchange(cr, pid);
	cgi_finish(cr, pid);
	return result;
}

/*
 * After the exchange: reap the script, and kill what is left of its
 * process group.
 */
static void
cgi_finish(struct cgi_run *cr, pid_t pid)
{
	long long end;
	int status;

	if (cr->cr_in != -1)
		close(cr->cr_in);
	cr->cr_in = -1;
	close(cr->cr_out);
	cr->cr_out = -1;
	/* Give it until the time limit to exit after closing stdout. */
	end = serve_now_ms() + cr->cr_timeout * 1000LL;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (serve_now_ms() >= end) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	kill(-pid, SIGKILL);	/* its leftovers, if any */
}

/*
 * The request is over (result as cgi_script() returns): answer an error
 * when nothing was sent, log the request, and close the connection
 * gently.
 */
static void
cgi_end(struct cgi_run *cr, int result)
{
	if (result > CGI_LOCAL) {
		if (result == 502)
			log_warnx("cgi %s: no valid CGI response",
			    cr->cr_msg->cm_script);
		cgi_reply_error(cr, result);
	} else
		resp_log(cr->cr_msg->cm_ip, cr->cr_msg->cm_line,
		    cr->cr_status ? cr->cr_status : 500, cr->cr_bytes,
		    cr->cr_msg->cm_referer, cr->cr_msg->cm_agent);
	cgi_linger(cr);
}

/*
 * Serve the local redirect in cr_local in the script's place (RFC 3875
 * 6.2.2), with GET semantics (HEAD stays HEAD): another script under
 * /cgi-bin/, or a static file, answered as the worker would. Returns as
 * cgi_script() does.
 */
static int
cgi_local(struct cgi_run *cr)
{
	struct http_request *r;
	const char *q;
	size_t plen;
	int st;

	q = strchr(cr->cr_local, '?');
	plen = q != NULL ? (size_t)(q - cr->cr_local) : strlen(cr->cr_local);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return 503;
	if (req_path_decode(cr->cr_local, plen, r->r_path,
	    sizeof(r->r_path)) != 0 || (q != NULL && strlcpy(r->r_query, q + 1,
	    sizeof(r->r_query)) >= sizeof(r->r_query))) {
		log_warnx("cgi %s: local redirect to a path that is not one",
		    cr->cr_msg->cm_script);
		free(r);
		return 502;
	}
	r->r_hasquery = q != NULL;
	r->r_slash = r->r_path[strlen(r->r_path) - 1] == '/';
	strlcpy(r->r_method, cr->cr_msg->cm_head ? "HEAD" : "GET",
	    sizeof(r->r_method));
	r->r_version = cr->cr_msg->cm_version;
	r->r_clen = -1;
	if (!cr->cr_h->h_dotfiles && req_path_hidden(r->r_path, 1))
		st = 404;
	else if (cgi_match(r->r_path)) {
		st = cgi_local_env(cr, r);
		if (st == 0)
			st = cgi_script(cr);
	} else
		st = cgi_local_file(cr, r);
	free(r);
	return st;
}

/*
 * The meta-variables of the script r names, for a local redirect: the
 * request's, with the method, the query, the script and path info of
 * the new path, and no body. Returns 0, or an HTTP status.
 */
static int
cgi_local_env(struct cgi_run *cr, const struct http_request *r)
{
	static const char *const redone[] = { "REQUEST_METHOD=",
	    "QUERY_STRING=", "SCRIPT_NAME=", "REQUEST_URI=", "PATH_INFO=",
	    "PATH_TRANSLATED=", "CONTENT_LENGTH=", "CONTENT_TYPE=" };
	struct cgi_msg *m = cr->cr_msg;
	const char *script = r->r_path + 9, *slash, *pinfo;
	size_t k, len = 0, i, j;
	char *p;
	int n = 0, bad = 0;

	slash = strchr(script, '/');
	k = slash != NULL ? (size_t)(slash - script) : strlen(script);
	pinfo = slash != NULL ? slash : "";
	if (k == 0 || k >= CGI_NAME_MAX)
		return 404;
	memset(m->cm_script, 0, sizeof(m->cm_script));
	memcpy(m->cm_script, script, k);
	setproctitle("cgi %s", m->cm_script);
	m->cm_clen = 0;
	m->cm_chunked = 0;
	m->cm_expect = 0;
	cr->cr_bodylen = 0;

	bad |= cgi_env_add(cr->cr_renv, &len, &n, "REQUEST_METHOD=%s",
	    r->r_method);
	bad |= cgi_env_add(cr->cr_renv, &len, &n, "QUERY_STRING=%s",
	    r->r_query);
	bad |= cgi_env_add(cr->cr_renv, &len, &n, "SCRIPT_NAME=/cgi-bin/%s",
	    m->cm_script);
	bad |= cgi_env_add(cr->cr_renv, &len, &n, "REQUEST_URI=%s",
	    cr->cr_local);
	if (*pinfo != '\0') {
		bad |= cgi_env_add(cr->cr_renv, &len, &n, "PATH_INFO=%s", pinfo);
		bad |= cgi_env_add(cr->cr_renv, &len, &n,
		    "PATH_TRANSLATED=%s%s", cr->cr_h->h_rootabs, pinfo);
	}
	if (bad)
		return 500;
	/* Keep the others, drop those redone; then add the new ones. */
	for (i = j = 0; cr->cr_env[i] != NULL; i++) {
		for (k = 0; k < sizeof(redone) / sizeof(redone[0]); k++)
			if (strncmp(cr->cr_env[i], redone[k],
			    strlen(redone[k])) == 0)
				break;
		if (k == sizeof(redone) / sizeof(redone[0]))
			cr->cr_env[j++] = cr->cr_env[i];
	}
	for (p = cr->cr_renv; n > 0 && j < CGI_ENV_N + 7; n--) {
		cr->cr_env[j++] = p;
		p += strlen(p) + 1;
	}
	cr->cr_env[j] = NULL;
	return 0;
}

/*
 * Answer static r (a local redirect's path) as the worker would, with
 * Connection: close. Returns 0, -1 when the client went away, or an
 * HTTP status to answer with (cr_extra holding its header lines).
 */
static int
cgi_local_file(struct cgi_run *cr, struct http_request *r)
{
	struct file_reply fr;
	char head[HTTPD_OUT_MAX], buf[16384];
	long long left;
	off_t off;
	ssize_t k;
	int n;

	file_serve(cr->cr_h, r, &fr);
	if (fr.fr_status != 200) {
		if (fr.fr_fd != -1)
			close(fr.fr_fd);
		strlcpy(cr->cr_extra, fr.fr_extra, sizeof(cr->cr_extra));
		return fr.fr_status;
	}
	cr->cr_status = 200;
	if (r->r_version != HTTP_09) {
		if ((n = resp_head(head, sizeof(head), r->r_version, 200, 0,
		    fr.fr_extra)) == -1) {
			if (fr.fr_fd != -1)
				close(fr.fr_fd);
			return 500;
		}
		if (serve_write_all(cr->cr_wfd, head, n,
		    cr->cr_timeout * 1000) == -1) {
			if (fr.fr_fd != -1)
				close(fr.fr_fd);
			return -1;
		}
	}
	off = fr.fr_off;
	for (left = fr.fr_fd != -1 ? fr.fr_len : 0; left > 0; ) {
		k = pread(fr.fr_fd, buf, left < (long long)sizeof(buf) ?
		    (size_t)left : sizeof(buf), off);
		if (k == -1 && errno == EINTR)
			continue;
		/* The file shrank: the client sees less than promised. */
		if (k <= 0)
			break;
		if (serve_write_all(cr->cr_wfd, buf, k,
		    cr->cr_timeout * 1000) == -1) {
			close(fr.fr_fd);
			return -1;
		}
		off += k;
		left -= k;
		cr->cr_bytes += k;
	}
	if (fr.fr_fd != -1)
		close(fr.fr_fd);
	return 0;
}

/* Read what the client still sends, so close(2) sends no RST. */
static void
cgi_linger(struct cgi_run *cr)
{
	(void)io_linger(cr->cr_rfd, cr->cr_wfd, 1000, 64 * 4096);
}

/*
 * Decode the chunked request body (RFC 9112 7.1): the bytes the worker
 * read, then the rest from the client, within -t seconds. RFC 3875
 * 4.1.2 wants CONTENT_LENGTH to be the body's length, which only its end
 * tells, so it is buffered whole (at most -b bytes) and given to the
 * script as a Content-Length body is. Returns 0, an HTTP status to
 * answer with (400, 408, 413, 503), or -1 when the client went away.
 */
static int
cgi_unchunk(struct cgi_run *cr)
{
	struct cgi_msg *m = cr->cr_msg;
	struct chunked cd;
	struct pollfd pfd;
	char buf[16384], *in, *body = NULL, *nb;
	size_t cap = 0, len = 0, inlen, outlen, used, want;
	long long deadline, left;
	ssize_t r;
	int st, asked = 0, i;

	chunked_init(&cd);
	deadline = serve_now_ms() + m->cm_reqtime * 1000LL;
	in = cr->cr_body;
	inlen = m->cm_bodylen;
	for (;;) {
		/* In place: the decoded bytes never pass the coded ones. */
		st = chunked_decode(&cd, in, inlen, in, &outlen, &used);
		if (st == CHUNKED_BAD)
			goto fail400;
		if (outlen > 0) {
			if ((long long)(len + outlen) > m->cm_maxbody) {
				free(body);
				return 413;
			}
			if (len + outlen > cap) {
				want = cap == 0 ? 65536 : cap * 2;
				while (want < len + outlen)
					want *= 2;
				if ((long long)want > m->cm_maxbody)
					want = m->cm_maxbody;
				if ((nb = realloc(body, want)) == NULL) {
					free(body);
					return 503;
				}
				body = nb;
				cap = want;
			}
			memcpy(body + len, in, outlen);
			len += outlen;
		}
		if (st == CHUNKED_DONE)
			break;
		/*
		 * A client that waits to be told (RFC 9110 10.1.1) is told
		 * once the bytes it sent with the head are used up.
		 */
		if (m->cm_expect && !asked) {
			asked = 1;
			if (serve_write_all(cr->cr_wfd,
			    "HTTP/1.1 100 Continue\r\n\r\n", 25, 2000) == -1)
				goto gone;
		}
		for (;;) {
			if ((left = deadline - serve_now_ms()) <= 0) {
				free(body);
				return 408;
			}
			pfd.fd = cr->cr_rfd;
			pfd.events = POLLIN;
			if ((i = poll(&pfd, 1, (int)left)) == -1 &&
			    errno != EINTR)
				goto gone;
			if (i <= 0)
				continue;
			r = read(cr->cr_rfd, buf, sizeof(buf));
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				goto gone;	/* EOF inside the body */
			break;
		}
		in = buf;
		inlen = r;
	}
	cr->cr_body = body;
	cr->cr_bodylen = len;
	m->cm_clen = len;
	m->cm_expect = 0;
	/* As for a Content-Length body: unset when there is none. */
	if (len > 0) {
		for (i = 0; cr->cr_env[i] != NULL; i++)
			;
		snprintf(cr->cr_clenvar, sizeof(cr->cr_clenvar),
		    "CONTENT_LENGTH=%zu", len);
		cr->cr_env[i] = cr->cr_clenvar;
		cr->cr_env[i + 1] = NULL;
	}
	return 0;
fail400:
	free(body);
	return 400;
gone:
	free(body);
	return -1;
}
