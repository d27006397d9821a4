/*
 * mailbox: delivery into the spool directory, with group commit.
 *
 * Every smtpd process of a pool delivers into the same spool. The promise
 * is RFC 5321 4.1.1.4's and smtpd(8) STANDARDS': no 250 before the
 * message and the numbering state are on disk; numbers 1, 2, 3, ... with
 * no gap and no repeat across every process; a backup mailbox.FIRST-LAST
 * after every -b messages, exact; nothing partial, ever.
 *
 * An fsync costs far more than an append, so deliveries share them, as a
 * database log's group commit does, across processes. The file smtpd.lock
 * holds two locks and the spool's state, two fixed-width text lines:
 *
 *   committed NUMBER LENGTH EPOCH ERROR   what is on disk: the last
 *                                         message and mailbox's length
 *   appended NUMBER LENGTH EPOCH BOOT     what has been written: the last
 *                                         message and mailbox's length
 *
 * The append lock is an flock(2) of smtpd.lock (the assignment's monitor); the
 * sync lock an OFD lock (fcntl(2) F_OFD_SETLKW) on its first byte; they
 * are taken in the order sync, then append. The appended line is read and
 * written only under the append lock, the committed line only under the
 * sync lock. A delivery
 *
 *   1. under the append lock writes its record at the appended LENGTH,
 *      takes the next number, updates the appended line, lets go at once
 *      (a page-cache write: microseconds);
 *   2. waits for a commit that covers its number, then replies 250.
 *      When no one holds the sync lock it takes it and is the leader:
 *      it notes the appended line (under the append lock for a moment),
 *      fdatasync(2)s mailbox, writes that as the committed line,
 *      fdatasync(2)s smtpd.lock, and lets go; every delivery appended up
 *      to then is covered by this one pair of syncs. Those appended
 *      during the syncs make the next group. When others are at work,
 *      a leader first waits a moment so that deliveries whose data is
 *      arriving join its group (the commit delay, mbox_commit.c). The
 *      waiting is on a shared page (mbox_hint.c): the leader shows each
 *      commit there once it is on disk and wakes the waiters with a
 *      futex(2) when it lets go; without the page, or after a rollback,
 *      a delivery reads the committed line under a shared hold of the
 *      sync lock.
 *
 * A failed sync rolls back (mbox_rollback): mailbox is cut to the
 * committed length, the appended line set back to the committed one, and
 * EPOCH counted up, so every delivery of the failed group (whose EPOCH is
 * then stale) replies 452 or 451 and nothing of it stays. A write error in
 * step 1 cuts mailbox back to where the record began.
 *
 * Crashes. Bytes past the appended LENGTH can only be the rest of a
 * record whose writer was killed in step 1 (it held the append lock and
 * had not yet updated the line): the next appender cuts them. Records
 * between the committed and the appended LENGTH are whole messages,
 * each fully received, sitting in the page cache: while the machine
 * runs they are committed by the next leader, also when their own
 * process was killed before its 250 (between steps 1 and 2, inside 2,
 * or between the sync and the reply). Such a message is delivered and
 * numbered though its client saw the connection close without a reply:
 * that is the lost reply of RFC 5321 4.1.1.4 and 6.1 that every MTA has
 * (the client sends it again; a duplicate, never a loss), and the only
 * choice that keeps numbers contiguous, since later records may already
 * have their 250. After a restart of the machine the page cache is gone,
 * so the appended line is trusted only when its BOOT is this boot's
 * (/proc/sys/kernel/random/boot_id); otherwise mbox_open() cuts mailbox
 * to the committed LENGTH: no byte past it was ever answered with 250.
 *
 * Backups: a group of -b is closed by the leader that commits its last
 * message; it keeps the append lock through the commit, renames mailbox
 * to mailbox.FIRST-LAST, renames the spare .mailbox.next (made earlier
 * with no lock held) to mailbox, makes the names durable, sets both
 * lengths to 0, so no record of the next group reaches the old file. An
 * appender that finds a group closed but not yet backed up commits and
 * backs it up first, so a backup missed by a killed leader is made by
 * the next.
 *
 * Everything after mbox_open() works on the spool's O_DIRECTORY fd with
 * the *at() calls, so it runs inside the seccomp profile.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"
#include "smtpd.h"

static int	mbox_append(struct smtpd *sd, const struct smtpd_msg *m,
		    long long *number, unsigned long *epoch, long long *unbacked);
static int	mbox_covered(struct smtpd *sd, long long number,
		    unsigned long epoch, long long *unbacked);
static int	mbox_lead(struct smtpd *sd, long long number,
		    unsigned long epoch, long long *unbacked);
static int	mbox_verdict(int r, const struct mbox_state *cs,
		    long long number, unsigned long epoch);

/*
 * 1. Append the record under the append lock. Returns 0 with *number
 * and *epoch set, or -1 with errno; nothing partial stays. A closed
 * group not yet backed up (its leader was killed, or is about to do it)
 * is committed and backed up first, so no record of the next group goes
 * into its file. Appenders may close another group meanwhile: look
 * again. A backup that cannot be made is logged, and delivery goes on.
 */
static int
mbox_append(struct smtpd *sd, const struct smtpd_msg *m, long long *numberp,
    unsigned long *epoch, long long *unbacked)
{
	struct mbox_state as;
	char *head = NULL;
	size_t headlen, split = 0;
	off_t at, len;
	long long number;
	int fd = -1, e, r;

	if ((headlen = mbox_header(sd, m, &head, &split)) == 0) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (mbox_lock(sd->sd_lockfd) == -1)
			goto out;
		if (mbox_read(sd->sd_lockfd, MBOX_APPENDED, &as) != 0) {
			errno = EINVAL;
			log_warn("spool state " MBOX_LOCK);
			goto fail;
		}
		if ((fd = mbox_tidy(sd, &as)) == -1)
			goto fail;
		if (!mbox_due(sd, &as) || as.st_number == *unbacked)
			break;
		/* A closed group not yet backed up: see above. */
		close(fd);
		fd = -1;
		mbox_unlock(sd->sd_lockfd);
		if (mbox_sync_lock(sd->sd_lockfd, F_WRLCK) == -1)
			goto out;
		r = mbox_commit(sd, unbacked);
		e = errno;
		mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
		mbox_hint_release(sd);
		if (r == -1) {
			errno = e;
			goto out;
		}
	}
	at = as.st_length;
	number = as.st_number + 1;
	if ((len = mbox_record(fd, at, head, headlen, split, m,
	    number)) == -1)
		goto undo;
	as.st_number = number;
	as.st_length = at + len;
	if (mbox_write(sd->sd_lockfd, MBOX_APPENDED, &as) == -1)
		goto undo;
	*numberp = number;
	*epoch = as.st_epoch;
	mbox_unlock(sd->sd_lockfd);
	close(fd);
	free(head);
	return 0;

undo:
	/* Nothing partial stays: back to the length before the message. */
	e = errno;
	if (ftruncate(fd, at) == -1)
		log_warn("mailbox: cannot cut back to %lld", (long long)at);
	errno = e;
fail:
	e = errno;
	mbox_unlock(sd->sd_lockfd);
	if (fd != -1)
		close(fd);
	errno = e;
out:
	e = errno;
	free(head);
	errno = e;
	return -1;
}

/*
 * The verdict of the committed line cs (r: mbox_read()'s return) on
 * delivery number of epoch: 0 when it is on disk, else -1 with errno
 * (the group's error when it was rolled back).
 */
static int
mbox_verdict(int r, const struct mbox_state *cs, long long number,
    unsigned long epoch)
{
	if (r != 0) {
		errno = EINVAL;
		log_warn("spool state " MBOX_LOCK);
		errno = EIO;
		return -1;
	}
	if (cs->st_epoch != epoch || cs->st_number < number ||
	    cs->st_pending) {
		/* Rolled back with the rest of its group. */
		errno = cs->st_error != 0 ? cs->st_error : EIO;
		return -1;
	}
	return 0;
}

/*
 * With the sync lock held exclusively: look at the committed line, and
 * lead a commit when it does not cover number yet. Lets go of the lock.
 */
static int
mbox_lead(struct smtpd *sd, long long number, unsigned long epoch,
    long long *unbacked)
{
	struct mbox_state cs;
	int e, r;

	r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs);
	if (r == 0 && cs.st_epoch == epoch && (cs.st_number < number ||
	    cs.st_pending)) {
		mbox_commit_delay(sd);
		if (mbox_commit(sd, unbacked) == -1) {
			e = errno;
			mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
			mbox_hint_release(sd);
			errno = e;
			return -1;
		}
		r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs);
	}
	mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
	mbox_hint_release(sd);
	return mbox_verdict(r, &cs, number, epoch);
}

/*
 * 2. Covered by a commit, this one's own or its leader's. The shared
 * page (mbox_hint.c) shows the last commit: covered, answer; not yet
 * and no leader, lead; a leader at work, sleep until it lets go.
 * Without the page, or in another epoch there (a rollback), the state
 * line decides: a shared hold of the sync lock is enough to look, and
 * only a delivery not covered yet takes it exclusively, and looks
 * again. Returns 0, or -1 with errno (the group's error when it was
 * rolled back).
 */
static int
mbox_covered(struct smtpd *sd, long long number, unsigned long epoch,
    long long *unbacked)
{
	struct mbox_state cs;
	uint32_t ticket;
	int r;

	while (sd->sd_hint != NULL &&
	    (r = mbox_hint_look(sd, number, epoch, &ticket)) != -1) {
		if (r == 1)
			return 0;
		if (mbox_sync_trylock(sd->sd_lockfd) == 0)
			return mbox_lead(sd, number, epoch, unbacked);
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		mbox_hint_wait(sd, ticket);
	}
	if (mbox_sync_lock(sd->sd_lockfd, F_RDLCK) == -1)
		return -1;
	r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs);
	if (r == 0 && cs.st_epoch == epoch && (cs.st_number < number ||
	    cs.st_pending)) {
		mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
		if (mbox_sync_lock(sd->sd_lockfd, F_WRLCK) == -1)
			return -1;
		return mbox_lead(sd, number, epoch, unbacked);
	}
	/* Its hold made a waiter's try fail: wake it to try again. */
	mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
	mbox_hint_release(sd);
	return mbox_verdict(r, &cs, number, epoch);
}

long long
mbox_deliver(struct smtpd *sd, const struct smtpd_msg *m)
{
	long long number, unbacked = 0;
	unsigned long epoch;

	if (mbox_append(sd, m, &number, &epoch, &unbacked) == -1)
		return -1;
	mbox_test_crash(sd, SMTPD_CRASH_APPENDED);
	if (mbox_covered(sd, number, epoch, &unbacked) == -1)
		return -1;
	mbox_test_crash(sd, SMTPD_CRASH_COMMITTED);
	if (sd->sd_spare)
		mbox_spare(sd);
	return number;
}
