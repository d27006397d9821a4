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
 *   2. under the sync lock reads the committed line: if it covers its
 *      number, the record is on disk and it replies 250. If not, it is
 *      the leader: it notes the appended line (under the append lock for
 *      a moment), fdatasync(2)s mailbox, writes that as the committed line,
 *      fdatasync(2)s smtpd.lock, and lets go; every delivery appended up to
 *      then is covered by this one pair of syncs, and the deliveries that
 *      waited for the sync lock find themselves covered in turn. Those
 *      appended during the syncs make the next group.
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
 * lengths to 0, so no record of the next group reaches the old file. An appender
 * that finds a group closed but not yet backed up commits and backs it
 * up first, so a backup missed by a killed leader is made by the next.
 *
 * Everything after mbox_open() works on the spool's O_DIRECTORY fd with
 * the *at() calls, so it runs inside the seccomp profile.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"

#define MBOX_FILE	"mailbox"
#define MBOX_LOCK	"smtpd.lock"
#define MBOX_SPARE	".mailbox.next"	/* the next backup's new mailbox */
#define MBOX_LINE	128	/* bytes of each state line, '\n' included */
#define MBOX_OLD_LEN	42	/* the earlier "%020lld %020lld\n" */
#define MBOX_BOOT_LEN	36	/* a boot_id UUID */

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

static int	mbox_lock(int fd);
static void	mbox_unlock(int fd);
static int	mbox_sync_lock(int fd, int type);
static int	mbox_read(int fd, enum mbox_line which, struct mbox_state *st);
static int	mbox_write(int fd, enum mbox_line which,
		    const struct mbox_state *st);
static int	mbox_recover(struct smtpd *sd, struct mbox_state *st);
static int	mbox_pwrite(int fd, const char *buf, size_t len, off_t off);
static int	mbox_pwritev(int fd, struct iovec *iov, int n, off_t off);
static size_t	mbox_header(const struct smtpd *sd, const struct smtpd_msg *m,
		    char **out, size_t *split);
static int	mbox_file(struct smtpd *sd);
static void	mbox_spare(struct smtpd *sd);
static int	mbox_tidy(struct smtpd *sd, struct mbox_state *ap);
static int	mbox_due(const struct smtpd *sd, const struct mbox_state *ap);
static int	mbox_backup(struct smtpd *sd, struct mbox_state *cp,
		    struct mbox_state *ap);
static int	mbox_commit(struct smtpd *sd, long long *unbacked);
static off_t	mbox_record(int fd, off_t at, char *head, size_t headlen,
		    size_t split, const struct smtpd_msg *m, long long number);
static int	mbox_append(struct smtpd *sd, const struct smtpd_msg *m,
		    long long *number, unsigned long *epoch, long long *unbacked);
static int	mbox_covered(struct smtpd *sd, long long number,
		    unsigned long epoch, long long *unbacked);
static void	mbox_rollback(struct smtpd *sd, int fd, int e,
		    const struct mbox_state *orig, const struct mbox_state *ap);
static int	mbox_boot(char *boot);
static int	mbox_cut(struct smtpd *sd, off_t length);
static void	mbox_test_setup(struct smtpd *sd);
static void	mbox_test_crash(const struct smtpd *sd, int point);

/* The append lock: the assignment's monitor, an flock(2) of smtpd.lock. */
static int
mbox_lock(int fd)
{
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

static void
mbox_unlock(int fd)
{
	flock(fd, LOCK_UN);
}

/*
 * The sync lock: an OFD lock on byte 0 of smtpd.lock (F_WRLCK, F_RDLCK
 * or F_UNLCK).
 * On a local file system OFD locks and flock(2) locks do not interact,
 * so one file carries both; its owner is the open file, so it goes away
 * with a killed process as the flock does.
 */
static int
mbox_sync_lock(int fd, int type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	while (fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW,
	    &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * One state line. Returns 0; 1 when the file is empty (a new spool) or
 * holds the earlier one-line state, which then fills *st; -1 with errno
 * EINVAL when the line is not one smtpd wrote.
 */
static int
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
static int
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
 * Test-only crash points (SMTPD_TEST_CRASH, see smtpd(8)): "appended",
 * "synced", "written" and "committed", a comma-separated list, then
 * ":PERMILLE".
 */
static void
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
static void
mbox_test_crash(const struct smtpd *sd, int point)
{
	if ((sd->sd_crash & (1 << point)) != 0 &&
	    random() % 1000 < sd->sd_crash_permille)
		raise(SIGKILL);
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
	int r, e;

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
out:
	e = errno;
	mbox_unlock(sd->sd_lockfd);
	mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
	if (r != -1 && sd->sd_backup > 0)
		mbox_spare(sd);
	errno = e;
	return r == -1 ? -1 : 0;
}

static int
mbox_pwrite(int fd, const char *buf, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, buf, len, off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* All of iov at off, one system call in the common case. */
static int
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

/* Does the body start with a header field (RFC 5322 2.2)? */
static int
mbox_has_header(const char *body, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (body[i] == ':')
			return i > 0;
		if (body[i] < 33 || body[i] > 126)
			return 0;
	}
	return 0;
}

/*
 * The client's address as RFC 5321 4.1.3 writes it in a Received line's
 * TCP-info: "[192.0.2.1]", "[IPv6:2001:db8::1]"; peer is "ip:port" or
 * "[ipv6]:port" (the client behind a PROXY header when there is one), or
 * "-" for a session on stdin.
 */
static const char *
mbox_literal(const char *peer, char *buf, size_t len)
{
	const char *end;

	if (peer == NULL || peer[0] == '-')
		return "unknown";
	if (peer[0] == '[' && (end = strchr(peer, ']')) != NULL)
		snprintf(buf, len, "[IPv6:%.*s]", (int)(end - peer - 1),
		    peer + 1);
	else if ((end = strrchr(peer, ':')) != NULL)
		snprintf(buf, len, "[%.*s]", (int)(end - peer), peer);
	else
		snprintf(buf, len, "[%s]", peer);
	return buf;
}

/*
 * The lines smtpd writes before the body. -F seed (smtpd(8) STANDARDS):
 *   Received: from HELO by NAME (CS4410MP3)
 * ("with ESMTPS" after it for mail that came inside TLS, RFC 3848)
 *   Number: N
 *   From: SENDER
 *   To: RCPT            (one a recipient)
 *   (blank line)
 * mboxrd: a "From " line, then Return-Path, Received (with the client's
 * address) and Number fields in front of the message's own header.
 * The number goes in at *split (after "Number: "), once it is known under
 * the append lock: everything else is built before, outside the lock.
 * Returns the length in bytes of *out (malloc'ed), 0 on ENOMEM.
 */
static size_t
mbox_header(const struct smtpd *sd, const struct smtpd_msg *m,
    char **out, size_t *split)
{
	char *buf = NULL, date[64], fromdate[64], lit[80];
	size_t len = 0, i;
	struct tm tm;
	time_t now;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return 0;
	if (sd->sd_format == SMTPD_FMT_SEED) {
		fprintf(fp, "Received: from %s by %s (CS4410MP3)%s\n"
		    "Number: ", m->m_helo, sd->sd_name,
		    m->m_tls ? " with ESMTPS" : "");
		*split = ftell(fp);
		fprintf(fp, "\nFrom: %s\n",
		    m->m_sender[0] != '\0' ? m->m_sender : "<>");
		for (i = 0; i < m->m_nrcpts; i++)
			fprintf(fp, "To: %s\n", m->m_rcpts[i]);
		fputc('\n', fp);
	} else {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(fromdate, sizeof(fromdate), "%a %b %e %H:%M:%S %Y",
		    &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
		    &tm);
		fprintf(fp, "From %s %s\nReturn-Path: <%s>\n"
		    "Received: from %s (%s) by %s (CS4410MP3)%s; %s\n"
		    "Number: ",
		    m->m_sender[0] != '\0' ? m->m_sender : "MAILER-DAEMON",
		    fromdate, m->m_sender, m->m_helo,
		    mbox_literal(m->m_peer, lit, sizeof(lit)), sd->sd_name,
		    m->m_tls ? " with ESMTPS" : "", date);
		*split = ftell(fp);
		fputc('\n', fp);
		/* A message without a header of its own: keep the body one. */
		if (!mbox_has_header(m->m_body, m->m_bodylen))
			fputc('\n', fp);
	}
	if (fclose(fp) == EOF) {
		free(buf);
		return 0;
	}
	*out = buf;
	return len;
}

/*
 * Open mailbox for writing, creating it when a backup (or nobody yet) has
 * made it; a new name is made durable with an fsync of the spool, so an
 * acknowledged message is never in a file that a crash forgets.
 */
static int
mbox_file(struct smtpd *sd)
{
	int fd;

	fd = openat(sd->sd_spoolfd, MBOX_FILE, O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd != -1 || errno != ENOENT)
		return fd;
	fd = openat(sd->sd_spoolfd, MBOX_FILE, O_WRONLY | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd != -1 && fsync(sd->sd_spoolfd) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Under the append lock: open mailbox and make it end where the appended
 * line says. Bytes past that are the rest of a record whose writer was
 * killed while it held the lock (it had not yet counted it): they are
 * cut. A shorter file was shortened by someone else (a mail reader):
 * append to it. Returns the mailbox fd, or -1 with errno.
 */
static int
mbox_tidy(struct smtpd *sd, struct mbox_state *ap)
{
	struct stat sb;
	int fd, e;

	if ((fd = mbox_file(sd)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (sb.st_size > ap->st_length) {
		log_warnx("mailbox: cutting %lld bytes of a killed delivery",
		    (long long)(sb.st_size - ap->st_length));
		if (ftruncate(fd, ap->st_length) == -1)
			goto fail;
	} else if (sb.st_size < ap->st_length) {
		ap->st_length = sb.st_size;
		if (mbox_write(sd->sd_lockfd, MBOX_APPENDED, ap) == -1)
			goto fail;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Does the appended line end a group of -b that is still in mailbox? */
static int
mbox_due(const struct smtpd *sd, const struct mbox_state *ap)
{
	return sd->sd_backup > 0 && ap->st_number > 0 &&
	    ap->st_length > 0 && ap->st_number % sd->sd_backup == 0;
}

/*
 * Make the spare mailbox the next backup takes, with no lock held; one
 * that exists already (another process made it) is as good.
 */
static void
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
static int
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

/*
 * Under both locks, after a failed sync (errno e): cut mailbox (fd) to
 * the committed length and set the appended line back to the committed
 * one, counting up EPOCH, so every delivery of the group replies 452 or
 * 451 and none of it stays. orig is the committed line as it was.
 */
static void
mbox_rollback(struct smtpd *sd, int fd, int e, const struct mbox_state *orig,
    const struct mbox_state *ap)
{
	struct mbox_state cs = *orig, as = *ap;
	struct stat sb;

	if (fstat(fd, &sb) == 0 && sb.st_size > cs.st_length &&
	    ftruncate(fd, cs.st_length) == -1)
		log_warn("mailbox: cannot cut back to %lld", cs.st_length);
	cs.st_epoch++;
	cs.st_error = e;
	cs.st_pending = 0;
	as.st_number = cs.st_number;
	as.st_length = cs.st_length;
	as.st_epoch = cs.st_epoch;
	if (mbox_write(sd->sd_lockfd, MBOX_COMMITTED, &cs) == -1 ||
	    mbox_write(sd->sd_lockfd, MBOX_APPENDED, &as) == -1 ||
	    fdatasync(sd->sd_lockfd) == -1)
		log_warn("spool state " MBOX_LOCK ": rollback");
	log_warnx("mailbox: messages %lld-%lld rolled back",
	    orig->st_number + 1, ap->st_number);
}

/*
 * The leader's work, under the sync lock: commit everything appended so
 * far with one fdatasync of mailbox and one of smtpd.lock, and make the
 * backup when the group of -b is closed; *unbacked is the last number of
 * a group whose backup could not be made, else 0. Returns 0, or -1 with
 * errno after a rollback.
 */
static int
mbox_commit(struct smtpd *sd, long long *unbacked)
{
	struct mbox_state cs, as, orig;
	int fd, backup, e;

	if (mbox_lock(sd->sd_lockfd) == -1)
		return -1;
	if (mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs) != 0 ||
	    mbox_read(sd->sd_lockfd, MBOX_APPENDED, &as) != 0) {
		errno = EINVAL;
		log_warn("spool state " MBOX_LOCK);
		mbox_unlock(sd->sd_lockfd);
		errno = EINVAL;
		return -1;
	}
	if ((fd = mbox_tidy(sd, &as)) == -1) {
		e = errno;
		mbox_unlock(sd->sd_lockfd);
		errno = e;
		return -1;
	}
	orig = cs;
	/* Others append during the syncs, except into a closed group. */
	if (!(backup = mbox_due(sd, &as)))
		mbox_unlock(sd->sd_lockfd);
	if (fdatasync(fd) == -1)
		goto rollback;
	mbox_test_crash(sd, SMTPD_CRASH_SYNCED);
	/*
	 * The committed line is marked pending until its sync returns:
	 * deliveries look at it in the page cache, and a leader killed
	 * between the write and the sync must not let them answer 250 for
	 * a state a restart of the machine could forget. A pending line
	 * is not taken as covering anything; the next leader syncs it.
	 */
	cs.st_number = as.st_number;
	cs.st_length = as.st_length;
	cs.st_pending = 1;
	if (mbox_write(sd->sd_lockfd, MBOX_COMMITTED, &cs) == -1)
		goto rollback;
	mbox_test_crash(sd, SMTPD_CRASH_WRITTEN);
	if (fdatasync(sd->sd_lockfd) == -1)
		goto rollback;
	cs.st_pending = 0;
	if (mbox_write(sd->sd_lockfd, MBOX_COMMITTED, &cs) == -1)
		goto rollback;
	*unbacked = 0;
	if (backup) {
		if (mbox_backup(sd, &cs, &as) == -1)
			*unbacked = as.st_number;
		mbox_unlock(sd->sd_lockfd);
	}
	close(fd);
	return 0;

rollback:
	e = errno;
	log_warn("mailbox: commit");
	if (!backup && mbox_lock(sd->sd_lockfd) == -1)
		log_warn("mailbox: lock for the rollback");
	/* The appended line as it is now: the whole group goes. */
	if (mbox_read(sd->sd_lockfd, MBOX_APPENDED, &as) != 0)
		log_warn("spool state " MBOX_LOCK);
	mbox_rollback(sd, fd, e, &orig, &as);
	mbox_unlock(sd->sd_lockfd);
	close(fd);
	errno = e;
	return -1;
}

/*
 * Write one record at offset at: the head with the message number at
 * split (bytes into head), the body, and the blank line that ends it.
 * Returns its length in bytes, or -1 with errno.
 */
static off_t
mbox_record(int fd, off_t at, char *head, size_t headlen, size_t split,
    const struct smtpd_msg *m, long long number)
{
	struct iovec iov[5];
	char num[24];

	iov[0].iov_base = head;
	iov[0].iov_len = split;
	iov[1].iov_base = num;
	iov[1].iov_len = snprintf(num, sizeof(num), "%lld", number);
	iov[2].iov_base = head + split;
	iov[2].iov_len = headlen - split;
	iov[3].iov_base = (void *)m->m_body;
	iov[3].iov_len = m->m_bodylen;
	iov[4].iov_base = (void *)"\n";
	iov[4].iov_len = 1;
	if (mbox_pwritev(fd, iov, 5, at) == -1)
		return -1;
	return headlen + iov[1].iov_len + m->m_bodylen + 1;
}

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
 * 2. Covered by a commit, this one's own or its leader's. A shared
 * hold of the sync lock is enough to look: the deliveries that waited
 * for a leader all look at once when it lets go, and only one not
 * covered yet takes it exclusively, and looks again. Returns 0, or -1
 * with errno (the group's error when it was rolled back).
 */
static int
mbox_covered(struct smtpd *sd, long long number, unsigned long epoch,
    long long *unbacked)
{
	struct mbox_state cs;
	int e, r;

	if (mbox_sync_lock(sd->sd_lockfd, F_RDLCK) == -1)
		return -1;
	r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs);
	if (r == 0 && cs.st_epoch == epoch && (cs.st_number < number ||
	    cs.st_pending)) {
		mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
		if (mbox_sync_lock(sd->sd_lockfd, F_WRLCK) == -1)
			return -1;
		r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs);
	}
	if (r == 0 && cs.st_epoch == epoch && (cs.st_number < number ||
	    cs.st_pending)) {
		if (mbox_commit(sd, unbacked) == -1) {
			e = errno;
			mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
			errno = e;
			return -1;
		}
		r = mbox_read(sd->sd_lockfd, MBOX_COMMITTED, &cs);
	}
	mbox_sync_lock(sd->sd_lockfd, F_UNLCK);
	if (r != 0) {
		errno = EINVAL;
		log_warn("spool state " MBOX_LOCK);
		errno = EIO;
		return -1;
	}
	if (cs.st_epoch != epoch || cs.st_number < number || cs.st_pending) {
		/* Rolled back with the rest of its group. */
		errno = cs.st_error != 0 ? cs.st_error : EIO;
		return -1;
	}
	return 0;
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
