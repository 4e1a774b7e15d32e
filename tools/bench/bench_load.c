/*
 * bench_load.c - load generators for `make bench` (tools/bench/bench.sh).
 * Each mode drives the real agent core and MQTT link against a running
 * broker and collector on loopback and prints "key value" lines the script
 * turns into its table.
 *
 *   bench_load latency --devices N --broker URL --api URL --token T
 *       N virtual archer-ax55 agents (keys made here, imported through the
 *       API). One at a time, each is fed readings that cross temp.cpu's
 *       critical limit; the clock starts before the sample that raises the
 *       fault and stops when GET /api/v1/claims?device=ID lists the claim.
 *       Prints latency_ms per fault, then p50/p99.
 *   bench_load signed --devices N --reports M --broker URL --api URL --token T
 *       M signed reports (faults raised and cleared, self-checks) made by N
 *       agents in memory, then published as fast as the broker takes them;
 *       prints the collector's verify+store rate and, measured here on one
 *       core, mbedTLS's raw ECDSA P-256 verify rate.
 *   bench_load scale --devices N --per-device K --broker URL
 *       K telemetry reports for each of N device ids over one connection
 *       (the test broker has no ACL), to fill the collector's per-device
 *       state.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mosquitto.h>

#include "tpd/agent.h"
#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "tpd/product.h"
#include "tpd/wire.h"

#define BL_WINDOW 64

struct bl_dev {
	char id[32];
	struct tpd_key *key;
	struct tpd_agent *agent;
	struct tpd_mqtt *mqtt;
	struct bl *bl;
	bool raised;        /* a fault report left this agent in the last sample */
};

/* A report kept in memory until it is published (signed mode). */
struct bl_msg {
	char topic[TPD_TOPIC_MAX];
	char *payload;
	size_t len;
	struct bl_dev *dev;
};

struct bl {
	const char *broker, *api, *token;
	struct tpd_product product;
	struct tpd_rng *rng;
	struct bl_dev *dev;
	unsigned ndev;
	bool keep;          /* signed mode: keep reports instead of publishing */
	struct bl_msg *msgs;
	size_t nmsgs, capmsgs;
	CURL *curl;
	char *body;         /* last API answer */
	size_t body_len;
};

static double bl_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static size_t bl_curl_write(char *p, size_t size, size_t n, void *ctx)
{
	struct bl *b = ctx;
	char *grown = realloc(b->body, b->body_len + size * n + 1);

	if (!grown)
		return 0;
	b->body = grown;
	memcpy(b->body + b->body_len, p, size * n);
	b->body_len += size * n;
	b->body[b->body_len] = '\0';
	return size * n;
}

/* GET or POST (body non-NULL) PATH on the API; the answer in b->body.
 * Returns the HTTP status, 0 when the request failed. */
static long bl_api(struct bl *b, const char *path, const char *body)
{
	char url[1024], auth[256];
	struct curl_slist *h = NULL;
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", b->api, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", b->token);
	h = curl_slist_append(h, auth);
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	b->body_len = 0;
	curl_easy_setopt(b->curl, CURLOPT_URL, url);
	curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, bl_curl_write);
	curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(b->curl, CURLOPT_POST, body ? 1L : 0L);
	if (body)
		curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, body);
	else
		curl_easy_setopt(b->curl, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(b->curl) == CURLE_OK)
		curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return status;
}

/* The collector's "stored" counter, -1 when it cannot be read. */
static long long bl_stored(struct bl *b)
{
	const char *p;

	if (bl_api(b, "/api/v1/stats", NULL) != 200 || !b->body)
		return -1;
	p = strstr(b->body, "\"stored\":");
	return p ? strtoll(p + 9, NULL, 10) : -1;
}

static enum tpd_err bl_emit(void *ctx, enum tpd_topic_kind kind, uint64_t seq,
			    const char *payload, size_t len)
{
	struct bl_dev *d = ctx;
	struct bl *b = d->bl;
	char topic[TPD_TOPIC_MAX];

	(void)seq;
	if (tpd_topic_format(topic, sizeof(topic), d->id, kind))
		return TPD_ERR_INVAL;
	if (kind == TPD_TOPIC_FAULT)
		d->raised = true;
	if (b->keep) {
		struct bl_msg *m;

		if (b->nmsgs == b->capmsgs) {
			size_t cap = b->capmsgs ? 2 * b->capmsgs : 1024;
			struct bl_msg *grown = realloc(b->msgs, cap * sizeof(*grown));

			if (!grown)
				return TPD_ERR_NOMEM;
			b->msgs = grown;
			b->capmsgs = cap;
		}
		m = &b->msgs[b->nmsgs];
		m->payload = malloc(len);
		if (!m->payload)
			return TPD_ERR_NOMEM;
		memcpy(m->payload, payload, len);
		m->len = len;
		m->dev = d;
		snprintf(m->topic, sizeof(m->topic), "%s", topic);
		b->nmsgs++;
		return TPD_OK;
	}
	return tpd_mqtt_publish(d->mqtt, topic, payload, len, 1, kind == TPD_TOPIC_STATUS, NULL);
}

/* Makes N agents with fresh keys, imports them through the API, connects. */
static int bl_devices(struct bl *b, unsigned n, const char *prefix)
{
	size_t cap = 64 + (size_t)n * 512;   /* a row is about 250 bytes */
	char *body = malloc(cap), err[256];
	size_t len = 0;

	b->dev = calloc(n, sizeof(*b->dev));
	if (!body || !b->dev)
		return 1;
	len += (size_t)snprintf(body + len, cap - len, "{\"devices\":[");
	for (unsigned i = 0; i < n; i++) {
		struct bl_dev *d = &b->dev[i];
		struct tpd_agent_cfg ac = {
			.id = d->id, .product = &b->product, .rng = b->rng,
			.emit = bl_emit, .emit_ctx = d,
		};
		struct tpd_mqtt_cfg mc = {
			.url = b->broker, .client_id = d->id, .clean_session = true,
			.max_inflight = BL_WINDOW, .backoff_max_ms = 1000, .program = "bench_load",
		};
		char b64[256];

		snprintf(d->id, sizeof(d->id), "%s%05u", prefix, i + 1);
		d->bl = b;
		b->ndev = i + 1;
		if (tpd_key_generate(b->rng, &d->key) || tpd_key_public_b64(d->key, b64, sizeof(b64)))
			return 1;
		ac.key = d->key;
		if (tpd_agent_new(&ac, &d->agent, err, sizeof(err)) ||
		    tpd_mqtt_new(&mc, &d->mqtt, err, sizeof(err))) {
			fprintf(stderr, "bench_load: %s: %s\n", d->id, err);
			return 1;
		}
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"device_id\":\"%s\",\"model\":\"%s\",\"purchase_date\":"
					"\"2026-06-01\",\"public_key\":\"%s\"}", i ? "," : "", d->id,
					b->product.model, b64);
	}
	snprintf(body + len, cap - len, "]}");
	if (bl_api(b, "/api/v1/devices/import", body) != 200) {
		fprintf(stderr, "bench_load: device import refused: %s\n", b->body ? b->body : "");
		free(body);
		return 1;
	}
	free(body);
	for (int tries = 0; tries < 200; tries++) {
		unsigned up = 0;

		for (unsigned i = 0; i < n; i++) {
			tpd_mqtt_loop(b->dev[i].mqtt, 0);
			up += tpd_mqtt_connected(b->dev[i].mqtt);
		}
		if (up == n)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "bench_load: not every device connected to %s\n", b->broker);
	return 1;
}

/* archer-ax55 readings; cpu_c is temp.cpu. */
static void bl_values(const struct tpd_product *p, double cpu_c, double *v)
{
	for (size_t i = 0; i < p->nsensors; i++) {
		const char *id = p->sensors[i].id;

		v[i] = strcmp(id, "temp.cpu") == 0 ? cpu_c : strcmp(id, "temp.board") == 0 ? 42
		       : strcmp(id, "volt.vin") == 0 ? 12.0 : strcmp(id, "curr.vin") == 0 ? 0.9
		       : strcmp(id, "fan.main") == 0 ? 4100 : strcmp(id, "load.cpu") == 0 ? 0.3 : 0;
	}
}

static int bl_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bl_pct(const double *sorted, unsigned n, double q)
{
	unsigned i = (unsigned)ceil(q * n);

	return sorted[i ? i - 1 : 0];
}

static int bl_latency(struct bl *b, unsigned n)
{
	double v[TPD_PRODUCT_MAX_SENSORS], *lat = calloc(n, sizeof(double)), ts = 1764000000;
	unsigned done = 0;

	if (!lat || bl_devices(b, n, "TPLAT"))
		return 1;
	for (unsigned i = 0; i < n; i++) {
		struct bl_dev *d = &b->dev[i];
		char path[128];
		double t0 = 0, deadline;

		bl_values(&b->product, 55, v);
		for (int k = 0; k < 3; k++, ts += 1)
			tpd_agent_sample(d->agent, ts, v);
		tpd_mqtt_loop(d->mqtt, 0);
		bl_values(&b->product, 110, v);
		d->raised = false;
		for (int k = 0; k < 60 && !d->raised; k++, ts += 1) {
			t0 = bl_now();
			tpd_agent_sample(d->agent, ts, v);
		}
		if (!d->raised) {
			fprintf(stderr, "bench_load: %s raised no fault\n", d->id);
			return 1;
		}
		tpd_mqtt_loop(d->mqtt, 0);
		snprintf(path, sizeof(path), "/api/v1/claims?device=%s", d->id);
		for (deadline = t0 + 10; bl_now() < deadline; ) {
			if (bl_api(b, path, NULL) == 200 && b->body && !strstr(b->body, "\"count\":0"))
				break;
			tpd_mqtt_loop(d->mqtt, 0);
			usleep(200);
		}
		if (bl_now() >= deadline) {
			fprintf(stderr, "bench_load: no claim for %s within 10 s\n", d->id);
			return 1;
		}
		lat[done++] = (bl_now() - t0) * 1000;
	}
	qsort(lat, done, sizeof(*lat), bl_cmp_double);
	printf("faults %u\nlatency_p50_ms %.2f\nlatency_p99_ms %.2f\nlatency_max_ms %.2f\n", done,
	       bl_pct(lat, done, 0.5), bl_pct(lat, done, 0.99), lat[done - 1]);
	free(lat);
	return 0;
}

/* Raw verify rate of one core: the same report verified over and over. */
static double bl_verify_rate(const struct bl_msg *m)
{
	struct tpd_jws j;
	char *text = malloc(m->len + 1);
	double start, rate = 0;
	unsigned long k = 0;
	char pem[512];
	struct tpd_key *pub = NULL;

	if (!text)
		return 0;
	memcpy(text, m->payload, m->len);
	text[m->len] = '\0';
	if (tpd_key_public_pem(m->dev->key, pem, sizeof(pem)) || tpd_key_parse_public(pem, &pub) ||
	    tpd_jws_decode(text, m->len, &j)) {
		free(text);
		tpd_key_free(pub);
		return 0;
	}
	start = bl_now();
	while (bl_now() - start < 2.0) {
		if (tpd_jws_verify(&j, text, pub) != TPD_OK)
			break;
		k++;
	}
	rate = k / (bl_now() - start);
	tpd_jws_clear(&j);
	tpd_key_free(pub);
	free(text);
	return rate;
}

static int bl_signed(struct bl *b, unsigned n, unsigned reports)
{
	double v[TPD_PRODUCT_MAX_SENSORS], ts = 1764000000, t0, t_pub, t_done = 0, gen_s;
	long long base, stored = 0;
	size_t next = 0;

	if (bl_devices(b, n, "TPSIG"))
		return 1;
	b->keep = true;
	t0 = bl_now();
	/* each device goes over its limit and back: fault raised (+ the
	 * self-check it runs), fault cleared, all signed */
	while (b->nmsgs < reports) {
		for (unsigned i = 0; i < n && b->nmsgs < reports; i++) {
			for (int k = 0; k < 14; k++) {
				bl_values(&b->product, k < 12 ? 110 : 50, v);
				tpd_agent_sample(b->dev[i].agent, ts + k, v);
			}
		}
		ts += 30;
		for (unsigned i = 0; i < n && b->nmsgs < reports; i++) {
			bl_values(&b->product, 50, v);
			tpd_agent_sample(b->dev[i].agent, ts, v);
		}
		ts += 30;
	}
	gen_s = bl_now() - t0;
	/* keep only the signed ones, in order */
	for (size_t i = 0; i < b->nmsgs; i++)
		if (b->msgs[i].payload[0] != '{')
			b->msgs[next++] = b->msgs[i];
		else
			free(b->msgs[i].payload);
	b->nmsgs = next;
	base = bl_stored(b);
	next = 0;
	t_pub = bl_now();
	while (next < b->nmsgs || stored < base + (long long)b->nmsgs) {
		for (unsigned i = 0; i < n; i++)
			tpd_mqtt_loop(b->dev[i].mqtt, 0);
		for (; next < b->nmsgs; next++) {
			struct bl_msg *m = &b->msgs[next];

			if (tpd_mqtt_unacked(m->dev->mqtt) >= BL_WINDOW)
				break;
			tpd_mqtt_publish(m->dev->mqtt, m->topic, m->payload, m->len, 1, false, NULL);
		}
		if (next == b->nmsgs) {
			stored = bl_stored(b);
			t_done = bl_now();
			if (t_done - t_pub > 120) {
				fprintf(stderr, "bench_load: %lld of %zu stored after 120 s\n",
					stored - base, b->nmsgs);
				return 1;
			}
			usleep(2000);
		}
	}
	printf("signed_reports %zu\nsign_rate_per_s %.0f\ningest_signed_per_s %.0f\n"
	       "raw_verify_per_s %.0f\n", b->nmsgs, b->nmsgs / gen_s, b->nmsgs / (t_done - t_pub),
	       bl_verify_rate(&b->msgs[0]));
	return 0;
}

static int bl_scale(struct bl *b, unsigned n, unsigned per)
{
	struct tpd_mqtt_cfg mc = {
		.url = b->broker, .client_id = "bench-scale", .clean_session = true,
		.max_inflight = 1000, .backoff_max_ms = 1000, .program = "bench_load",
	};
	struct tpd_mqtt *m;
	char err[256];

	if (tpd_mqtt_new(&mc, &m, err, sizeof(err))) {
		fprintf(stderr, "bench_load: %s\n", err);
		return 1;
	}
	for (int i = 0; i < 200 && !tpd_mqtt_connected(m); i++)
		tpd_mqtt_loop(m, 20);
	for (unsigned k = 0; k < per; k++) {
		for (unsigned i = 0; i < n; i++) {
			char topic[TPD_TOPIC_MAX], json[768], id[32];
			int len;

			snprintf(id, sizeof(id), "TPSC%06u", i + 1);
			snprintf(topic, sizeof(topic), "tp/v1/%s/telemetry", id);
			len = snprintf(json, sizeof(json),
				       "{\"v\":1,\"dev\":\"%s\",\"model\":\"archer-ax55\",\"fw\":\"1.0.4\","
				       "\"seq\":%u,\"ts\":%u,\"period_s\":60,\"sensors\":{"
				       "\"temp.cpu\":{\"min\":52.1,\"max\":55.0,\"avg\":53.1,\"n\":60},"
				       "\"temp.board\":{\"min\":40.1,\"max\":41.0,\"avg\":40.5,\"n\":60},"
				       "\"volt.vin\":{\"min\":11.92,\"max\":12.05,\"avg\":12.0,\"n\":60},"
				       "\"curr.vin\":{\"min\":0.8,\"max\":0.9,\"avg\":0.85,\"n\":60},"
				       "\"fan.main\":{\"min\":4050,\"max\":4150,\"avg\":4100,\"n\":60}},"
				       "\"events\":{\"undervoltage\":0,\"reboot\":0},\"load\":{\"cpu\":0.35}}",
				       id, k + 1, 1764000000u + k * 3600u);
			while (tpd_mqtt_unacked(m) >= 1000)
				tpd_mqtt_loop(m, 5);
			tpd_mqtt_publish(m, topic, json, (size_t)len, 1, false, NULL);
			tpd_mqtt_loop(m, 0);
		}
	}
	if (tpd_mqtt_drain(m, 60000)) {
		fprintf(stderr, "bench_load: %zu not acknowledged\n", tpd_mqtt_unacked(m));
		return 1;
	}
	printf("published %llu\n", (unsigned long long)n * per);
	tpd_mqtt_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	struct bl b = { 0 };
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned devices = 200, reports = 2000, per = 2;
	char err[256];
	int code = 1;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--devices") == 0)
			devices = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--reports") == 0)
			reports = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--per-device") == 0)
			per = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--broker") == 0)
			b.broker = argv[i + 1];
		else if (strcmp(argv[i], "--api") == 0)
			b.api = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			b.token = argv[i + 1];
	}
	if (!b.broker || devices == 0 || (strcmp(mode, "scale") != 0 && (!b.api || !b.token))) {
		fprintf(stderr, "usage: bench_load latency|signed|scale --broker URL [--api URL "
			"--token T] [--devices N] [--reports M] [--per-device K]\n");
		return 2;
	}
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	b.curl = curl_easy_init();
	if (tpd_rng_new(&b.rng) || !b.curl ||
	    tpd_product_load("boards/archer-ax55.json", &b.product, err, sizeof(err))) {
		fprintf(stderr, "bench_load: set-up failed (run from the source tree)\n");
		goto out;
	}
	if (strcmp(mode, "latency") == 0)
		code = bl_latency(&b, devices);
	else if (strcmp(mode, "signed") == 0)
		code = bl_signed(&b, devices, reports);
	else if (strcmp(mode, "scale") == 0)
		code = bl_scale(&b, devices, per);
	else
		code = 2;
out:
	for (unsigned i = 0; i < b.ndev; i++) {
		tpd_mqtt_free(b.dev[i].mqtt);
		tpd_agent_free(b.dev[i].agent);
		tpd_key_free(b.dev[i].key);
	}
	for (size_t i = 0; i < b.nmsgs; i++)
		free(b.msgs[i].payload);
	free(b.msgs);
	free(b.dev);
	free(b.body);
	curl_easy_cleanup(b.curl);
	tpd_rng_free(b.rng);
	curl_global_cleanup();
	mosquitto_lib_cleanup();
	return code;
}
