/*
 * Unit tests of activation_listen_fds (lib/activation.c), the systemd
 * socket-passing protocol of sd_listen_fds(3): whose the variables are,
 * how many fds, their names, FD_CLOEXEC, and the environment cleared
 * afterwards. Run by t/libforkd/unit-activation.t with cmocka's TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "activation.h"

/* Open fds 3 .. 3+n-1 (pipe ends) without FD_CLOEXEC; close up to 9. */
static void
fds_open(int n)
{
	int p[2], fd;

	for (fd = 3; fd < 10; fd++)
		close(fd);
	for (fd = 3; fd < 3 + n; fd++) {
		assert_int_equal(pipe(p), 0);
		/* pipe() takes the lowest free fds: move them up out of the way. */
		assert_int_equal(dup2(p[0], 20), 20);
		close(p[0]);
		close(p[1]);
		assert_int_equal(dup2(20, fd), fd);
		close(20);
		assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	}
}

static void
env_set(const char *pid, const char *fds, const char *names)
{
	char own[32];

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid != NULL && strcmp(pid, "self") == 0) {
		snprintf(own, sizeof(own), "%ld", (long)getpid());
		pid = own;
	}
	if (pid != NULL)
		setenv("LISTEN_PID", pid, 1);
	if (fds != NULL)
		setenv("LISTEN_FDS", fds, 1);
	if (names != NULL)
		setenv("LISTEN_FDNAMES", names, 1);
}

static void
assert_env_unset(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

static void
test_not_activated(void **state)
{
	char **names = (char **)1;

	(void)state;
	env_set(NULL, NULL, NULL);
	assert_int_equal(activation_listen_fds(1, &names), 0);
	assert_null(names);
	/* LISTEN_PID without LISTEN_FDS: nothing passed. */
	env_set("self", NULL, NULL);
	assert_int_equal(activation_listen_fds(1, NULL), 0);
	assert_env_unset();
	env_set("self", "0", NULL);
	assert_int_equal(activation_listen_fds(1, &names), 0);
	assert_null(names);
}

/* The variables were inherited from an activated parent: not ours. */
static void
test_other_pid(void **state)
{
	char other[32];

	(void)state;
	fds_open(1);
	snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
	env_set(other, "1", "x");
	assert_int_equal(activation_listen_fds(1, NULL), 0);
	assert_env_unset();
	/* Not ours, so left as it was. */
	assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
}

static void
test_two_fds(void **state)
{
	char **names = NULL;

	(void)state;
	fds_open(2);
	env_set("self", "2", NULL);
	assert_int_equal(activation_listen_fds(1, &names), 2);
	assert_env_unset();
	assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(4, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_non_null(names);
	assert_string_equal(names[0], "unknown");
	assert_string_equal(names[1], "unknown");
	assert_null(names[2]);
	free(names);
}

static void
test_names(void **state)
{
	char **names = NULL;

	(void)state;
	fds_open(3);
	env_set("self", "3", "http:ctl:");
	assert_int_equal(activation_listen_fds(1, &names), 3);
	assert_non_null(names);
	assert_string_equal(names[0], "http");
	assert_string_equal(names[1], "ctl");
	assert_string_equal(names[2], "");
	assert_null(names[3]);
	free(names);

	/* A name for each fd, or the whole is malformed. */
	fds_open(2);
	env_set("self", "2", "one");
	errno = 0;
	assert_int_equal(activation_listen_fds(1, &names), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(names);
	assert_env_unset();
	/* Without names asked for, LISTEN_FDNAMES is not read. */
	env_set("self", "2", "one");
	assert_int_equal(activation_listen_fds(1, NULL), 2);
}

static void
test_keep_env(void **state)
{
	(void)state;
	fds_open(1);
	env_set("self", "1", "echo");
	assert_int_equal(activation_listen_fds(0, NULL), 1);
	assert_non_null(getenv("LISTEN_PID"));
	assert_string_equal(getenv("LISTEN_FDS"), "1");
	assert_string_equal(getenv("LISTEN_FDNAMES"), "echo");
}

static void
test_malformed(void **state)
{
	static const char *bad_pid[] = { "", "x", "12x", " 1", "+1", "-1",
	    "0", "99999999999999999999" };
	static const char *bad_fds[] = { "", "x", "1x", " 1", "+1", "-1",
	    "2147483647" };
	size_t i;

	(void)state;
	fds_open(1);
	for (i = 0; i < sizeof(bad_pid) / sizeof(bad_pid[0]); i++) {
		env_set(bad_pid[i], "1", NULL);
		errno = 0;
		if (activation_listen_fds(1, NULL) != -1 || errno != EINVAL)
			fail_msg("LISTEN_PID=\"%s\" accepted", bad_pid[i]);
		assert_env_unset();
	}
	for (i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		env_set("self", bad_fds[i], NULL);
		errno = 0;
		if (activation_listen_fds(1, NULL) != -1 || errno != EINVAL)
			fail_msg("LISTEN_FDS=\"%s\" accepted", bad_fds[i]);
		assert_env_unset();
	}
}

/* A counted fd that is not open: the manager and we disagree. */
static void
test_closed_fd(void **state)
{
	(void)state;
	fds_open(1);
	env_set("self", "2", NULL);
	errno = 0;
	assert_int_equal(activation_listen_fds(1, NULL), -1);
	assert_int_equal(errno, EBADF);
	assert_env_unset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_activated),
		cmocka_unit_test(test_other_pid),
		cmocka_unit_test(test_two_fds),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_keep_env),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_closed_fd),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
