/*
 * stats: round-trip times and the summary, in the shape of iputils ping's
 * so that people and scripts read both the same way.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>

#include "pinger.h"

void
stats_rtt(struct pinger *p, long long rtt_us)
{
	if (rtt_us < 0)
		rtt_us = 0;
	if (p->p_ntimed == 0 || rtt_us < p->p_tmin_us)
		p->p_tmin_us = rtt_us;
	if (p->p_ntimed == 0 || rtt_us > p->p_tmax_us)
		p->p_tmax_us = rtt_us;
	p->p_tsum_us += rtt_us;
	p->p_tsum2_us += (double)rtt_us * rtt_us;
	p->p_ntimed++;
}

char *
stats_fmt_ms(char *buf, size_t size, long long us)
{
	if (us >= 100000 - 50)
		snprintf(buf, size, "%lld", (us + 500) / 1000);
	else if (us >= 10000 - 5)
		snprintf(buf, size, "%lld.%01lld", (us + 50) / 1000,
		    ((us + 50) % 1000) / 100);
	else if (us >= 1000)
		snprintf(buf, size, "%lld.%02lld", (us + 5) / 1000,
		    ((us + 5) % 1000) / 10);
	else
		snprintf(buf, size, "%lld.%03lld", us / 1000, us % 1000);
	return buf;
}

void
stats_summary(const struct pinger *p)
{
	long long elapsed;
	double avg, mdev;

	elapsed = p->p_start_us ? clock_us() - p->p_start_us : 0;
	printf("\n--- %s ping statistics ---\n", p->p_host);
	printf("%ld packets transmitted, %ld received", p->p_ntransmitted,
	    p->p_nreceived);
	if (p->p_nrepeats)
		printf(", +%ld duplicates", p->p_nrepeats);
	if (p->p_nerrors)
		printf(", +%ld errors", p->p_nerrors);
	if (p->p_ntransmitted)
		printf(", %g%% packet loss",
		    (double)(p->p_ntransmitted - p->p_nreceived) * 100.0 /
		    p->p_ntransmitted);
	printf(", time %lldms\n", elapsed / 1000);
	if (p->p_ntimed > 0) {
		/* mdev: the standard deviation, sqrt(E[x^2] - E[x]^2). */
		avg = p->p_tsum_us / p->p_ntimed;
		mdev = p->p_tsum2_us / p->p_ntimed - avg * avg;
		mdev = mdev > 0 ? sqrt(mdev) : 0;
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
		    p->p_tmin_us / 1000.0, avg / 1000.0,
		    p->p_tmax_us / 1000.0, mdev / 1000.0);
	}
	fflush(stdout);
}

int
stats_exit(const struct pinger *p)
{
	if (p->p_nreceived > 0)
		return PINGER_EXIT_REPLY;
	if (p->p_ntransmitted > 0 && p->p_nsenderr == p->p_ntransmitted)
		return PINGER_EXIT_ERROR;
	return PINGER_EXIT_NOREPLY;
}

int
stats_wait(int fd, short events, long long deadline_us)
{
	struct pollfd pfd;
	struct timespec ts;
	long long left;
	int n, ms;

	left = deadline_us - clock_us();
	if (left < 0)
		left = 0;
	/* Round up: waking early would only spin. */
	ms = left > 3600000000LL ? 3600000 : (int)((left + 999) / 1000);
	if (pinger_stop)
		return 0;
	pfd.fd = fd;
	pfd.events = events;
	pfd.revents = 0;
	/*
	 * The stop signals are blocked but inside ppoll(2): one that came
	 * after the test above is pending and ends ppoll at once, instead of
	 * being lost until the deadline (an hour with -i 3600).
	 */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	n = ppoll(&pfd, fd == -1 ? 0 : 1, &ts, &pinger_waitmask);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	return n == 0 ? 0 : pfd.revents;
}
