/*
 * Unit tests of forkd's table of running handlers (supervisor/child.c):
 * an entry is found by its pid, iterated with its service, moved to a
 * reloaded service or orphaned, removed without losing the others; a
 * smaller pool signals only the handlers past its size; a service holds
 * its listener while a wait or prefork handler runs. Run by
 * t/forkd/unit-children.t with cmocka's TAP output.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../supervisor/forkd.h"

static void
service(struct servtab *sep, const char *name, enum se_mode mode)
{
	memset(sep, 0, sizeof(*sep));
	strlcpy(sep->se_name, name, sizeof(sep->se_name));
	sep->se_mode = mode;
	sep->se_fd = -1;
}

static int
count_of(struct forkd *f, const struct servtab *sep)
{
	struct child *ch = NULL;
	int n = 0;

	while ((ch = child_next_of(f, sep, ch)) != NULL)
		n++;
	return n;
}

/* Enough entries to grow the table twice; each found again by pid. */
static void
test_add_find_remove(void **state)
{
	struct forkd f;
	struct servtab a, b;
	struct child *ch;
	pid_t pid;
	int n;

	(void)state;
	memset(&f, 0, sizeof(f));
	service(&a, "a", SE_NOWAIT);
	service(&b, "b", SE_PREFORK);
	for (pid = 1000; pid < 1200; pid++)
		assert_non_null(child_add(&f, pid, pid % 2 ? &a : &b, -1));
	assert_int_equal(f.nchildren, 200);
	ch = child_find(&f, 1101);
	assert_non_null(ch);
	assert_ptr_equal(ch->ch_sep, &a);
	assert_string_equal(ch->ch_name, "a");
	assert_int_equal(ch->ch_listener, 0);
	assert_int_equal(child_find(&f, 1100)->ch_listener, 1);
	assert_null(child_find(&f, 999));
	assert_int_equal(count_of(&f, &a), 100);
	assert_int_equal(count_of(&f, &b), 100);

	child_remove(&f, child_find(&f, 1000));
	assert_null(child_find(&f, 1000));
	for (pid = 1001, n = 0; pid < 1200; pid++)
		n += child_find(&f, pid) != NULL;
	assert_int_equal(n, 199);
	assert_int_equal(count_of(&f, &b), 99);
	free(f.children);
}

/* A reload hands the children on; a removed service's are orphans. */
static void
test_move(void **state)
{
	struct forkd f;
	struct servtab o, sep;

	(void)state;
	memset(&f, 0, sizeof(f));
	service(&o, "old", SE_WAIT);
	service(&sep, "new", SE_NOWAIT);
	child_add(&f, 1, &o, -1);
	child_add(&f, 2, &o, -1);
	assert_int_equal(child_holds_listener(&f, &o), 1);
	assert_int_equal(child_holds_listener(&f, &sep), 0);
	child_move(&f, &o, &sep);
	assert_int_equal(count_of(&f, &o), 0);
	assert_int_equal(count_of(&f, &sep), 2);
	/* A wait handler keeps the socket whatever the new mode. */
	assert_int_equal(child_holds_listener(&f, &sep), 1);
	child_move(&f, &sep, NULL);
	assert_int_equal(count_of(&f, NULL), 2);
	assert_int_equal(child_holds_listener(&f, &sep), 0);
	free(f.children);
}

/* A pool of four made two: two handlers get the signal, and only two. */
static void
test_kill_excess(void **state)
{
	struct forkd f;
	struct servtab pool, other;
	int i, status, killed = 0;
	pid_t pid;

	(void)state;
	memset(&f, 0, sizeof(f));
	service(&pool, "pool", SE_PREFORK);
	service(&other, "other", SE_PREFORK);
	for (i = 0; i < 5; i++) {
		if ((pid = fork()) == 0) {
			pause();
			_exit(0);
		}
		assert_true(pid > 0);
		child_add(&f, pid, i < 4 ? &pool : &other, -1);
	}
	assert_int_equal(child_kill_excess(&f, &pool, 2, SIGTERM), 2);
	assert_int_equal(child_kill_excess(&f, &pool, 4, SIGTERM), 0);
	child_signal(&f, NULL, SIGKILL);
	for (i = 0; i < 5; i++) {
		assert_true(waitpid(f.children[i].ch_pid, &status, 0) > 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
			killed++;
	}
	/* The first two of the pool and the other service's are kept. */
	assert_int_equal(killed, 2);
	free(f.children);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_kill_excess),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
