/*
 * test_fleet.c - the collector's predictive engine on synthetic fleets of
 * the shipped archer-ax55 (telemetry every 5 minutes), and the claims it
 * opens on a real SQLite file: a dusty device (its thermal resistance
 * growing) is claimed days before its limit and its healthy peers never; a
 * summer every device shares hides nobody and claims nobody; a firmware that
 * makes every device of the model run hotter per unit of load is not a
 * failure of each, but a dusty device among them still stands out; a
 * reversal is noted; a claim is never reopened by the engine.
 */
#include <cjson/cJSON.h>

#include "testutil.h"
#include "claims.h"
#include "fleet.h"
#include "ingest.h"
#include "policy.h"
#include "store.h"

#define DAY 86400.0
#define PERIOD_S 300.0
#define T0 1764000000.0

static const char *const board_dirs[] = { "boards", NULL };

/* One device's world: dust (thermal resistance growing by this fraction a
 * day, from day 3), a summer shared with the whole fleet (ambient C/day, no
 * sensor sees it), a firmware from day 8 that raises the heat per unit of
 * load by fw_gain, and cleaning on day `clean`. */
struct fl_dev {
	char id[16];
	double dust, shared, fw_gain, clean_day;
	unsigned seed;
};

static double fl_noise(unsigned *s, double a)
{
	*s = *s * 1103515245u + 12345u;
	return ((double)((*s >> 8) & 0xffff) / 65535.0 * 2 - 1) * a;
}

/* The telemetry report of period k for device d, as ingest would decode it. */
static void fl_report(struct fl_dev *d, long k, struct tpc_report *r, double *cpu_out)
{
	double day = k * PERIOD_S / DAY, hour = fmod(day, 1.0) * 24;
	double load = 0.45 + 0.4 * sin(2 * M_PI * (hour - 14) / 24.0) + fl_noise(&d->seed, 0.04);
	double amb = 24 + 3 * sin(2 * M_PI * (hour - 15) / 24.0);
	double worn = day > 3 && !(day >= d->clean_day) ? day - 3 : 0;
	double rise = (14 + 26 * load) * (1 + d->dust * worn) * (day >= 8 ? 1 + d->fw_gain : 1);
	double board = amb + d->shared * day + 0.5 * rise;
	double cpu = amb + d->shared * day + rise + fl_noise(&d->seed, 0.3);
	double fan = 2600 + 45 * (cpu - 45) + fl_noise(&d->seed, 20);
	double curr = 0.6 + 0.9 * load;
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"sensors\":{\"temp.cpu\":{\"avg\":%.3f},\"temp.board\":{\"avg\":%.3f},"
		 "\"volt.vin\":{\"min\":%.3f},\"curr.vin\":{\"avg\":%.3f},\"fan.main\":{\"avg\":%.1f}},"
		 "\"load\":{\"cpu\":%.3f},\"events\":{\"undervoltage\":0,\"reboot\":0}}",
		 cpu, board, 12.1 - 0.2 * curr, curr, fan, load);
	memset(r, 0, sizeof(*r));
	r->kind = TPD_TOPIC_TELEMETRY;
	snprintf(r->dev, sizeof(r->dev), "%s", d->id);
	r->model = "archer-ax55";
	r->ts = T0 + (k + 1) * PERIOD_S;
	r->json = cJSON_Parse(json);
	assert_non_null(r->json);
	*cpu_out = cpu;
}

struct fl_result {
	double raised_day[16], reversed_day[16], crossed_day[16], eta_s[16];
	struct tpc_prediction first[16];
	unsigned forecasts;
};

/* The persist hook on a real store, as the collector sets it. */
static enum tpd_err fl_save(void *ctx, const char *dev, const void *state, size_t len)
{
	return tpc_store_forecast_put(ctx, dev, state, len, 0);
}

static enum tpd_err fl_load(void *ctx, const char *dev, void **state, size_t *len)
{
	return tpc_store_forecast_get(ctx, dev, state, len);
}

/* How a run keeps its devices: all in memory (store NULL), or at most
 * max_resident of them, the rest in store. */
struct fl_keep {
	struct tpc_store *store;
	size_t max_resident;
	struct tpc_fleet_stats stats;   /* at the end of the run */
};

static void fl_run_kept(struct fl_dev *devs, unsigned n, int days, struct fl_result *res,
			struct fl_keep *keep)
{
	struct tpc_fleet *f;

	assert_int_equal(tpc_fleet_new(board_dirs, 0, &f), TPD_OK);
	if (keep && keep->store) {
		struct tpc_fleet_persist p = { .ctx = keep->store, .save = fl_save, .load = fl_load };

		tpc_fleet_set_persist(f, &p, 0, keep->max_resident);
	}
	memset(res, 0, sizeof(*res));
	for (unsigned i = 0; i < n; i++)
		res->raised_day[i] = res->reversed_day[i] = res->crossed_day[i] = NAN;
	for (long k = 0; k < (long)(days * DAY / PERIOD_S); k++) {
		for (unsigned i = 0; i < n; i++) {
			struct tpc_report r;
			struct tpc_prediction p[4];
			double cpu, day = (k + 1) * PERIOD_S / DAY;
			unsigned np;

			fl_report(&devs[i], k, &r, &cpu);
			if (cpu >= 100 && isnan(res->crossed_day[i]))
				res->crossed_day[i] = day;
			np = tpc_fleet_telemetry(f, &r, r.ts, p, 4);
			cJSON_Delete(r.json);
			for (unsigned j = 0; j < np; j++) {
				res->forecasts++;
				assert_string_equal(p[j].dev, devs[i].id);
				if (p[j].raised && isnan(res->raised_day[i])) {
					res->raised_day[i] = day;
					res->eta_s[i] = p[j].eta_s;
					res->first[i] = p[j];
				} else if (!p[j].raised && isnan(res->reversed_day[i])) {
					res->reversed_day[i] = day;
				}
			}
		}
	}
	{
		size_t nd, bytes;

		tpc_fleet_size(f, &nd, &bytes);
		if (keep)
			tpc_fleet_stats(f, &keep->stats);
		if (keep && keep->store) {
			assert_int_equal(nd, keep->max_resident);
			tpc_fleet_free(f);
			return;
		}
		assert_int_equal(nd, n);
		print_message("  %zu devices, %zu bytes of state each\n", nd, bytes / nd);
		/* the forecast of a router (predict.h: fan bins, the hour's fit,
		 * the excess detector's ring): 5064 B when this was written */
		assert_true(bytes / nd <= 5120);
	}
	tpc_fleet_free(f);
}

static void fl_run(struct fl_dev *devs, unsigned n, int days, struct fl_result *res)
{
	fl_run_kept(devs, n, days, res, NULL);
}

static void fl_fleet(struct fl_dev *devs, unsigned n, double shared)
{
	for (unsigned i = 0; i < n; i++) {
		memset(&devs[i], 0, sizeof(devs[i]));
		snprintf(devs[i].id, sizeof(devs[i].id), "TPF%04u", i);
		devs[i].shared = shared;
		devs[i].clean_day = INFINITY;
		devs[i].seed = 1000 + i;
	}
}

/* One dusty device among eight: claimed before its limit, with the numbers;
 * the seven healthy ones, never. */
static void test_dusty_device_stands_out(void **state)
{
	struct fl_dev devs[8];
	struct fl_result res;

	(void)state;
	fl_fleet(devs, 8, 0);
	devs[3].dust = 0.05;
	fl_run(devs, 8, 24, &res);
	print_message("  TEMP_RISING raised day %.1f (eta %.1f d), limit crossed day %.1f\n",
		      res.raised_day[3], res.eta_s[3] / DAY, res.crossed_day[3]);
	assert_false(isnan(res.raised_day[3]));
	assert_true(res.raised_day[3] < res.crossed_day[3]);
	assert_int_equal(res.first[3].code, TPD_FAULT_TEMP_RISING);
	assert_string_equal(res.first[3].sensor, "temp.cpu");
	/* why, with numbers: the excess over the board sensor (which follows
	 * the SoC by 0.5 here) at least 2 C over early life's 0.5 * (14 + 26
	 * load), or the thermal slope against early life; and the fleet where
	 * it was */
	if (res.first[3].excess) {
		assert_true(res.first[3].now >= res.first[3].baseline + 2);
		assert_true(res.first[3].baseline > 7 && res.first[3].baseline < 20);
	} else {
		assert_true(res.first[3].now > 1.05 * res.first[3].baseline);
		assert_float_equal(res.first[3].baseline, 26 * 1.05, 3);
	}
	assert_true(res.first[3].confidence > 0 && res.first[3].confidence <= 1);
	assert_int_equal(res.first[3].fleet_n, 8);
	assert_true(fabs(res.first[3].fleet_center) < 0.05);
	for (unsigned i = 0; i < 8; i++)
		if (i != 3 && !isnan(res.raised_day[i]))
			fail_msg("healthy %s claimed on day %.1f", devs[i].id, res.raised_day[i]);
}

/* Every device warms the same 1.5 C/day (a summer no sensor sees): not a
 * failure of each of them. */
static void test_shared_drift_is_not_a_failure(void **state)
{
	struct fl_dev devs[8];
	struct fl_result res;

	(void)state;
	fl_fleet(devs, 8, 1.5);
	fl_run(devs, 8, 16, &res);
	assert_int_equal(res.forecasts, 0);
}

/* A summer hides nobody: the dusty device is claimed as in a mild season. */
static void test_summer_hides_no_failing_device(void **state)
{
	struct fl_dev devs[8];
	struct fl_result res;

	(void)state;
	fl_fleet(devs, 8, 1.0);
	devs[5].dust = 0.05;
	fl_run(devs, 8, 20, &res);
	assert_false(isnan(res.raised_day[5]));
	assert_int_equal(res.forecasts, 1);
}

/* A firmware makes the whole model run 30 % hotter per unit of load from day
 * 8: no device is claimed for it, but one that is dusty as well still is. */
static void test_model_wide_shift_is_not_each_device(void **state)
{
	struct fl_dev devs[10];
	struct fl_result res;

	(void)state;
	fl_fleet(devs, 10, 0);
	for (unsigned i = 0; i < 10; i++)
		devs[i].fw_gain = 0.30;
	devs[2].dust = 0.10;
	fl_run(devs, 10, 20, &res);
	print_message("  dusty device raised day %.1f; %u forecasts\n", res.raised_day[2],
		      res.forecasts);
	for (unsigned i = 0; i < 10; i++)
		if (i != 2 && !isnan(res.raised_day[i]))
			fail_msg("%s claimed on day %.1f for the firmware", devs[i].id,
				 res.raised_day[i]);
	assert_false(isnan(res.raised_day[2]));
}

/* The dusty device is cleaned on day 11: the forecast is reversed. */
static void test_cleaning_reverses_the_forecast(void **state)
{
	struct fl_dev devs[6];
	struct fl_result res;

	(void)state;
	fl_fleet(devs, 6, 0);
	devs[0].dust = 0.06;
	devs[0].clean_day = 11;
	fl_run(devs, 6, 26, &res);
	print_message("  raised day %.1f, reversed day %.1f\n", res.raised_day[0],
		      res.reversed_day[0]);
	assert_true(res.raised_day[0] < 11);
	assert_true(res.reversed_day[0] > 11);
}

static struct tpc_store *fl_store(char *dir, size_t len)
{
	struct tpc_store *store;
	char url[128], err[256];

	tu_mkdtemp(dir, len);
	snprintf(url, sizeof(url), "sqlite:%s/f.db", dir);
	assert_int_equal(tpc_store_open(url, &store, err, sizeof(err)), TPD_OK);
	return store;
}

/* Memory bounded to 3 of 8 devices (fleet.c note 4): every report of a
 * round-robin fleet finds its device saved in the database and reads it
 * back, and the engine decides exactly what it decides with all of them in
 * memory: the same forecasts on the same days, the same numbers. */
static void test_evicted_devices_forecast_the_same(void **state)
{
	struct fl_dev devs[8];
	struct fl_result all, kept;
	struct fl_keep keep = { .max_resident = 3 };
	char dir[64];

	(void)state;
	fl_fleet(devs, 8, 0);
	devs[3].dust = 0.05;
	fl_run(devs, 8, 14, &all);
	assert_false(isnan(all.raised_day[3]));
	keep.store = fl_store(dir, sizeof(dir));
	fl_fleet(devs, 8, 0);
	devs[3].dust = 0.05;
	fl_run_kept(devs, 8, 14, &kept, &keep);
	print_message("  %llu evictions, %llu read back, %llu discarded\n",
		      (unsigned long long)keep.stats.evicted, (unsigned long long)keep.stats.restored,
		      (unsigned long long)keep.stats.discarded);
	assert_true(keep.stats.evicted >= (uint64_t)(8 * 14 * DAY / PERIOD_S) - 8);
	assert_int_equal(keep.stats.restored, keep.stats.evicted - 5);
	assert_int_equal(keep.stats.discarded, 0);
	assert_int_equal(keep.stats.save_failed, 0);
	assert_int_equal(memcmp(&all, &kept, sizeof(all)), 0);
	tpc_store_close(keep.store);
	tu_rm_rf(dir);
}

/* Idle devices go to the database and come back; a saved state of another
 * threshold (or layout) is not read back: the device learns again. */
static void test_idle_devices_leave_memory(void **state)
{
	struct tpc_fleet *f, *g;
	struct tpc_fleet_stats st;
	struct fl_dev devs[4];
	struct tpc_fleet_persist p = { .save = fl_save, .load = fl_load };
	struct tpc_prediction out[4];
	struct tpc_report r;
	size_t nd, bytes;
	double cpu;
	char dir[64];

	(void)state;
	p.ctx = fl_store(dir, sizeof(dir));
	fl_fleet(devs, 4, 0);
	assert_int_equal(tpc_fleet_new(board_dirs, 0, &f), TPD_OK);
	tpc_fleet_set_persist(f, &p, 600, 0);
	for (long k = 0; k < 24; k++) {
		for (unsigned i = 0; i < 4; i++) {
			if (i == 0 && k >= 12)
				continue;   /* TPF0000 falls silent after an hour */
			fl_report(&devs[i], k, &r, &cpu);
			tpc_fleet_telemetry(f, &r, k * 60.0, out, 4);
			cJSON_Delete(r.json);
		}
	}
	/* at 23 min: TPF0000 has been silent for 12 min, the others for 0 */
	assert_int_equal(tpc_fleet_evict_idle(f, 23 * 60.0, 100), 1);
	tpc_fleet_size(f, &nd, &bytes);
	assert_int_equal(nd, 3);
	assert_true(bytes > 3 * 1000 && bytes < 4 * 6000);
	assert_int_equal(tpc_fleet_evict_idle(f, 23 * 60.0, 100), 0);
	/* it reports again: read back, not learned anew */
	fl_report(&devs[0], 24, &r, &cpu);
	tpc_fleet_telemetry(f, &r, 24 * 60.0, out, 4);
	cJSON_Delete(r.json);
	tpc_fleet_stats(f, &st);
	assert_int_equal(st.resident, 4);
	assert_int_equal(st.restored, 1);
	/* a clean stop saves all; a collector of another threshold reads none */
	assert_int_equal(tpc_fleet_save_all(f), 0);
	tpc_fleet_free(f);
	assert_int_equal(tpc_fleet_new(board_dirs, 7.0, &g), TPD_OK);
	tpc_fleet_set_persist(g, &p, 600, 0);
	fl_report(&devs[1], 25, &r, &cpu);
	tpc_fleet_telemetry(g, &r, 25 * 60.0, out, 4);
	cJSON_Delete(r.json);
	tpc_fleet_stats(g, &st);
	assert_int_equal(st.restored, 0);
	assert_int_equal(st.discarded, 1);
	tpc_fleet_free(g);
	tpc_store_close(p.ctx);
	tu_rm_rf(dir);
}

/* The claims a forecast makes, on a real store. */
static void test_predicted_claims(void **state)
{
	struct tpc_policy *policy;
	struct tpc_store *store;
	struct tpc_claim_result res;
	struct tpc_prediction p = {
		.dev = "TPF0003", .model = "archer-ax55", .code = TPD_FAULT_TEMP_RISING,
		.sensor = "temp.cpu", .raised = true, .ts = T0 + 10 * DAY, .value = 91.2,
		.limit = 100, .eta_s = 5.5 * DAY, .eta_early_s = 4.9 * DAY, .eta_late_s = 6.3 * DAY,
		.slope_per_day = 1.6, .slope_se_per_day = 0.04, .fleet_center = 0.01,
		.fleet_n = 8, .hours = 140, .confidence = 0.9999, .baseline = 26.0, .now = 33.8,
	};
	char dir[64], url[128], err[256], why[256];
	cJSON *cl = NULL, *tl;
	const char *desc;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(url, sizeof(url), "sqlite:%s/c.db", dir);
	assert_int_equal(tpc_store_open(url, &store, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpc_policy_builtin(&policy), TPD_OK);

	assert_int_equal(tpc_claims_predicted(store, policy, &p, T0 + 10 * DAY, &res), TPD_OK);
	assert_true(res.opened && res.claim > 0);
	assert_int_equal(tpc_store_claim_get(store, res.claim, &cl), TPD_OK);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cl, "predictive")));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "category")), "thermal");
	desc = cJSON_GetStringValue(cJSON_GetObjectItem(cl, "description"));
	print_message("  %s\n", desc);
	assert_non_null(strstr(desc, "+1.6 +- 0.04 °C a day"));
	assert_non_null(strstr(desc, "the archer-ax55 fleet of 8"));
	assert_non_null(strstr(desc, "thermal slope is 33.8 C per unit of CPU load against 26.0 C"));
	assert_non_null(strstr(desc, "+30 %"));
	assert_non_null(strstr(desc, "5.5 days (between 4.9 days and 6.3 days)"));
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "title")), "forecast"));
	cJSON_Delete(cl);

	/* the same forecast again joins the open claim, no second one */
	assert_int_equal(tpc_claims_predicted(store, policy, &p, T0 + 11 * DAY, &res), TPD_OK);
	assert_false(res.opened);
	/* the trend reverses: a timeline line */
	p.raised = false;
	p.slope_per_day = -0.1;
	assert_int_equal(tpc_claims_predicted(store, policy, &p, T0 + 12 * DAY, &res), TPD_OK);
	assert_int_equal(tpc_store_claim_get(store, res.claim, &cl), TPD_OK);
	tl = cJSON_GetObjectItem(cl, "timeline");
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetArrayItem(tl, cJSON_GetArraySize(tl) - 1), "note")), "trend reversed"));
	cJSON_Delete(cl);
	/* support resolves it; the engine never reopens it */
	{
		static const char *const path[] = { "in_review", "approved", "remote_guidance",
						    "resolved" };

		for (size_t i = 0; i < 4; i++)
			assert_int_equal(tpc_claims_transition(store, res.claim, path[i], "ann", NULL,
							       T0 + 13 * DAY, why, sizeof(why)), TPD_OK);
	}
	p.raised = true;
	assert_int_equal(tpc_claims_predicted(store, policy, &p, T0 + 20 * DAY, &res), TPD_OK);
	assert_false(res.opened);
	assert_int_equal(res.claim, 0);
	tpc_policy_free(policy);
	tpc_store_close(store);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dusty_device_stands_out),
		cmocka_unit_test(test_shared_drift_is_not_a_failure),
		cmocka_unit_test(test_summer_hides_no_failing_device),
		cmocka_unit_test(test_model_wide_shift_is_not_each_device),
		cmocka_unit_test(test_cleaning_reverses_the_forecast),
		cmocka_unit_test(test_predicted_claims),
		cmocka_unit_test(test_evicted_devices_forecast_the_same),
		cmocka_unit_test(test_idle_devices_leave_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
