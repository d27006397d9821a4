/*
 * mbox_backup: after every -b messages mailbox becomes mailbox.FIRST-LAST
 * and an empty mailbox takes its place (mailbox.c: Backups).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"

/* Does the appended line end a group of -b that is still in mailbox? */
int
mbox_due(const struct smtpd *sd, const struct mbox_state *ap)
{
	return sd->sd_backup > 0 && ap->st_number > 0 &&
	    ap->st_length > 0 && ap->st_number % sd->sd_backup == 0;
}

/*
 * Make the spare mailbox the next backup takes, with no lock held; one
 * that exists already (another process made it) is as good.
 */
void
mbox_spare(struct smtpd *sd)
{
	int fd;

	sd->sd_spare = 0;
	fd = openat(sd->sd_spoolfd, MBOX_SPARE, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd != -1)
		close(fd);
	else if (errno != EEXIST)
		log_warn(MBOX_SPARE);
}

/*
 * Under both locks, with everything in mailbox committed: rename it to
 * mailbox.FIRST-LAST and start an empty one. Both lengths become 0 only
 * once the rename is durable, or a restart could cut a backup's worth of
 * delivered mail from a mailbox that was never renamed.
 */
int
mbox_backup(struct smtpd *sd, struct mbox_state *cp, struct mbox_state *ap)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), MBOX_FILE ".%lld-%lld",
	    ap->st_number - (long long)sd->sd_backup + 1, ap->st_number);
	/* Never overwrite an older backup of the same name. */
	if (renameat2(sd->sd_spoolfd, MBOX_FILE, sd->sd_spoolfd, name,
	    RENAME_NOREPLACE) == -1) {
		log_warn("backup %s", name);
		return -1;
	}
	/*
	 * The new mailbox is the spare made ahead of time, outside the
	 * locks (mbox_spare): making an inode can take a file system long,
	 * and every delivery waits while a backup holds both locks. Without
	 * a spare, one is made here. (Bytes a spare should not hold are cut
	 * by the next append, as a killed delivery's are.)
	 */
	if (renameat2(sd->sd_spoolfd, MBOX_SPARE, sd->sd_spoolfd, MBOX_FILE,
	    RENAME_NOREPLACE) == 0) {
		sd->sd_spare = 1;
		if (fsync(sd->sd_spoolfd) == -1) {
			log_warn("backup %s: spool", name);
			return -1;
		}
	} else if ((fd = mbox_file(sd)) != -1)
		close(fd);
	else if (fsync(sd->sd_spoolfd) == -1) {
		log_warn("backup %s: spool", name);
		return -1;
	}
	cp->st_length = ap->st_length = 0;
	if (mbox_write(sd->sd_lockfd, MBOX_COMMITTED, cp) == -1 ||
	    mbox_write(sd->sd_lockfd, MBOX_APPENDED, ap) == -1 ||
	    fdatasync(sd->sd_lockfd) == -1) {
		log_warn("backup %s: state", name);
		return -1;
	}
	log_info("backup %s", name);
	return 0;
}
