/*
 * mbox.h: what the files of delivery share. mailbox.c says how they
 * work together (the group commit, crashes, backups); each file is one
 * part of it:
 *
 * mailbox.c      delivery: append, then wait for a commit
 * mbox_state.c   smtpd.lock: its two locks and two state lines
 * mbox_record.c  a record: the header lines smtpd writes, the write;
 *                the mailbox file opened and cut to its appended length
 * mbox_commit.c  the leader's group commit, and its rollback
 * mbox_backup.c  the backup mailbox.FIRST-LAST every -b messages
 * mbox_open.c    start-up: a new spool's state, a restarted machine's cut
 * mbox_hint.c    the last commit on a shared page, and the futex(2)
 *                waiters sleep on
 * mbox_test.c    the test-only crash points (SMTPD_TEST_CRASH)
 */
#ifndef MBOX_H
#define MBOX_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stdint.h>

#include "smtpd.h"

#define MBOX_FILE	"mailbox"
#define MBOX_LOCK	"smtpd.lock"
#define MBOX_SPARE	".mailbox.next"	/* the next backup's new mailbox */
#define MBOX_LINE	128	/* bytes of each state line, '\n' included */
#define MBOX_OLD_LEN	42	/* the earlier "%020lld %020lld\n" */
#define MBOX_BOOT_LEN	36	/* a boot_id UUID */

/* One state line of smtpd.lock, as mbox_read() parses it. */
struct mbox_state {
	long long	st_number;	/* last message */
	long long	st_length;	/* length of mailbox after it, bytes */
	unsigned long	st_epoch;	/* rollbacks so far */
	int		st_error;	/* committed: errno of the last one */
	int		st_pending;	/* committed: written, not yet synced */
	char		st_boot[MBOX_BOOT_LEN + 1];	/* appended only */
};

enum mbox_line {
	MBOX_COMMITTED,
	MBOX_APPENDED,
};

/*
 * mbox_state.c. The append lock (flock(2) of smtpd.lock) and the sync
 * lock (an OFD lock of its byte 0, type F_WRLCK, F_RDLCK or F_UNLCK):
 * 0, or -1 with errno. mbox_read() parses one state line: 0; 1 for an
 * empty file or the earlier one-line state; -1 with errno EINVAL for a
 * line smtpd did not write. mbox_write() rewrites one in place (the
 * caller syncs). mbox_pwritev() writes all of iov (n of them, which it
 * changes) at off, one system call in the common case, and
 * mbox_pwrite() all of buf: 0, or -1 with errno.
 */
int	mbox_lock(int fd);
void	mbox_unlock(int fd);
int	mbox_sync_lock(int fd, int type);
int	mbox_sync_trylock(int fd);
int	mbox_read(int fd, enum mbox_line which, struct mbox_state *st);
int	mbox_write(int fd, enum mbox_line which, const struct mbox_state *st);
int	mbox_pwrite(int fd, const char *buf, size_t len, off_t off);
int	mbox_pwritev(int fd, struct iovec *iov, int n, off_t off);

/*
 * mbox_record.c. mbox_header() builds the lines before the body, all
 * but the number, which goes in at *split: returns the length in bytes
 * of *out (malloc'ed), 0 on ENOMEM. mbox_record() writes the record
 * numbered number at offset at of fd: its length in bytes, or -1 with
 * errno.
 */
size_t	mbox_header(const struct smtpd *sd, const struct smtpd_msg *m,
	    char **out, size_t *split);
off_t	mbox_record(int fd, off_t at, char *head, size_t headlen,
	    size_t split, const struct smtpd_msg *m, long long number);

/*
 * mbox_record.c. Under the append lock: mbox_file() opens mailbox for
 * writing (creating it durably); mbox_tidy() opens it and makes it end
 * at ap's length. Each returns the fd, or -1 with errno.
 */
int	mbox_file(struct smtpd *sd);
int	mbox_tidy(struct smtpd *sd, struct mbox_state *ap);

/*
 * mbox_commit.c. The leader's work, under the sync lock: commit all
 * appended so far, back up a closed group; *unbacked is the last number
 * of a group whose backup failed, else 0. Returns 0, or -1 with errno
 * after rolling the group back.
 */
int	mbox_commit(struct smtpd *sd, long long *unbacked);

/*
 * mbox_commit.c. By a delivery about to lead, holding the sync lock:
 * wait a moment when other deliveries are at work, so they join its
 * group (the commit delay).
 */
void	mbox_commit_delay(struct smtpd *sd);

/*
 * mbox_backup.c. mbox_due(): does ap end a group of -b still in mailbox?
 * mbox_spare() makes the spare mailbox, with no lock held.
 * mbox_backup(), under both locks with all committed: rename mailbox to
 * its backup and start an empty one; 0, or -1 after logging why.
 */
int	mbox_due(const struct smtpd *sd, const struct mbox_state *ap);
void	mbox_spare(struct smtpd *sd);
int	mbox_backup(struct smtpd *sd, struct mbox_state *cp,
	    struct mbox_state *ap);

/*
 * mbox_hint.c. mbox_hint_open() maps the shared page, .smtpd.hint of
 * the spool, into sd->sd_hint: 0, or -1 with errno (smtpd then works
 * without it). mbox_hint_publish(), by a leader holding the sync lock
 * once cs is on disk, shows cs; mbox_hint_release(), by a leader that
 * has just let go of the sync lock, wakes every waiter.
 * mbox_hint_look(): 1 when the page shows number committed in epoch, 0
 * when not (yet), -1 when it shows another epoch (the state line says
 * why); *ticket is what to pass to mbox_hint_wait(), which sleeps until
 * the next release, a few milliseconds at most. mbox_hint_group(), by a
 * leader, notes how many deliveries its commit covered;
 * mbox_hint_last_group() reads it back (0 without the page).
 */
int	mbox_hint_open(struct smtpd *sd);
void	mbox_hint_publish(struct smtpd *sd, const struct mbox_state *cs);
void	mbox_hint_release(struct smtpd *sd);
void	mbox_hint_group(struct smtpd *sd, long long n);
long long mbox_hint_last_group(struct smtpd *sd);
int	mbox_hint_look(struct smtpd *sd, long long number,
	    unsigned long epoch, uint32_t *ticket);
void	mbox_hint_wait(struct smtpd *sd, uint32_t ticket);

/*
 * mbox_test.c. Test only: read SMTPD_TEST_CRASH; SIGKILL this process
 * at crash point (SMTPD_CRASH_*) with the chance it sets.
 */
void	mbox_test_setup(struct smtpd *sd);
void	mbox_test_crash(const struct smtpd *sd, int point);

#endif
