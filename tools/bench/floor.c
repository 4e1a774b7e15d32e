/*
 * floor.c - the footprint floor for `make bench`: the least a sensor agent
 * can do. It reads the given sysfs files every period and publishes their
 * raw values once per period as one QoS 1 message, with no parsing beyond
 * strtol, no limits, no history, no signatures, no spool. Nothing that does
 * the agent's job can use less; tpdiagd is measured against it.
 *
 *   floor --broker HOST:PORT [--period S] [--publish S] [--topic T] FILE...
 *
 * --period: read every S seconds (default 1); --publish: send the latest
 * readings every S seconds (default 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#define FLOOR_MAX_FILES 32

static long floor_read(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 0);
}

int main(int argc, char **argv)
{
	const char *broker = NULL, *topic = "floor";
	double period_s = 1, publish_s = 1;
	int nfiles = 0, port;
	long reads_per_publish, n = 0;
	const char *files[FLOOR_MAX_FILES];
	char host[256];
	struct mosquitto *m;
	struct timespec next;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--broker") == 0 && i + 1 < argc)
			broker = argv[++i];
		else if (strcmp(argv[i], "--period") == 0 && i + 1 < argc)
			period_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--publish") == 0 && i + 1 < argc)
			publish_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc)
			topic = argv[++i];
		else if (nfiles < FLOOR_MAX_FILES)
			files[nfiles++] = argv[i];
	}
	if (!broker || sscanf(broker, "%255[^:]:%d", host, &port) != 2 || period_s <= 0 || publish_s < period_s ||
	    !nfiles) {
		fprintf(stderr, "usage: floor --broker HOST:PORT [--period S] [--publish S] [--topic T] FILE...\n");
		return 2;
	}
	reads_per_publish = (long)(publish_s / period_s + 0.5);
	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	if (!m || mosquitto_connect(m, host, port, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "floor: cannot connect to %s\n", broker);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		char msg[32 * FLOOR_MAX_FILES];
		size_t len = 0;
		long ns;

		for (int i = 0; i < nfiles; i++)
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%ld", i ? "," : "",
						floor_read(files[i]));
		if (++n % reads_per_publish == 0)
			mosquitto_publish(m, NULL, topic, (int)len, msg, 1, false);
		ns = next.tv_nsec + (long)(period_s * 1e9);
		next.tv_sec += ns / 1000000000L;
		next.tv_nsec = ns % 1000000000L;
		/* the network in the gap, then sleep to the next period */
		mosquitto_loop(m, 0, 1);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
}
