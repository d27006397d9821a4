/*
 * mbox_state: smtpd.lock, which carries the spool's two locks and its
 * state, two fixed-width text lines (mailbox.c says what each means).
 */
#include <sys/file.h>
#include <sys/uio.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mbox.h"

static int	mbox_ofd(int fd, int cmd, int type);

/* The append lock: the assignment's monitor, an flock(2) of smtpd.lock. */
int
mbox_lock(int fd)
{
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

void
mbox_unlock(int fd)
{
	flock(fd, LOCK_UN);
}

/* One fcntl(2) OFD lock command cmd of type on byte 0 of fd. */
static int
mbox_ofd(int fd, int cmd, int type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	while (fcntl(fd, cmd, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * The sync lock: an OFD lock on byte 0 of smtpd.lock (F_WRLCK, F_RDLCK
 * or F_UNLCK).
 * On a local file system OFD locks and flock(2) locks do not interact,
 * so one file carries both; its owner is the open file, so it goes away
 * with a killed process as the flock does.
 */
int
mbox_sync_lock(int fd, int type)
{
	return mbox_ofd(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW,
	    type);
}

/* The sync lock exclusively, if no one holds it: 0, or -1 with EAGAIN. */
int
mbox_sync_trylock(int fd)
{
	return mbox_ofd(fd, F_OFD_SETLK, F_WRLCK);
}

/*
 * One state line. Returns 0; 1 when the file is empty (a new spool) or
 * holds the earlier one-line state, which then fills *st; -1 with errno
 * EINVAL when the line is not one smtpd wrote.
 */
int
mbox_read(int fd, enum mbox_line which, struct mbox_state *st)
{
	char buf[MBOX_LINE + 1], word[16], boot[MBOX_BOOT_LEN + 2];
	ssize_t n;
	int r;

	memset(st, 0, sizeof(*st));
	if ((n = pread(fd, buf, MBOX_LINE,
	    which == MBOX_COMMITTED ? 0 : MBOX_LINE)) == -1)
		return -1;
	buf[n] = '\0';
	if (which == MBOX_COMMITTED && n == 0)
		return 1;
	if (which == MBOX_COMMITTED && n == MBOX_OLD_LEN &&
	    isdigit((unsigned char)buf[0])) {
		if (sscanf(buf, "%lld %lld", &st->st_number,
		    &st->st_length) != 2 || st->st_number < 0 ||
		    st->st_length < 0)
			goto bad;
		return 1;
	}
	if (n != MBOX_LINE || buf[MBOX_LINE - 1] != '\n')
		goto bad;
	if (which == MBOX_COMMITTED)
		r = sscanf(buf, "%15s %lld %lld %lu %d %d", word,
		    &st->st_number, &st->st_length, &st->st_epoch,
		    &st->st_error, &st->st_pending) == 6 &&
		    strcmp(word, "committed") == 0;
	else
		r = sscanf(buf, "%15s %lld %lld %lu %37s", word,
		    &st->st_number, &st->st_length, &st->st_epoch,
		    boot) == 5 && strcmp(word, "appended") == 0 &&
		    strlen(boot) == MBOX_BOOT_LEN;
	if (!r || st->st_number < 0 || st->st_length < 0)
		goto bad;
	if (which == MBOX_APPENDED)
		memcpy(st->st_boot, boot, sizeof(st->st_boot));
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * Each line has a fixed width and is rewritten in place, so no write of
 * the state needs a new block: it works on a full file system too. The
 * caller syncs.
 */
int
mbox_write(int fd, enum mbox_line which, const struct mbox_state *st)
{
	char buf[MBOX_LINE + 1];
	int n;

	if (which == MBOX_COMMITTED)
		n = snprintf(buf, sizeof(buf), "committed %020lld %020lld "
		    "%010lu %d %d", st->st_number, st->st_length, st->st_epoch,
		    st->st_error, st->st_pending);
	else
		n = snprintf(buf, sizeof(buf), "appended %020lld %020lld "
		    "%010lu %s", st->st_number, st->st_length, st->st_epoch,
		    st->st_boot);
	if (n < 0 || n >= MBOX_LINE) {
		errno = EINVAL;
		return -1;
	}
	memset(buf + n, ' ', MBOX_LINE - 1 - n);
	buf[MBOX_LINE - 1] = '\n';
	return mbox_pwrite(fd, buf, MBOX_LINE,
	    which == MBOX_COMMITTED ? 0 : MBOX_LINE);
}

int
mbox_pwrite(int fd, const char *buf, size_t len, off_t off)
{
	struct iovec iov;

	iov.iov_base = (char *)buf;
	iov.iov_len = len;
	return mbox_pwritev(fd, &iov, 1, off);
}

/* All of iov at off, one system call in the common case. */
int
mbox_pwritev(int fd, struct iovec *iov, int n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwritev(fd, iov, n, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		off += w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}
