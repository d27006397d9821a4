/*
 * listen: the services' sockets.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "forkd.h"
#include "log.h"

/*
 * Sockets forkd was started with (an older forkd's listeners, systemd's),
 * waiting for the service with their address: a table of this file alone,
 * filled before the first listen_open() and emptied by
 * listen_inherit_drop().
 */
#define LISTEN_INHERIT_MAX	256

struct inherited {
	int		 in_fd;		/* -1: taken */
	int		 in_type;	/* SOCK_STREAM, SOCK_DGRAM */
	struct sockaddr_storage in_addr;
	socklen_t	 in_addrlen;
	const char	*in_from;	/* "upgrade", "systemd" */
};

static struct inherited listen_inherited[LISTEN_INHERIT_MAX];
static int listen_ninherited;

static int	listen_same_addr(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static int	listen_adopt(struct servtab *);

int
listen_inherit(int fd, const char *from, char *err, size_t errlen)
{
	struct inherited *in;
	socklen_t len;
	int type;

	if (listen_ninherited == LISTEN_INHERIT_MAX) {
		snprintf(err, errlen, "%s: fd %d: more than %d sockets", from,
		    fd, LISTEN_INHERIT_MAX);
		close(fd);
		return -1;
	}
	in = &listen_inherited[listen_ninherited];
	memset(in, 0, sizeof(*in));
	len = sizeof(type);
	in->in_addrlen = sizeof(in->in_addr);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&in->in_addr,
	    &in->in_addrlen) == -1 || (in->in_addr.ss_family != AF_INET &&
	    in->in_addr.ss_family != AF_INET6)) {
		snprintf(err, errlen, "%s: fd %d: not an IPv4 or IPv6 socket",
		    from, fd);
		close(fd);
		return -1;
	}
	/* Ours now: not to leak into the handlers. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	in->in_fd = fd;
	in->in_type = type;
	in->in_from = from;
	listen_ninherited++;
	return 0;
}

/* Same family, address and port. */
static int
listen_same_addr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a,
	    *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/*
 * Take the inherited socket bound where sep listens, by address, as
 * sd_listen_fds(3) users and nginx's binary upgrade match them. Returns
 * 1 when taken, 0 when there is none.
 */
static int
listen_adopt(struct servtab *sep)
{
	struct inherited *in;
	int i;

	for (i = 0; i < listen_ninherited; i++) {
		in = &listen_inherited[i];
		if (in->in_fd == -1 || in->in_type != sep->se_socktype ||
		    !listen_same_addr(&in->in_addr, &sep->se_addr))
			continue;
		/* systemd's Backlog= may be short: SOMAXCONN, as we bind. */
		if (sep->se_socktype == SOCK_STREAM &&
		    listen(in->in_fd, SOMAXCONN) == -1) {
			log_warn("%s: listen on the %s socket", sep->se_name,
			    in->in_from);
			continue;
		}
		sep->se_fd = in->in_fd;
		sep->se_inherited = in->in_from;
		in->in_fd = -1;
		return 1;
	}
	return 0;
}

int
listen_inherit_drop(void)
{
	char addr[INET6_ADDRSTRLEN];
	struct inherited *in;
	int i, n = 0;

	for (i = 0; i < listen_ninherited; i++) {
		in = &listen_inherited[i];
		if (in->in_fd == -1)
			continue;
		if (in->in_addr.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    &in->in_addr)->sin_addr, addr, sizeof(addr));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    &in->in_addr)->sin6_addr, addr, sizeof(addr));
		log_warnx("%s: socket %s port %u (%s) matches no service: "
		    "closed", in->in_from, addr, ntohs(((struct sockaddr_in *)
		    &in->in_addr)->sin_port), in->in_type == SOCK_STREAM ?
		    "stream" : "dgram");
		close(in->in_fd);
		in->in_fd = -1;
		n++;
	}
	listen_ninherited = 0;
	return n;
}

int
listen_open(struct servtab *sep, char *err, size_t errlen)
{
	int fd, on = 1, e;

	if (listen_adopt(sep))
		return 0;

	fd = socket(sep->se_family, sep->se_socktype | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		e = errno;
		snprintf(err, errlen, "%s: socket: %s", sep->se_name,
		    strerror(e));
		errno = e;
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* tcp6 and udp6 are IPv6 only; IPv4 has its own lines. */
	if (sep->se_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sep->se_addr, sep->se_addrlen) == -1)
		goto fail;
	/*
	 * A backlog of SOMAXCONN, not inetd's historical 10: with a short
	 * backlog clients wait out SYN retries under load (DESIGN.md).
	 */
	if (sep->se_socktype == SOCK_STREAM && listen(fd, SOMAXCONN) == -1)
		goto fail;
	sep->se_fd = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: bind: %s", sep->se_name, strerror(e));
	close(fd);
	errno = e;
	return -1;
}

void
listen_close(struct servtab *sep)
{
	if (sep->se_fd != -1) {
		close(sep->se_fd);
		sep->se_fd = -1;
	}
}

const char *
listen_mode_name(const struct servtab *sep, char *buf, size_t len)
{
	if (sep->se_mode == SE_PREFORK)
		snprintf(buf, len, "prefork.%d", sep->se_max);
	else
		snprintf(buf, len, "%s", sep->se_mode == SE_WAIT ? "wait" :
		    "nowait");
	return buf;
}

/*
 * The parent accepts for nowait services: their listeners are
 * non-blocking. wait and prefork handlers accept themselves and may
 * expect a blocking socket, so theirs are blocking. O_NONBLOCK belongs to
 * the file description every holder of the socket shares: this is called
 * only on a socket no handler holds (a new one, or on a reload once the
 * handlers of the old mode are gone, reload_flags), so a handler that set
 * the flag itself keeps it.
 */
void
listen_flags(struct servtab *sep)
{
	int fl;

	if (sep->se_fd == -1 || (fl = fcntl(sep->se_fd, F_GETFL)) == -1)
		return;
	if (sep->se_mode == SE_NOWAIT)
		fl |= O_NONBLOCK;
	else if (!sep->se_inherited)
		fl &= ~O_NONBLOCK;
	/*
	 * An inherited socket is left as its holders have it: the old
	 * forkd's handlers (echod, httpd) made it non-blocking and still
	 * accept on it while they drain; made blocking, one of them could
	 * sleep in accept(2) with its drain signal blocked.
	 */
	if (fcntl(sep->se_fd, F_SETFL, fl) != -1)
		sep->se_nonblock = (fl & O_NONBLOCK) != 0 &&
		    sep->se_mode == SE_NOWAIT;
}

int
listen_start(struct servtab *sep)
{
	char msg[256], mode[32];

	if (sep->se_fd != -1)
		return 0;
	if (listen_open(sep, msg, sizeof(msg)) == -1) {
		log_warnx("%s", msg);
		return -1;
	}
	listen_flags(sep);
	/*
	 * Bound anew (a reload or the end of the looping guard's pause):
	 * the spawns that tripped the guard count no more, or the next
	 * connection would trip it again.
	 */
	sep->se_disabled_until = 0;
	sep->se_count = 0;
	sep->se_count_start = 0;
	log_info("%s: listening, %s, %s as %s", sep->se_name,
	    listen_mode_name(sep, mode, sizeof(mode)), sep->se_program,
	    sep->se_user);
	return 0;
}
