/*
 * predict_replay.c - the edge detectors alone over a labelled fleet, no
 * broker and no collector: seconds where `make eval` takes minutes, for
 * tuning (README "Evaluation"). Every trace of DIR (labels.csv names them)
 * is fed to tpd_predict as the agent feeds it (readings outside their
 * plausible range as failed, event flags as rising edges); one line per
 * device: its labels, then each predictive code first raised, in days
 * ("x" after the day: TEMP_RISING raised by the excess detector alone).
 * Then a summary over the fleet: failing devices with a forecast of their
 * class before the failure and before the first warning, the median lead,
 * forecasts on healthy devices and of another class.
 *
 *   predict_replay DIR [THRESHOLD] [BOARDS_DIR]
 *
 * A tuning aid, not the evaluation: the figures that count come from
 * `make eval`, through the real agents, broker and collector.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"
#include "tpd/product.h"
#include "tpd/trace.h"

#define PR_FIELDS 16
#define PR_MAX_DEV 100000

static int pr_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Splits a CSV line (no quoting: labels.csv has none) in place. */
static int pr_split(char *line, char **f)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < PR_FIELDS) {
		char *c = strchr(line, ',');

		f[n++] = line;
		if (!c)
			break;
		*c = '\0';
		line = c + 1;
	}
	return n;
}

static double pr_days(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	return end == s ? NAN : v / 86400.0;
}

/* Replays one trace; first[code] gets the day each predictive code was
 * first raised (NAN: never). */
static int pr_device(const char *path, const struct tpd_product *prod, double threshold,
		     double *first, bool *excess)
{
	struct tpd_trace *tr;
	struct tpd_predict *p;
	double t, vals[TPD_PRODUCT_MAX_SENSORS], clean[TPD_PRODUCT_MAX_SENSORS];
	double edge[TPD_PRODUCT_MAX_SENSORS], was[TPD_PRODUCT_MAX_SENSORS] = { 0 };
	int col[TPD_PRODUCT_MAX_SENSORS];
	char err[512];
	enum tpd_err rc;

	for (int c = 0; c < TPD_FAULT_CODE_COUNT; c++)
		first[c] = NAN, excess[c] = false;
	if (tpd_trace_open(path, &tr, err, sizeof(err))) {
		fprintf(stderr, "predict_replay: %s\n", err);
		return 1;
	}
	p = tpd_predict_new(prod, threshold);
	if (!p || tpd_trace_columns(tr) > TPD_PRODUCT_MAX_SENSORS) {
		fprintf(stderr, "predict_replay: %s: %s\n", path, p ? "too many columns" : "out of memory");
		tpd_predict_free(p);
		tpd_trace_free(tr);
		return 1;
	}
	for (size_t i = 0; i < prod->nsensors; i++)
		col[i] = tpd_trace_find(tr, prod->sensors[i].id);
	while ((rc = tpd_trace_next(tr, &t, vals, TPD_PRODUCT_MAX_SENSORS, err, sizeof(err))) == TPD_OK) {
		struct tpd_predict_event ev[TPD_PREDICT_MAX_TARGETS];
		unsigned n;

		for (size_t i = 0; i < prod->nsensors; i++) {
			const struct tpd_sensor_desc *s = &prod->sensors[i];
			double v = col[i] >= 0 ? vals[col[i]] : NAN;

			clean[i] = v >= s->plaus_lo && v <= s->plaus_hi ? v : NAN;
			edge[i] = s->kind == TPD_KIND_EVENT && clean[i] >= 0.5 && !(was[i] >= 0.5);
			was[i] = clean[i];
		}
		n = tpd_predict_sample(p, 1764000000.0 + t, clean, edge, ev, TPD_PREDICT_MAX_TARGETS);
		for (unsigned k = 0; k < n; k++)
			if (ev[k].raised && isnan(first[ev[k].code])) {
				first[ev[k].code] = t / 86400.0;
				excess[ev[k].code] = ev[k].excess;
			}
	}
	tpd_predict_free(p);
	tpd_trace_free(tr);
	if (rc != TPD_ERR_EOF) {
		fprintf(stderr, "predict_replay: %s\n", err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	double threshold = argc > 2 ? strtod(argv[2], NULL) : 0;
	const char *dirs[] = { argc > 3 ? argv[3] : "boards", NULL };
	char path[4096], ppath[4096], line[2048], err[512], *f[PR_FIELDS];
	double *leads = NULL;
	unsigned failing = 0, hit = 0, before_warn = 0, healthy = 0, fp_healthy = 0, cross = 0;
	FILE *lf;
	int code = 0;

	if (!dir || argc > 4 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: predict_replay DIR [THRESHOLD] [BOARDS_DIR]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/labels.csv", dir);
	lf = fopen(path, "r");
	leads = calloc(PR_MAX_DEV, sizeof(*leads));
	if (!lf || !leads || !fgets(line, sizeof(line), lf)) {
		fprintf(stderr, "predict_replay: %s: cannot read\n", path);
		free(leads);
		if (lf)
			fclose(lf);
		return 1;
	}
	while (fgets(line, sizeof(line), lf)) {
		struct tpd_product prod;
		bool excess[TPD_FAULT_CODE_COUNT];
		double first[TPD_FAULT_CODE_COUNT], fail_d, warn_d, best = INFINITY;
		int nf = pr_split(line, f);
		const char *status, *want;

		if (nf < 7)
			continue;
		status = nf > 7 ? f[7] : strcmp(f[3], "1") == 0 ? "failing" : "healthy";
		want = f[4];
		fail_d = pr_days(f[6]);
		warn_d = nf > 10 ? pr_days(f[10]) : NAN;
		snprintf(path, sizeof(path), "%s/%s.csv", dir, f[0]);
		if (tpd_product_resolve(f[1], dirs, ppath, sizeof(ppath)) ||
		    tpd_product_load(ppath, &prod, err, sizeof(err))) {
			fprintf(stderr, "predict_replay: %s: no usable description of %s\n", f[0], f[1]);
			code = 1;
			continue;
		}
		if (pr_device(path, &prod, threshold, first, excess)) {
			code = 1;
			continue;
		}
		printf("%s %s %s %s fail_d=%.1f warn_d=%.1f", f[0], f[1], f[2], status, fail_d, warn_d);
		for (int c = 0; c < TPD_FAULT_CODE_COUNT; c++) {
			const char *cls = tpd_fault_class_name(tpd_fault_code_class(c));

			if (isnan(first[c]) || !tpd_fault_code_predictive(c))
				continue;
			printf(" %s@%.1f%s", tpd_fault_code_name(c), first[c], excess[c] ? "x" : "");
			if (strcmp(status, "healthy") == 0)
				fp_healthy++;
			else if (strcmp(cls, want) != 0)
				cross++;
			else if (first[c] < best)
				best = first[c];
		}
		putchar('\n');
		healthy += strcmp(status, "healthy") == 0;
		if (strcmp(status, "failing") == 0 && !isnan(fail_d)) {
			failing++;
			if (best < fail_d) {
				if (hit < PR_MAX_DEV)
					leads[hit] = fail_d - best;
				hit++;
				before_warn += isnan(warn_d) || best < warn_d;
			}
		}
	}
	fclose(lf);
	if (hit)
		qsort(leads, hit < PR_MAX_DEV ? hit : PR_MAX_DEV, sizeof(*leads), pr_cmp);
	printf("failing %u: forecast of the class before failure %u (%.0f %%), before the first "
	       "warning %u (%.0f %%); median lead %.1f d; healthy %u with a forecast: %u; "
	       "forecasts of another class: %u\n", failing, hit, failing ? 100.0 * hit / failing : 0,
	       before_warn, failing ? 100.0 * before_warn / failing : 0,
	       hit ? (hit % 2 ? leads[hit / 2] : (leads[hit / 2 - 1] + leads[hit / 2]) / 2) : 0,
	       healthy, fp_healthy, cross);
	free(leads);
	return code;
}
