/*
 * cli: usage, help and numeric options, said one way by every program.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

static int cli_usage_status = EXIT_USAGE;

void
cli_init(char *argv[], int usage_status)
{
	if (argv[0] != NULL)
		argv[0] = program_invocation_short_name;
	cli_usage_status = usage_status;
}

void
cli_help(const char *text)
{
	printf("usage: %s", text);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	exit(0);
}

void
cli_usage(const char *text)
{
	fprintf(stderr, "usage: %s", text);
	exit(cli_usage_status);
}

long long
cli_number(const char *name, const char *s, long long min, long long max)
{
	const char *errstr;
	long long n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL && max >= LONG_MAX)
		errx(cli_usage_status, "%s %s: %s (at least %lld)", name, s,
		    errstr, min);
	if (errstr != NULL)
		errx(cli_usage_status, "%s %s: %s (%lld to %lld)", name, s,
		    errstr, min, max);
	return n;
}

int
cli_timeout_ms(const char *name, const char *s, long long max_s)
{
	return (int)cli_number(name, s, 1, max_s) * 1000;
}

void
cli_operands(int *argcp, char ***argvp, int min, int max, const char *text)
{
	*argcp -= optind;
	*argvp += optind;
	if (*argcp < min || *argcp > max)
		cli_usage(text);
}
