/*
 * Unit tests of lib/serve.c's naming of a connection's two ends over
 * loopback sockets: serve_accept's local end, taken from a listener bound
 * to one address and asked of each connection on a wildcard listener,
 * and serve_peer's trust in the UCSPI-TCP variables on fd 0, with the
 * socket asked only for what they leave out. Run by t/95-netio.t with
 * cmocka's TAP output.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve.h"

/* A listener on ip, port chosen by the kernel, written into port. */
static int
listener(const char *ip, char *port, size_t len)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(port, len, "%u", ntohs(sin.sin_port));
	return fd;
}

/*
 * A connection to ip:port; its own address and port written into myip
 * (INET_ADDRSTRLEN bytes) and myport (len bytes).
 */
static int
dial(const char *ip, const char *port, char *myip, char *myport, size_t len)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(port));
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(myport, len, "%u", ntohs(sin.sin_port));
	assert_non_null(inet_ntop(AF_INET, &sin.sin_addr, myip,
	    INET_ADDRSTRLEN));
	return fd;
}

/* Accept on lfd and check both ends. */
static void
accept_check(int lfd, const char *ip, const char *port)
{
	struct serve_peer peer;
	char cip[INET_ADDRSTRLEN], cport[8];
	int c, fd;

	c = dial(ip, port, cip, cport, sizeof(cport));
	fd = serve_accept(lfd, SOCK_CLOEXEC, &peer);
	assert_true(fd >= 0);
	assert_string_equal(peer.local_ip, ip);
	assert_string_equal(peer.local_port, port);
	assert_string_equal(peer.remote_ip, cip);
	assert_string_equal(peer.remote_port, cport);
	serve_close(fd);
	close(c);
}

static void
test_accept_bound(void **state)
{
	char p1[8], p2[8];
	int l1, l2;

	(void)state;
	l1 = listener("127.0.0.1", p1, sizeof(p1));
	l2 = listener("127.0.0.1", p2, sizeof(p2));
	/* Each listener's own end, asked for in turn. */
	accept_check(l1, "127.0.0.1", p1);
	accept_check(l1, "127.0.0.1", p1);
	accept_check(l2, "127.0.0.1", p2);
	accept_check(l1, "127.0.0.1", p1);
	/* A new listener on a closed one's descriptor is asked anew. */
	serve_close_listener(l1);
	assert_int_equal(listener("127.0.0.1", p1, sizeof(p1)), l1);
	accept_check(l1, "127.0.0.1", p1);
	serve_close_listener(l1);
	serve_close_listener(l2);
}

static void
test_accept_wildcard(void **state)
{
	char port[8];
	int lfd;

	(void)state;
	lfd = listener("0.0.0.0", port, sizeof(port));
	/* The address the client reached, never 0.0.0.0. */
	accept_check(lfd, "127.0.0.1", port);
	accept_check(lfd, "127.0.0.2", port);
	accept_check(lfd, "127.0.0.1", port);
	serve_close_listener(lfd);
}

static void
test_peer_env(void **state)
{
	struct serve_peer peer;
	char port[8], cip[INET_ADDRSTRLEN], cport[8];
	int lfd, c, fd, saved;

	(void)state;
	lfd = listener("127.0.0.1", port, sizeof(port));
	c = dial("127.0.0.1", port, cip, cport, sizeof(cport));
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	saved = dup(0);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 0), 0);

	/* All four told: believed. */
	setenv("TCPREMOTEIP", "192.0.2.1", 1);
	setenv("TCPREMOTEPORT", "4242", 1);
	setenv("TCPLOCALIP", "198.51.100.7", 1);
	setenv("TCPLOCALPORT", "25", 1);
	serve_peer(0, &peer);
	assert_string_equal(peer.remote_ip, "192.0.2.1");
	assert_string_equal(peer.remote_port, "4242");
	assert_string_equal(peer.local_ip, "198.51.100.7");
	assert_string_equal(peer.local_port, "25");

	/* One left out of each pair: that one from the socket. */
	unsetenv("TCPREMOTEPORT");
	unsetenv("TCPLOCALIP");
	serve_peer(0, &peer);
	assert_string_equal(peer.remote_ip, "192.0.2.1");
	assert_string_equal(peer.remote_port, cport);
	assert_string_equal(peer.local_ip, "127.0.0.1");
	assert_string_equal(peer.local_port, "25");

	/* None: the socket's, as on any other descriptor. */
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPLOCALPORT");
	serve_peer(0, &peer);
	assert_string_equal(peer.remote_ip, "127.0.0.1");
	assert_string_equal(peer.remote_port, cport);
	assert_string_equal(peer.local_ip, "127.0.0.1");
	assert_string_equal(peer.local_port, port);

	/* The variables name fd 0 only. */
	setenv("TCPREMOTEIP", "192.0.2.1", 1);
	serve_peer(fd, &peer);
	assert_string_equal(peer.remote_ip, "127.0.0.1");
	unsetenv("TCPREMOTEIP");

	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	close(fd);
	close(c);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_bound),
		cmocka_unit_test(test_accept_wildcard),
		cmocka_unit_test(test_peer_env),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
