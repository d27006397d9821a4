/*
 * mbox_test: test-only crash points of a delivery, so the tests can kill
 * a worker between append and sync, inside the leader's syncs and before
 * the 250, and check what a crash leaves (smtpd(8) ENVIRONMENT).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"

/*
 * Test-only crash points (SMTPD_TEST_CRASH, see smtpd(8)): "appended",
 * "synced", "written" and "committed", a comma-separated list, then
 * ":PERMILLE".
 */
void
mbox_test_setup(struct smtpd *sd)
{
	static const char *points[] = { "appended", "synced", "written",
	    "committed" };
	const char *env, *colon;
	size_t i;

	if ((env = getenv("SMTPD_TEST_CRASH")) == NULL ||
	    (colon = strchr(env, ':')) == NULL)
		return;
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		const char *p = strstr(env, points[i]);

		if (p != NULL && p < colon)
			sd->sd_crash |= 1 << i;
	}
	sd->sd_crash_permille = atoi(colon + 1);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	log_info("SMTPD_TEST_CRASH=%s: test only, will kill itself", env);
}

/* SIGKILL itself at a crash point, with the set chance. */
void
mbox_test_crash(const struct smtpd *sd, int point)
{
	if ((sd->sd_crash & (1 << point)) != 0 &&
	    random() % 1000 < sd->sd_crash_permille)
		raise(SIGKILL);
}
