/*
 * telem_codec.c - telemetry rows and rollups as layout + varint values
 * (telem_codec.h).
 *
 * Layout: varints and numbers, the layout string (tokens), encoding and
 * decoding of a report, the rollup aggregate.
 *
 * Layout string: "MODEL" US "FW" then US + one token per item, where US is
 * 0x1f (ingest refuses control characters in every key and string, so it
 * cannot occur in a name): "s" + name a sensor aggregate, "f" + name one
 * with a "fail" count, "E" the events object, "e" + name an event, "L" the
 * load object, "l" + name a load value.
 *
 * A number is one varint v = zigzag(m) * 8 + k: k 0..4 means m / 10^k
 * (only when that gives back exactly the double), k 5 null, k 6 the 8-byte
 * IEEE double follows (little-endian), k 7 (a sensor's max and avg only)
 * relative to the item's min = mr / 10^kr: v >> 3 = zigzag(d) * 5 + j means
 * (mr * 10^j + d) / 10^(kr + j). Rows written before k 7 existed decode as
 * they did.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telem_codec.h"

#define TC_US '\x1f'
#define TC_NULL 5
#define TC_RAW 6
#define TC_REL 7

/* A number's decimal form m / 10^k, when it has one (ok). */
struct tc_ref {
	int64_t m;
	unsigned k;
	bool ok;
};

static const double tc_pow10[] = { 1, 10, 100, 1000, 10000 };

struct tc_buf {
	unsigned char *p;
	size_t len, max;
	bool over;
};

struct tc_in {
	const unsigned char *p;
	size_t len, pos;
	bool bad;
};

static void tc_put(struct tc_buf *b, unsigned char c)
{
	if (b->len >= b->max) {
		b->over = true;
		return;
	}
	b->p[b->len++] = c;
}

static void tc_uvarint(struct tc_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		tc_put(b, (unsigned char)(v | 0x80));
		v >>= 7;
	}
	tc_put(b, (unsigned char)v);
}

static uint64_t tc_get_uvarint(struct tc_in *in)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		unsigned char c;

		if (in->pos >= in->len) {
			in->bad = true;
			return 0;
		}
		c = in->p[in->pos++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	in->bad = true;
	return 0;
}

/* The shortest exact decimal form of v with a scale from k_from to 4: v ==
 * m / 10^k. False when there is none (and for -0.0, which would lose its
 * sign). */
static bool tc_decimal(double v, unsigned k_from, int64_t *m, unsigned *k)
{
	if (isnan(v) || signbit(v == 0 ? v : 1.0))
		return false;
	for (unsigned i = k_from; i <= 4; i++) {
		double scaled = v * tc_pow10[i];

		if (!(fabs(scaled) < 1e15))
			return false;
		*m = (int64_t)llround(scaled);
		if ((double)*m / tc_pow10[i] == v) {
			*k = i;
			return true;
		}
	}
	return false;
}

static uint64_t tc_zigzag(int64_t m)
{
	return m < 0 ? ((uint64_t)(-(m + 1)) << 1) | 1 : (uint64_t)m << 1;
}

static int64_t tc_unzigzag(uint64_t z)
{
	return (z & 1) ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
}

/* Writes v; ref (when not NULL) becomes its decimal form, the reference of
 * the relative numbers that follow it. */
static void tc_num_ref(struct tc_buf *b, double v, struct tc_ref *ref)
{
	int64_t m;
	unsigned k;

	if (ref)
		ref->ok = false;
	if (isnan(v)) {
		tc_uvarint(b, TC_NULL);
		return;
	}
	if (tc_decimal(v, 0, &m, &k)) {
		tc_uvarint(b, tc_zigzag(m) * 8 + k);
		if (ref)
			*ref = (struct tc_ref){ m, k, true };
		return;
	}
	tc_uvarint(b, TC_RAW);
	{
		uint64_t bits;

		memcpy(&bits, &v, sizeof(bits));
		for (int i = 0; i < 8; i++)
			tc_put(b, (unsigned char)(bits >> (8 * i)));
	}
}

static void tc_num(struct tc_buf *b, double v)
{
	tc_num_ref(b, v, NULL);
}

/* Writes v relative to ref when that is shorter: a sensor's max and avg lie
 * close to its min, so their difference in the finer of the two scales
 * takes a byte or two where the number itself takes three (TC_REL). flag
 * (0 or 1; -1: none) rides in a relative number's lowest bit; false when v
 * could not be written relative, and so the flag was not. */
static bool tc_num_rel(struct tc_buf *b, double v, const struct tc_ref *ref, int flag)
{
	int64_t m, d;
	unsigned k;
	uint64_t z;

	if (ref->ok && tc_decimal(v, ref->k, &m, &k) &&
	    !__builtin_mul_overflow(ref->m, (int64_t)tc_pow10[k - ref->k], &d) &&
	    !__builtin_sub_overflow(m, d, &d) && tc_zigzag(d) < (UINT64_C(1) << 55)) {
		z = tc_zigzag(d) * 5 + (k - ref->k);
		if (flag >= 0)
			z = z * 2 + (uint64_t)flag;
		tc_uvarint(b, z * 8 + TC_REL);
		return true;
	}
	tc_num(b, v);
	return false;
}

/* Reads a number; ref (when not NULL) becomes its decimal form, rel is the
 * reference of a relative one (NULL: none may come here), *flag (when not
 * NULL) the flag a relative number carries, else -1. */
static double tc_get_num_rel(struct tc_in *in, struct tc_ref *ref, const struct tc_ref *rel,
			     int *flag)
{
	uint64_t v = tc_get_uvarint(in), z = v >> 3;
	unsigned k = (unsigned)(v & 7);
	int64_t m;

	if (ref)
		ref->ok = false;
	if (flag)
		*flag = -1;
	if (k == TC_NULL)
		return NAN;
	if (k == TC_RAW) {
		uint64_t bits = 0;
		double d;

		if (in->len - in->pos < 8 || in->pos > in->len) {
			in->bad = true;
			return NAN;
		}
		for (int i = 0; i < 8; i++)
			bits |= (uint64_t)in->p[in->pos++] << (8 * i);
		memcpy(&d, &bits, sizeof(d));
		return d;
	}
	if (k == TC_REL) {
		unsigned dk;
		int64_t base;

		if (flag) {
			*flag = (int)(z & 1);
			z >>= 1;
		}
		dk = (unsigned)(z % 5);
		if (!rel || !rel->ok || rel->k + dk > 4 ||
		    __builtin_mul_overflow(rel->m, (int64_t)tc_pow10[dk], &base) ||
		    __builtin_add_overflow(base, tc_unzigzag(z / 5), &m) || !(fabs((double)m) < 1e15)) {
			in->bad = true;
			return NAN;
		}
		return (double)m / tc_pow10[rel->k + dk];
	}
	m = tc_unzigzag(z);
	if (ref)
		*ref = (struct tc_ref){ m, k, true };
	return (double)m / tc_pow10[k];
}

static double tc_get_num(struct tc_in *in)
{
	return tc_get_num_rel(in, NULL, NULL, NULL);
}

/* A sensor aggregate's min, max, avg and n: max and avg relative to min;
 * when max is relative, its flag says n is the previous aggregate's of the
 * same row (prev_n, NULL for the first) and is not written: the sensors of
 * a report are mostly sampled alike. */
static void tc_put_sensor(struct tc_buf *b, const struct tpc_telem_item *s, const uint64_t *prev_n)
{
	struct tc_ref ref;
	bool same = prev_n && *prev_n == s->n, rel;

	tc_num_ref(b, s->min, &ref);
	rel = tc_num_rel(b, s->max, &ref, same);
	tc_num_rel(b, s->avg, &ref, -1);
	if (!rel || !same)
		tc_uvarint(b, s->n);
}

static void tc_get_sensor(struct tc_in *in, struct tpc_telem_item *s, const uint64_t *prev_n)
{
	struct tc_ref ref;
	int same;

	s->min = tc_get_num_rel(in, &ref, NULL, NULL);
	s->max = tc_get_num_rel(in, NULL, &ref, &same);
	s->avg = tc_get_num_rel(in, NULL, &ref, NULL);
	if (same == 1 && !prev_n)
		in->bad = true;
	s->n = same == 1 && prev_n ? *prev_n : tc_get_uvarint(in);
}

/* Layout strings ------------------------------------------------------- */

static bool tc_add_token(char *layout, size_t len, size_t *pos, char type, const char *name)
{
	int n = snprintf(layout + *pos, len - *pos, "%c%c%s", TC_US, type, name ? name : "");

	if (n < 0 || (size_t)n >= len - *pos)
		return false;
	*pos += (size_t)n;
	return true;
}

/* Walks a layout: calls back per token with its type and name (not NUL-
 * terminated: nlen bytes). Returns false for a malformed layout. */
struct tc_token {
	char type;
	const char *name;
	size_t nlen;
};

static unsigned tc_tokens(const char *layout, const char **model, size_t *mlen, const char **fw,
			  size_t *flen, struct tc_token *tok, unsigned max)
{
	const char *p = layout, *us = strchr(p, TC_US);
	unsigned n = 0;

	if (!us)
		return (unsigned)-1;
	*model = p;
	*mlen = (size_t)(us - p);
	p = us + 1;
	us = strchr(p, TC_US);
	*fw = p;
	*flen = us ? (size_t)(us - p) : strlen(p);
	while (us) {
		p = us + 1;
		us = strchr(p, TC_US);
		if (n == max || !*p || !strchr("sfEeLl", *p))
			return (unsigned)-1;
		tok[n].type = *p;
		tok[n].name = p + 1;
		tok[n].nlen = (us ? (size_t)(us - p) : strlen(p)) - 1;
		n++;
	}
	return n;
}

/* A count from a JSON number: ingest admits only whole numbers in range, a
 * decoded corrupt row may hold anything, and a cast out of range is
 * undefined. */
static uint64_t tc_count(double v)
{
	if (!(v >= 0))
		return 0;
	return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
}

static double tc_field(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

enum tpd_err tpc_telem_encode(const cJSON *r, char *layout, size_t layout_len,
			      unsigned char *data, size_t data_max, size_t *data_len)
{
	const cJSON *sensors = cJSON_GetObjectItemCaseSensitive(r, "sensors");
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(r, "events");
	const cJSON *load = cJSON_GetObjectItemCaseSensitive(r, "load");
	const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "model"));
	const char *fw = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "fw"));
	struct tc_buf b = { data, 0, data_max, false };
	struct tpc_telem_item s;
	const cJSON *it;
	size_t pos;
	unsigned items = 0;
	uint64_t prev_n = 0;
	bool sensors_seen = false;
	int n;

	if (!model || !fw || strchr(model, TC_US) || strchr(fw, TC_US))
		return TPD_ERR_INVAL;
	n = snprintf(layout, layout_len, "%s%c%s", model, TC_US, fw);
	if (n < 0 || (size_t)n >= layout_len)
		return TPD_ERR_INVAL;
	pos = (size_t)n;
	tc_num(&b, tc_field(r, "period_s"));
	cJSON_ArrayForEach(it, sensors) {
		const cJSON *fail = cJSON_GetObjectItemCaseSensitive(it, "fail");

		if (strchr(it->string, TC_US) ||
		    !tc_add_token(layout, layout_len, &pos, fail ? 'f' : 's', it->string))
			return TPD_ERR_INVAL;
		s = (struct tpc_telem_item){ tc_field(it, "min"), tc_field(it, "max"),
					     tc_field(it, "avg"), tc_count(tc_field(it, "n")), 0 };
		tc_put_sensor(&b, &s, sensors_seen ? &prev_n : NULL);
		prev_n = s.n;
		sensors_seen = true;
		if (fail)
			tc_uvarint(&b, tc_count(fail->valuedouble));
		items++;
	}
	if (events && !tc_add_token(layout, layout_len, &pos, 'E', NULL))
		return TPD_ERR_INVAL;
	cJSON_ArrayForEach(it, events) {
		if (strchr(it->string, TC_US) || !tc_add_token(layout, layout_len, &pos, 'e', it->string))
			return TPD_ERR_INVAL;
		tc_uvarint(&b, tc_count(it->valuedouble));
		items++;
	}
	if (load && !tc_add_token(layout, layout_len, &pos, 'L', NULL))
		return TPD_ERR_INVAL;
	cJSON_ArrayForEach(it, load) {
		if (strchr(it->string, TC_US) || !tc_add_token(layout, layout_len, &pos, 'l', it->string))
			return TPD_ERR_INVAL;
		tc_num(&b, cJSON_IsNumber(it) ? it->valuedouble : NAN);
		items++;
	}
	if (b.over || items > TPC_TELEM_ITEMS_MAX)
		return TPD_ERR_INVAL;
	*data_len = b.len;
	return TPD_OK;
}

/* Decoding ------------------------------------------------------------ */

static cJSON *tc_add_num(cJSON *o, const char *key, double v)
{
	return isnan(v) ? cJSON_AddNullToObject(o, key) : cJSON_AddNumberToObject(o, key, v);
}

static char *tc_name(const struct tc_token *t, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)t->nlen, t->name);
	return buf;
}

/* Both decoders: the common head, then items from either encoding. */
static enum tpd_err tc_decode(const char *dev, double ts, const char *layout,
			      const unsigned char *data, size_t len, bool rollup, uint64_t seq,
			      cJSON **out)
{
	struct tc_token *tok = malloc(sizeof(*tok) * TPC_TELEM_ITEMS_MAX * 2);
	const char *model, *fw;
	size_t mlen, flen;
	struct tc_in in = { data, len, 0, false };
	cJSON *o = cJSON_CreateObject(), *sensors = NULL, *events = NULL, *load = NULL;
	char name[256], mbuf[80], fbuf[40];
	unsigned n = tok ? tc_tokens(layout, &model, &mlen, &fw, &flen, tok,
				     TPC_TELEM_ITEMS_MAX * 2) : (unsigned)-1;
	bool ok = o != NULL;
	uint64_t prev_n = 0;
	bool sensors_seen = false;
	enum tpd_err rc = TPD_ERR_INVAL;

	*out = NULL;
	if (n == (unsigned)-1 || !o)
		goto out;
	snprintf(mbuf, sizeof(mbuf), "%.*s", (int)mlen, model);
	snprintf(fbuf, sizeof(fbuf), "%.*s", (int)flen, fw);
	if (!rollup)
		ok = ok && cJSON_AddNumberToObject(o, "v", 1);
	ok = ok && cJSON_AddStringToObject(o, "dev", dev) && cJSON_AddStringToObject(o, "model", mbuf) &&
	     cJSON_AddStringToObject(o, "fw", fbuf);
	if (!rollup)
		ok = ok && cJSON_AddNumberToObject(o, "seq", (double)seq);
	ok = ok && cJSON_AddNumberToObject(o, "ts", ts);
	if (rollup) {
		uint64_t reports = tc_get_uvarint(&in);

		ok = ok && tc_add_num(o, "period_s", tc_get_num(&in)) &&
		     cJSON_AddNumberToObject(o, "reports", (double)reports);
	} else {
		ok = ok && tc_add_num(o, "period_s", tc_get_num(&in));
	}
	sensors = ok ? cJSON_AddObjectToObject(o, "sensors") : NULL;
	ok = sensors != NULL;
	for (unsigned i = 0; ok && i < n; i++) {
		const struct tc_token *t = &tok[i];
		struct tpc_telem_item sens;
		cJSON *agg;
		double v;

		switch (t->type) {
		case 's':
		case 'f':
			agg = cJSON_AddObjectToObject(sensors, tc_name(t, name, sizeof(name)));
			tc_get_sensor(&in, &sens, sensors_seen ? &prev_n : NULL);
			prev_n = sens.n;
			sensors_seen = true;
			ok = agg && tc_add_num(agg, "min", sens.min) && tc_add_num(agg, "max", sens.max) &&
			     tc_add_num(agg, "avg", sens.avg) &&
			     cJSON_AddNumberToObject(agg, "n", (double)sens.n);
			if (ok && (t->type == 'f' || rollup)) {
				uint64_t fail = tc_get_uvarint(&in);

				if (t->type == 'f' || fail)
					ok = cJSON_AddNumberToObject(agg, "fail", (double)fail) != NULL;
			}
			break;
		case 'E':
			ok = (events = cJSON_AddObjectToObject(o, "events")) != NULL;
			break;
		case 'e':
			ok = events && cJSON_AddNumberToObject(events, tc_name(t, name, sizeof(name)),
							       (double)tc_get_uvarint(&in));
			break;
		case 'L':
			ok = (load = cJSON_AddObjectToObject(o, "load")) != NULL;
			break;
		case 'l':
			v = tc_get_num(&in);
			if (rollup)
				tc_get_uvarint(&in);
			ok = load && tc_add_num(load, tc_name(t, name, sizeof(name)), v);
			break;
		}
	}
	if (!ok || in.bad || in.pos != in.len)
		goto out;
	*out = o;
	o = NULL;
	rc = TPD_OK;
out:
	cJSON_Delete(o);
	free(tok);
	return rc;
}

enum tpd_err tpc_telem_decode(const char *dev, uint64_t seq, double ts, const char *layout,
			      const unsigned char *data, size_t len, cJSON **out)
{
	return tc_decode(dev, ts, layout, data, len, false, seq, out);
}

enum tpd_err tpc_telem_agg_decode(const char *dev, double start, const char *layout,
				  const unsigned char *data, size_t len, cJSON **out)
{
	return tc_decode(dev, start, layout, data, len, true, 0, out);
}

/* Rollups ------------------------------------------------------------- */

static double tc_min(double a, double b)
{
	return isnan(a) ? b : isnan(b) ? a : a < b ? a : b;
}

static double tc_max(double a, double b)
{
	return isnan(a) ? b : isnan(b) ? a : a > b ? a : b;
}

/* The n-weighted mean of two averages, rounded as the agent rounds. */
static double tc_mean(double a, uint64_t na, double b, uint64_t nb)
{
	double m;

	if (isnan(a) || !na)
		return nb ? b : NAN;
	if (isnan(b) || !nb)
		return a;
	m = (a * (double)na + b * (double)nb) / (double)(na + nb);
	return round(m * 1000) / 1000;
}

static void tc_merge(struct tpc_telem_item *d, const struct tpc_telem_item *s)
{
	d->min = tc_min(d->min, s->min);
	d->max = tc_max(d->max, s->max);
	d->avg = tc_mean(d->avg, d->n, s->avg, s->n);
	d->n += s->n;
	d->fail += s->fail;
}

static enum tpd_err tc_agg_add(struct tpc_telem_agg *agg, const char *layout,
			       const unsigned char *data, size_t len, bool rollup)
{
	struct tc_token *tok = malloc(sizeof(*tok) * TPC_TELEM_ITEMS_MAX * 2);
	const char *model, *fw;
	size_t mlen, flen;
	struct tc_in in = { data, len, 0, false };
	unsigned n = tok ? tc_tokens(layout, &model, &mlen, &fw, &flen, tok,
				     TPC_TELEM_ITEMS_MAX * 2) : (unsigned)-1;
	unsigned item = 0;
	bool first = agg->reports == 0, sensors_seen = false;
	uint64_t prev_n = 0;
	enum tpd_err rc = TPD_ERR_INVAL;

	if (n == (unsigned)-1)
		goto out;
	if (rollup) {
		uint64_t reports = tc_get_uvarint(&in);

		agg->period_s += tc_get_num(&in);
		agg->reports += reports;
	} else {
		double p = tc_get_num(&in);

		agg->period_s += isnan(p) ? 0 : p;
		agg->reports++;
	}
	for (unsigned i = 0; i < n && !in.bad; i++) {
		struct tpc_telem_item s = { NAN, NAN, NAN, 0, 0 };
		char type = tok[i].type;

		if (type == 'E' || type == 'L')
			continue;
		if (item == TPC_TELEM_ITEMS_MAX)
			goto out;
		if (type == 's' || type == 'f') {
			tc_get_sensor(&in, &s, sensors_seen ? &prev_n : NULL);
			prev_n = s.n;
			sensors_seen = true;
			if (type == 'f' || rollup)
				s.fail = tc_get_uvarint(&in);
		} else if (type == 'e') {
			s.n = tc_get_uvarint(&in);
		} else {   /* 'l': a value per period, or (rollup) an average of n */
			s.avg = tc_get_num(&in);
			s.n = rollup ? tc_get_uvarint(&in) : !isnan(s.avg);
		}
		if (first) {
			agg->item[item] = s;
		} else if (type == 'e') {
			agg->item[item].n += s.n;
		} else {
			tc_merge(&agg->item[item], &s);
		}
		item++;
	}
	if (in.bad || in.pos != in.len || (!first && item != agg->nitems))
		goto out;
	agg->nitems = item;
	rc = TPD_OK;
out:
	free(tok);
	return rc;
}

enum tpd_err tpc_telem_agg_add_row(struct tpc_telem_agg *agg, const char *layout,
				   const unsigned char *data, size_t len)
{
	return tc_agg_add(agg, layout, data, len, false);
}

enum tpd_err tpc_telem_agg_add_rollup(struct tpc_telem_agg *agg, const char *layout,
				      const unsigned char *data, size_t len)
{
	return tc_agg_add(agg, layout, data, len, true);
}

/* Written in the order tc_agg_add reads a rollup: reports, period_s, then
 * per item what its kind keeps (telem_codec.h). */
enum tpd_err tpc_telem_agg_encode(const struct tpc_telem_agg *agg, const char *layout,
				  unsigned char *data, size_t data_max, size_t *data_len)
{
	struct tc_token *tok = malloc(sizeof(*tok) * TPC_TELEM_ITEMS_MAX * 2);
	const char *model, *fw;
	size_t mlen, flen;
	struct tc_buf b = { data, 0, data_max, false };
	unsigned n = tok ? tc_tokens(layout, &model, &mlen, &fw, &flen, tok,
				     TPC_TELEM_ITEMS_MAX * 2) : (unsigned)-1;
	unsigned item = 0;
	uint64_t prev_n = 0;
	bool sensors_seen = false;
	enum tpd_err rc = TPD_ERR_INVAL;

	if (n == (unsigned)-1)
		goto out;
	tc_uvarint(&b, agg->reports);
	tc_num(&b, agg->period_s);
	for (unsigned i = 0; i < n; i++) {
		const struct tpc_telem_item *it = &agg->item[item];
		char type = tok[i].type;

		if (type == 'E' || type == 'L')
			continue;
		if (item++ == agg->nitems)
			goto out;
		if (type == 's' || type == 'f') {
			tc_put_sensor(&b, it, sensors_seen ? &prev_n : NULL);
			prev_n = it->n;
			sensors_seen = true;
			tc_uvarint(&b, it->fail);
		} else if (type == 'e') {
			tc_uvarint(&b, it->n);
		} else {
			tc_num(&b, it->avg);
			tc_uvarint(&b, it->n);
		}
	}
	if (b.over || item != agg->nitems)
		goto out;
	*data_len = b.len;
	rc = TPD_OK;
out:
	free(tok);
	return rc;
}

enum tpd_err tpc_telem_item_append(cJSON *arr, const char *dev, uint64_t seq, double ts,
				   const char *layout, const unsigned char *data, size_t len)
{
	cJSON *body = NULL, *item = cJSON_CreateObject();
	char *text = NULL;
	enum tpd_err rc = item ? tpc_telem_decode(dev, seq, ts, layout, data, len, &body)
			       : TPD_ERR_NOMEM;

	if (!rc && !(text = cJSON_PrintUnformatted(body)))
		rc = TPD_ERR_NOMEM;
	if (!rc && (!cJSON_AddNumberToObject(item, "id", 0) ||
		    !cJSON_AddNumberToObject(item, "seq", (double)seq) ||
		    !cJSON_AddNumberToObject(item, "ts", ts) ||
		    !cJSON_AddBoolToObject(item, "verified", false) ||
		    !cJSON_AddStringToObject(item, "body", text) ||
		    !cJSON_AddItemToArray(arr, item)))
		rc = TPD_ERR_NOMEM;
	else if (!rc)
		item = NULL;
	cJSON_Delete(item);
	cJSON_Delete(body);
	free(text);
	return rc;
}
