/*
 * store.h - the collector's storage: reports, devices, claims.
 *
 * Backends (sqlite:PATH, postgresql://... or postgres://...) export one const
 * struct tpc_store_ops; tpc_store_open picks one by URL scheme. The handle is
 * shared by the MQTT thread and the HTTP threads. Writes and the reads made
 * inside a transaction take the store's mutex (tpc_store_begin..commit holds
 * it); the self-locking reads the API makes run on read-only connections of
 * their own when the backend has them (open_reader), so a query never waits
 * for ingest's group commit, nor ingest for a query.
 */
#ifndef TPC_STORE_H
#define TPC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"

/* The registry's optional fields, and a calendar region's name. */
#define TPC_OWNER_CONTACT_MAX 127
#define TPC_CHANNEL_MAX 31
#define TPC_LOCALE_MAX 7          /* "en", "zh-CN" */
#define TPC_REGION_MAX 15

struct tpc_store;

/* A report as stored. */
struct tpc_report_row {
	const char *dev;
	uint64_t seq;
	const char *kind;        /* telemetry|fault|selfcheck|status */
	double ts;
	const char *body;        /* the report JSON */
	const char *jws;         /* signed text or NULL */
	bool verified;
	const char *jws_hash;    /* base64url SHA-256 of jws (the next report's "prev") */
	const char *chain;       /* ok | broken | unknown (no predecessor stored); NULL unsigned */
	const cJSON *json;       /* body parsed (telemetry is stored from it), NULL: parse body */
};

/* The claim's warranty as computed from the policy (policy.h). */
struct tpc_claim_warranty {
	const char *status;               /* in_warranty|expired|excluded|unknown */
	const char *until;                /* YYYY-MM-DD or NULL */
	const char *policy;
	const char *reason;               /* why excluded, or NULL */
	const char *purchase_date;        /* set_warranty: the date it was computed from */
};

struct tpc_claim_new {
	const char *device, *model, *category;
	bool predictive;
	double detected_ts;
	const char *opened_at;            /* ISO 8601 UTC */
	const char *purchase_date;        /* NULL: unknown */
	const char *title, *description;
	const char *selfcheck_verdict;    /* NULL: none */
	const char *suggested_resolution;
	const char *priority;             /* high|normal|low */
	const char *review_due;           /* ISO 8601 UTC */
	struct tpc_claim_warranty warranty;
	const char *origin;               /* device|forecast|customer|support; NULL: device */
	const char *contact, *channel;    /* the customer's, as given with a manual claim */
	const char *tracking_token;       /* the tracking link's secret (claims.h) */
	const char *locale;               /* en|zh-CN; NULL: en */
	const char *title_zh, *description_zh;  /* the Chinese text, NULL: none */
	const char *region;               /* the business calendar's (workcal.h), NULL: none */
	const char *forecast;             /* JSON object of a predictive claim's trend, or NULL */
};

/* Who works a claim and what was done, and the forecast it is tracked by;
 * each group is changed only when its flag is set (an assignee "" or NULL
 * unassigns, a forecast NULL clears). parts: a JSON array text. */
struct tpc_claim_work {
	bool set_assignee;
	const char *assignee;
	bool set_resolution;
	const char *summary, *parts, *at, *by;
	bool set_forecast;
	const char *forecast;
};

/* What a claim needs to know of its device from the registry ("" = none). */
struct tpc_device_profile {
	char purchase_date[16];
	char locale[TPC_LOCALE_MAX + 1];
	char region[TPC_REGION_MAX + 1];
	char channel[TPC_CHANNEL_MAX + 1];
};

struct tpc_claim_filter {
	const char *state;    /* NULL: any */
	const char *device;   /* NULL: any */
	const char *since;    /* opened_at >= since (ISO 8601), NULL: any */
	int64_t after;        /* keyset page: claims with a larger id; 0: from the first */
	unsigned limit;       /* 0: 100 */
	/* NULL / 0: any; for the two flags 1 is yes and 2 is no */
	const char *warranty; /* warranty status */
	const char *priority; /* high|normal|low */
	int predictive;       /* 0 any, 1 predictive, 2 not */
	const char *model;
	int overdue;          /* 1: open or in review past review_due (now_iso); 2: not */
	const char *now_iso;  /* for overdue */
	const char *text;     /* free text in the title, description or device id */
	const char *sort;     /* id (default) | review_due | -opened_at | priority */
	const char *category; /* fault class (power|thermal|sensor|system); NULL: any */
	const char *assignee; /* NULL: any */
	int assigned;         /* 0 any, 1 someone works it, 2 nobody */
};

/* A registry row. NULL or "" means "none" for the optional fields. */
struct tpc_device_row {
	const char *id, *model, *purchase_date;
	const char *public_key;           /* base64 SPKI DER */
	const char *owner_contact, *channel;
	const char *locale;               /* en|zh-CN, the claims' language */
	const char *region;               /* business calendar (workcal.h) */
};

enum tpc_upsert { TPC_UPSERT_CREATED, TPC_UPSERT_UPDATED, TPC_UPSERT_UNCHANGED };

/* Called per registered device with its public key (base64 SPKI DER). */
typedef enum tpd_err (*tpc_device_key_fn)(void *arg, const char *id, const char *key_b64);

/* What a telemetry answer holds: the reports, or hourly or daily rollups. */
enum tpc_resolution { TPC_RES_AUTO, TPC_RES_RAW, TPC_RES_HOUR, TPC_RES_DAY };

/* A telemetry query: dev's reports with since <= ts < until (NAN: open),
 * or the rollup periods overlapping it. */
struct tpc_telemetry_filter {
	const char *dev;
	double since, until;
	uint64_t after_seq;   /* keyset page: seq > after_seq (rollups: start ts > it) */
	unsigned limit;       /* 0: 500 */
	enum tpc_resolution resolution;  /* AUTO: tpc_store_telemetry_list picks and sets it */
	double now;           /* AUTO: the wall clock the range is judged against; 0: now */
};

const char *tpc_resolution_name(enum tpc_resolution r);
/* "raw", "hour", "day" (or "auto") -> enum; false when none of them. */
bool tpc_resolution_parse(const char *s, enum tpc_resolution *out);

struct tpc_store_ops {
	const char *scheme;   /* URL prefix, e.g. "sqlite:" */
	enum tpd_err (*open)(const char *url, void **ctx, char *err, size_t errlen);
	void (*close)(void *ctx);
	enum tpd_err (*exec)(void *ctx, const char *sql);   /* BEGIN/COMMIT/ROLLBACK */
	/* optional: the backend's last error, one line ("" if none) */
	void (*last_error)(void *ctx, char *buf, size_t len);
	enum tpd_err (*insert_report)(void *ctx, const struct tpc_report_row *r, int64_t *id);
	enum tpd_err (*signed_before)(void *ctx, const char *dev, uint64_t seq, char *hash,
				      size_t len);
	enum tpd_err (*device_seen)(void *ctx, const char *id, const char *model, const char *fw,
				    double ts, const char *state);
	enum tpd_err (*device_upsert)(void *ctx, const struct tpc_device_row *d,
				      enum tpc_upsert *res);
	enum tpd_err (*device_get)(void *ctx, const char *id, cJSON **out);
	enum tpd_err (*device_list)(void *ctx, const char *after, unsigned limit, cJSON **out);
	enum tpd_err (*device_keys)(void *ctx, tpc_device_key_fn fn, void *arg);
	enum tpd_err (*device_profile)(void *ctx, const char *id, struct tpc_device_profile *p);
	enum tpd_err (*claim_find_open)(void *ctx, const char *device, const char *category,
					int64_t *id);
	enum tpd_err (*claim_insert)(void *ctx, const struct tpc_claim_new *c, int64_t *id);
	enum tpd_err (*claim_add_fault)(void *ctx, int64_t claim, const char *code, double ts,
					bool *added);
	enum tpd_err (*claim_add_evidence)(void *ctx, int64_t claim, int64_t report,
					   const char *kind, uint64_t seq, bool verified,
					   const char *code, const char *state);
	enum tpd_err (*claim_add_timeline)(void *ctx, int64_t claim, const char *at,
					   const char *event, const char *by, const char *note);
	enum tpd_err (*claim_update_text)(void *ctx, int64_t claim, const char *description,
					  const char *description_zh,
					  const char *suggested_resolution, const char *priority);
	enum tpd_err (*claim_set_work)(void *ctx, int64_t claim, const struct tpc_claim_work *w);
	enum tpd_err (*claim_set_state)(void *ctx, int64_t claim, const char *state);
	enum tpd_err (*claim_set_warranty)(void *ctx, int64_t claim,
					   const struct tpc_claim_warranty *w);
	enum tpd_err (*claim_set_feedback)(void *ctx, int64_t claim, int rating,
					   const char *comment, const char *at);
	enum tpd_err (*claim_get)(void *ctx, int64_t claim, cJSON **out);
	enum tpd_err (*claim_list)(void *ctx, const struct tpc_claim_filter *f, cJSON **out,
				   int64_t *total);
	enum tpd_err (*claim_had)(void *ctx, const char *dev, const char *category,
				  const char *code, bool *had);
	/* optional: one step of rollups and retention in the caller's
	 * transaction; *more: call again soon (false: a whole pass is done) */
	enum tpd_err (*maintain)(void *ctx, double now, double raw_keep_s, bool *more);
	/* optional: a read-only connection to the same database, for reads that
	 * need not see an open transaction (store.c: the readers) */
	enum tpd_err (*open_reader)(const char *url, void **ctx, char *err, size_t errlen);
	enum tpd_err (*claim_evidence)(void *ctx, int64_t claim, cJSON **out);
	enum tpd_err (*telemetry_list)(void *ctx, const struct tpc_telemetry_filter *f,
				       cJSON **out);
	enum tpd_err (*count_reports)(void *ctx, const char *dev, const char *kind, int64_t *n);
	/* the seqs of dev stored in lo..hi (reports and telemetry), ascending,
	 * up to max of them into seqs */
	enum tpd_err (*seqs_stored)(void *ctx, const char *dev, uint64_t lo, uint64_t hi,
				    uint64_t *seqs, size_t max, size_t *n);
	enum tpd_err (*outbox_add)(void *ctx, const char *topic, const char *payload);
	enum tpd_err (*outbox_next)(void *ctx, int64_t after, int64_t *id, char **topic,
				    char **payload);
	enum tpd_err (*outbox_done)(void *ctx, int64_t id);
	/* claim events for webhooks (events.h) */
	enum tpd_err (*event_add)(void *ctx, const char *uuid, const char *event, int64_t claim,
				  const char *at, const char *body);
	enum tpd_err (*event_next)(void *ctx, int64_t after, int64_t *id, char **body);
	enum tpd_err (*event_pending)(void *ctx, int64_t after, int64_t *n);
	enum tpd_err (*webhook_cursor)(void *ctx, const char *target, int64_t *last);
	enum tpd_err (*webhook_cursor_set)(void *ctx, const char *target, int64_t last);
	enum tpd_err (*counts)(void *ctx, const char *now_iso, cJSON **out);
	enum tpd_err (*claim_by_token)(void *ctx, const char *token, int64_t *id);
	enum tpd_err (*reports_recent)(void *ctx, const char *dev, const char *kind, double since,
				       unsigned limit, cJSON **out);
	/* optional: the predictive engine's saved state of a device (fleet.h) */
	enum tpd_err (*forecast_put)(void *ctx, const char *dev, const void *state, size_t len,
				     double saved_at);
	enum tpd_err (*forecast_get)(void *ctx, const char *dev, void **state, size_t *len);
	/* optional: *leader true while this process holds job's lease (a
	 * session lock in the database, let go when the process dies): of
	 * several collectors on one database, one does the job. Without it
	 * (SQLite: one collector) every caller leads. */
	enum tpd_err (*lead)(void *ctx, const char *job, bool *leader);
	/* with lead: lets job's lease go (another collector may take it) */
	enum tpd_err (*unlead)(void *ctx, const char *job);
	/* optional, for a database several collectors write (PostgreSQL): how
	 * many of dev's reports between its signed report before seq and seq are
	 * not stored (yet); without it a wrong "prev" is always a broken link */
	enum tpd_err (*gap_before)(void *ctx, const char *dev, uint64_t seq, int64_t *missing);
};

/* Opens by URL ("sqlite:PATH", "postgresql://USER@HOST:PORT/DB"). On
 * failure writes one line to err. */
enum tpd_err tpc_store_open(const char *url, struct tpc_store **out, char *err, size_t errlen);
void tpc_store_close(struct tpc_store *s);

/* Transactions: begin takes the store's lock, commit/rollback release it. */
enum tpd_err tpc_store_begin(struct tpc_store *s);
enum tpd_err tpc_store_commit(struct tpc_store *s);
void tpc_store_rollback(struct tpc_store *s);

/*
 * Group commit, for the MQTT thread: batch_begin takes the lock and opens one
 * transaction; the begin/commit/rollback above then become savepoints inside
 * it (a refused or duplicate report rolls back alone), and batch_commit makes
 * them all durable at once and releases the lock. The other threads wait for
 * the lock meanwhile, so a batch must stay short (one MQTT loop's messages).
 * A failed batch commit rolls the whole batch back; the caller logs it.
 */
enum tpd_err tpc_store_batch_begin(struct tpc_store *s);
/* The backend's last error as one line ("" when none, or not told). */
void tpc_store_last_error(struct tpc_store *s, char *buf, size_t len);
enum tpd_err tpc_store_batch_commit(struct tpc_store *s);

/* Inside a transaction (the lock is held): */
enum tpd_err tpc_store_insert_report(struct tpc_store *s, const struct tpc_report_row *r,
				     int64_t *id); /* TPD_ERR_DUPLICATE for a seen (dev, seq) */
/* jws_hash of dev's signed report with the greatest seq below seq;
 * TPD_ERR_NOTFOUND when there is none. */
enum tpd_err tpc_store_signed_before(struct tpc_store *s, const char *dev, uint64_t seq,
				     char *hash, size_t len);
/* How many of dev's reports between that signed report and seq are not
 * stored: another collector may not have committed them yet. 0 without the
 * op. Inside a transaction. */
enum tpd_err tpc_store_gap_before(struct tpc_store *s, const char *dev, uint64_t seq,
				  int64_t *missing);
enum tpd_err tpc_store_device_seen(struct tpc_store *s, const char *id, const char *model,
				   const char *fw, double ts, const char *state);
enum tpd_err tpc_store_device_upsert(struct tpc_store *s, const struct tpc_device_row *d,
				     enum tpc_upsert *res);
enum tpd_err tpc_store_device_profile(struct tpc_store *s, const char *id,
				      struct tpc_device_profile *p); /* TPD_ERR_NOTFOUND: unknown */
enum tpd_err tpc_store_claim_find_open(struct tpc_store *s, const char *device,
				       const char *category, int64_t *id); /* NOTFOUND */
/* TPD_ERR_DUPLICATE when the device has an open claim of that class (one
 * another collector committed after this one looked: claims.c joins it). */
enum tpd_err tpc_store_claim_insert(struct tpc_store *s, const struct tpc_claim_new *c,
				    int64_t *id);
enum tpd_err tpc_store_claim_add_fault(struct tpc_store *s, int64_t claim, const char *code,
				       double ts, bool *added);
enum tpd_err tpc_store_claim_add_evidence(struct tpc_store *s, int64_t claim, int64_t report,
					  const char *kind, uint64_t seq, bool verified,
					  const char *code, const char *state);
enum tpd_err tpc_store_claim_add_timeline(struct tpc_store *s, int64_t claim, const char *at,
					  const char *event, const char *by, const char *note);
/* description_zh NULL: the Chinese text is left as it is. */
enum tpd_err tpc_store_claim_update_text(struct tpc_store *s, int64_t claim,
					 const char *description, const char *description_zh,
					 const char *suggested_resolution, const char *priority);
enum tpd_err tpc_store_claim_set_work(struct tpc_store *s, int64_t claim,
				      const struct tpc_claim_work *w);
enum tpd_err tpc_store_claim_set_state(struct tpc_store *s, int64_t claim, const char *state);
enum tpd_err tpc_store_claim_set_warranty(struct tpc_store *s, int64_t claim,
					  const struct tpc_claim_warranty *w);
enum tpd_err tpc_store_claim_set_feedback(struct tpc_store *s, int64_t claim, int rating,
					  const char *comment, const char *at);
/* A message for a device, published by the MQTT thread after commit
 * (transactional outbox: a state change and its notice commit together). */
enum tpd_err tpc_store_outbox_add(struct tpc_store *s, const char *topic, const char *payload);

/* Read inside a transaction. *out is the caller's. */
enum tpd_err tpc_store_claim_get_locked(struct tpc_store *s, int64_t claim, cJSON **out);
enum tpd_err tpc_store_device_get_locked(struct tpc_store *s, const char *id, cJSON **out);
enum tpd_err tpc_store_claim_list_locked(struct tpc_store *s, const struct tpc_claim_filter *f,
					 cJSON **out);
/* Has dev ever had a claim of this category holding this fault code? */
enum tpd_err tpc_store_claim_had(struct tpc_store *s, const char *dev, const char *category,
				 const char *code, bool *had);

/* The predictive engine's state of dev, opaque bytes (fleet.h), each call
 * its own transaction (a savepoint in a batch): put replaces it; get gives
 * a malloc'd copy (the caller frees) or TPD_ERR_NOTFOUND.
 * TPD_ERR_UNSUPPORTED from a backend without them. */
enum tpd_err tpc_store_forecast_put(struct tpc_store *s, const char *dev, const void *state,
				    size_t len, double saved_at);
enum tpd_err tpc_store_forecast_get(struct tpc_store *s, const char *dev, void **state,
				    size_t *len);

/* Self-locking reads (outside a transaction; on a reader connection, so
 * they see what is committed). *out is the caller's. */
enum tpd_err tpc_store_claim_get(struct tpc_store *s, int64_t claim, cJSON **out);
/* total (may be NULL): how many claims match the filter over all pages. */
enum tpd_err tpc_store_claim_list(struct tpc_store *s, const struct tpc_claim_filter *f,
				  cJSON **out, int64_t *total);
/* [{kind, seq, ts, verified, code, state, jws}] of a claim. */
enum tpd_err tpc_store_claim_evidence(struct tpc_store *s, int64_t claim, cJSON **out);
enum tpd_err tpc_store_device_get(struct tpc_store *s, const char *id, cJSON **out);
/* Devices ordered by id, those after `after` (NULL: from the first). */
enum tpd_err tpc_store_device_list(struct tpc_store *s, const char *after, unsigned limit,
				   cJSON **out);
enum tpd_err tpc_store_device_keys(struct tpc_store *s, tpc_device_key_fn fn, void *arg);
/* The raw reports when the range is short (at most 2 days, within the raw
 * retention), else hourly rollups (up to 92 days), else daily; f->resolution
 * says which was used. */
enum tpd_err tpc_store_telemetry_list(struct tpc_store *s, struct tpc_telemetry_filter *f,
				      cJSON **out);
enum tpd_err tpc_store_count_reports(struct tpc_store *s, const char *dev, const char *kind,
				     int64_t *n);
/* Which seqs of dev in lo..hi are stored, by any collector on the database
 * (ascending, up to max into seqs; *n of them). On a reader. */
enum tpd_err tpc_store_seqs_stored(struct tpc_store *s, const char *dev, uint64_t lo, uint64_t hi,
				   uint64_t *seqs, size_t max, size_t *n);
/* The oldest unsent outbox message after id `after`; TPD_ERR_NOTFOUND when
 * none. *topic and *payload are the caller's (free()). */
enum tpd_err tpc_store_outbox_next(struct tpc_store *s, int64_t after, int64_t *id, char **topic,
				   char **payload);
enum tpd_err tpc_store_outbox_done(struct tpc_store *s, int64_t id);

/* Claim events (events.h), inside the transaction of the change they tell. */
enum tpd_err tpc_store_event_add(struct tpc_store *s, const char *uuid, const char *event,
				 int64_t claim, const char *at, const char *body);
/* Self-locking. The oldest event after id `after` (*body is the caller's,
 * free()); TPD_ERR_NOTFOUND when none. */
enum tpd_err tpc_store_event_next(struct tpc_store *s, int64_t after, int64_t *id, char **body);
enum tpd_err tpc_store_event_pending(struct tpc_store *s, int64_t after, int64_t *n);
/* A webhook target's last delivered event; a target not seen before is
 * created at the newest event (it is not sent the history). */
enum tpd_err tpc_store_webhook_cursor(struct tpc_store *s, const char *target, int64_t *last);
enum tpd_err tpc_store_webhook_cursor_set(struct tpc_store *s, const char *target, int64_t last);
/* {"claims":{STATE:n,...},"overdue":n,"outbox":n}: overdue = open or in
 * review with review_due before now_iso; outbox = device notices unsent. */
enum tpd_err tpc_store_counts(struct tpc_store *s, const char *now_iso, cJSON **out);

/* The claim whose tracking token is token; TPD_ERR_NOTFOUND. Self-locking. */
enum tpd_err tpc_store_claim_by_token(struct tpc_store *s, const char *token, int64_t *id);
/* dev's newest reports of kind with ts >= since, newest first:
 * [{id, seq, ts, verified, body}]. Inside a transaction. */
enum tpd_err tpc_store_reports_recent(struct tpc_store *s, const char *dev, const char *kind,
				      double since, unsigned limit, cJSON **out);
/*
 * Raw telemetry is kept raw_days (0: for ever; default 30), rollups for
 * ever. tpc_store_maintain runs one short step of rolling up closed hours
 * and deleting rolled-up raw rows past that, in a transaction of its own
 * (takes the lock); *more: there is more to do right away.
 */
void tpc_store_set_raw_days(struct tpc_store *s, double raw_days);
enum tpd_err tpc_store_maintain(struct tpc_store *s, double now, bool *more);

/*
 * Whether this collector does job ("outbox": the devices' claim notices,
 * "webhooks", "maintain": rollups and retention) now: true when the
 * backend has no leases, or while it holds job's. Asked at most every
 * TPC_STORE_LEAD_S per job (the answer is kept that long); a backend error
 * answers false (another collector may lead; this one tries again later).
 */
#define TPC_STORE_LEAD_S 2.0
#define TPC_STORE_LEADS_MAX 32   /* jobs whose answers are kept (more are asked each time) */
bool tpc_store_leads(struct tpc_store *s, const char *job);
/* Lets job's lease go, if this collector holds it (a partition handed to
 * another collector); the next tpc_store_leads asks again. */
void tpc_store_unlead(struct tpc_store *s, const char *job);

/* "C-000123" <-> 123 */
void tpc_claim_id_format(int64_t id, char *buf, size_t len);
bool tpc_claim_id_parse(const char *s, int64_t *id);

extern const struct tpc_store_ops tpc_store_sqlite;
/* store_pg.c: one backend under both URL schemes */
extern const struct tpc_store_ops tpc_store_pg;        /* postgresql:// */
extern const struct tpc_store_ops tpc_store_pg_short;  /* postgres:// */

#endif
