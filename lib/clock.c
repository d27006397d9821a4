/*
 * clock: the monotonic time every deadline and round-trip time is
 * measured on.
 */
#include <time.h>

#include "clock.h"

long long
clock_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is always there on Linux; ts stays valid. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
