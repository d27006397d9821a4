/*
 * cli: the command-line contract every forkd program keeps.
 *
 * Exit statuses, as ucspi-tcp and s6 use them: 0 success, 1 failure,
 * EXIT_USAGE (100) for a usage error or a permanent refusal, EXIT_TEMP
 * (111) for a temporary failure (a peer that cannot be reached, a spool
 * that cannot be opened now). "-h" prints the usage on stdout and exits 0;
 * a usage error prints it on stderr and exits EXIT_USAGE (ping(8)'s 2 for
 * pinger). Every message names the program by its short name.
 */
#ifndef FORKD_CLI_H
#define FORKD_CLI_H

#define EXIT_USAGE	100
#define EXIT_TEMP	111

/*
 * Call first in main, before getopt(3). Makes argv[0] the program's short
 * name, so getopt's own messages read "prog: invalid option -- 'Z'" (it
 * prints argv[0], which an rc script makes "/usr/local/sbin/prog"), and
 * sets the status cli_usage() and cli_number() exit with (EXIT_USAGE, or
 * 2 for a program in ping(8)'s tradition). Only the argv array changes,
 * not the strings it points to, so setproctitle(3) is unaffected.
 */
void	cli_init(char *argv[], int usage_status);

/* Print "usage: " and text (its lines end in '\n') on stdout; exit 0. */
void	cli_help(const char *text) __attribute__((noreturn));
/* Print "usage: " and text on stderr; exit with cli_init()'s status. */
void	cli_usage(const char *text) __attribute__((noreturn));

/*
 * The value of a numeric option: s read with strtonum(3) from min to max
 * inclusive. When it does not fit, prints "prog: NAME S: why (MIN to MAX)"
 * on stderr ("(at least MIN)" when max is LONG_MAX or more), name being
 * the option as given ("-c") or an operand's name ("port"), why
 * strtonum's "invalid", "too small" or "too large", and exits with
 * cli_init()'s status.
 */
long long cli_number(const char *name, const char *s, long long min,
	    long long max);

/*
 * After getopt(3): step *argcp and *argvp over the options, to the
 * operands, and exit as cli_usage(text) does unless there are min to max
 * of them.
 */
void	cli_operands(int *argcp, char ***argvp, int min, int max,
	    const char *text);

/*
 * A timeout option given in whole seconds, 1 to max_s (at most 86400),
 * checked as cli_number() does. Returns it in milliseconds, the unit
 * poll(2) and lib/io.h's deadlines take.
 */
int	cli_timeout_ms(const char *name, const char *s, long long max_s);

#endif
