/*
 * pool: prefork.N services keep N handlers, each with the listener on
 * fd 0; forkd itself never accepts for them, so the kernel's backlog holds
 * the connections the pool is not ready for (listen(2) backlog).
 *
 * A handler that dies within a second of start (a broken program, a bad
 * option, a sandbox violation) is replaced after a back-off that doubles
 * from 250 ms up to a minute, so a broken handler cannot fork-bomb the
 * host; one that lived is replaced at once and resets the back-off.
 */
#include <limits.h>

#include "clock.h"
#include "forkd.h"
#include "log.h"

#define POOL_BACKOFF_MIN	250		/* ms */
#define POOL_BACKOFF_MAX	(60 * 1000)	/* ms */

void
pool_exited(struct servtab *sep, long long lived, int quick)
{
	if (!quick) {
		sep->se_backoff = 0;
		return;
	}
	/* One doubling per wave of spawns, not per dead handler. */
	if (clock_ms() >= sep->se_next_spawn) {
		sep->se_backoff = sep->se_backoff == 0 ? POOL_BACKOFF_MIN :
		    sep->se_backoff * 2;
		if (sep->se_backoff > POOL_BACKOFF_MAX)
			sep->se_backoff = POOL_BACKOFF_MAX;
		sep->se_next_spawn = clock_ms() + sep->se_backoff;
		log_warnx("%s: handler died %lld ms after start: next in "
		    "%d ms", sep->se_name, lived, sep->se_backoff);
	}
}

int
pool_refill(struct forkd *f)
{
	struct servtab *sep;
	long long now = clock_ms(), wait = -1;

	if (f->stopping)
		return -1;
	for (sep = f->services; sep != NULL; sep = sep->se_next) {
		if (sep->se_mode != SE_PREFORK || sep->se_fd == -1)
			continue;
		if (sep->se_nchild >= sep->se_max)
			continue;
		if (now < sep->se_next_spawn) {
			if (wait == -1 || sep->se_next_spawn - now < wait)
				wait = sep->se_next_spawn - now;
			continue;
		}
		while (sep->se_nchild < sep->se_max)
			if (spawn_handler(f, sep, sep->se_fd, NULL) == -1) {
				/* fork failed: try again in a second. */
				sep->se_next_spawn = now + 1000;
				if (wait == -1 || wait > 1000)
					wait = 1000;
				break;
			}
	}
	return wait > INT_MAX ? INT_MAX : (int)wait;
}
