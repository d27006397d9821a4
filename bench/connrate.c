/*
 * connrate: the load generator of bench/bench.pl for the echo workloads.
 *
 *   connrate [-c clients] [-n connections] [-t seconds] host port
 *	short connections: each of the clients (default 32) connects,
 *	sends the line "hello\n", reads it echoed, closes, and starts
 *	again, all in one thread with epoll(7), until n connections
 *	(default 100000) or t seconds (default 5) are done. Prints
 *	"conn/s N ok N failed N seconds S".
 *   connrate -b bytes host port
 *	bulk echo: one connection, writes bytes and reads them back at the
 *	same time, checks the count. Prints "MiB/s N bytes N seconds S".
 *
 * Numeric addresses only (loopback). Exit 0, or 1 when a connection failed
 * or the bytes did not all come back.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CR_LINE		"hello\n"
#define CR_LINELEN	6
#define CR_MAXCLIENTS	1024
#define CR_BULKBUF	(256 * 1024)
#define CR_SOURCES	64	/* loopback source addresses */

struct cr_slot {
	int	fd;
	int	sent;		/* the line has left */
	int	got;		/* bytes of the echo read */
};

static struct sockaddr_in cr_addr;

static double
cr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Watch fd for events in epoll set ep (op: add or modify) as slot idx. */
static void
cr_watch(int ep, int op, int fd, uint32_t events, int idx)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u32 = idx;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		err(1, "epoll_ctl");
}

/*
 * Toward a loopback server, client idx connects from its own source
 * address, 127.0.0.(2 + idx % CR_SOURCES), the port left to connect(2)
 * (IP_BIND_ADDRESS_NO_PORT): the connections this client closes stay in
 * TIME_WAIT, and one source address for all of them makes the kernel
 * search ever longer for a free port, the client's own cost and not the
 * server's.
 */
static void
cr_source(int fd, int idx)
{
	struct sockaddr_in src;
	int one = 1;

	if ((ntohl(cr_addr.sin_addr.s_addr) >> 24) != 127)
		return;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000002 + idx % CR_SOURCES);
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	(void)bind(fd, (struct sockaddr *)&src, sizeof(src));
}

static int
cr_connect(int ep, struct cr_slot *s, int idx)
{
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		err(1, "socket");
	s->sent = s->got = 0;
	cr_source(s->fd, idx);
	if (connect(s->fd, (struct sockaddr *)&cr_addr, sizeof(cr_addr)) == -1 &&
	    errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	cr_watch(ep, EPOLL_CTL_ADD, s->fd, EPOLLOUT, idx);
	return 0;
}

/* One step of slot s. Returns 1: the echo is back, 0: more, -1: failed. */
static int
cr_step(int ep, struct cr_slot *s, int idx)
{
	char buf[64];
	ssize_t n;

	if (!s->sent) {
		n = send(s->fd, CR_LINE, CR_LINELEN, MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n != CR_LINELEN)
			return -1;
		s->sent = 1;
		cr_watch(ep, EPOLL_CTL_MOD, s->fd, EPOLLIN, idx);
		/* The echo is seldom back yet: wait for it. */
		return 0;
	}
	n = read(s->fd, buf, sizeof(buf));
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	s->got += n;
	return s->got >= CR_LINELEN ? 1 : 0;
}

static int
cr_conns(int clients, long max, double secs)
{
	struct epoll_event evs[256];
	struct cr_slot *slots;
	double t0, dt, end;
	long started = 0, ok = 0, failed = 0;
	int ep, i, n, r, live = 0;

	if ((slots = calloc(clients, sizeof(*slots))) == NULL)
		err(1, "calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	t0 = cr_now();
	end = t0 + secs;
	for (i = 0; i < clients && started < max; i++, started++)
		if (cr_connect(ep, &slots[i], i) == -1)
			failed++;
		else
			live++;
	while (live > 0) {
		n = epoll_wait(ep, evs, 256, 1000);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "epoll_wait");
		if (n == 0 && cr_now() > end + 5)
			break;	/* the server stopped answering */
		for (i = 0; i < n; i++) {
			int idx = evs[i].data.u32;
			struct cr_slot *s = &slots[idx];

			if (s->fd == -1)
				continue;
			if ((r = cr_step(ep, s, idx)) == 0)
				continue;
			if (r == 1)
				ok++;
			else
				failed++;
			/* close(2) takes it out of the epoll set. */
			close(s->fd);
			s->fd = -1;
			live--;
			if (started < max && cr_now() < end) {
				started++;
				if (cr_connect(ep, s, idx) == -1)
					failed++;
				else
					live++;
			}
		}
	}
	dt = cr_now() - t0;
	printf("conn/s %.0f ok %ld failed %ld seconds %.3f\n", ok / dt, ok,
	    failed, dt);
	return failed == 0 && live == 0 ? 0 : 1;
}

/* The bulk connection: large buffers, no Nagle, non-blocking. */
static int
cr_bulk_connect(void)
{
	int fd, one = 1, big = 4 << 20;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	/* As the server side does for a large transfer. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (connect(fd, (struct sockaddr *)&cr_addr, sizeof(cr_addr)) == -1)
		err(1, "connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/*
 * Bulk echo. The client must cost less than the server it measures, or
 * it measures itself: with splice(2) its bytes go out of a pipe filled by
 * vmsplice(2) from one constant buffer and come back into /dev/null
 * through another pipe, never copied to or from user space. Where that
 * is refused it falls back to send and read.
 */
static int
cr_bulk(long long total)
{
	static char out[CR_BULKBUF], in[CR_BULKBUF];
	struct pollfd pfd;
	struct iovec iov;
	long long sent = 0, got = 0;
	size_t inpipe = 0;
	double t0, dt;
	ssize_t n;
	int fd, sp[2], rp[2], null, splicing = 1;

	fd = cr_bulk_connect();
	memset(out, 'x', sizeof(out));
	if (pipe2(sp, O_NONBLOCK | O_CLOEXEC) == -1 ||
	    pipe2(rp, O_NONBLOCK | O_CLOEXEC) == -1 ||
	    (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		splicing = 0;
	else {
		fcntl(sp[1], F_SETPIPE_SZ, 1 << 20);
		fcntl(rp[1], F_SETPIPE_SZ, 1 << 20);
	}
	t0 = cr_now();
	while (got < total) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, 10000) <= 0)
			errx(1, "bulk: no progress in 10 s at %lld bytes", got);
		if (sent < total && (pfd.revents & POLLOUT)) {
			size_t want = total - sent < CR_BULKBUF ?
			    (size_t)(total - sent) : CR_BULKBUF;

			if (splicing) {
				if (inpipe == 0) {
					iov.iov_base = out;
					iov.iov_len = want;
					n = vmsplice(sp[1], &iov, 1, 0);
					if (n == -1)
						err(1, "bulk: vmsplice");
					inpipe = n;
				}
				n = splice(sp[0], NULL, fd, NULL, inpipe,
				    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0)
					inpipe -= n;
			} else
				n = send(fd, out, want, MSG_NOSIGNAL);
			if (n == -1 && errno != EAGAIN)
				err(1, "bulk: send");
			if (n > 0 && (sent += n) == total)
				shutdown(fd, SHUT_WR);
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (splicing) {
				n = splice(fd, NULL, rp[1], NULL, 1 << 20,
				    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0 && splice(rp[0], NULL, null, NULL,
				    n, SPLICE_F_MOVE) != n)
					err(1, "bulk: splice to /dev/null");
			} else
				n = read(fd, in, sizeof(in));
			if (n == -1 && errno != EAGAIN)
				err(1, "bulk: read");
			if (n == 0)
				break;
			if (n > 0)
				got += n;
		}
	}
	dt = cr_now() - t0;
	close(fd);
	printf("MiB/s %.0f bytes %lld seconds %.3f\n", got / dt / 1048576, got,
	    dt);
	return got == total ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	long long bulk = 0;
	long max = 100000;
	double secs = 5;
	int ch, clients = 32;

	while ((ch = getopt(argc, argv, "b:c:n:t:")) != -1) {
		switch (ch) {
		case 'b':
			bulk = atoll(optarg);
			break;
		case 'c':
			clients = atoi(optarg);
			break;
		case 'n':
			max = atol(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || clients < 1 || clients > CR_MAXCLIENTS ||
	    secs <= 0 || max < 1)
		goto usage;
	memset(&cr_addr, 0, sizeof(cr_addr));
	cr_addr.sin_family = AF_INET;
	cr_addr.sin_port = htons(atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &cr_addr.sin_addr) != 1)
		errx(100, "%s: not a numeric IPv4 address", argv[optind]);
	return bulk > 0 ? cr_bulk(bulk) : cr_conns(clients, max, secs);
usage:
	fprintf(stderr, "usage: connrate [-c clients] [-n connections] "
	    "[-t seconds] host port\n       connrate -b bytes host port\n");
	return 100;
}
