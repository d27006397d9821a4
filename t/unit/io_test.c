/*
 * Unit tests of lib/clock.c, lib/io.c and lib/dial.c over loopback sockets:
 * the clock never steps back, io_wait's deadline, io_write_all through a
 * full socket buffer and into a pipe, io_linger's drain, and dial_host's
 * connection, refusal and failed lookup. No assertion bounds how long
 * anything takes. Run by t/libforkd/unit-netio.t with cmocka's TAP output.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "dial.h"
#include "io.h"

static void
test_clock(void **state)
{
	long long ms, us;

	(void)state;
	ms = clock_ms();
	us = clock_us();
	assert_true(ms >= 0);
	assert_true(us / 1000 >= ms);
	assert_true(clock_ms() >= ms);
	assert_true(clock_us() >= us);
}

static void
test_wait(void **state)
{
	int sv[2];
	long long deadline;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Writable at once; nothing to read until the deadline. */
	assert_int_equal(io_wait(sv[0], POLLOUT, io_deadline(1000)), 1);
	deadline = io_deadline(20);
	errno = 0;
	assert_int_equal(io_wait(sv[0], POLLIN, deadline), 0);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(clock_ms() >= deadline);
	/* A deadline already past does not poll at all. */
	assert_int_equal(io_wait(sv[0], POLLIN, clock_ms() - 1), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(io_wait(sv[0], POLLIN, -1), 1);
	assert_int_equal(io_deadline(-1), -1);
	close(sv[0]);
	close(sv[1]);
}

static void
test_write_all(void **state)
{
	static char big[1 << 20];
	int sv[2], p[2];
	char got[4];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	/* Nobody reads: the buffer fills and the time runs out. */
	errno = 0;
	assert_int_equal(io_write_all(sv[0], big, sizeof(big), 50), -1);
	assert_int_equal(errno, ETIMEDOUT);
	close(sv[1]);
	/* The peer gone: EPIPE, and no SIGPIPE kills us (MSG_NOSIGNAL). */
	assert_int_equal(io_write_all(sv[0], "abc", 3, 1000), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[0]);
	/* Not a socket: written with write(2). */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_write_all(p[1], "abc", 3, -1), 0);
	assert_int_equal(read(p[0], got, sizeof(got)), 3);
	assert_memory_equal(got, "abc", 3);
	close(p[0]);
	close(p[1]);
}

static void
test_linger(void **state)
{
	static char big[16384];
	int sv[2], p[2];
	char buf[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "unread", 6), 6);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	/* Drops the unread bytes up to the peer's end of stream. */
	assert_int_equal(io_linger(sv[0], sv[0], 1000, 0), 6);
	/* And the peer saw our end. */
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 0);
	close(sv[0]);
	close(sv[1]);
	/* max_bytes bounds what is read. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], big, sizeof(big)), sizeof(big));
	assert_true(io_linger(sv[0], sv[0], 1000, 8192) < sizeof(big));
	close(sv[0]);
	close(sv[1]);
	/* A peer that never ends costs the timeout, no more. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(io_linger(sv[0], sv[0], 20, 0), 0);
	close(sv[0]);
	close(sv[1]);
	/* Not a socket: nothing to do. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_linger(p[0], p[1], 1000, 0), 0);
	close(p[0]);
	close(p[1]);
}

/* A listener on 127.0.0.1, an ephemeral port; its port into port. */
static int
listener(char *port, size_t len)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(port, len, "%u", ntohs(sin.sin_port));
	return fd;
}

static void
test_dial(void **state)
{
	struct dial_peer peer;
	char port[8], name[64];
	int lfd, fd;

	(void)state;
	lfd = listener(port, sizeof(port));
	fd = dial_host("127.0.0.1", port, AF_UNSPEC, 1000, NULL, NULL, &peer);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	snprintf(name, sizeof(name), "127.0.0.1 port %s", port);
	assert_string_equal(peer.dp_name, name);
	assert_string_equal(peer.dp_ip, "127.0.0.1");
	assert_string_equal(peer.dp_port, port);
	assert_int_equal(peer.dp_family, AF_INET);
	assert_int_equal(peer.dp_gai, 0);
	close(fd);
	close(lfd);
	/* The listener gone: refused, and peer names what was tried. */
	fd = dial_host("127.0.0.1", port, AF_UNSPEC, 1000, NULL, NULL, &peer);
	assert_int_equal(fd, DIAL_ECONNECT);
	assert_int_equal(errno, ECONNREFUSED);
	assert_string_equal(peer.dp_name, name);
	/* No lookup can make a port of this. */
	fd = dial_host("127.0.0.1", "no-such-service-x", AF_UNSPEC, 1000,
	    NULL, NULL, &peer);
	assert_int_equal(fd, DIAL_ERESOLVE);
	assert_int_equal(peer.dp_gai, EAI_SERVICE);
	/* An IPv4 address asked for as IPv6 has no address. */
	fd = dial_host("127.0.0.1", port, AF_INET6, 1000, NULL, NULL, &peer);
	assert_int_equal(fd, DIAL_ERESOLVE);
	assert_int_not_equal(peer.dp_gai, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_linger),
		cmocka_unit_test(test_dial),
	};

	signal(SIGPIPE, SIG_DFL);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
