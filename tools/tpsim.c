/*
 * tpsim - fleet simulator and load generator (SPEC §1, §5).
 *
 *   tpsim --generate DIR [--devices N] [--days D] [--period S | --period-min S]
 *                        [--mix even|tune|test] [--seed N]
 *   tpsim --traces DIR --registry-out FILE.csv [--keys DIR]
 *   tpsim --traces DIR --broker URL [--keys DIR] [--epoch S]
 *
 * --traces replays one virtual device per DIR/ *.csv through the real agent
 * core (src/agent.c: detectors, edge forecast, signed reports) on the trace's
 * virtual clock, as fast as the broker takes it: each device has its own
 * MQTT connection (client id = device id) and at most --window QoS 1
 * messages in flight. The device id is the file name; the model comes from
 * the trace's "# model: NAME" line. Keys are DIR/keys/ID.key (made when
 * missing); --registry-out writes the registry rows the collector needs.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "tpd/agent.h"
#include "tpd/board.h"
#include "tpd/cli.h"
#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "tpd/trace.h"
#include "tpd/units.h"
#include "tpsim.h"

#define PROG "tpsim"
#define TPSIM_MAX_MODELS 16

static volatile sig_atomic_t tpsim_stop;

static void tpsim_on_signal(int sig)
{
	(void)sig;
	tpsim_stop = 1;
}

struct tpsim_device {
	char id[TPD_ID_MAX + 1];
	char path[4096];
	const struct tpd_product *product;
	struct tpd_board *board;
	struct tpd_agent *agent;
	struct tpd_key *key;
	struct tpd_mqtt *mqtt;
	struct tpsim *sim;
	bool done;
};

struct tpsim {
	const char *const *board_dirs;
	struct tpd_product *models[TPSIM_MAX_MODELS];
	unsigned nmodels;
	struct tpsim_device *dev;
	size_t ndev;
	struct tpd_rng *rng;
	bool no_edge_predict;
	double predict_threshold;   /* 0: the default */
	unsigned long long published;
};

static double tpsim_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static const struct tpd_product *tpsim_product(struct tpsim *s, const char *model, char *err,
					       size_t errlen)
{
	char path[4096];
	struct tpd_product *p;

	for (unsigned i = 0; i < s->nmodels; i++)
		if (strcmp(s->models[i]->model, model) == 0)
			return s->models[i];
	if (s->nmodels == TPSIM_MAX_MODELS) {
		snprintf(err, errlen, "more than %d models", TPSIM_MAX_MODELS);
		return NULL;
	}
	if (tpd_product_resolve(model, s->board_dirs, path, sizeof(path))) {
		snprintf(err, errlen, "no description boards/%s.json", model);
		return NULL;
	}
	p = malloc(sizeof(*p));
	if (!p || tpd_product_load(path, p, err, errlen)) {
		if (!p)
			snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	s->models[s->nmodels++] = p;
	return p;
}

static int tpsim_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tpsim_device *)a)->id, ((const struct tpsim_device *)b)->id);
}

/* Finds DIR/ *.csv, reads each one's model, loads or makes its key. */
static int tpsim_scan(struct tpsim *s, const char *dir, const char *keys)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char err[512];

	if (!d) {
		fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (mkdir(keys, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, PROG ": %s: %s\n", keys, strerror(errno));
		closedir(d);
		return 1;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct tpsim_device *v, *grown;
		struct tpd_trace *tr;
		char kpath[4200];

		if (n < 5 || strcmp(e->d_name + n - 4, ".csv") != 0 || strcmp(e->d_name, "labels.csv") == 0)
			continue;
		grown = realloc(s->dev, (s->ndev + 1) * sizeof(*s->dev));
		if (!grown)
			goto nomem;
		s->dev = grown;
		v = &s->dev[s->ndev];
		memset(v, 0, sizeof(*v));
		snprintf(v->id, sizeof(v->id), "%.*s", (int)(n - 4), e->d_name);
		snprintf(v->path, sizeof(v->path), "%s/%s", dir, e->d_name);
		if (!tpd_id_valid(v->id)) {
			fprintf(stderr, PROG ": %s: \"%s\" is not a device id\n", v->path, v->id);
			goto fail;
		}
		if (tpd_trace_open(v->path, &tr, err, sizeof(err))) {
			fprintf(stderr, PROG ": %s\n", err);
			goto fail;
		}
		v->product = tpd_trace_model(tr) ? tpsim_product(s, tpd_trace_model(tr), err,
								  sizeof(err)) : NULL;
		if (!v->product)
			fprintf(stderr, PROG ": %s: %s\n", v->path,
				tpd_trace_model(tr) ? err : "no \"# model: NAME\" line");
		tpd_trace_free(tr);
		if (!v->product)
			goto fail;
		if (strlen(keys) > 4000) {
			fprintf(stderr, PROG ": %s: path too long\n", keys);
			goto fail;
		}
		snprintf(kpath, sizeof(kpath), "%s/%s.key", keys, v->id);
		if (tpd_key_load_private(kpath, &v->key) != TPD_OK &&
		    (tpd_key_generate(s->rng, &v->key) || tpd_key_save_private(v->key, kpath, 0))) {
			fprintf(stderr, PROG ": %s: cannot load or make the key\n", kpath);
			s->ndev++;
			goto fail;
		}
		s->ndev++;
	}
	closedir(d);
	if (s->ndev == 0) {
		fprintf(stderr, PROG ": %s: no *.csv traces\n", dir);
		return 1;
	}
	qsort(s->dev, s->ndev, sizeof(*s->dev), tpsim_cmp);
	return 0;
nomem:
	fprintf(stderr, PROG ": out of memory\n");
fail:
	closedir(d);
	return 1;
}

static int tpsim_registry(const struct tpsim *s, const char *path, const char *purchase)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(f, "device_id,model,purchase_date,public_key\n");
	for (size_t i = 0; i < s->ndev; i++) {
		char b64[256];

		tpd_key_public_b64(s->dev[i].key, b64, sizeof(b64));
		fprintf(f, "%s,%s,%s,%s\n", s->dev[i].id, s->dev[i].product->model, purchase, b64);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(stderr, PROG ": %zu registry rows written to %s\n", s->ndev, path);
	return 0;
}

static enum tpd_err tpsim_emit(void *ctx, enum tpd_topic_kind kind, uint64_t seq,
			       const char *payload, size_t len)
{
	struct tpsim_device *v = ctx;
	char topic[TPD_TOPIC_MAX];

	(void)seq;
	if (tpd_topic_format(topic, sizeof(topic), v->id, kind))
		return TPD_ERR_INVAL;
	v->sim->published++;
	return tpd_mqtt_publish(v->mqtt, topic, payload, len, 1, kind == TPD_TOPIC_STATUS, NULL);
}

static int tpsim_open(struct tpsim *s, struct tpsim_device *v, const char *broker)
{
	struct tpd_board_cfg bc = { .product = v->product, .trace_path = v->path };
	struct tpd_agent_cfg ac = {
		.id = v->id, .product = v->product, .key = v->key, .rng = s->rng,
		.emit = tpsim_emit, .emit_ctx = v, .no_edge_predict = s->no_edge_predict,
		.predict_threshold = s->predict_threshold,
	};
	struct tpd_mqtt_cfg mc = {
		.url = broker, .client_id = v->id, .clean_session = true,
		.max_inflight = 64, .backoff_max_ms = 2000, .program = PROG,
	};
	char err[512];

	v->sim = s;
	if (tpd_board_open(&tpd_board_sim, &bc, &v->board, err, sizeof(err)) ||
	    tpd_agent_new(&ac, &v->agent, err, sizeof(err)) ||
	    tpd_mqtt_new(&mc, &v->mqtt, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s: %s\n", v->id, err);
		return 1;
	}
	return 0;
}

/* Runs every device's I/O once, and waits while any has a full window. */
static void tpsim_io(struct tpsim *s, size_t window)
{
	for (size_t i = 0; i < s->ndev; i++) {
		struct tpsim_device *v = &s->dev[i];

		tpd_mqtt_loop(v->mqtt, 0);
		while (!tpsim_stop && tpd_mqtt_unacked(v->mqtt) >= window)
			tpd_mqtt_loop(v->mqtt, 20);
	}
}

static int tpsim_run(struct tpsim *s, const char *broker, double epoch, size_t window)
{
	double start = tpsim_mono(), last_day = -1, t_s = 0, values[TPD_PRODUCT_MAX_SENSORS];
	size_t live;
	int code = 0;
	char err[512];

	for (size_t i = 0; i < s->ndev; i++)
		if (tpsim_open(s, &s->dev[i], broker))
			return 1;
	for (int i = 0; i < 100 && !tpsim_stop; i++) {   /* let them connect */
		size_t up = 0;

		for (size_t k = 0; k < s->ndev; k++) {
			tpd_mqtt_loop(s->dev[k].mqtt, 0);
			up += tpd_mqtt_connected(s->dev[k].mqtt);
		}
		if (up == s->ndev)
			break;
		usleep(50000);
	}
	do {
		live = 0;
		for (size_t i = 0; i < s->ndev && !tpsim_stop; i++) {
			struct tpsim_device *v = &s->dev[i];
			enum tpd_err rc;

			if (v->done)
				continue;
			rc = tpd_board_read(v->board, &t_s, values, err, sizeof(err));
			if (rc) {
				if (rc != TPD_ERR_EOF) {
					fprintf(stderr, PROG ": %s: %s\n", v->id, err);
					code = 1;
				}
				tpd_agent_flush(v->agent);
				v->done = true;
				continue;
			}
			tpd_agent_sample(v->agent, epoch + t_s, values);
			live++;
		}
		tpsim_io(s, window);
		if (floor(t_s / 86400) > last_day) {
			last_day = floor(t_s / 86400);
			fprintf(stderr, PROG ": day %.0f: %zu devices, %llu reports published "
				"(%.0f/s)\n", last_day, live, s->published,
				s->published / fmax(tpsim_mono() - start, 1e-3));
		}
	} while (live > 0 && !tpsim_stop);
	for (size_t i = 0; i < s->ndev; i++) {
		if (tpd_mqtt_drain(s->dev[i].mqtt, 30000)) {
			fprintf(stderr, PROG ": %s: %zu reports not acknowledged by the broker\n",
				s->dev[i].id, tpd_mqtt_unacked(s->dev[i].mqtt));
			code = 1;
		}
	}
	fprintf(stderr, PROG ": %zu devices done: %llu reports in %.1f s\n", s->ndev, s->published,
		tpsim_mono() - start);
	return tpsim_stop ? 1 : code;
}

static void tpsim_free(struct tpsim *s)
{
	for (size_t i = 0; i < s->ndev; i++) {
		tpd_mqtt_free(s->dev[i].mqtt);
		tpd_agent_free(s->dev[i].agent);
		tpd_board_close(s->dev[i].board);
		tpd_key_free(s->dev[i].key);
	}
	free(s->dev);
	for (unsigned i = 0; i < s->nmodels; i++)
		free(s->models[i]);
	tpd_rng_free(s->rng);
}

int main(int argc, char **argv)
{
	const char *gen_dir = NULL, *traces = NULL, *broker = NULL, *keys = NULL, *reg_out = NULL;
	const char *devices = "40", *days = "30", *period = NULL, *seed = "1", *epoch_arg = NULL;
	const char *period_min = NULL, *mix = "even";
	const char *window_arg = "64", *purchase = "2025-06-01", *boards = NULL;
	bool no_edge = false;
	const char *threshold_arg = NULL;
	struct tpd_cli_opt opts[] = {
		{ "generate", "DIR", "write a labelled fleet: a trace per device and labels.csv", &gen_dir, NULL },
		{ "devices", "N", "--generate: devices (default 40)", &devices, NULL },
		{ "days", "D", "--generate: days of history, or 2w (default 30)", &days, NULL },
		{ "period", "S", "--generate: every device's seconds between trace rows, or 5m (default: drawn per device from 10, 30, 60, 120, 300)", &period, NULL },
		{ "period-min", "S", "--generate: floor for a drawn period, to bound file sizes", &period_min, NULL },
		{ "mix", "NAME", "--generate: the fleet's proportions: even (default), tune, test", &mix, NULL },
		{ "seed", "N", "--generate: the fleet depends on this only (default 1)", &seed, NULL },
		{ "traces", "DIR", "replay one virtual device per DIR/*.csv (SPEC §5)", &traces, NULL },
		{ "keys", "DIR", "device keys ID.key, made when missing (default TRACES/keys)", &keys, NULL },
		{ "registry-out", "FILE", "write the collector's registry rows for the traces and exit", &reg_out, NULL },
		{ "purchase-date", "DATE", "--registry-out: purchase date of every device (default 2025-06-01)", &purchase, NULL },
		{ "broker", "URL", "mqtt://HOST:PORT to publish to", &broker, NULL },
		{ "epoch", "S", "Unix time of the traces' t_s 0 (default: now)", &epoch_arg, NULL },
		{ "no-edge-predict", NULL, "the agents raise no predictive faults (to measure the collector's engine alone)", NULL, &no_edge },
		{ "predict-threshold", "H", "the agents' forecast decision threshold (default: the built-in one)", &threshold_arg, NULL },
		{ "window", "N", "QoS 1 reports in flight per device (default 64)", &window_arg, NULL },
		{ "boards", "DIR", "product descriptions (default ./boards, then " TPD_DATADIR "/boards)", &boards, NULL },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "--generate DIR [--devices N] [--days D]\n"
			    "       tpsim --traces DIR (--broker URL | --registry-out FILE)",
		.description = "Fleet simulator: writes a labelled synthetic fleet (--generate), or replays\n"
			       "a folder of traces as virtual devices through the real agent core to an\n"
			       "MQTT broker, as fast as it takes them (--traces).",
		.opts = opts,
	};
	const char *dirs[] = { boards ? boards : "boards", TPD_DATADIR "/boards", NULL };
	struct sigaction sa = { .sa_handler = tpsim_on_signal };
	struct tpsim s = { 0 };
	char keybuf[4096];
	double n_dev, n_days, n_period = 0, n_period_min = 0, n_seed, epoch = (double)time(NULL), window, threshold = 0;
	int optind_out, code = 2;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	dirs[0] = boards ? boards : "boards";
	if (optind_out < argc || !gen_dir == !traces || (traces && !broker == !reg_out) ||
	    !tpd_cli_number(devices, 1, 100000, &n_dev) ||
	    !tpd_cli_number(seed, 0, 1e15, &n_seed) || !tpsim_gen_mix_known(mix) ||
	    !tpd_cli_number(window_arg, 1, 10000, &window) ||
	    (threshold_arg && !tpd_cli_number(threshold_arg, 0.1, 1000, &threshold)) ||
	    (epoch_arg && !tpd_cli_number(epoch_arg, 0, 1e11, &epoch))) {
		fprintf(stderr, PROG ": bad usage: %s (see --help)\n",
			optind_out < argc ? "unexpected argument"
			: !gen_dir == !traces ? "one of --generate DIR or --traces DIR"
			: traces && !broker == !reg_out ? "--traces needs --broker URL or --registry-out FILE"
			: !tpsim_gen_mix_known(mix) ? "--mix is one of even, tune, test"
			: "a number is out of range");
		tpd_cli_free(&cli);
		return 2;
	}
	if (!tpd_units_opt_duration(PROG, "days", days, TPD_UNITS_MS_PER_DAY, TPD_UNITS_MS_PER_DAY,
				    3650 * TPD_UNITS_MS_PER_DAY, "whole days or 2w: 1d to 3650d", &n_days) ||
	    !tpd_units_opt_duration(PROG, "period", period, 1000, 1000, 86400000,
				    "seconds or 5m, 1h: 1s to 1d", &n_period) ||
	    !tpd_units_opt_duration(PROG, "period-min", period_min, 1000, 1000, 86400000,
				    "seconds or 5m, 1h: 1s to 1d", &n_period_min)) {
		tpd_cli_free(&cli);
		return 2;
	}
	n_days /= 86400;
	if (n_days != floor(n_days)) {
		fprintf(stderr, PROG ": bad usage: --days %s: not whole days\n", days);
		tpd_cli_free(&cli);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (gen_dir) {
		struct tpsim_gen_cfg gc = {
			.dir = gen_dir, .board_dirs = dirs, .devices = (unsigned)n_dev,
			.days = (unsigned)n_days, .period_s = n_period, .period_min_s = n_period_min,
			.mix = mix, .seed = (uint64_t)n_seed,
		};

		code = tpsim_generate(&gc);
		tpd_cli_free(&cli);
		return code;
	}
	mosquitto_lib_init();
	s.board_dirs = dirs;
	s.no_edge_predict = no_edge;
	s.predict_threshold = threshold;
	snprintf(keybuf, sizeof(keybuf), "%s/keys", traces);
	code = 1;
	if (tpd_rng_new(&s.rng)) {
		fprintf(stderr, PROG ": cannot seed the random generator\n");
		goto out;
	}
	if (tpsim_scan(&s, traces, keys ? keys : keybuf))
		goto out;
	code = reg_out ? tpsim_registry(&s, reg_out, purchase)
		       : tpsim_run(&s, broker, epoch, (size_t)window);
out:
	tpsim_free(&s);
	mosquitto_lib_cleanup();
	tpd_cli_free(&cli);
	return code;
}
