/*
 * alog: the access log of a worker, sent to syslog in batches.
 *
 * syslog(3) makes a send(2) per line, and when nothing listens on
 * /dev/log a socket(2), a failing connect(2) and a close(2) per line as
 * well. nginx and lighttpd write their access logs in batches; here the
 * lines of one round of the event loop leave in one sendmmsg(2), each
 * still its own datagram in the RFC 3164 form syslog(3) gives it
 * ("<PRI>Mmm dd hh:mm:ss ident[pid]: line"), and a missing syslog daemon
 * is looked for again at most once a second. The socket blocks, as
 * syslog(3)'s does: a datagram socket queues few messages (net.unix.
 * max_dgram_qlen, 10 by default), and a burst of lines must wait for the
 * daemon rather than be lost.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

#define ALOG_LINES	64	/* lines a batch holds; more: sent early */
#define ALOG_HEAD_MAX	64	/* "<PRI>Mmm dd hh:mm:ss httpd[pid]: " */
/* <30>: LOG_DAEMON | LOG_INFO, the facility httpd.c opens the log with. */

struct alog {
	int		 al_on;		/* batching */
	int		 al_fd;		/* datagram socket to /dev/log, -1 */
	time_t		 al_tried;	/* last connect attempt (s) */
	int		 al_stream;	/* /dev/log is not a datagram socket */
	char		 al_tag[32];	/* "httpd[pid]: " */
	char		 al_head[ALOG_HEAD_MAX];	/* <PRI>, time, al_tag */
	size_t		 al_headlen;
	time_t		 al_when;	/* of al_head's time */
	int		 al_n;
	struct mmsghdr	 al_msg[ALOG_LINES];
	struct iovec	 al_iov[ALOG_LINES];
	char		 al_buf[ALOG_LINES][ALOG_HEAD_MAX + LOG_LINE_MAX];
};

static struct alog *alog;

static void	alog_connect(void);

void
alog_batch(int debug)
{
	const char *how = getenv(LOG_ENV);
	char pid[16], *p;
	int n;

	/* A copy on stderr goes with each line: lib/log.c makes it. */
	if (debug || (how != NULL && strcmp(how, "stderr") == 0))
		return;
	if ((alog = calloc(1, sizeof(*alog))) == NULL)
		return;	/* syslog(3) per line, then */
	alog->al_fd = -1;
	alog->al_tried = alog->al_when = -1;
	p = pid + sizeof(pid);
	*--p = '\0';
	for (n = getpid(); n > 0; n /= 10)
		*--p = '0' + n % 10;
	strlcpy(alog->al_tag, "httpd[", sizeof(alog->al_tag));
	strlcat(alog->al_tag, p, sizeof(alog->al_tag));
	strlcat(alog->al_tag, "]: ", sizeof(alog->al_tag));
	alog->al_on = 1;
}

/* (Re)connect to the syslog daemon, at most once a second. */
static void
alog_connect(void)
{
	struct sockaddr_un sun;
	time_t now = time(NULL);

	if (alog->al_fd != -1 || now == alog->al_tried)
		return;
	alog->al_tried = now;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	alog->al_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (alog->al_fd == -1)
		return;
	if (connect(alog->al_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		/* A stream /dev/log: syslog(3) knows its framing. */
		if (errno == EPROTOTYPE)
			alog->al_stream = 1;
		close(alog->al_fd);
		alog->al_fd = -1;
	}
}

void
alog_add(const char *msg, size_t len)
{
	struct tm tm;
	time_t now;
	char *b, *p;

	if (alog == NULL || !alog->al_on || alog->al_stream) {
		log_info("%s", msg);
		return;
	}
	if (alog->al_n == ALOG_LINES)
		alog_flush();
	/*
	 * "<PRI>Mmm dd hh:mm:ss ident[pid]: " as syslog(3) writes it (RFC
	 * 3164 4.1), the time formatted once a second.
	 */
	now = time(NULL);
	if (now != alog->al_when) {
		localtime_r(&now, &tm);
		alog->al_headlen = strftime(alog->al_head, sizeof(alog->al_head),
		    "<30>%h %e %T ", &tm);
		alog->al_headlen += strlcpy(alog->al_head + alog->al_headlen,
		    alog->al_tag, sizeof(alog->al_head) - alog->al_headlen);
		alog->al_when = now;
	}
	b = p = alog->al_buf[alog->al_n];
	memcpy(p, alog->al_head, alog->al_headlen);
	p += alog->al_headlen;
	if (len > LOG_LINE_MAX - 1)
		len = LOG_LINE_MAX - 1;
	memcpy(p, msg, len);
	p += len;
	alog->al_iov[alog->al_n].iov_base = b;
	alog->al_iov[alog->al_n].iov_len = p - b;
	alog->al_n++;
}

void
alog_flush(void)
{
	int i, n, sent;

	if (alog == NULL || alog->al_n == 0)
		return;
	alog_connect();
	for (sent = 0; alog->al_fd != -1 && sent < alog->al_n; sent += n) {
		for (i = sent; i < alog->al_n; i++) {
			memset(&alog->al_msg[i], 0, sizeof(alog->al_msg[i]));
			alog->al_msg[i].msg_hdr.msg_iov = &alog->al_iov[i];
			alog->al_msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(alog->al_fd, &alog->al_msg[sent],
		    alog->al_n - sent, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1) {
			/* The daemon went away: look for it again later. */
			close(alog->al_fd);
			alog->al_fd = -1;
			break;
		}
	}
	alog->al_n = 0;
}
