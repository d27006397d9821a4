/*
 * net: run the planned sessions, up to r_conns at once, in one process
 * over non-blocking sockets and poll(2). Each connection sends one
 * command, waits for its reply line, checks it, and goes on; a mismatch
 * ends that session (the model of the server's state is lost), a session
 * that ends starts the next one while operations remain.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "smtpstress.h"

/*
 * A reply line's bound. RFC 5321 4.5.3.1.5 allows 512 bytes with the
 * CRLF; a 555 echoes an address back, so leave room.
 */
#define IN_MAX			1024
/* How long a reply may take; the server gives up after 10 s (smtpd(8)). */
#define REPLY_TIMEOUT_US	15000000LL
/* How much later than -T the 421 of a dormant session may come. */
#define DORMANT_SLACK_US	5000000LL
#define PROGRESS_US		250000LL

enum conn_state {
	C_FREE,
	C_CONNECTING,		/* non-blocking connect(2) under way */
	C_ACTIVE,		/* sending a step or waiting for its reply */
};

struct conn {
	enum conn_state	 c_state;
	int		 c_fd;
	unsigned	 c_session;
	int		 c_dormant;	/* the session that goes dormant */
	struct sx_script c_sc;
	size_t		 c_step;	/* the step whose reply is due */
	size_t		 c_out;		/* bytes of its line written */
	char		 c_in[IN_MAX];
	size_t		 c_inlen;
	long long	 c_sent_us;	/* first byte of the step sent */
	long long	 c_written_us;	/* last byte of the step sent */
	long long	 c_deadline_us;
	char		 c_name[256];	/* from this session's greeting */
};

struct net {
	struct sx_run	*n_run;
	struct sx_gen	 n_gen;
	struct addrinfo	*n_ai;
	struct conn	*n_conns;
	unsigned	 n_active;
	unsigned	 n_left;	/* operations not yet planned */
	int		 n_stop;	/* start no more sessions */
};

static void	 net_start(struct net *, struct conn *);
static void	 net_close(struct net *, struct conn *);
static void	 net_fail(struct net *, struct conn *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 net_step_begin(struct net *, struct conn *, long long);
static void	 net_write(struct net *, struct conn *);
static void	 net_read(struct net *, struct conn *);
static int	 net_reply(struct net *, struct conn *, char *, long long);
static void	 net_timeout(struct net *, struct conn *, long long);
static void	 net_mismatch(struct net *, struct conn *,
		    const struct sx_step *, const char *, const char *);
static unsigned	 net_poll_set(struct net *, struct pollfd *, unsigned *,
		    long long, long long *);
static void	 net_connected(struct net *, struct conn *);
static void	 net_timeouts(struct net *, long long);
static void	 net_progress(struct sx_run *);
static void	 lat_add(struct sx_run *, int, long long);
static void	 number_add(struct sx_run *, unsigned long);

void
sx_diag(struct sx_run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->r_reported++ >= SX_DIAG_MAX)
		return;
	if (run->r_progress && !run->r_quiet)
		fputs("\r\033[K", stderr);
	fputs("smtpstress: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
lat_add(struct sx_run *run, int cmd, long long us)
{
	uint32_t *p;

	if (run->r_nlat[cmd] == run->r_caplat[cmd]) {
		size_t cap = run->r_caplat[cmd] ? run->r_caplat[cmd] * 2 : 256;

		if ((p = reallocarray(run->r_lat[cmd], cap, sizeof(*p))) == NULL)
			err(1, "reallocarray");
		run->r_lat[cmd] = p;
		run->r_caplat[cmd] = cap;
	}
	run->r_lat[cmd][run->r_nlat[cmd]++] =
	    us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void
number_add(struct sx_run *run, unsigned long n)
{
	unsigned long *p;

	if (run->r_nnumbers == run->r_capnumbers) {
		size_t cap = run->r_capnumbers ? run->r_capnumbers * 2 : 256;

		if ((p = reallocarray(run->r_numbers, cap, sizeof(*p))) == NULL)
			err(1, "reallocarray");
		run->r_numbers = p;
		run->r_capnumbers = cap;
	}
	run->r_numbers[run->r_nnumbers++] = n;
}

/* Plan the next session and open its connection. */
static void
net_start(struct net *nt, struct conn *c)
{
	struct sx_run *run = nt->n_run;
	unsigned budget;
	int fd, dormant;

	budget = script_length(&nt->n_gen);
	if (budget > nt->n_left)
		budget = nt->n_left;
	/* The first session is the dormant one, so its wait overlaps. */
	dormant = run->r_sessions == 0 && run->r_dormant_s > 0;
	memset(c, 0, sizeof(*c));
	script_plan(&nt->n_gen, &c->c_sc, budget, dormant);
	nt->n_left -= c->c_sc.sc_ops;
	c->c_session = run->r_sessions++;
	c->c_dormant = dormant;
	c->c_fd = -1;
	c->c_state = C_CONNECTING;
	nt->n_active++;

	fd = socket(nt->n_ai->ai_family,
	    nt->n_ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    nt->n_ai->ai_protocol);
	if (fd == -1)
		err(1, "socket");
	c->c_fd = fd;
	c->c_sent_us = clock_us();
	c->c_deadline_us = c->c_sent_us + REPLY_TIMEOUT_US;
	if (connect(fd, nt->n_ai->ai_addr, nt->n_ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			nt->n_stop = 1;
			net_fail(nt, c, "connect: %s", strerror(errno));
			return;
		}
		return;
	}
	c->c_state = C_ACTIVE;
	run->r_connects++;
}

static void
net_close(struct net *nt, struct conn *c)
{
	if (c->c_fd != -1)
		close(c->c_fd);
	script_free(&c->c_sc);
	c->c_fd = -1;
	c->c_state = C_FREE;
	nt->n_active--;
}

/* A connection failure: the session ends, the run fails. */
static void
net_fail(struct net *nt, struct conn *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nt->n_run->r_failures++;
	sx_diag(nt->n_run, "session %u: %s", c->c_session, msg);
	net_close(nt, c);
}

/* Start the step c_step: send its line, if it has one. */
static void
net_step_begin(struct net *nt, struct conn *c, long long now)
{
	const struct sx_step *st = &c->c_sc.sc_steps[c->c_step];

	c->c_out = 0;
	c->c_sent_us = now;
	c->c_written_us = now;
	if (st->st_expect == EX_421)
		c->c_deadline_us = now +
		    nt->n_run->r_dormant_s * 1000000LL + DORMANT_SLACK_US;
	else
		c->c_deadline_us = now + REPLY_TIMEOUT_US;
	if (st->st_len > 0)
		net_write(nt, c);
}

static void
net_write(struct net *nt, struct conn *c)
{
	const struct sx_step *st = &c->c_sc.sc_steps[c->c_step];
	ssize_t n;

	while (c->c_out < st->st_len) {
		n = send(c->c_fd, st->st_line + c->c_out,
		    st->st_len - c->c_out, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			net_fail(nt, c, "send %s: %s",
			    script_cmd_name(st->st_cmd), strerror(errno));
			return;
		}
		c->c_out += n;
	}
	c->c_written_us = clock_us();
}

/*
 * Check one reply line (CRLF removed) against the step due. Returns 1 when
 * the session goes on, 0 when it has ended (and c is closed).
 */
static int
net_reply(struct net *nt, struct conn *c, char *line, long long now)
{
	struct sx_run *run = nt->n_run;
	const struct sx_step *st = &c->c_sc.sc_steps[c->c_step];
	char want[IN_MAX + 64], got[IN_MAX * 4], learnt[sizeof(c->c_name)];
	unsigned long number = 0;
	int ok;

	ok = script_check(st, line, c->c_name, learnt, sizeof(learnt),
	    &number, want, sizeof(want));
	lat_add(run, st->st_cmd, now - c->c_sent_us);
	if (st->st_cmd != CMD_CONNECT)
		run->r_done++;
	if (!c->c_dormant) {
		if (st->st_cmd != CMD_CONNECT)
			run->r_busy_done++;
		run->r_busy_end_us = now;
	}
	if (ok && st->st_expect == EX_GREETING) {
		strlcpy(c->c_name, learnt, sizeof(c->c_name));
		if (run->r_name[0] == '\0')
			strlcpy(run->r_name, learnt, sizeof(run->r_name));
		else if (strcmp(run->r_name, learnt) != 0) {
			ok = 0;
			snprintf(want, sizeof(want), "220 %s SMTP CS4410MP3",
			    run->r_name);
		}
	}
	/*
	 * The server measures dormancy from its last read, which is after
	 * our last write: a 421 well before -T seconds is wrong.
	 */
	if (ok && st->st_expect == EX_421 &&
	    now - c->c_written_us < run->r_dormant_s * 900000LL) {
		log_vis(got, sizeof(got), line, strlen(line));
		run->r_mismatches++;
		sx_diag(run, "session %u: mismatch after %s: \"%s\" came "
		    "after %lld ms, before the -T %d s of dormancy",
		    c->c_session, script_cmd_name(st->st_cmd), got,
		    (now - c->c_written_us) / 1000, run->r_dormant_s);
		net_close(nt, c);
		return 0;
	}
	if (!ok) {
		net_mismatch(nt, c, st, line, want);
		return 0;
	}
	if (st->st_expect >= EX_ERR_FIRST)
		run->r_provoked[st->st_expect - EX_ERR_FIRST]++;
	if (st->st_expect == EX_DELIVERED)
		number_add(run, number);
	/*
	 * We send one command at a time, and the next is not sent yet:
	 * bytes already read after this reply answer nothing we said (a
	 * reply sent twice, say). Taken for the next command's reply they
	 * would blame the wrong command, or go unread at the session's end.
	 */
	if (c->c_inlen > 0) {
		log_vis(got, sizeof(got), c->c_in, c->c_inlen > 80 ? 80 :
		    c->c_inlen);
		run->r_mismatches++;
		sx_diag(run, "session %u: mismatch: a reply came before a "
		    "command was sent, after %s: \"%s\"", c->c_session,
		    script_cmd_name(st->st_cmd), got);
		net_close(nt, c);
		return 0;
	}
	if (++c->c_step == c->c_sc.sc_nsteps) {
		net_close(nt, c);
		return 0;
	}
	net_step_begin(nt, c, now);
	return c->c_state == C_ACTIVE;
}

/*
 * Report a reply that is not the one the step expects, with what was
 * sent, and end the session: the model of the server's state is lost.
 */
static void
net_mismatch(struct net *nt, struct conn *c, const struct sx_step *st,
    const char *line, const char *want)
{
	char got[IN_MAX * 4], sent[256];

	log_vis(got, sizeof(got), line, strlen(line));
	if (st->st_line != NULL)
		log_vis(sent, sizeof(sent), st->st_line,
		    st->st_len > 60 ? 60 : st->st_len);
	else
		strlcpy(sent, st->st_expect == EX_GREETING ?
		    "(connect)" : "(nothing)", sizeof(sent));
	nt->n_run->r_mismatches++;
	sx_diag(nt->n_run, "session %u: mismatch: sent \"%s\": expected "
	    "\"%s\", got \"%s\"", c->c_session, sent, want, got);
	net_close(nt, c);
}

static void
net_read(struct net *nt, struct conn *c)
{
	const struct sx_step *st = &c->c_sc.sc_steps[c->c_step];
	char got[IN_MAX * 4], *nl;
	size_t len;
	ssize_t n;
	long long now;

	n = recv(c->c_fd, c->c_in + c->c_inlen, sizeof(c->c_in) - 1 -
	    c->c_inlen, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		net_fail(nt, c, "waiting for the reply to %s: %s",
		    script_cmd_name(st->st_cmd), strerror(errno));
		return;
	}
	if (n == 0) {
		log_vis(got, sizeof(got), c->c_in, c->c_inlen);
		net_fail(nt, c, "connection closed by the server while "
		    "waiting for the reply to %s%s%s", script_cmd_name(st->st_cmd),
		    c->c_inlen ? ", after " : "", got);
		return;
	}
	c->c_inlen += n;
	c->c_in[c->c_inlen] = '\0';
	now = clock_us();
	while ((nl = memchr(c->c_in, '\n', c->c_inlen)) != NULL) {
		len = nl - c->c_in;
		if (len == 0 || c->c_in[len - 1] != '\r' ||
		    memchr(c->c_in, '\0', len) != NULL) {
			/* Every reply line ends with CRLF (RFC 5321 2.3.8). */
			log_vis(got, sizeof(got), c->c_in, len + 1);
			nt->n_run->r_mismatches++;
			sx_diag(nt->n_run, "session %u: mismatch: reply to %s "
			    "is not one CRLF-ended line: \"%s\"", c->c_session,
			    script_cmd_name(st->st_cmd), got);
			net_close(nt, c);
			return;
		}
		c->c_in[len - 1] = '\0';
		{
			char line[IN_MAX];

			memcpy(line, c->c_in, len);
			c->c_inlen -= len + 1;
			memmove(c->c_in, nl + 1, c->c_inlen);
			c->c_in[c->c_inlen] = '\0';
			if (!net_reply(nt, c, line, now))
				return;
		}
		st = &c->c_sc.sc_steps[c->c_step];
	}
	if (c->c_inlen == sizeof(c->c_in) - 1) {
		log_vis(got, sizeof(got), c->c_in, 80);
		nt->n_run->r_mismatches++;
		sx_diag(nt->n_run, "session %u: mismatch: reply to %s longer "
		    "than %d bytes: \"%s...\"", c->c_session,
		    script_cmd_name(st->st_cmd), IN_MAX, got);
		net_close(nt, c);
	}
}

static void
net_timeout(struct net *nt, struct conn *c, long long now)
{
	const struct sx_step *st = &c->c_sc.sc_steps[c->c_step];

	if (c->c_state == C_CONNECTING) {
		nt->n_stop = 1;
		net_fail(nt, c, "connect: timed out");
	} else if (st->st_expect == EX_421) {
		nt->n_run->r_mismatches++;
		sx_diag(nt->n_run, "session %u: mismatch: dormant %lld s: "
		    "expected \"421 4.4.2 %s Error: timeout exceeded\", got "
		    "nothing", c->c_session, (now - c->c_written_us) / 1000000,
		    c->c_name);
		net_close(nt, c);
	} else
		net_fail(nt, c, "no reply to %s within %lld s",
		    script_cmd_name(st->st_cmd), REPLY_TIMEOUT_US / 1000000);
}

/*
 * Fill pfd with the connections in use, map[i] naming the connection of
 * pfd[i], and set *waitp to the time until the nearest deadline (-1 when
 * none), so that poll(2) wakes in time for net_timeout. Returns the count.
 */
static unsigned
net_poll_set(struct net *nt, struct pollfd *pfd, unsigned *map,
    long long now, long long *waitp)
{
	struct conn *c;
	long long wait = -1;
	unsigned i, npfd = 0;

	for (i = 0; i < nt->n_run->r_conns; i++) {
		c = &nt->n_conns[i];
		if (c->c_state == C_FREE)
			continue;
		pfd[npfd].fd = c->c_fd;
		if (c->c_state == C_CONNECTING)
			pfd[npfd].events = POLLOUT;
		else {
			pfd[npfd].events = POLLIN;
			if (c->c_out < c->c_sc.sc_steps[c->c_step].st_len)
				pfd[npfd].events |= POLLOUT;
		}
		pfd[npfd].revents = 0;
		map[npfd++] = i;
		if (wait == -1 || c->c_deadline_us - now < wait)
			wait = c->c_deadline_us - now;
	}
	*waitp = wait;
	return npfd;
}

/*
 * A non-blocking connect(2) has ended: its result is in SO_ERROR. A
 * server that refuses one connection refuses the rest, so stop starting.
 */
static void
net_connected(struct net *nt, struct conn *c)
{
	int soerr;
	socklen_t sl;

	sl = sizeof(soerr);
	if (getsockopt(c->c_fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr != 0) {
		nt->n_stop = 1;
		net_fail(nt, c, "connect: %s", strerror(soerr));
		return;
	}
	c->c_state = C_ACTIVE;
	nt->n_run->r_connects++;
}

/* Every connection whose deadline has passed gets its net_timeout. */
static void
net_timeouts(struct net *nt, long long now)
{
	struct conn *c;
	unsigned i;

	for (i = 0; i < nt->n_run->r_conns; i++) {
		c = &nt->n_conns[i];
		if (c->c_state != C_FREE && now >= c->c_deadline_us)
			net_timeout(nt, c, now);
	}
}

/* Rewrite the progress line in place: stderr is a terminal. */
static void
net_progress(struct sx_run *run)
{
	fprintf(stderr, "\r\033[Ksmtpstress: %u/%u operations, "
	    "%zu delivered, %u mismatches", run->r_done, run->r_ops,
	    run->r_nnumbers, run->r_mismatches);
}

int
net_run(struct sx_run *run)
{
	struct addrinfo hints, *res;
	struct pollfd *pfd;
	struct net nt;
	struct conn *c;
	long long now, next_progress = 0, wait;
	unsigned i, *map, npfd;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(run->r_host, run->r_port, &hints, &res)) != 0) {
		warnx("%s port %s: %s", run->r_host, run->r_port,
		    gai_strerror(e));
		return -1;
	}
	memset(&nt, 0, sizeof(nt));
	nt.n_run = run;
	nt.n_ai = res;
	nt.n_left = run->r_ops;
	gen_init(&nt.n_gen, run->r_seed);
	if ((nt.n_conns = calloc(run->r_conns, sizeof(*nt.n_conns))) == NULL ||
	    (pfd = calloc(run->r_conns, sizeof(*pfd))) == NULL ||
	    (map = calloc(run->r_conns, sizeof(*map))) == NULL)
		err(1, "calloc");

	run->r_start_us = clock_us();
	for (;;) {
		for (i = 0; i < run->r_conns && !nt.n_stop && nt.n_left > 0;
		    i++)
			if (nt.n_conns[i].c_state == C_FREE)
				net_start(&nt, &nt.n_conns[i]);
		if (nt.n_active == 0)
			break;

		now = clock_us();
		npfd = net_poll_set(&nt, pfd, map, now, &wait);
		if (run->r_progress && !run->r_quiet && (wait == -1 ||
		    wait > PROGRESS_US))
			wait = PROGRESS_US;
		if (wait < 0)
			wait = 0;
		if (poll(pfd, npfd, (int)((wait + 999) / 1000)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		for (i = 0; i < npfd; i++) {
			c = &nt.n_conns[map[i]];
			if (pfd[i].revents == 0 || c->c_state == C_FREE)
				continue;
			if (c->c_state == C_CONNECTING) {
				net_connected(&nt, c);
				continue;
			}
			if (pfd[i].revents & POLLOUT)
				net_write(&nt, c);
			if (c->c_state == C_ACTIVE &&
			    (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				net_read(&nt, c);
		}
		now = clock_us();
		net_timeouts(&nt, now);
		if (run->r_progress && !run->r_quiet && now >= next_progress) {
			net_progress(run);
			next_progress = now + PROGRESS_US;
		}
	}
	run->r_end_us = clock_us();
	if (run->r_progress && !run->r_quiet)
		fputs("\r\033[K", stderr);
	free(map);
	free(pfd);
	free(nt.n_conns);
	freeaddrinfo(res);
	return 0;
}
