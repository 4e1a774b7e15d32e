/*
 * floor.c - the footprint floor for `make bench`: the least a sensor agent
 * can do for the same work. It reads the given sysfs files every period,
 * keeps min/max/sum/n of each, and every publish period encodes them as a
 * telemetry-shaped JSON object (cJSON, as the agent) and publishes it as one
 * QoS 1 message - with no limits, no history, no signatures, no spool.
 * Nothing that does the agent's job can use less; tpdiagd is measured
 * against it at the agent's own cadence (bench.sh: --publish 60).
 *
 *   floor --broker HOST:PORT [--period S] [--publish S] [--topic T] FILE...
 *
 * --period: read every S seconds (default 1); --publish: send the
 * aggregates every S seconds (default 60, the agent's telemetry period).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
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
	double period_s = 1, publish_s = 60;
	double mn[FLOOR_MAX_FILES], mx[FLOOR_MAX_FILES], sum[FLOOR_MAX_FILES];
	long cnt = 0, seq = 0;
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
		long ns;

		for (int i = 0; i < nfiles; i++) {
			double v = (double)floor_read(files[i]);

			if (cnt == 0 || v < mn[i])
				mn[i] = v;
			if (cnt == 0 || v > mx[i])
				mx[i] = v;
			sum[i] = (cnt ? sum[i] : 0) + v;
		}
		cnt++;
		if (++n % reads_per_publish == 0) {
			cJSON *o = cJSON_CreateObject(), *sensors = cJSON_AddObjectToObject(o, "sensors");
			struct timespec now;
			char *text;

			clock_gettime(CLOCK_REALTIME, &now);
			cJSON_AddNumberToObject(o, "v", 1);
			cJSON_AddStringToObject(o, "dev", topic);
			cJSON_AddNumberToObject(o, "seq", (double)++seq);
			cJSON_AddNumberToObject(o, "ts", (double)now.tv_sec);
			cJSON_AddNumberToObject(o, "period_s", publish_s);
			for (int i = 0; i < nfiles; i++) {
				char name[16];
				cJSON *agg;

				snprintf(name, sizeof(name), "s%d", i);
				agg = cJSON_AddObjectToObject(sensors, name);
				cJSON_AddNumberToObject(agg, "min", mn[i] / 1000);
				cJSON_AddNumberToObject(agg, "max", mx[i] / 1000);
				cJSON_AddNumberToObject(agg, "avg", sum[i] / (double)cnt / 1000);
				cJSON_AddNumberToObject(agg, "n", (double)cnt);
			}
			text = cJSON_PrintUnformatted(o);
			if (text)
				mosquitto_publish(m, NULL, topic, (int)strlen(text), text, 1, false);
			free(text);
			cJSON_Delete(o);
			cnt = 0;
		}
		ns = next.tv_nsec + (long)(period_s * 1e9);
		next.tv_sec += ns / 1000000000L;
		next.tv_nsec = ns % 1000000000L;
		/* the network in the gap, then sleep to the next period */
		mosquitto_loop(m, 0, 1);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
}
