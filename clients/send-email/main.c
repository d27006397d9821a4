/*
 * send-email: send one message to a mail server over SMTP (RFC 5321), as
 * "send-email SERVER RECIPIENT WORD" asks, and a hand-typed SMTP session
 * does, made a tool in the manner of swaks and msmtp.
 *
 * This file reads the command line: the options, the operands, the
 * password and the defaults; session.c runs the transaction.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "send-email.h"

#define SE_DEFAULT_TIMEOUT	30	/* seconds; swaks uses 30 as well */

static struct se_state	se;

static int	se_check_path(const char *, const char *, int);
static int	se_split_rcpt(struct se_state *, char **, int);
static void	se_defaults(struct se_state *);
static int	se_printable(const char *);
static void	se_password(struct se_state *, const char *);
static void	se_options(struct se_state *, int, char **, const char **);
static void	se_setup(struct se_state *, const char *);
static int	se_operands(struct se_state *, int, char **);

static const char usage[] =
    "send-email [-46hkSTv] [-a file] [-C cafile] [-f from] [-H helo]\n"
    "                  [-i image] [-P passfile] [-p port] [-s subject]\n"
    "                  [-t seconds] [-u user] server\n"
    "                  recipient[,recipient...] [recipient ...] [word | -]\n";

int
main(int argc, char *argv[])
{
	const char *passfile = NULL;
	int r;

	se.se_port = NULL;
	se.se_family = AF_UNSPEC;
	se.se_timeout_ms = SE_DEFAULT_TIMEOUT * 1000;
	se.se_fd = -1;

	cli_init(argv, EXIT_USAGE);
	se_options(&se, argc, argv, &passfile);
	cli_operands(&argc, &argv, 2, INT_MAX, usage);
	se_setup(&se, passfile);
	if ((r = se_operands(&se, argc, argv)) != 0)
		return r;

	/* The whole message is read before connecting (stdin may be slow). */
	if ((r = message_build(&se)) != 0)
		return r;

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EXIT_TEMP, "signal");
	if ((r = dial_connect(&se)) != 0)
		return r;
	if (se.se_tls_mode == SE_TLS_IMPLICIT && conn_tls(&se) == -1) {
		fprintf(stderr, "send-email: %s port %s: %s%s\n", se.se_server,
		    se.se_port, se.se_ioerr, se.se_insecure ? "" :
		    " (a private CA is given with -C cafile)");
		conn_close(&se);
		return EXIT_TEMP;
	}
	r = se_transaction(&se);
	conn_close(&se);
	return r;
}

/* The options, into st; the password file is read only once -u is known. */
static void
se_options(struct se_state *st, int argc, char *argv[],
    const char **passfile)
{
	int ch;

	while ((ch = getopt(argc, argv, "46a:C:f:H:hi:kP:p:Ss:Tt:u:v")) != -1) {
		switch (ch) {
		case 'a':
		case 'i':
			attach_add(st, optarg, ch == 'i');
			break;
		case 'C':
			st->se_cafile = optarg;
			break;
		case 'k':
			st->se_insecure = 1;
			break;
		case 'P':
			*passfile = optarg;
			break;
		case 'S':
			if (st->se_tls_mode != SE_TLS_IMPLICIT)
				st->se_tls_mode = SE_TLS_REQUIRE;
			break;
		case 'T':
			st->se_tls_mode = SE_TLS_IMPLICIT;
			break;
		case 'u':
			st->se_user = optarg;
			break;
		case '4':
			st->se_family = AF_INET;
			break;
		case '6':
			st->se_family = AF_INET6;
			break;
		case 'f':
			st->se_from = optarg;
			break;
		case 'H':
			st->se_helo = optarg;
			break;
		case 'h':
			cli_help(usage);
		case 'p':
			st->se_port = optarg;
			break;
		case 's':
			st->se_subject = optarg;
			break;
		case 't':
			st->se_timeout_ms = cli_timeout_ms("-t", optarg, 3600);
			break;
		case 'v':
			st->se_verbose = 1;
			break;
		default:
			cli_usage(usage);
		}
	}
}

/* What the options imply together: the port, TLS for AUTH, the CA file. */
static void
se_setup(struct se_state *st, const char *passfile)
{
	if (st->se_port == NULL)
		st->se_port = st->se_tls_mode == SE_TLS_IMPLICIT ? "465" : "25";
	/*
	 * AUTH PLAIN and LOGIN carry the password as it is: only inside
	 * TLS (RFC 4954 4), so a user name asks for TLS as -S does.
	 */
	if (st->se_user != NULL) {
		if (st->se_user[0] == '\0' || strlen(st->se_user) >
		    SE_SECRET_MAX) {
			warnx("-u: a user name of 1 to %d octets",
			    SE_SECRET_MAX);
			cli_usage(usage);
		}
		se_password(st, passfile);
		if (st->se_tls_mode == SE_TLS_AUTO)
			st->se_tls_mode = SE_TLS_REQUIRE;
	} else if (passfile != NULL) {
		warnx("-P: a password without -u user");
		cli_usage(usage);
	}
	if (st->se_insecure)
		fprintf(stderr, "send-email: warning: -k: the server's TLS "
		    "certificate and name are not verified\n");
	if (conn_configure(st) == -1)
		errx(EXIT_USAGE, "-C %s", st->se_ioerr);
}

/*
 * Operands: the server, then recipients, then the word when there
 * are three or more ("SERVER RECIPIENT WORD"). With two,
 * or a word "-", the body is read from stdin.
 */
static int
se_operands(struct se_state *st, int argc, char *argv[])
{
	st->se_server = argv[0];
	if (argc >= 3) {
		st->se_word = argv[argc - 1];
		if (strcmp(st->se_word, "-") == 0)
			st->se_word = NULL;
		argc--;
	}
	if (se_split_rcpt(st, argv + 1, argc - 1) == -1)
		cli_usage(usage);
	se_defaults(st);
	if (st->se_server[0] == '\0') {
		warnx("server: empty");
		cli_usage(usage);
	}
	if (se_check_path("from", st->se_from, 1) == -1 ||
	    se_check_path("from", st->se_author, 0) == -1)
		return EXIT_USAGE;
	if (se_check_path("EHLO name", st->se_helo, 0) == -1)
		return EXIT_USAGE;
	return 0;
}

/*
 * The password: the first line of passfile, or $SEND_EMAIL_PASSWORD;
 * never an operand, which every user would see in ps(1).
 */
static void
se_password(struct se_state *st, const char *passfile)
{
	const char *env;
	size_t len;
	ssize_t n;
	int fd;

	if (passfile != NULL) {
		if ((fd = open(passfile, O_RDONLY | O_CLOEXEC)) == -1)
			err(EXIT_USAGE, "-P %s", passfile);
		n = read(fd, st->se_pass, sizeof(st->se_pass) - 1);
		if (n == -1)
			err(EXIT_USAGE, "-P %s", passfile);
		close(fd);
		st->se_pass[n] = '\0';
		len = strcspn(st->se_pass, "\r\n");
		if (len == (size_t)n && n == sizeof(st->se_pass) - 1)
			errx(EXIT_USAGE, "-P %s: a password longer than %d "
			    "octets", passfile, SE_SECRET_MAX);
		st->se_pass[len] = '\0';
	} else if ((env = getenv("SEND_EMAIL_PASSWORD")) != NULL) {
		if (strlcpy(st->se_pass, env, sizeof(st->se_pass)) >=
		    sizeof(st->se_pass))
			errx(EXIT_USAGE, "SEND_EMAIL_PASSWORD: longer than %d "
			    "octets", SE_SECRET_MAX);
	} else
		errx(EXIT_USAGE, "-u %s: no password: give -P passfile or "
		    "set SEND_EMAIL_PASSWORD", st->se_user);
	if (st->se_pass[0] == '\0')
		errx(EXIT_USAGE, "-u %s: the password is empty", st->se_user);
}

/*
 * Check a path for MAIL or RCPT: printable ASCII without space or angle
 * brackets (we send it inside <>), at most SE_PATH_MAX octets. An empty
 * path is the null reverse path "<>" (RFC 5321 4.5.5), only for -f.
 */
static int
se_check_path(const char *what, const char *a, int empty_ok)
{
	const unsigned char *p;

	if (a[0] == '\0' && !empty_ok) {
		warnx("%s: empty address", what);
		return -1;
	}
	if (strlen(a) > SE_PATH_MAX) {
		warnx("%s %.40s...: longer than %d octets (RFC 5321 "
		    "4.5.3.1.3)", what, a, SE_PATH_MAX);
		return -1;
	}
	for (p = (const unsigned char *)a; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>') {
			warnx("%s \"%s\": not an address (printable ASCII "
			    "without spaces or <>)", what, a);
			return -1;
		}
	}
	return 0;
}

/* Each operand may hold several recipients separated by commas. */
static int
se_split_rcpt(struct se_state *st, char **av, int ac)
{
	char *s, *tok;
	int i;

	for (i = 0; i < ac; i++) {
		s = av[i];
		if (s[0] == '\0') {
			warnx("recipient: empty address");
			return -1;
		}
		while ((tok = strsep(&s, ",")) != NULL) {
			if (tok[0] == '\0')
				continue;
			if (se_check_path("recipient", tok, 0) == -1)
				return -1;
			st->se_rcpt = reallocarray(st->se_rcpt,
			    st->se_nrcpt + 1, sizeof(*st->se_rcpt));
			if (st->se_rcpt == NULL)
				err(EXIT_TEMP, "recipients");
			st->se_rcpt[st->se_nrcpt++] = tok;
		}
	}
	if (st->se_nrcpt == 0) {
		warnx("no recipient");
		return -1;
	}
	return 0;
}

/*
 * The EHLO name defaults to the host name, the sender to user@host,
 * the way mail(1) and msmtp's defaults look.
 */
static void
se_defaults(struct se_state *st)
{
	static char host[HOST_NAME_MAX + 1], from[SE_PATH_MAX + 2];
	struct passwd *pw;
	const char *user;

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (st->se_helo == NULL)
		st->se_helo = host;
	if ((pw = getpwuid(getuid())) != NULL)
		user = pw->pw_name;
	else if ((user = getenv("LOGNAME")) == NULL &&
	    (user = getenv("USER")) == NULL)
		user = "nobody";
	snprintf(from, sizeof(from), "%s@%s", user, host);
	if (st->se_from == NULL)
		st->se_from = from;
	st->se_author = st->se_from[0] != '\0' ? st->se_from : from;
	/*
	 * The word is the subject too, when it is one line of text: no
	 * control byte but tab, which the body takes and a Subject may not
	 * (the word then is a body, not a refused -s).
	 */
	if (st->se_subject == NULL)
		st->se_subject = st->se_word != NULL &&
		    se_printable(st->se_word) &&
		    strlen(st->se_word) < 200 ? st->se_word : "(no subject)";
}

/* Whether s has no control byte but tab (RFC 5322 3.2.5 unstructured). */
static int
se_printable(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < ' ' && *p != '\t')
			return 0;
	return 1;
}
