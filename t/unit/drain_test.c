/*
 * Unit tests of the handlers' graceful stop (lib/drain.c): the first
 * SIGTERM sets the flag and, for a loop blocked in accept(2), closes the
 * listener at once; for a polling loop it waits, blocked, for the loop's
 * drain_poll(); a second SIGTERM ends the process. Each case runs in a
 * child of its own (the flag and the handler are per process). Run by
 * t/23-drain.t with cmocka's TAP output.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drain.h"

/* A listening TCP socket on 127.0.0.1, any port. */
static int
listener(void)
{
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 5) == -1)
		return -1;
	return fd;
}

/* Run f in a child; returns its wait(2) status. */
static int
in_child(int (*f)(void))
{
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(f());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* DRAIN_CLOSE: the handler closes the listener; accept fails at once. */
static int
close_case(void)
{
	int fd = listener();

	if (fd == -1 || drain_watch(fd, DRAIN_CLOSE) == -1)
		return 10;
	if (drain_requested())
		return 11;
	kill(getpid(), SIGTERM);
	if (!drain_requested())
		return 12;
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		return 13;
	if (accept(fd, NULL, NULL) != -1 || errno != EBADF)
		return 14;
	return 0;
}

static void
test_close(void **state)
{
	int st;

	(void)state;
	st = in_child(close_case);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* DRAIN_WAIT: pending until the wait, which it interrupts. */
static int
wait_case(void)
{
	struct pollfd pfd;
	int fd = listener(), p[2];

	if (fd == -1 || pipe(p) == -1 || drain_watch(fd, DRAIN_WAIT) == -1)
		return 20;
	kill(getpid(), SIGTERM);
	/* Blocked: the loop's check before its wait cannot miss it. */
	if (drain_requested() || fcntl(fd, F_GETFD) == -1)
		return 21;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (drain_poll(&pfd, 1, 5000) != -1 || errno != EINTR)
		return 22;
	if (!drain_requested() || fcntl(fd, F_GETFD) == -1)
		return 23;
	drain_close_listener();
	if (fcntl(fd, F_GETFD) != -1)
		return 24;
	/* Idempotent. */
	drain_close_listener();
	return 0;
}

static void
test_wait(void **state)
{
	int st;

	(void)state;
	st = in_child(wait_case);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A second SIGTERM ends the process: what a supervisor's bound sends. */
static int
twice_case(void)
{
	int fd = listener();

	if (fd == -1 || drain_watch(fd, DRAIN_CLOSE) == -1)
		return 30;
	kill(getpid(), SIGTERM);
	kill(getpid(), SIGTERM);
	return 31;
}

static void
test_twice(void **state)
{
	int st;

	(void)state;
	st = in_child(twice_case);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_twice),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
