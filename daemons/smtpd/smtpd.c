/*
 * smtpd: options and start-up. Parse the options, open syslog and the
 * spool, enter the sandbox, then serve fd 0 per the inetd contract
 * (serve.h): with a listening socket one connection at a time, as each
 * worker of a pool does.
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

#include "cli.h"
#include "log.h"
#include "serve.h"
#include "smtpd.h"

static const char usage[] =
    "smtpd [-dhSv] [-b count] [-c certfile] [-e errors] [-F seed|mbox]\n"
    "             [-j count] [-k keyfile] [-m spooldir] [-n name]\n"
    "             [-r bytes_per_second] [-s bytes] [-t seconds]\n";

/* What the options set beyond struct smtpd: used only at start-up. */
struct smtpd_args {
	const char	*a_certfile;	/* -c */
	const char	*a_keyfile;	/* -k */
	int		 a_debug;	/* -d */
	int		 a_verbose;	/* -v */
};

static void	smtpd_defaults(struct smtpd *sd);
static void	smtpd_option(struct smtpd *sd, struct smtpd_args *a, int ch,
		    char *arg);
static void	smtpd_options(struct smtpd *sd, struct smtpd_args *a,
		    int argc, char *argv[]);
static void	smtpd_spool(struct smtpd *sd, const struct smtpd_args *a);

/* The defaults: smtpd(8) STANDARDS where it sets them, else Postfix's. */
static void
smtpd_defaults(struct smtpd *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->sd_spool = ".";
	sd->sd_timeout = 10;		/* smtpd(8) STANDARDS: 10 seconds */
	sd->sd_maxerrors = 10;
	sd->sd_junklimit = 100;		/* Postfix's smtpd_junk_command_limit */
	sd->sd_minrate = 500;		/* Postfix's smtpd_min_data_rate */
	sd->sd_maxsize = 10 * 1024 * 1024;
	sd->sd_backup = 32;		/* smtpd(8) STANDARDS: groups of 32 */
	sd->sd_format = SMTPD_FMT_SEED;
	sd->sd_spoolfd = sd->sd_lockfd = -1;
}

/* One option ch with its argument arg; exits on a bad one. */
static void
smtpd_option(struct smtpd *sd, struct smtpd_args *a, int ch, char *arg)
{
	switch (ch) {
	case 'b':
		sd->sd_backup = cli_number("-b", arg, 0, LONG_MAX);
		break;
	case 'c':
		a->a_certfile = arg;
		break;
	case 'd':
		a->a_debug = 1;
		break;
	case 'e':
		sd->sd_maxerrors = cli_number("-e", arg, 1, 100000);
		break;
	case 'F':
		if (strcmp(arg, "seed") == 0)
			sd->sd_format = SMTPD_FMT_SEED;
		else if (strcmp(arg, "mbox") == 0)
			sd->sd_format = SMTPD_FMT_MBOX;
		else
			errx(EXIT_USAGE, "-F %s: not seed or mbox", arg);
		break;
	case 'h':
		cli_help(usage);
	case 'j':
		sd->sd_junklimit = cli_number("-j", arg, 0, 1000000);
		break;
	case 'k':
		a->a_keyfile = arg;
		break;
	case 'm':
		sd->sd_spool = arg;
		break;
	case 'n':
		if (strlcpy(sd->sd_name, arg, sizeof(sd->sd_name)) >=
		    sizeof(sd->sd_name) || strpbrk(arg, " \t\r\n"))
			errx(EXIT_USAGE, "-n %s: not a host name", arg);
		break;
	case 'r':
		sd->sd_minrate = cli_number("-r", arg, 0, (long long)1 << 40);
		break;
	case 'S':
		sd->sd_tlsrequire = 1;
		break;
	case 's':
		sd->sd_maxsize = cli_number("-s", arg, 1, (long long)1 << 40);
		break;
	case 't':
		sd->sd_timeout = cli_number("-t", arg, 1, 3600);
		break;
	case 'v':
		a->a_verbose = 1;
		break;
	default:
		cli_usage(usage);
	}
}

/* The command line, checked as a whole; the host name when -n is not. */
static void
smtpd_options(struct smtpd *sd, struct smtpd_args *a, int argc,
    char *argv[])
{
	int ch;

	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "b:c:de:F:hj:k:m:n:r:Ss:t:v")) != -1)
		smtpd_option(sd, a, ch, optarg);
	if (optind != argc)
		cli_usage(usage);
	if ((a->a_certfile == NULL) != (a->a_keyfile == NULL)) {
		warnx("-c and -k go together: a certificate and its key");
		cli_usage(usage);
	}
	if (sd->sd_tlsrequire && a->a_certfile == NULL) {
		warnx("-S: TLS needs -c certfile -k keyfile");
		cli_usage(usage);
	}
	if (sd->sd_name[0] == '\0') {
		if (gethostname(sd->sd_name, sizeof(sd->sd_name)) == -1)
			err(EXIT_TEMP, "gethostname");
		sd->sd_name[sizeof(sd->sd_name) - 1] = '\0';
	}
}

/*
 * Open syslog and the spool, and read the TLS files: all that the
 * sandbox will not let smtpd open later. Exits when one cannot be had.
 */
static void
smtpd_spool(struct smtpd *sd, const struct smtpd_args *a)
{
	/*
	 * Under a file size limit (ulimit -f) a write past it raises
	 * SIGXFSZ, which would kill smtpd mid-delivery with no reply. Ignored,
	 * the write fails with EFBIG: the mailbox is cut back, the client
	 * gets 452.
	 */
	signal(SIGXFSZ, SIG_IGN);

	log_init(a->a_debug, LOG_MAIL, "smtpd");
	log_setverbose(a->a_verbose);
	if (mbox_open(sd) == -1) {
		/*
		 * A spool that cannot be opened is for the admin to fix:
		 * 111, try again later. Logged, so on stderr too when it is
		 * a person's (lib/log.h): under inetd fd 2 is the client.
		 */
		log_warn("spool %s", sd->sd_spool);
		exit(EXIT_TEMP);
	}
	/* Read now: the sandbox lets smtpd open nothing but spool files. */
	if (a->a_certfile != NULL &&
	    smtpd_tls_load(sd, a->a_certfile, a->a_keyfile) == -1)
		exit(EXIT_USAGE);
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
	struct smtpd_args a;

	memset(&a, 0, sizeof(a));
	smtpd_defaults(&sd);
	smtpd_options(&sd, &a, argc, argv);
	smtpd_spool(&sd, &a);
	snprintf(refusal, sizeof(refusal), "421 4.7.0 %s Error: too many "
	    "connections from your address\r\n", sd.sd_name);
	handler.sh_refusal = refusal;
	smtpd_sandbox(&sd);
	return serve_main(&handler, &sd);
}
