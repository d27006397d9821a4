/*
 * mbox_record: one message's record in mailbox, in the format -F picks
 * (smtpd(8) STANDARDS, or mboxrd), written with one system call; and
 * the mailbox file it goes into, opened (created durably) and cut back
 * to the length the appended state line gives.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"

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
size_t
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
 * Write one record at offset at: the head with the message number at
 * split (bytes into head), the body, and the blank line that ends it.
 * Returns its length in bytes, or -1 with errno.
 */
off_t
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
 * Open mailbox for writing, creating it when a backup (or nobody yet) has
 * made it; a new name is made durable with an fsync of the spool, so an
 * acknowledged message is never in a file that a crash forgets.
 */
int
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
int
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
