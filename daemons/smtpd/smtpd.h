/*
 * smtpd: the SMTP handler of forkd (RFC 5321; smtpd(8) STANDARDS).
 *
 * smtpd.c   options, start-up, the inetd contract
 * session.c the SMTP dialogue: the command table, check and proceed
 * reply.c   every reply, one function per error reply
 * io.c      input and output with deadlines
 * data.c    the message text after DATA
 * mailbox.c delivery into the spool: group commit (mbox_*.c, mbox.h)
 * tls.c     STARTTLS (RFC 3207) with libtls
 * profile.c the seccomp profile
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <stddef.h>

#include "sandbox.h"
#include "serve.h"

/* RFC 5321 4.5.3.1: sizes of objects, octets including CRLF. */
#define SMTPD_CMDLINE_MAX	512
#define SMTPD_TEXTLINE_MAX	1000
#define SMTPD_PATH_MAX		256
#define SMTPD_RCPT_MAX		100	/* RFC 5321 4.5.3.1.8 */
#define SMTPD_NAME_MAX		256

enum smtpd_format {
	SMTPD_FMT_SEED,		/* -F seed, see smtpd(8) STANDARDS */
	SMTPD_FMT_MBOX,		/* mboxrd */
};

struct tls;

/* The one state struct of the program: options and the open spool. */
struct smtpd {
	char		 sd_name[SMTPD_NAME_MAX];	/* -n, the netid */
	const char	*sd_spool;		/* -m, spool directory */
	int		 sd_timeout;		/* -t, seconds */
	int		 sd_maxerrors;		/* -e */
	int		 sd_junklimit;		/* -j, 0: none */
	long long	 sd_minrate;		/* -r, bytes/s in DATA, 0: off */
	size_t		 sd_maxsize;		/* -s, bytes */
	unsigned long	 sd_backup;		/* -b, messages a backup */
	enum smtpd_format sd_format;		/* -F */
	int		 sd_spoolfd;		/* O_DIRECTORY fd of the spool */
	int		 sd_lockfd;		/* the locks and state file */
	int		 sd_spare;		/* a backup took the spare */
	void		*sd_hint;		/* the shared page, or NULL */
	int		 sd_crash;		/* SMTPD_TEST_CRASH points */
	int		 sd_crash_permille;	/* its chance at each */
	struct tls	*sd_tls;		/* -c/-k loaded; NULL: no TLS */
	int		 sd_tlsrequire;		/* -S: TLS before MAIL */
};

/* Test-only crash points of a delivery (SMTPD_TEST_CRASH, smtpd(8)). */
#define SMTPD_CRASH_APPENDED	0	/* appended, before the commit */
#define SMTPD_CRASH_SYNCED	1	/* leader: mailbox synced */
#define SMTPD_CRASH_WRITTEN	2	/* leader: state written, not synced */
#define SMTPD_CRASH_COMMITTED	3	/* committed, before the 250 */

/* One message as the session hands it to delivery. */
struct smtpd_msg {
	const char	*m_helo;	/* HELO/EHLO argument */
	const char	*m_peer;	/* "127.0.0.1:40312" or "-" */
	const char	*m_sender;	/* reverse path without <>, "" for <> */
	char * const	*m_rcpts;	/* forward paths without <> */
	size_t		 m_nrcpts;
	const char	*m_body;	/* body, LF line ends, already escaped */
	size_t		 m_bodylen;	/* bytes */
	size_t		 m_size;	/* message size as received, bytes */
	int		 m_tls;		/* received inside TLS (RFC 3848) */
};

/*
 * mailbox.c. mbox_open() opens the spool directory and the lock file in
 * it (creating it), before the sandbox. Returns 0, or -1 with errno.
 */
int	mbox_open(struct smtpd *sd);

/*
 * Deliver m into the spool's mailbox: append it and take the next number
 * under the append lock, then wait until a group commit (its own or
 * another process's) has it and the numbering state on disk, and make a
 * backup after every sd_backup messages. On success returns the
 * message's number (>= 1): only then may the 250 go (RFC 5321 4.1.1.4).
 * On failure returns -1 with errno (ENOSPC, EDQUOT, EFBIG: out of space;
 * anything else: a local error); nothing of the message stays.
 */
long long mbox_deliver(struct smtpd *sd, const struct smtpd_msg *m);

/*
 * session.c. Serve one SMTP connection (rfd/wfd: see serve.h); arg is
 * the struct smtpd. Returns 0 (or 1 when the connection failed).
 */
int	smtp_session(int rfd, int wfd, const struct serve_peer *peer,
	    void *arg);

/*
 * tls.c. smtpd_tls_load() reads the certificate chain and key (PEM
 * files) into sd->sd_tls, before the sandbox. Returns 0, or -1 after
 * logging why (a file missing or unreadable, not PEM, a key that is not
 * the certificate's).
 */
int	smtpd_tls_load(struct smtpd *sd, const char *cert, const char *key);

/*
 * profile.c: enter smtpd's seccomp profile, files confined beneath the
 * spool (sd->sd_spoolfd, open). Returns only when it is in force (else
 * exit 111).
 */
void	smtpd_sandbox(const struct smtpd *sd);

#endif
