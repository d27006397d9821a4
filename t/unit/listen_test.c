/*
 * Unit tests of the sockets forkd inherits (supervisor/listen.c): an older
 * forkd's listeners on SIGUSR2 and systemd's LISTEN_FDS are given to the
 * service with their address, port and socket type, never to another; a
 * descriptor that is no IP socket is refused; what no service takes is
 * closed. Run by t/forkd/unit-inherit.t with cmocka's TAP output.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../supervisor/forkd.h"

/* A socket of type bound to 127.0.0.1:port (0: any), listening if TCP. */
static int
bound(int type, unsigned short port, unsigned short *got)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, on = 1;

	fd = socket(AF_INET, type, 0);
	assert_true(fd != -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 5), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*got = ntohs(sin.sin_port);
	return fd;
}

/* A service on 127.0.0.1:port of socktype. */
static void
service(struct servtab *sep, int type, unsigned short port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&sep->se_addr;

	memset(sep, 0, sizeof(*sep));
	sep->se_fd = -1;
	sep->se_socktype = type;
	sep->se_family = AF_INET;
	strlcpy(sep->se_proto, type == SOCK_STREAM ? "tcp" : "udp",
	    sizeof(sep->se_proto));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sep->se_addrlen = sizeof(*sin);
	snprintf(sep->se_name, sizeof(sep->se_name), "127.0.0.1:%u/%s", port,
	    sep->se_proto);
}

static void
test_by_address_and_type(void **state)
{
	struct servtab tcp, udp, other;
	unsigned short p, q, r;
	char err[256];
	int tfd, ufd, ofd;

	(void)state;
	tfd = bound(SOCK_STREAM, 0, &p);
	ufd = bound(SOCK_DGRAM, p, &q);	/* the same port, UDP */
	ofd = bound(SOCK_STREAM, 0, &r);	/* a port no service has */
	assert_int_equal(q, p);
	assert_int_equal(listen_inherit(tfd, "upgrade", err, sizeof(err)), 0);
	assert_int_equal(listen_inherit(ufd, "upgrade", err, sizeof(err)), 0);
	assert_int_equal(listen_inherit(ofd, "systemd", err, sizeof(err)), 0);
	/* Ours now: close-on-exec, so no handler inherits them. */
	assert_true(fcntl(tfd, F_GETFD) & FD_CLOEXEC);

	/* UDP first: the TCP socket on that port is not its. */
	service(&udp, SOCK_DGRAM, p);
	assert_int_equal(listen_open(&udp, err, sizeof(err)), 0);
	assert_int_equal(udp.se_fd, ufd);
	assert_string_equal(udp.se_inherited, "upgrade");
	service(&tcp, SOCK_STREAM, p);
	assert_int_equal(listen_open(&tcp, err, sizeof(err)), 0);
	assert_int_equal(tcp.se_fd, tfd);

	/* A service with no inherited socket binds its own. */
	service(&other, SOCK_STREAM, 0);
	assert_int_equal(listen_open(&other, err, sizeof(err)), 0);
	assert_true(other.se_fd != tfd && other.se_fd != ufd &&
	    other.se_fd != ofd);
	assert_null(other.se_inherited);

	/* The one left is closed. */
	assert_int_equal(listen_inherit_drop(), 1);
	assert_int_equal(fcntl(ofd, F_GETFD), -1);
	/* And the table is empty: nothing more is dropped. */
	assert_int_equal(listen_inherit_drop(), 0);
	listen_close(&tcp);
	listen_close(&udp);
	listen_close(&other);
}

static void
test_not_a_socket(void **state)
{
	char err[256];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(listen_inherit(p[0], "systemd", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not an IPv4 or IPv6 socket"));
	/* Refused and closed. */
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	close(p[1]);
	assert_int_equal(listen_inherit_drop(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_address_and_type),
		cmocka_unit_test(test_not_a_socket),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
