/*
 * crash_sub - a persistent-session subscriber that dies inside its message
 * handler (integration 12). It prints each payload on stdout and, when the
 * payload equals --crash-on, raises SIGKILL before returning: the handler
 * "was storing it" when the power went. The broker must deliver that message
 * again to the next run, which is only true if the PUBACK leaves after the
 * handler (src/mqtt.c, design note 3).
 *
 *   crash_sub URL CLIENT_ID TOPIC [CRASH_ON]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "tpd/mqtt.h"

struct crash_sub {
	const char *crash_on;
	bool ready_said;
};

static void crash_sub_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	const struct crash_sub *c = ctx;

	printf("%.*s\n", (int)len, (const char *)payload);
	fflush(stdout);
	if (c->crash_on && strlen(c->crash_on) == len && memcmp(payload, c->crash_on, len) == 0) {
		/* Storing takes a while; long enough for a PUBACK already on the
		 * wire to reach the broker before the crash. */
		nanosleep(&(struct timespec){ 0, 300 * 1000 * 1000 }, NULL);
		raise(SIGKILL);
	}
}

int main(int argc, char **argv)
{
	struct crash_sub c = { argc > 4 ? argv[4] : NULL, false };
	const char *subs[] = { argc > 3 ? argv[3] : "", NULL };
	struct tpd_mqtt_cfg cfg = { 0 };
	struct tpd_mqtt *m;
	char err[256];

	if (argc < 4) {
		fprintf(stderr, "usage: crash_sub URL CLIENT_ID TOPIC [CRASH_ON]\n");
		return 2;
	}
	mosquitto_lib_init();
	cfg.url = argv[1];
	cfg.client_id = argv[2];
	cfg.clean_session = false;
	cfg.subscribe = subs;
	cfg.on_message = crash_sub_on_message;
	cfg.ctx = &c;
	cfg.backoff_max_ms = 500;
	cfg.program = "crash_sub";
	if (tpd_mqtt_new(&cfg, &m, err, sizeof(err))) {
		fprintf(stderr, "crash_sub: %s\n", err);
		return 1;
	}
	for (;;) {   /* until killed */
		tpd_mqtt_loop(m, 100);
		if (!c.ready_said && tpd_mqtt_subscribed(m)) {
			fprintf(stderr, "crash_sub: subscribed\n");
			c.ready_said = true;
		}
	}
}
