/*
 * registry.c - loading the device registry CSV into a sorted array.
 *
 * Layout: CSV records (libcsv), row validation, loading, lookup.
 * Lookups are a binary search: the collector asks once per signed report.
 * Devices registered through the API join at run time (tpc_registry_put_key)
 * under a write lock; signature checks hold the read lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "tpd/jws.h"
#include "tpd/utf8.h"
#include "calendar.h"
#include "ingest.h"
#include "registry.h"

#define REG_LINE_MAX 8192
#define REG_MAX_FIELDS 8

struct tpc_registry {
	struct tpc_device *dev;    /* sorted by id */
	size_t n, cap;
	pthread_rwlock_t lock;     /* verify (MQTT thread) vs put (HTTP threads) */
	struct tpc_ingest_policy policy;
	bool has_policy;
};

bool tpc_locale_valid(const char *s)
{
	return s && (strcmp(s, "en") == 0 || strcmp(s, "zh-CN") == 0);
}

bool tpc_region_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= TPC_REGION_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int tpc_date_valid(const char *s)
{
	int64_t days;

	return tpc_date_parse(s, &days);
}

/*
 * One CSV record at a time, split by libcsv (RFC 4180: "quoted, fields",
 * "" escapes, newlines inside quotes). The file is still read line by line
 * so that '#' comment lines and blank lines between records can be skipped
 * and errors name the line a record starts on; a line that ends inside a
 * quoted field continues the record on the next one.
 */
struct reg_record {
	char *f[REG_MAX_FIELDS + 1];
	int n;                /* fields so far; REG_MAX_FIELDS + 1: too many */
	int ended;            /* records libcsv ended in this record's lines */
	bool nomem;
};

static void reg_csv_field(void *s, size_t len, void *data)
{
	struct reg_record *r = data;
	char *copy;

	if (r->ended || r->n > REG_MAX_FIELDS)
		return;
	if (r->n == REG_MAX_FIELDS) {
		r->n++;
		return;
	}
	copy = malloc(len + 1);
	if (!copy) {
		r->nomem = true;
		return;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	r->f[r->n++] = copy;
}

static void reg_csv_row(int c, void *data)
{
	(void)c;
	((struct reg_record *)data)->ended++;
}

static void reg_record_clear(struct reg_record *r)
{
	for (int i = 0; i < r->n && i < REG_MAX_FIELDS; i++)
		free(r->f[i]);
	memset(r, 0, sizeof(*r));
}

static int reg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tpc_device *)a)->id, ((const struct tpc_device *)b)->id);
}

static enum tpd_err reg_key(const char *csv_path, const char *spec, struct tpd_key **key)
{
	char path[4096];
	const char *slash;

	/* Inline PEM, or inline base64 SPKI DER: the base64 alphabet has no '.',
	 * while a key file path ("keys/TP1.pub.pem") does. */
	if (strstr(spec, "-----BEGIN") ||
	    spec[strspn(spec, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")] == '\0')
		return tpd_key_parse_public(spec, key);
	slash = strrchr(csv_path, '/');
	if (spec[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", spec);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - csv_path), csv_path, spec);
	return tpd_key_load_public(path, key);
}

enum tpd_err tpc_registry_check_row(const struct tpc_device_row *d, char *why, size_t whylen)
{
	if (!d->id || !tpd_id_valid(d->id)) {
		snprintf(why, whylen, "device_id \"%.70s\" is not 1-64 of [A-Za-z0-9_-]",
			 d->id ? d->id : "");
		return TPD_ERR_INVAL;
	}
	if (d->model && d->model[0] && !tpd_id_valid(d->model)) {
		snprintf(why, whylen, "model \"%.70s\" is not 1-64 of [A-Za-z0-9_-]", d->model);
		return TPD_ERR_INVAL;
	}
	if (d->purchase_date && d->purchase_date[0] && !tpc_date_valid(d->purchase_date)) {
		snprintf(why, whylen, "purchase_date \"%.20s\" is not a YYYY-MM-DD date",
			 d->purchase_date);
		return TPD_ERR_INVAL;
	}
	if (d->owner_contact && strlen(d->owner_contact) > TPC_OWNER_CONTACT_MAX) {
		snprintf(why, whylen, "owner_contact longer than %d characters", TPC_OWNER_CONTACT_MAX);
		return TPD_ERR_INVAL;
	}
	if (d->channel && strlen(d->channel) > TPC_CHANNEL_MAX) {
		snprintf(why, whylen, "channel longer than %d characters", TPC_CHANNEL_MAX);
		return TPD_ERR_INVAL;
	}
	if (d->locale && d->locale[0] && !tpc_locale_valid(d->locale)) {
		snprintf(why, whylen, "locale \"%.20s\" is not en or zh-CN", d->locale);
		return TPD_ERR_INVAL;
	}
	if (d->region && d->region[0] && !tpc_region_valid(d->region)) {
		snprintf(why, whylen, "region \"%.20s\" is not 1-%d of [A-Za-z0-9_-] (a calendar's "
			 "name, e.g. CN)", d->region, TPC_REGION_MAX);
		return TPD_ERR_INVAL;
	}
	/* served as JSON and shown on terminals (issue 14) */
	if ((d->owner_contact && !tpd_utf8_clean(d->owner_contact, strlen(d->owner_contact), 0, NULL)) ||
	    (d->channel && !tpd_utf8_clean(d->channel, strlen(d->channel), 0, NULL))) {
		snprintf(why, whylen, "owner_contact and channel must be UTF-8 text without control "
			 "characters");
		return TPD_ERR_INVAL;
	}
	return TPD_OK;
}

static enum tpd_err reg_grow(struct tpc_registry *reg)
{
	size_t cap = reg->cap ? reg->cap * 2 : 64;
	struct tpc_device *grown;

	if (reg->n < reg->cap)
		return TPD_OK;
	grown = realloc(reg->dev, cap * sizeof(*grown));
	if (!grown)
		return TPD_ERR_NOMEM;
	reg->dev = grown;
	reg->cap = cap;
	return TPD_OK;
}

static enum tpd_err reg_row(struct tpc_registry *reg, const char *csv_path, char **f, int n,
			    char *why, size_t whylen)
{
	struct tpc_device_row row = { 0 };
	struct tpc_device *d;

	if (n < 4 || n > 8) {
		snprintf(why, whylen, "%d fields, expected 4 to 8", n);
		return TPD_ERR_INVAL;
	}
	row.id = f[0];
	row.model = f[1];
	row.purchase_date = f[2];
	row.owner_contact = n > 4 ? f[4] : NULL;
	row.channel = n > 5 ? f[5] : NULL;
	row.locale = n > 6 ? f[6] : NULL;
	row.region = n > 7 ? f[7] : NULL;
	if (tpc_registry_check_row(&row, why, whylen))
		return TPD_ERR_INVAL;
	if (reg_grow(reg))
		return TPD_ERR_NOMEM;
	d = &reg->dev[reg->n];
	memset(d, 0, sizeof(*d));
	if (reg_key(csv_path, f[3], &d->key)) {
		snprintf(why, whylen, "public_key \"%.60s\" is not a readable PEM file or base64 "
			 "SPKI of a P-256 key", f[3]);
		return TPD_ERR_INVAL;
	}
	snprintf(d->id, sizeof(d->id), "%s", f[0]);
	snprintf(d->model, sizeof(d->model), "%s", f[1]);
	snprintf(d->purchase_date, sizeof(d->purchase_date), "%s", f[2]);
	if (n > 4)
		snprintf(d->owner_contact, sizeof(d->owner_contact), "%s", f[4]);
	if (n > 5)
		snprintf(d->channel, sizeof(d->channel), "%s", f[5]);
	if (n > 6)
		snprintf(d->locale, sizeof(d->locale), "%s", f[6]);
	if (n > 7)
		snprintf(d->region, sizeof(d->region), "%s", f[7]);
	reg->n++;
	return TPD_OK;
}

enum tpd_err tpc_registry_new(struct tpc_registry **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return TPD_ERR_NOMEM;
	pthread_rwlock_init(&(*out)->lock, NULL);
	return TPD_OK;
}

enum tpd_err tpc_registry_load(const char *path, struct tpc_registry **out,
			       char *err, size_t errlen)
{
	struct tpc_registry *reg = NULL;
	struct reg_record r = { 0 };
	struct csv_parser csv;
	char *line = NULL, why[256];
	unsigned long lineno = 0, first = 0;
	size_t record_bytes = 0;
	bool header = false, csv_ready = false;
	enum tpd_err rc;
	FILE *fp;

	*out = NULL;
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TPD_ERR_IO;
	}
	line = malloc(REG_LINE_MAX + 2);
	rc = line ? tpc_registry_new(&reg) : TPD_ERR_NOMEM;
	if (!rc && csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		rc = TPD_ERR_NOMEM;
	csv_ready = !rc;
	while (!rc && fgets(line, REG_LINE_MAX + 1, fp)) {
		size_t len = strlen(line);

		lineno++;
		if (len == REG_LINE_MAX && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%lu: line longer than %d bytes", path, lineno, REG_LINE_MAX);
			rc = TPD_ERR_INVAL;
			break;
		}
		if (first == 0) {   /* between records: comments and blank lines */
			size_t blank = strspn(line, "\r\n");

			if (blank == len || line[0] == '#')
				continue;
			first = lineno;
		}
		if (len == 0 || line[len - 1] != '\n') {
			line[len++] = '\n';   /* the last line without one */
			line[len] = '\0';
		}
		record_bytes += len;
		if (record_bytes > REG_LINE_MAX) {
			snprintf(err, errlen, "%s:%lu: record longer than %d bytes", path, first,
				 REG_LINE_MAX);
			rc = TPD_ERR_INVAL;
			break;
		}
		if (csv_parse(&csv, line, len, reg_csv_field, reg_csv_row, &r) != len) {
			snprintf(err, errlen, "%s:%lu: %s", path, first,
				 csv_error(&csv) == CSV_EPARSE ? "bad quoting (a quoted field must end "
				 "with a quote before the next comma)" : csv_strerror(csv_error(&csv)));
			rc = csv_error(&csv) == CSV_ENOMEM ? TPD_ERR_NOMEM : TPD_ERR_INVAL;
			break;
		}
		if (r.nomem) {
			rc = TPD_ERR_NOMEM;
			break;
		}
		if (!r.ended)
			continue;   /* inside a quoted field: the record goes on */
		if (r.ended > 1) {
			snprintf(err, errlen, "%s:%lu: a bare carriage return inside a line", path,
				 first);
			rc = TPD_ERR_INVAL;
			break;
		}
		if (r.n > REG_MAX_FIELDS) {
			snprintf(err, errlen, "%s:%lu: more than %d fields", path, first,
				 REG_MAX_FIELDS);
			rc = TPD_ERR_INVAL;
		} else if (!header) {
			if (r.n < 4 || strcmp(r.f[0], "device_id") || strcmp(r.f[1], "model") ||
			    strcmp(r.f[2], "purchase_date") || strcmp(r.f[3], "public_key")) {
				snprintf(err, errlen, "%s:%lu: header must be device_id,model,"
					 "purchase_date,public_key[,owner_contact,channel[,locale,region]]", path, first);
				rc = TPD_ERR_INVAL;
			}
			header = true;
		} else {
			rc = reg_row(reg, path, r.f, r.n, why, sizeof(why));
			if (rc)
				snprintf(err, errlen, "%s:%lu: %s", path, first, why);
		}
		reg_record_clear(&r);
		first = 0;
		record_bytes = 0;
	}
	if (!rc && first != 0) {
		snprintf(err, errlen, "%s:%lu: unterminated quote", path, first);
		rc = TPD_ERR_INVAL;
	}
	reg_record_clear(&r);
	if (csv_ready)
		csv_free(&csv);
	if (!rc && !header) {
		snprintf(err, errlen, "%s: empty (no header line)", path);
		rc = TPD_ERR_INVAL;
	}
	fclose(fp);
	free(line);
	if (rc) {
		tpc_registry_free(reg);
		return rc;
	}
	if (reg->n > 1)
		qsort(reg->dev, reg->n, sizeof(*reg->dev), reg_cmp);
	for (size_t i = 1; i < reg->n; i++) {
		if (strcmp(reg->dev[i - 1].id, reg->dev[i].id) == 0) {
			snprintf(err, errlen, "%s: device_id %s appears twice", path, reg->dev[i].id);
			tpc_registry_free(reg);
			return TPD_ERR_INVAL;
		}
	}
	*out = reg;
	return TPD_OK;
}

void tpc_registry_free(struct tpc_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++)
		tpd_key_free(reg->dev[i].key);
	pthread_rwlock_destroy(&reg->lock);
	free(reg->dev);
	free(reg);
}

const struct tpc_device *tpc_registry_find(const struct tpc_registry *reg, const char *id)
{
	struct tpc_device key;

	if (!reg || !reg->n || strlen(id) > TPD_ID_MAX)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, reg->dev, reg->n, sizeof(*reg->dev), reg_cmp);
}

size_t tpc_registry_count(const struct tpc_registry *reg)
{
	return reg ? reg->n : 0;
}

const struct tpc_device *tpc_registry_at(const struct tpc_registry *reg, size_t i)
{
	return reg && i < reg->n ? &reg->dev[i] : NULL;
}

/* Index where id is or would be inserted. */
static size_t reg_position(const struct tpc_registry *reg, const char *id, bool *found)
{
	size_t lo = 0, hi = reg->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(reg->dev[mid].id, id);

		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum tpd_err tpc_registry_put_key(struct tpc_registry *reg, const char *id, const char *key_b64)
{
	struct tpd_key *key = NULL;
	enum tpd_err rc = TPD_OK;
	size_t at;
	bool found;

	if (!tpd_id_valid(id))
		return TPD_ERR_INVAL;
	if (key_b64 && *key_b64 && tpd_key_parse_public(key_b64, &key))
		return TPD_ERR_INVAL;
	pthread_rwlock_wrlock(&reg->lock);
	at = reg_position(reg, id, &found);
	if (found && !key) {
		tpd_key_free(reg->dev[at].key);
		memmove(&reg->dev[at], &reg->dev[at + 1], (reg->n - at - 1) * sizeof(*reg->dev));
		reg->n--;
	} else if (found) {
		tpd_key_free(reg->dev[at].key);
		reg->dev[at].key = key;
	} else if (key) {
		rc = reg_grow(reg);
		if (!rc) {
			memmove(&reg->dev[at + 1], &reg->dev[at], (reg->n - at) * sizeof(*reg->dev));
			memset(&reg->dev[at], 0, sizeof(*reg->dev));
			snprintf(reg->dev[at].id, sizeof(reg->dev[at].id), "%s", id);
			reg->dev[at].key = key;
			reg->n++;
		} else {
			tpd_key_free(key);
		}
	}
	pthread_rwlock_unlock(&reg->lock);
	return rc;
}

bool tpc_registry_known(struct tpc_registry *reg, const char *id)
{
	bool found = false;

	if (!reg || strlen(id) > TPD_ID_MAX)
		return false;
	pthread_rwlock_rdlock(&reg->lock);
	reg_position(reg, id, &found);
	pthread_rwlock_unlock(&reg->lock);
	return found;
}

void tpc_registry_set_policy(struct tpc_registry *reg, const struct tpc_ingest_policy *p)
{
	reg->has_policy = p != NULL;
	if (p)
		reg->policy = *p;
}

const struct tpc_ingest_policy *tpc_registry_policy(const struct tpc_registry *reg)
{
	return reg && reg->has_policy ? &reg->policy : NULL;
}

enum tpd_err tpc_registry_verify(struct tpc_registry *reg, const char *id,
				 const struct tpd_jws *jws, const char *text)
{
	enum tpd_err rc = TPD_ERR_NOTFOUND;
	size_t at;
	bool found;

	if (!reg)
		return TPD_ERR_NOTFOUND;
	pthread_rwlock_rdlock(&reg->lock);
	at = reg_position(reg, id, &found);
	if (found)
		rc = tpd_jws_verify(jws, text, reg->dev[at].key) ? TPD_ERR_VERIFY : TPD_OK;
	pthread_rwlock_unlock(&reg->lock);
	return rc;
}
