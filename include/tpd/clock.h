/*
 * tpd/clock.h - the two clocks the programs read, in seconds as doubles:
 * monotonic for deadlines, backoff and pacing (immune to clock steps), the
 * wall clock for what is reported or logged as a time. Inline, no state.
 */
#ifndef TPD_CLOCK_H
#define TPD_CLOCK_H

#include <time.h>

static inline double tpd_clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double tpd_clock_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
