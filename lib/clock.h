/*
 * clock: the monotonic time every deadline and round-trip time is
 * measured on.
 */
#ifndef FORKD_CLOCK_H
#define FORKD_CLOCK_H

/*
 * Milliseconds on CLOCK_MONOTONIC (clock_gettime(2)): a count from an
 * unspecified start that never steps back when the wall clock is set, for
 * deadlines ("now + timeout_ms"). Never fails.
 */
long long	clock_ms(void);

/* The same clock in microseconds, for round-trip times and latencies. */
long long	clock_us(void);

#endif
