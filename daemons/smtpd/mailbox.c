/*
 * mailbox: delivery into the spool directory (seed 003, "Mailbox Backup").
 *
 * Every smtpd process of a pool delivers into the same spool, so the
 * seed's monitor becomes an exclusive flock(2) on the file smtpd.lock in
 * the spool. That file also holds the spool's state, one fixed-width
 * record "NUMBER LENGTH\n": the number of the last message delivered and
 * the length of mailbox once it was committed. Under the lock a delivery
 *
 *   1. reads the state; bytes in mailbox beyond LENGTH were written by a
 *      delivery that died before it committed (and so before its 250):
 *      they are cut off, so no partial message ever stays;
 *   2. writes the message at LENGTH, fsync(2)s it;
 *   3. commits NUMBER+1 and the new LENGTH to the state, fsync(2)s it;
 *   4. after every -b messages renames mailbox to mailbox.FIRST-LAST and
 *      starts an empty one, still under the lock, so a concurrent delivery
 *      waits for the backup and then writes into the new file.
 *
 * Only then does the session reply 250. A write error truncates mailbox
 * back to LENGTH. Numbering continues from the state across restarts;
 * nothing delivered is ever erased.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"

#define MBOX_FILE	"mailbox"
#define MBOX_LOCK	"smtpd.lock"
#define MBOX_STATE_LEN	42	/* "%020lld %020lld\n" */

struct mbox_state {
	long long	st_number;	/* last message delivered */
	long long	st_length;	/* committed length of mailbox, bytes */
};

static int	mbox_lock(int fd);
static int	mbox_state_read(int fd, struct mbox_state *st);
static int	mbox_state_write(int fd, const struct mbox_state *st);
static int	mbox_recover(struct smtpd *sd, struct mbox_state *st);
static int	mbox_pwrite(int fd, const char *buf, size_t len, off_t off);
static size_t	mbox_header(const struct smtpd *sd, const struct smtpd_msg *m,
		    long long number, char **out);
static void	mbox_backup(struct smtpd *sd, struct mbox_state *st);
static int	mbox_file(struct smtpd *sd);

static int
mbox_lock(int fd)
{
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int
mbox_state_read(int fd, struct mbox_state *st)
{
	char buf[MBOX_STATE_LEN + 1];
	ssize_t n;

	if ((n = pread(fd, buf, MBOX_STATE_LEN, 0)) == -1)
		return -1;
	if (n == 0)
		return 1;		/* a new spool: no state yet */
	buf[n] = '\0';
	if (n != MBOX_STATE_LEN || sscanf(buf, "%lld %lld", &st->st_number,
	    &st->st_length) != 2 || st->st_number < 0 || st->st_length < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * The record has a fixed width and is rewritten in place, so committing a
 * delivery needs no new blocks: it works on a full file system too.
 */
static int
mbox_state_write(int fd, const struct mbox_state *st)
{
	char buf[MBOX_STATE_LEN + 1];

	snprintf(buf, sizeof(buf), "%020lld %020lld\n", st->st_number,
	    st->st_length);
	if (mbox_pwrite(fd, buf, MBOX_STATE_LEN, 0) == -1)
		return -1;
	return fsync(fd);
}

/*
 * A spool without state (first start, or a spool that an older smtpd or
 * the seed's server wrote): continue after the highest number found, in
 * the backups' names mailbox.FIRST-LAST and in the "Number: N" lines of
 * mailbox, and take mailbox as committed as it is.
 */
static int
mbox_recover(struct smtpd *sd, struct mbox_state *st)
{
	struct stat sb;
	struct dirent *de;
	DIR *dir;
	FILE *fp;
	char line[256];
	long long first, last;
	int dfd, fd, prev_received = 0;

	st->st_number = 0;
	st->st_length = 0;
	if ((dfd = dup(sd->sd_spoolfd)) == -1)
		return -1;
	if ((dir = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		char tail;

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
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (prev_received && sscanf(line, "Number: %lld", &last) == 1 &&
		    last > st->st_number)
			st->st_number = last;
		prev_received = strncmp(line, "Received: from ", 15) == 0;
	}
	fclose(fp);
	return 0;
}

int
mbox_open(struct smtpd *sd)
{
	struct mbox_state st;
	int r;

	sd->sd_spoolfd = open(sd->sd_spool, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (sd->sd_spoolfd == -1)
		return -1;
	sd->sd_lockfd = openat(sd->sd_spoolfd, MBOX_LOCK, O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sd->sd_lockfd == -1)
		return -1;
	/* The first process to start writes the state, under the lock. */
	if (mbox_lock(sd->sd_lockfd) == -1)
		return -1;
	if ((r = mbox_state_read(sd->sd_lockfd, &st)) == 1) {
		if (mbox_recover(sd, &st) == -1 ||
		    mbox_state_write(sd->sd_lockfd, &st) == -1)
			r = -1;
		else
			log_info("spool %s: new state, next message %lld",
			    sd->sd_spool, st.st_number + 1);
	}
	if (r == -1) {
		int e = errno;

		flock(sd->sd_lockfd, LOCK_UN);
		errno = e;
		return -1;
	}
	flock(sd->sd_lockfd, LOCK_UN);
	return 0;
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
 * The lines smtpd writes before the body. Seed format (seed 003):
 *   Received: from HELO by NAME (CS4410MP3)
 *   Number: N
 *   From: SENDER
 *   To: RCPT            (one a recipient)
 *   (blank line)
 * mboxrd: a "From " line, then Return-Path, Received (with the client's
 * address) and Number fields in front of the message's own header.
 * Returns the length in bytes of *out (malloc'ed), 0 on ENOMEM.
 */
static size_t
mbox_header(const struct smtpd *sd, const struct smtpd_msg *m,
    long long number, char **out)
{
	char *buf = NULL, date[64], fromdate[64], lit[80];
	size_t len = 0, i;
	struct tm tm;
	time_t now;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return 0;
	if (sd->sd_format == SMTPD_FMT_SEED) {
		fprintf(fp, "Received: from %s by %s (CS4410MP3)\n"
		    "Number: %lld\nFrom: %s\n", m->m_helo, sd->sd_name,
		    number, m->m_sender[0] != '\0' ? m->m_sender : "<>");
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
		    "Received: from %s (%s) by %s (CS4410MP3); %s\n"
		    "Number: %lld\n",
		    m->m_sender[0] != '\0' ? m->m_sender : "MAILER-DAEMON",
		    fromdate, m->m_sender, m->m_helo,
		    mbox_literal(m->m_peer, lit, sizeof(lit)), sd->sd_name,
		    date, number);
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

static void
mbox_backup(struct smtpd *sd, struct mbox_state *st)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), MBOX_FILE ".%lld-%lld",
	    st->st_number - (long long)sd->sd_backup + 1, st->st_number);
	/* Never overwrite an older backup of the same name. */
	if (renameat2(sd->sd_spoolfd, MBOX_FILE, sd->sd_spoolfd, name,
	    RENAME_NOREPLACE) == -1) {
		log_warn("backup %s", name);
		return;
	}
	/* The rename must be durable before the state says length 0. */
	if ((fd = mbox_file(sd)) != -1)
		close(fd);
	else
		fsync(sd->sd_spoolfd);
	st->st_length = 0;
	if (mbox_state_write(sd->sd_lockfd, st) == -1)
		log_warn("backup %s: state", name);
	else
		log_info("backup %s", name);
}

long long
mbox_deliver(struct smtpd *sd, const struct smtpd_msg *m)
{
	struct mbox_state st;
	struct stat sb;
	char *head = NULL;
	size_t headlen;
	off_t at;
	int fd = -1, e, r;

	if (mbox_lock(sd->sd_lockfd) == -1)
		return -1;
	if ((r = mbox_state_read(sd->sd_lockfd, &st)) != 0) {
		if (r == 1)
			errno = EINVAL;	/* the state vanished under us */
		log_warn("spool state " MBOX_LOCK);
		goto fail;
	}
	if ((fd = mbox_file(sd)) == -1 || fstat(fd, &sb) == -1)
		goto fail;
	if (sb.st_size > st.st_length) {
		/* Written by a delivery that died before its commit. */
		log_warnx("mailbox: cutting %lld uncommitted bytes",
		    (long long)(sb.st_size - st.st_length));
		if (ftruncate(fd, st.st_length) == -1)
			goto fail;
	} else if (sb.st_size < st.st_length) {
		/* Shortened by someone else (a mail reader): append to it. */
		st.st_length = sb.st_size;
	}
	/*
	 * The last delivery ended a group of sd_backup messages but died
	 * between its commit and the rename: make that backup now, so the
	 * group does not end up in the next one's under a wrong name.
	 */
	if (sd->sd_backup > 0 && st.st_number > 0 && st.st_length > 0 &&
	    st.st_number % sd->sd_backup == 0) {
		close(fd);
		mbox_backup(sd, &st);
		if ((fd = mbox_file(sd)) == -1 || fstat(fd, &sb) == -1)
			goto fail;
		if (sb.st_size < st.st_length)
			st.st_length = sb.st_size;
	}
	at = st.st_length;
	if ((headlen = mbox_header(sd, m, st.st_number + 1, &head)) == 0) {
		errno = ENOMEM;
		goto fail;
	}
	if (mbox_pwrite(fd, head, headlen, at) == -1 ||
	    mbox_pwrite(fd, m->m_body, m->m_bodylen, at + headlen) == -1 ||
	    mbox_pwrite(fd, "\n", 1, at + headlen + m->m_bodylen) == -1 ||
	    fsync(fd) == -1)
		goto undo;
	st.st_number++;
	st.st_length = at + headlen + m->m_bodylen + 1;
	if (mbox_state_write(sd->sd_lockfd, &st) == -1) {
		st.st_number--;
		goto undo;
	}
	close(fd);
	fd = -1;
	free(head);
	if (sd->sd_backup > 0 && st.st_number % sd->sd_backup == 0)
		mbox_backup(sd, &st);
	flock(sd->sd_lockfd, LOCK_UN);
	return st.st_number;

undo:
	/* Nothing partial stays: back to the length before the message. */
	e = errno;
	if (ftruncate(fd, at) == -1 || fsync(fd) == -1)
		log_warn("mailbox: cannot truncate back to %lld",
		    (long long)at);
	errno = e;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	free(head);
	flock(sd->sd_lockfd, LOCK_UN);
	errno = e;
	return -1;
}
