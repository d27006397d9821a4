/*
 * reap: collect every exited child, log how it ended, and give its
 * service back what it held.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "clock.h"
#include "forkd.h"
#include "log.h"
#include "persource.h"

/* A prefork handler that dies sooner than this after start is failing. */
#define REAP_QUICK_MS	1000

static void
reap_log(const struct child *ch, int status, long long lived, int stopping)
{
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0)
			log_info("%s: pid %ld exited 0 after %lld ms",
			    ch->ch_name, (long)ch->ch_pid, lived);
		else
			log_warnx("%s: pid %ld exited %d after %lld ms",
			    ch->ch_name, (long)ch->ch_pid,
			    WEXITSTATUS(status), lived);
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (sig == SIGTERM && stopping)
			log_info("%s: pid %ld ended by SIGTERM",
			    ch->ch_name, (long)ch->ch_pid);
		else if (sig == SIGSYS)
			log_warnx("%s: pid %ld killed by SIGSYS: sandbox "
			    "violation (a system call outside its seccomp "
			    "profile)", ch->ch_name, (long)ch->ch_pid);
		else
			log_warnx("%s: pid %ld killed by signal %d (%s)%s",
			    ch->ch_name, (long)ch->ch_pid, sig,
			    strsignal(sig),
			    WCOREDUMP(status) ? ", core dumped" : "");
	}
}

void
reap_children(struct forkd *f)
{
	struct servtab *sep;
	struct child *ch;
	long long lived;
	pid_t pid;
	int status, ours, n, holder;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if (pid == f->up.up_pid) {
			upgrade_reaped(f, status);
			continue;
		}
		if ((ch = child_find(f, pid)) == NULL) {
			log_debug("pid %ld: not ours, reaped", (long)pid);
			continue;
		}
		lived = clock_ms() - ch->ch_started;
		reap_log(ch, status, lived, f->stopping);
		if ((sep = ch->ch_sep) != NULL) {
			sep->se_nchild--;
			/* Slots a killed handler held are given back. */
			if (sep->se_ps != NULL &&
			    (n = persource_reap(sep->se_ps, pid)) > 0)
				log_debug("%s: pid %ld held %d per-source "
				    "slots: freed", ch->ch_name, (long)pid, n);
			status_exit(sep, status);
			switch (sep->se_mode) {
			case SE_WAIT:
				/* The socket is forkd's to poll again. */
				sep->se_busy = 0;
				break;
			case SE_PREFORK:
				/*
				 * A handler that ends within a second, even
				 * with status 0, would have forkd fork in a
				 * loop: back off. One we ended (SIGTERM on a
				 * reload) is no failure.
				 */
				ours = WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGTERM;
				pool_exited(sep, lived,
				    !f->stopping && !ours &&
				    lived < REAP_QUICK_MS);
				break;
			case SE_NOWAIT:
				break;
			}
		}
		holder = ch->ch_listener;
		spawn_forget(f, ch);
		if (holder && sep != NULL)
			reload_flags(f, sep);
	}
}
