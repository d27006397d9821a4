/*
 * path: the arguments of HELO, MAIL and RCPT, as pure functions of the
 * command line (RFC 5321 4.1.2): a path split from its parameters, an
 * address checked, blanks trimmed. No I/O.
 */
#include <string.h>

#include "smtpd.h"
#include "session.h"

char *
smtp_trim(char *p)
{
	char *e;

	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return p;
}

/* An address is "consecutive, printable ASCII characters" (smtpd(8)). */
int
smtp_printable(const char *p)
{
	for (; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	return 1;
}

/*
 * Split "<path> params" or "path" (RFC 5321 4.1.2, and the assignment's bare
 * addresses): *addr is the path without angle brackets, *params what
 * follows the closing bracket. Without brackets the whole argument is the
 * path, so "student @CS4410" is one (bad) address, as smtpd(8) has it.
 * Returns 0, or -1 on a syntax error (an empty argument, no '>').
 */
int
smtp_path(char *arg, char **addr, char **params)
{
	char *gt;

	arg = smtp_trim(arg);
	*params = arg + strlen(arg);
	if (*arg == '<') {
		if ((gt = strchr(arg, '>')) == NULL)
			return -1;
		*gt = '\0';
		*params = smtp_trim(gt + 1);
		if (**params != '\0' && gt[1] != ' ')
			return -1;
		*addr = arg + 1;
		return 0;
	}
	if (*arg == '\0')
		return -1;
	*addr = arg;
	return 0;
}

int
smtp_valid_addr(const char *addr)
{
	return strlen(addr) < SMTPD_PATH_MAX - 2 && smtp_printable(addr);
}
