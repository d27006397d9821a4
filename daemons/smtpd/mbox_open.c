/*
 * mbox_open: the spool at start-up. The first process writes the state
 * of a new spool (recovered from the spool's files), and after a restart
 * of the machine cuts from mailbox what was never committed (mailbox.c:
 * Crashes).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"

static int	mbox_recover(struct smtpd *sd, struct mbox_state *st);
static int	mbox_boot(char *boot);
static int	mbox_cut(struct smtpd *sd, off_t length);

/*
 * A spool without state (first start, a removed smtpd.lock, or a spool
 * another server of the assignment wrote): continue after the highest
 * number of the spool, and take mailbox as committed as it is.
 *
 * Numbers come from the backups' names mailbox.FIRST-LAST, which only
 * smtpd makes, and from the records of mailbox, never from a message's
 * text. A record's number is the line "Number: N" right after a line
 * "Received: ... (CS4410MP3)...", and the records' numbers form a chain:
 * the first record of the file (a body never comes before its header)
 * gives the first number, and every later one counts only when it is the
 * one after the last counted. A forged pair inside a body, which smtpd
 * quotes on the way in anyway but which an older server let through,
 * thus cannot make the numbering jump, nor make it repeat.
 */
static int
mbox_recover(struct smtpd *sd, struct mbox_state *st)
{
	struct stat sb;
	struct dirent *de;
	DIR *dir;
	FILE *fp;
	char *line = NULL, tail;
	size_t cap = 0;
	long long first, last, n, chain = 0;
	int dfd, fd, prev_received = 0;

	memset(st, 0, sizeof(*st));
	if ((dfd = dup(sd->sd_spoolfd)) == -1)
		return -1;
	if ((dir = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (sscanf(de->d_name, "mailbox.%lld-%lld%c", &first, &last,
		    &tail) == 2 && last > st->st_number)
			st->st_number = last;
	}
	closedir(dir);

	fd = openat(sd->sd_spoolfd, MBOX_FILE, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) == -1 || (fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	st->st_length = sb.st_size;
	while (getline(&line, &cap, fp) != -1) {
		if (prev_received && sscanf(line, "Number: %lld%c", &n,
		    &tail) == 2 && tail == '\n' && n > 0 &&
		    (chain == 0 || n == chain + 1))
			chain = n;
		prev_received = strncmp(line, "Received: ", 10) == 0 &&
		    strstr(line, " (CS4410MP3)") != NULL;
	}
	free(line);
	fclose(fp);
	if (chain > st->st_number)
		st->st_number = chain;
	return 0;
}

/* This boot's id: the appended line is only good within one boot. */
static int
mbox_boot(char *boot)
{
	ssize_t n;
	int fd;

	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, boot, MBOX_BOOT_LEN);
	close(fd);
	if (n != MBOX_BOOT_LEN) {
		errno = EINVAL;
		return -1;
	}
	boot[MBOX_BOOT_LEN] = '\0';
	return 0;
}

/*
 * After a restart, cut the mailbox back to length (bytes), the end of
 * the last committed record. Returns 0, or -1 with errno when it could
 * not be cut or synced; a mailbox that cannot be opened is left alone.
 */
static int
mbox_cut(struct smtpd *sd, off_t length)
{
	struct stat sb;
	int fd, r = 0;

	fd = openat(sd->sd_spoolfd, MBOX_FILE, O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd != -1 && fstat(fd, &sb) == 0 && sb.st_size > length) {
		log_warnx("mailbox: restarted: cutting %lld bytes "
		    "never committed", (long long)(sb.st_size - length));
		if (ftruncate(fd, length) == -1 || fdatasync(fd) == -1)
			r = -1;
	}
	if (fd != -1)
		close(fd);
	return r;
}

int
mbox_open(struct smtpd *sd)
{
	struct mbox_state cs, as;
	char boot[MBOX_BOOT_LEN + 1];
	int r, e, fresh = 0;

	mbox_test_setup(sd);
	if (mbox_boot(boot) == -1)
		return -1;
	sd->sd_spoolfd = open(sd->sd_spool, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (sd->sd_spoolfd == -1)
		return -1;
	sd->sd_lockfd = openat(sd->sd_spoolfd, MBOX_LOCK, O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sd->sd_lockfd == -1)
		return -1;
	/* The first process to start writes the state, under both locks. */
	if (mbox_sync_lock(sd->sd_lockfd, F_WRLCK) == -1)
		return -1;
	if (mbox_lock(sd->sd_lockfd) == -1) {
		r = -1;
		goto out;
	}
	if ((r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs)) == 1) {
		if (cs.st_number == 0 && cs.st_length == 0 &&
		    mbox_recover(sd, &cs) == -1) {
			r = -1;
			goto out;
		}
		as = cs;
		memcpy(as.st_boot, boot, sizeof(as.st_boot));
		log_info("spool %s: new state, next message %lld",
		    sd->sd_spool, cs.st_number + 1);
	} else if (r == 0 &&
	    mbox_read(sd->sd_lockfd, MBOX_APPENDED, &as) == 0 &&
	    strcmp(as.st_boot, boot) == 0)
		goto out;	/* a running spool */
	else if (r == 0) {
		/*
		 * The machine restarted since the last delivery (or the
		 * appended line is not whole, which only a restart leaves):
		 * what was appended but not committed may be half on disk,
		 * and none of it was answered with 250.
		 */
		if (mbox_cut(sd, cs.st_length) == -1)
			r = -1;
		/*
		 * A pending committed line on disk was written after
		 * mailbox's sync: its numbers are whole in mailbox.
		 */
		cs.st_pending = 0;
		as = cs;
		as.st_error = 0;
		memcpy(as.st_boot, boot, sizeof(as.st_boot));
	}
	if (r != -1 && (mbox_write(sd->sd_lockfd, MBOX_COMMITTED, &cs) == -1 ||
	    mbox_write(sd->sd_lockfd, MBOX_APPENDED, &as) == -1 ||
	    fdatasync(sd->sd_lockfd) == -1))
		r = -1;
	else if (r != -1)
		fresh = 1;
out:
	e = errno;
	/* The shared page: set to the new state, or as the others left it. */
	if (r != -1 && mbox_hint_open(sd) == -1)
		log_warn("spool state " MBOX_LOCK ": shared page");
	else if (r != -1 && fresh)
		mbox_hint_publish(sd, &cs);
	mbox_unlock(sd->sd_lockfd);
	mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
	mbox_hint_release(sd);
	if (r != -1 && sd->sd_backup > 0)
		mbox_spare(sd);
	errno = e;
	return r == -1 ? -1 : 0;
}
