/*
 * smtpstress: the command line and the report.
 *
 * smtpstress [-q] [-c connections] [-n operations] [-S seed] [-T seconds]
 *     [host [port]]
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "smtpstress.h"

#define DEFAULT_HOST	"127.0.0.1"
#define DEFAULT_PORT	"8765"		/* smtpd(8)'s default port */
#define DEFAULT_CONNS	32		/* smtpstress(1): 32 at once */
#define DEFAULT_OPS	1000		/* smtpstress(1): 1,000 in all */

static int	cmp_u32(const void *, const void *);
static int	cmp_ulong(const void *, const void *);
static double	percentile(uint32_t *, size_t, unsigned);
static void	report(struct sx_run *);

static const char usage[] =
    "smtpstress [-hq] [-c connections] [-n operations] [-S seed]\n"
    "                  [-T seconds] [host [port]]\n";

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p of n sorted values, in milliseconds. */
static double
percentile(uint32_t *v, size_t n, unsigned p)
{
	size_t rank;

	rank = (n * p + 99) / 100;
	if (rank == 0)
		rank = 1;
	return v[rank - 1] / 1000.0;
}

/*
 * Message numbers must be all different (smtpd(8): each email gets a
 * unique number): a number delivered twice is a mismatch.
 */
static unsigned
numbers_check(struct sx_run *run)
{
	unsigned dups = 0;
	size_t i;

	/* No number at all leaves r_numbers NULL, which qsort(3) may not get. */
	if (run->r_nnumbers > 1)
		qsort(run->r_numbers, run->r_nnumbers,
		    sizeof(*run->r_numbers), cmp_ulong);
	for (i = 1; i < run->r_nnumbers; i++)
		if (run->r_numbers[i] == run->r_numbers[i - 1]) {
			dups++;
			sx_diag(run, "mismatch: message number %lu delivered "
			    "twice", run->r_numbers[i]);
		}
	run->r_mismatches += dups;
	return dups;
}

static void
report(struct sx_run *run)
{
	double secs;
	unsigned provoked = 0;
	int k, cmd;

	secs = (run->r_end_us - run->r_start_us) / 1e6;
	printf("operations  %u in %.3f s: %.0f operations/s\n", run->r_done,
	    secs, secs > 0 ? run->r_done / secs : 0.0);
	if (run->r_dormant_s > 0) {
		/* The dormant wait sets the run's length; say the rate without. */
		secs = (run->r_busy_end_us - run->r_start_us) / 1e6;
		printf("busy        %u in %.3f s: %.0f operations/s "
		    "(the sessions that were not dormant)\n", run->r_busy_done,
		    secs, secs > 0 ? run->r_busy_done / secs : 0.0);
	}
	printf("sessions    %u, %u connection failures\n", run->r_sessions,
	    run->r_failures);
	if (run->r_nnumbers > 0)
		printf("delivered   %zu messages (numbers %lu-%lu)\n",
		    run->r_nnumbers, run->r_numbers[0],
		    run->r_numbers[run->r_nnumbers - 1]);
	else
		printf("delivered   0 messages\n");
	for (k = 0; k < SX_KINDS; k++)
		provoked += run->r_provoked[k];
	printf("provoked    %u error replies\n", provoked);
	for (k = 0; k < SX_KINDS; k++)
		printf("  %-32s %6u\n", script_kind_name(EX_ERR_FIRST + k),
		    run->r_provoked[k]);
	printf("mismatches  %u\n", run->r_mismatches);
	printf("latency     %-20s %6s %8s %8s\n", "(ms)", "count", "p50",
	    "p99");
	for (cmd = 0; cmd < CMD_MAX; cmd++) {
		size_t n = run->r_nlat[cmd];

		if (n == 0)
			continue;
		qsort(run->r_lat[cmd], n, sizeof(uint32_t), cmp_u32);
		printf("  %-30s %6zu %8.2f %8.2f\n", script_cmd_name(cmd), n,
		    percentile(run->r_lat[cmd], n, 50),
		    percentile(run->r_lat[cmd], n, 99));
	}
}

int
main(int argc, char *argv[])
{
	struct sx_run run;
	int ch, seeded = 0, i;

	memset(&run, 0, sizeof(run));
	run.r_host = DEFAULT_HOST;
	run.r_port = DEFAULT_PORT;
	run.r_conns = DEFAULT_CONNS;
	run.r_ops = DEFAULT_OPS;

	cli_init(argv, EXIT_USAGE);
	while ((ch = getopt(argc, argv, "c:hn:qS:T:")) != -1) {
		switch (ch) {
		case 'c':
			run.r_conns = cli_number("-c", optarg, 1, 1000);
			break;
		case 'h':
			cli_help(usage);
		case 'n':
			run.r_ops = cli_number("-n", optarg, 1, 100000000);
			break;
		case 'q':
			run.r_quiet = 1;
			break;
		case 'S':
			run.r_seed = cli_number("-S", optarg, 0, 4294967295LL);
			seeded = 1;
			break;
		case 'T':
			run.r_dormant_s = cli_number("-T", optarg, 1, 3600);
			break;
		default:
			cli_usage(usage);
		}
	}
	cli_operands(&argc, &argv, 0, 2, usage);
	if (argc > 0)
		run.r_host = argv[0];
	if (argc > 1)
		run.r_port = argv[1];
	if (!seeded)
		run.r_seed = arc4random();
	run.r_progress = isatty(STDERR_FILENO);

	if (!run.r_quiet) {
		printf("smtpstress: seed %llu, %u operations over %u "
		    "connections to %s port %s%s\n",
		    (unsigned long long)run.r_seed, run.r_ops, run.r_conns,
		    run.r_host, run.r_port,
		    run.r_dormant_s ? ", one dormant" : "");
		fflush(stdout);
	}
	/* No connection at all is temporary, as s6-tcpclient says it. */
	if (net_run(&run) == -1)
		return EXIT_TEMP;
	numbers_check(&run);
	if (!run.r_quiet)
		report(&run);
	else if (run.r_mismatches || run.r_failures)
		fprintf(stderr, "smtpstress: seed %llu: %u mismatches, %u "
		    "connection failures\n", (unsigned long long)run.r_seed,
		    run.r_mismatches, run.r_failures);
	if (run.r_reported > SX_DIAG_MAX)
		fprintf(stderr, "smtpstress: %u more diagnostics not shown\n",
		    run.r_reported - SX_DIAG_MAX);
	for (i = 0; i < CMD_MAX; i++)
		free(run.r_lat[i]);
	free(run.r_numbers);
	if (run.r_connects == 0 && run.r_failures > 0)
		return EXIT_TEMP;
	return run.r_mismatches || run.r_failures ? 1 : 0;
}
