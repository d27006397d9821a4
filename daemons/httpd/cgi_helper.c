/*
 * cgi_helper: the CGI helper process, forked before the worker's
 * sandbox (cgi_start), and the child it forks per hand-off (cgi_child):
 * it takes the message and the client's socket from the worker, runs the
 * script with its meta-variables (RFC 3875 4.1) in its own process
 * group, follows local redirects (RFC 3875 6.2.2), and reaps every child.
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

static void	cgi_helper(struct httpd *, int, int);
static void	cgi_child(struct httpd *, struct cgi_msg *, int, int, int);
static int	cgi_script(struct cgi_run *);
static void	cgi_finish(struct cgi_run *, pid_t);
static int	cgi_local(struct cgi_run *);
static int	cgi_local_env(struct cgi_run *, const struct http_request *);
static int	cgi_local_file(struct cgi_run *, struct http_request *);
static void	cgi_end(struct cgi_run *, int);
static void	cgi_reap(int *, int);
static void	cgi_onchld(int);
static void	cgi_chld_init(sigset_t *);

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

/* SIGCHLD only ends the helper's wait (cgi_helper), to reap at once. */
static void
cgi_onchld(int sig)
{
	(void)sig;
}

/*
 * Block SIGCHLD and catch it, so that a child's exit ends the helper's
 * ppoll(2) at once (it is let in only there, so none is missed between
 * the reap and the wait): each child is reaped as it exits, not on the
 * next wake-up. A SIGCHLD ignored by whoever started httpd (inherited
 * across execve) would have the kernel reap them instead, and waitpid
 * find none. Puts the mask to wait with in waitmask. A child inherits
 * SIGCHLD blocked, so the handler never runs there; a script gets every
 * signal back to its default (cgi_script).
 */
static void
cgi_chld_init(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, waitmask);
	sigdelset(waitmask, SIGCHLD);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cgi_onchld;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
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
	sigset_t waitmask;
	ssize_t n;
	int fds[2], nfd, nchild = 0;
	pid_t pid;

	if ((m = malloc(CGI_MSG_MAX)) == NULL)
		fatal("cgi: malloc");
	cgi_chld_init(&waitmask);
	for (;;) {
		cgi_reap(&nchild, 0);
		pfd.fd = sock;
		pfd.events = POLLIN;
		/* Until a hand-off comes or a child exits (EINTR). */
		if (ppoll(&pfd, 1, NULL, &waitmask) <= 0)
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
	r->r_hidden = req_path_hidden(r->r_path, 1);
	strlcpy(r->r_method, cr->cr_msg->cm_head ? "HEAD" : "GET",
	    sizeof(r->r_method));
	r->r_version = cr->cr_msg->cm_version;
	r->r_clen = -1;
	if (!cr->cr_h->h_dotfiles && r->r_hidden)
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
	char fields[1024], head[HTTPD_OUT_MAX], buf[16384];
	long long left;
	off_t off;
	ssize_t k;
	int n;

	file_serve(cr->cr_h, r, &fr);
	if (resp_file_fields(fields, sizeof(fields), &fr) == -1) {
		if (fr.fr_fd != -1)
			close(fr.fr_fd);
		return 500;
	}
	if (fr.fr_status != 200) {
		if (fr.fr_fd != -1)
			close(fr.fr_fd);
		strlcpy(cr->cr_extra, fields, sizeof(cr->cr_extra));
		return fr.fr_status;
	}
	cr->cr_status = 200;
	if (r->r_version != HTTP_09) {
		if ((n = resp_head(head, sizeof(head), r->r_version, 200, 0,
		    fields)) == -1) {
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
