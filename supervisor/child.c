/*
 * child: the table of running handlers, each with its service, its
 * stderr pipe and its start time. Entries move when one is removed: a
 * pointer holds only until the next child_add or child_remove.
 */
#include <sys/types.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "forkd.h"

struct child *
child_add(struct forkd *f, pid_t pid, struct servtab *sep, int errfd)
{
	struct child *ch;

	if (f->nchildren == f->maxchildren) {
		size_t n = f->maxchildren ? f->maxchildren * 2 : 64;
		struct child *c = reallocarray(f->children, n, sizeof(*c));

		if (c == NULL)
			return NULL;
		f->children = c;
		f->maxchildren = n;
	}
	ch = &f->children[f->nchildren++];
	memset(ch, 0, sizeof(*ch));
	ch->ch_pid = pid;
	ch->ch_sep = sep;
	strlcpy(ch->ch_name, sep->se_name, sizeof(ch->ch_name));
	ch->ch_errfd = errfd;
	ch->ch_started = clock_ms();
	ch->ch_listener = sep->se_mode != SE_NOWAIT;
	return ch;
}

struct child *
child_find(struct forkd *f, pid_t pid)
{
	size_t i;

	for (i = 0; i < f->nchildren; i++)
		if (f->children[i].ch_pid == pid)
			return &f->children[i];
	return NULL;
}

struct child *
child_next(struct forkd *f, struct child *ch)
{
	size_t i = ch == NULL ? 0 : (size_t)(ch - f->children) + 1;

	return i < f->nchildren ? &f->children[i] : NULL;
}

struct child *
child_next_of(struct forkd *f, const struct servtab *sep, struct child *ch)
{
	while ((ch = child_next(f, ch)) != NULL)
		if (ch->ch_sep == sep)
			return ch;
	return NULL;
}

void
child_remove(struct forkd *f, struct child *ch)
{
	*ch = f->children[--f->nchildren];
}

void
child_move(struct forkd *f, const struct servtab *from, struct servtab *to)
{
	struct child *ch = NULL;

	while ((ch = child_next_of(f, from, ch)) != NULL)
		ch->ch_sep = to;
}

void
child_signal(struct forkd *f, const struct servtab *sep, int sig)
{
	struct child *ch = NULL;

	while ((ch = child_next(f, ch)) != NULL)
		if (sep == NULL || ch->ch_sep == sep)
			kill(ch->ch_pid, sig);
}

void
child_signal_listeners(struct forkd *f, int sig)
{
	struct child *ch = NULL;

	while ((ch = child_next(f, ch)) != NULL)
		if (ch->ch_listener)
			kill(ch->ch_pid, sig);
}

int
child_kill_excess(struct forkd *f, const struct servtab *sep, int keep,
    int sig)
{
	struct child *ch = NULL;
	int n = 0;

	while ((ch = child_next_of(f, sep, ch)) != NULL)
		if (keep > 0)
			keep--;
		else if (kill(ch->ch_pid, sig) == 0)
			n++;
	return n;
}

int
child_holds_listener(struct forkd *f, const struct servtab *sep)
{
	struct child *ch = NULL;

	while ((ch = child_next_of(f, sep, ch)) != NULL)
		if (ch->ch_listener)
			return 1;
	return 0;
}
