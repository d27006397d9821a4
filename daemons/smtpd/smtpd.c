/*
 * smtpd: options and start-up. Parse the options, open syslog and the
 * spool, enter the sandbox, then serve fd 0 per the inetd contract
 * (serve.h): with a listening socket one connection at a time, as seed
 * 003's workers do.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "smtpd.h"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: smtpd [-dhv] [-b count] [-e errors] [-F seed|mbox] "
	    "[-j count]\n"
	    "             [-m spooldir] [-n name] [-r bytes_per_second] "
	    "[-s bytes]\n"
	    "             [-t seconds]\n");
	exit(status);
}

static long long
smtpd_number(const char *s, long long min, long long max, const char *what)
{
	const char *errstr;
	long long n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(100, "-%s %s: %s", what, s, errstr);
	return n;
}

int
main(int argc, char *argv[])
{
	static struct serve_handler handler = {
		.sh_connection = smtp_session,
	};
	/* Over forkd's per-source limits: RFC 5321 3.8 / 4.3.2, 421. */
	static char refusal[128 + sizeof(((struct smtpd *)0)->sd_name)];
	struct smtpd sd;
	int ch, debug = 0, verbose = 0;

	memset(&sd, 0, sizeof(sd));
	sd.sd_spool = ".";
	sd.sd_timeout = 10;		/* seed 003: 10 seconds */
	sd.sd_maxerrors = 10;
	sd.sd_junklimit = 100;		/* Postfix's smtpd_junk_command_limit */
	sd.sd_minrate = 500;		/* Postfix's smtpd_min_data_rate */
	sd.sd_maxsize = 10 * 1024 * 1024;
	sd.sd_backup = 32;		/* seed 003: groups of 32 */
	sd.sd_format = SMTPD_FMT_SEED;
	sd.sd_spoolfd = sd.sd_lockfd = -1;

	while ((ch = getopt(argc, argv, "b:de:F:hj:m:n:r:s:t:v")) != -1) {
		switch (ch) {
		case 'b':
			sd.sd_backup = smtpd_number(optarg, 0, LONG_MAX, "b");
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			sd.sd_maxerrors = smtpd_number(optarg, 1, 100000, "e");
			break;
		case 'F':
			if (strcmp(optarg, "seed") == 0)
				sd.sd_format = SMTPD_FMT_SEED;
			else if (strcmp(optarg, "mbox") == 0)
				sd.sd_format = SMTPD_FMT_MBOX;
			else
				errx(100, "-F %s: not seed or mbox", optarg);
			break;
		case 'h':
			usage(0);
		case 'j':
			sd.sd_junklimit = smtpd_number(optarg, 0, 1000000, "j");
			break;
		case 'm':
			sd.sd_spool = optarg;
			break;
		case 'n':
			if (strlcpy(sd.sd_name, optarg, sizeof(sd.sd_name)) >=
			    sizeof(sd.sd_name) || strpbrk(optarg, " \t\r\n"))
				errx(100, "-n %s: not a host name", optarg);
			break;
		case 'r':
			sd.sd_minrate = smtpd_number(optarg, 0,
			    (long long)1 << 40, "r");
			break;
		case 's':
			sd.sd_maxsize = smtpd_number(optarg, 1,
			    (long long)1 << 40, "s");
			break;
		case 't':
			sd.sd_timeout = smtpd_number(optarg, 1, 3600, "t");
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage(100);
		}
	}
	if (optind != argc)
		usage(100);
	if (sd.sd_name[0] == '\0') {
		if (gethostname(sd.sd_name, sizeof(sd.sd_name)) == -1)
			err(111, "gethostname");
		sd.sd_name[sizeof(sd.sd_name) - 1] = '\0';
	}

	/*
	 * Under a file size limit (ulimit -f) a write past it raises
	 * SIGXFSZ, which would kill smtpd mid-delivery with no reply. Ignored,
	 * the write fails with EFBIG: the mailbox is cut back, the client
	 * gets 452.
	 */
	signal(SIGXFSZ, SIG_IGN);

	log_init(debug, LOG_MAIL, "smtpd");
	log_setverbose(verbose);
	if (mbox_open(&sd) == -1) {
		/*
		 * A spool that cannot be opened is for the admin to fix:
		 * 111, try again later. Not on stderr: under inetd fd 2 is
		 * the client.
		 */
		log_warn("spool %s", sd.sd_spool);
		exit(111);
	}
	snprintf(refusal, sizeof(refusal), "421 4.7.0 %s Error: too many "
	    "connections from your address\r\n", sd.sd_name);
	handler.sh_refusal = refusal;
	sandbox_enter(&smtpd_profile);
	return serve_main(&handler, &sd);
}
