/*
 * store.c - picks a storage backend by URL and serializes access to it.
 *
 * Design note: one mutex, held from begin to commit. The collector's writes
 * come from one MQTT thread; the HTTP threads only read. A single connection
 * with a lock keeps every backend simple and is far from the bottleneck
 * (fsync at commit is).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const struct tpc_store_ops *const store_backends[] = {
	&tpc_store_sqlite,
};

struct tpc_store {
	const struct tpc_store_ops *ops;
	void *ctx;
	pthread_mutex_t lock;
};

enum tpd_err tpc_store_open(const char *url, struct tpc_store **out, char *err, size_t errlen)
{
	struct tpc_store *s;
	enum tpd_err rc;

	*out = NULL;
	for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++) {
		const struct tpc_store_ops *ops = store_backends[i];

		if (strncmp(url, ops->scheme, strlen(ops->scheme)) != 0)
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			return TPD_ERR_NOMEM;
		s->ops = ops;
		pthread_mutex_init(&s->lock, NULL);
		rc = ops->open(url, &s->ctx, err, errlen);
		if (rc) {
			pthread_mutex_destroy(&s->lock);
			free(s);
			return rc;
		}
		*out = s;
		return TPD_OK;
	}
	if (strncmp(url, "postgresql:", 11) == 0 || strncmp(url, "postgres:", 9) == 0)
		snprintf(err, errlen, "%.100s: PostgreSQL storage is not in this build yet "
			 "(use sqlite:PATH)", url);
	else
		snprintf(err, errlen, "%.100s: unknown database URL (expected sqlite:PATH)", url);
	return TPD_ERR_UNSUPPORTED;
}

void tpc_store_close(struct tpc_store *s)
{
	if (!s)
		return;
	s->ops->close(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

enum tpd_err tpc_store_begin(struct tpc_store *s)
{
	enum tpd_err rc;

	pthread_mutex_lock(&s->lock);
	rc = s->ops->exec(s->ctx, "BEGIN IMMEDIATE");
	if (rc)
		pthread_mutex_unlock(&s->lock);
	return rc;
}

enum tpd_err tpc_store_commit(struct tpc_store *s)
{
	enum tpd_err rc = s->ops->exec(s->ctx, "COMMIT");

	if (rc)
		s->ops->exec(s->ctx, "ROLLBACK");
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void tpc_store_rollback(struct tpc_store *s)
{
	s->ops->exec(s->ctx, "ROLLBACK");
	pthread_mutex_unlock(&s->lock);
}

enum tpd_err tpc_store_insert_report(struct tpc_store *s, const struct tpc_report_row *r,
				     int64_t *id)
{
	return s->ops->insert_report(s->ctx, r, id);
}

enum tpd_err tpc_store_device_seen(struct tpc_store *s, const char *id, const char *model,
				   const char *fw, double ts, const char *state)
{
	return s->ops->device_seen(s->ctx, id, model, fw, ts, state);
}

enum tpd_err tpc_store_device_register(struct tpc_store *s, const char *id, const char *model,
				       const char *purchase_date, const char *owner_contact,
				       const char *channel)
{
	return s->ops->device_register(s->ctx, id, model, purchase_date, owner_contact, channel);
}

enum tpd_err tpc_store_device_purchase_date(struct tpc_store *s, const char *id, char *buf,
					    size_t len)
{
	return s->ops->device_purchase_date(s->ctx, id, buf, len);
}

enum tpd_err tpc_store_claim_find_open(struct tpc_store *s, const char *device,
				       const char *category, int64_t *id)
{
	return s->ops->claim_find_open(s->ctx, device, category, id);
}

enum tpd_err tpc_store_claim_insert(struct tpc_store *s, const struct tpc_claim_new *c,
				    int64_t *id)
{
	return s->ops->claim_insert(s->ctx, c, id);
}

enum tpd_err tpc_store_claim_add_fault(struct tpc_store *s, int64_t claim, const char *code,
				       double ts, bool *added)
{
	return s->ops->claim_add_fault(s->ctx, claim, code, ts, added);
}

enum tpd_err tpc_store_claim_add_evidence(struct tpc_store *s, int64_t claim, int64_t report,
					  const char *kind, uint64_t seq, bool verified,
					  const char *code, const char *state)
{
	return s->ops->claim_add_evidence(s->ctx, claim, report, kind, seq, verified, code, state);
}

enum tpd_err tpc_store_claim_add_timeline(struct tpc_store *s, int64_t claim, const char *at,
					  const char *event, const char *by, const char *note)
{
	return s->ops->claim_add_timeline(s->ctx, claim, at, event, by, note);
}

enum tpd_err tpc_store_claim_update_text(struct tpc_store *s, int64_t claim,
					 const char *description, const char *suggested_resolution)
{
	return s->ops->claim_update_text(s->ctx, claim, description, suggested_resolution);
}

enum tpd_err tpc_store_claim_get_locked(struct tpc_store *s, int64_t claim, cJSON **out)
{
	return s->ops->claim_get(s->ctx, claim, out);
}

enum tpd_err tpc_store_claim_get(struct tpc_store *s, int64_t claim, cJSON **out)
{
	enum tpd_err rc;

	pthread_mutex_lock(&s->lock);
	rc = s->ops->claim_get(s->ctx, claim, out);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

enum tpd_err tpc_store_claim_list(struct tpc_store *s, const struct tpc_claim_filter *f,
				  cJSON **out)
{
	enum tpd_err rc;

	pthread_mutex_lock(&s->lock);
	rc = s->ops->claim_list(s->ctx, f, out);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

enum tpd_err tpc_store_count_reports(struct tpc_store *s, const char *dev, const char *kind,
				     int64_t *n)
{
	enum tpd_err rc;

	pthread_mutex_lock(&s->lock);
	rc = s->ops->count_reports(s->ctx, dev, kind, n);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void tpc_claim_id_format(int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "C-%06" PRId64, id);
}

bool tpc_claim_id_parse(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (strncmp(s, "C-", 2) != 0 || s[2] < '0' || s[2] > '9')
		return false;
	errno = 0;
	v = strtoll(s + 2, &end, 10);
	if (*end != '\0' || errno || v <= 0)
		return false;
	*id = v;
	return true;
}
