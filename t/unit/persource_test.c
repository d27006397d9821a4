/*
 * Unit tests of the per-source table (lib/persource.c): the caps, the
 * minute window, one log a minute per address, leave and reap giving
 * slots back, a full bucket served uncounted, and the count shared with
 * a child process through the inherited descriptor, as forkd's handlers
 * share it. Run by t/libforkd/unit-persource.t with cmocka's TAP output.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "persource.h"

static void
test_maxperip(void **state)
{
	struct persource *ps;
	int logit;

	(void)state;
	assert_non_null(ps = persource_create(2, 0));
	assert_int_equal(persource_enter(ps, "192.0.2.1", 100, 1000, &logit),
	    PERSOURCE_OK);
	assert_int_equal(persource_enter(ps, "192.0.2.1", 101, 1000, &logit),
	    PERSOURCE_OK);
	assert_int_equal(persource_count(ps, "192.0.2.1"), 2);
	/* The mapped IPv6 form is the same source. */
	assert_int_equal(persource_enter(ps, "::ffff:192.0.2.1", 102, 1000,
	    &logit), PERSOURCE_CHILD);
	assert_int_equal(logit, 1);
	assert_int_equal(persource_enter(ps, "192.0.2.1", 102, 2000, &logit),
	    PERSOURCE_CHILD);
	assert_int_equal(logit, 0);	/* once a minute */
	assert_int_equal(persource_enter(ps, "192.0.2.1", 102, 61001, &logit),
	    PERSOURCE_CHILD);
	assert_int_equal(logit, 1);
	assert_int_equal(persource_enter(ps, "192.0.2.2", 102, 1000, &logit),
	    PERSOURCE_OK);
	assert_int_equal(persource_refusals(ps), 3);
	/* Leave and reap give slots back. */
	persource_leave(ps, "192.0.2.1", 100);
	assert_int_equal(persource_count(ps, "192.0.2.1"), 1);
	assert_int_equal(persource_reap(ps, 101), 1);
	assert_int_equal(persource_count(ps, "192.0.2.1"), 0);
	assert_int_equal(persource_reap(ps, 101), 0);
	/* A limit changed in place holds at once. */
	persource_set(ps, 1, 0);
	assert_int_equal(persource_enter(ps, "192.0.2.2", 103, 1000, &logit),
	    PERSOURCE_CHILD);
	persource_set(ps, 0, 0);
	assert_int_equal(persource_enter(ps, "192.0.2.2", 103, 1000, &logit),
	    PERSOURCE_OK);
	/* Not an IP (a session on stdin): served, not counted. */
	assert_int_equal(persource_enter(ps, "-", 103, 1000, &logit),
	    PERSOURCE_UNCOUNTED);
	persource_close(ps);
}

static void
test_rate(void **state)
{
	struct persource *ps;
	int logit, i;

	(void)state;
	assert_non_null(ps = persource_create(0, 3));
	for (i = 0; i < 3; i++)
		assert_int_equal(persource_enter(ps, "2001:db8::1", 100,
		    1000 + i, &logit), PERSOURCE_OK);
	assert_int_equal(persource_enter(ps, "2001:db8::1", 100, 1010,
	    &logit), PERSOURCE_RATE);
	assert_int_equal(logit, 1);
	assert_int_equal(persource_enter(ps, "2001:db8::2", 100, 1010,
	    &logit), PERSOURCE_OK);
	/* A minute after the window began, a new one. */
	assert_int_equal(persource_enter(ps, "2001:db8::1", 100, 61000,
	    &logit), PERSOURCE_OK);
	persource_close(ps);
}

static void
test_full(void **state)
{
	struct persource *ps;
	char ip[64];
	int logit, i, full = 0, logs = 0;

	(void)state;
	assert_non_null(ps = persource_create(1000, 0));
	/* 4096 slots: past them, connections are served uncounted. */
	for (i = 0; i < 6000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		if (persource_enter(ps, ip, 100, 1000, &logit) ==
		    PERSOURCE_UNCOUNTED) {
			full++;
			logs += logit;
		}
	}
	assert_true(full >= 6000 - 4096);
	assert_int_equal(logs, 1);
	assert_true(persource_reap(ps, 100) <= 4096);
	persource_close(ps);
}

/* A child that inherited the descriptor counts in the same table. */
static void
test_shared(void **state)
{
	struct persource *ps, *child;
	int logit, status;
	pid_t pid;

	(void)state;
	assert_non_null(ps = persource_create(1, 0));
	if ((pid = fork()) == 0) {
		child = persource_attach(persource_fd(ps));
		if (child == NULL)
			_exit(2);
		_exit(persource_enter(child, "198.51.100.1", getpid(), 1000,
		    &logit) == PERSOURCE_OK ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(persource_enter(ps, "198.51.100.1", getpid(), 1000,
	    &logit), PERSOURCE_CHILD);
	/* The child died holding its slot: reaping it frees the address. */
	assert_int_equal(persource_reap(ps, pid), 1);
	assert_int_equal(persource_enter(ps, "198.51.100.1", getpid(), 1000,
	    &logit), PERSOURCE_OK);
	persource_close(ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maxperip),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_shared),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
