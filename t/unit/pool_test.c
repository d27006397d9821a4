/*
 * Unit tests of the prefork pool (supervisor/pool.c): the back-off after
 * handlers that die at start doubles from 250 ms, is capped at a minute,
 * grows once per wave of spawns, and is forgotten after a handler that
 * lived; pool_refill spawns nothing before the back-off ends and fills the
 * pool after. The clock, the spawns and the log are this file's own.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "../../supervisor/forkd.h"
#include "log.h"

static long long fake_now = 1000000;
static int spawns, spawn_fails;
static char last_log[256];

long long
clock_ms(void)
{
	return fake_now;
}

pid_t
spawn_handler(struct forkd *f, struct servtab *sep, int fd,
    const struct sockaddr_storage *peer)
{
	(void)f;
	(void)fd;
	(void)peer;
	if (spawn_fails > 0) {
		spawn_fails--;
		return -1;
	}
	spawns++;
	sep->se_nchild++;
	return 100 + spawns;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static void
pool_setup(struct servtab *sep, struct forkd *f)
{
	memset(sep, 0, sizeof(*sep));
	memset(f, 0, sizeof(*f));
	strlcpy(sep->se_name, "127.0.0.1:4199/tcp", sizeof(sep->se_name));
	sep->se_mode = SE_PREFORK;
	sep->se_max = 2;
	sep->se_fd = 7;
	f->services = sep;
	spawns = spawn_fails = 0;
	last_log[0] = '\0';
}

static void
test_backoff_doubles_to_cap(void **state)
{
	static const int want[] = { 250, 500, 1000, 2000, 4000, 8000, 16000,
	    32000, 60000, 60000, 60000 };
	struct servtab sep;
	struct forkd f;
	size_t i;
	char line[128];

	(void)state;
	pool_setup(&sep, &f);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		pool_exited(&sep, 10, 1);
		assert_int_equal(sep.se_backoff, want[i]);
		assert_true(sep.se_next_spawn == fake_now + want[i]);
		snprintf(line, sizeof(line), "127.0.0.1:4199/tcp: handler died "
		    "10 ms after start: next in %d ms", want[i]);
		assert_string_equal(last_log, line);
		/* The next wave: once the back-off has run out. */
		fake_now = sep.se_next_spawn;
	}
}

static void
test_one_doubling_per_wave(void **state)
{
	struct servtab sep;
	struct forkd f;

	(void)state;
	pool_setup(&sep, &f);
	pool_exited(&sep, 5, 1);
	assert_int_equal(sep.se_backoff, 250);
	/* Its sibling of the same wave dies too, before the back-off ends. */
	fake_now += 100;
	pool_exited(&sep, 5, 1);
	assert_int_equal(sep.se_backoff, 250);
	fake_now += 150;
	pool_exited(&sep, 5, 1);
	assert_int_equal(sep.se_backoff, 500);
}

static void
test_lived_resets(void **state)
{
	struct servtab sep;
	struct forkd f;

	(void)state;
	pool_setup(&sep, &f);
	pool_exited(&sep, 5, 1);
	fake_now = sep.se_next_spawn;
	pool_exited(&sep, 5, 1);
	assert_int_equal(sep.se_backoff, 500);
	pool_exited(&sep, 5000, 0);
	assert_int_equal(sep.se_backoff, 0);
	/* The next death after the pending spawn starts from 250 again. */
	fake_now = sep.se_next_spawn;
	pool_exited(&sep, 5, 1);
	assert_int_equal(sep.se_backoff, 250);
}

static void
test_refill_heeds_backoff(void **state)
{
	struct servtab sep;
	struct forkd f;

	(void)state;
	pool_setup(&sep, &f);
	assert_int_equal(pool_refill(&f), -1);
	assert_int_equal(spawns, 2);
	assert_int_equal(sep.se_nchild, 2);
	/* Both die at start. */
	sep.se_nchild = 0;
	pool_exited(&sep, 5, 1);
	pool_exited(&sep, 5, 1);
	assert_int_equal(pool_refill(&f), 250);
	assert_int_equal(spawns, 2);
	fake_now += 249;
	assert_int_equal(pool_refill(&f), 1);
	assert_int_equal(spawns, 2);
	fake_now += 1;
	assert_int_equal(pool_refill(&f), -1);
	assert_int_equal(spawns, 4);
	assert_int_equal(sep.se_nchild, 2);
	/* A full pool spawns nothing; a stopping forkd never spawns. */
	assert_int_equal(pool_refill(&f), -1);
	assert_int_equal(spawns, 4);
	sep.se_nchild = 0;
	f.stopping = 1;
	assert_int_equal(pool_refill(&f), -1);
	assert_int_equal(spawns, 4);
}

static void
test_refill_fork_fails(void **state)
{
	struct servtab sep;
	struct forkd f;

	(void)state;
	pool_setup(&sep, &f);
	spawn_fails = 1;
	assert_int_equal(pool_refill(&f), 1000);
	assert_int_equal(spawns, 0);
	assert_true(sep.se_next_spawn == fake_now + 1000);
	fake_now += 1000;
	assert_int_equal(pool_refill(&f), -1);
	assert_int_equal(spawns, 2);
	/* A closed listener (a disabled service) is not filled. */
	sep.se_nchild = 0;
	sep.se_fd = -1;
	assert_int_equal(pool_refill(&f), -1);
	assert_int_equal(spawns, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_to_cap),
		cmocka_unit_test(test_one_doubling_per_wave),
		cmocka_unit_test(test_lived_resets),
		cmocka_unit_test(test_refill_heeds_backoff),
		cmocka_unit_test(test_refill_fork_fails),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
