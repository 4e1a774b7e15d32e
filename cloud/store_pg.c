/*
 * store_pg.c - the PostgreSQL storage backend ("postgresql://..." and
 * "postgres://...", any libpq connection URI).
 *
 * Layout: schema migrations, statement table, connection and error
 * handling, writes, claim JSON assembly, telemetry and its maintenance. It
 * follows store_sqlite.c op for op: the same tables, the same results, the
 * same JSON; only the dialect differs.
 *
 * Design notes:
 * 1. The schema version is the one row of schema_version. Each migration
 *    runs in its own transaction under pg_advisory_xact_lock(PG_MIGRATE_LOCK),
 *    so two collectors started at once apply it once, one after the other
 *    (the second sees the version the first committed). A database newer
 *    than this build is refused, as with SQLite.
 * 2. Every text column is COLLATE "C": the keyset pages (id > $1), the
 *    sorts and the comparisons of ISO 8601 times then order bytes as
 *    SQLite does, whatever locale the cluster was made with; lower() of
 *    the free-text search is ASCII-only as SQLite's. SQLite sorts NULL
 *    first, PostgreSQL last: NULLS FIRST where a sort key may be NULL.
 * 3. "At most one open claim per device and class" is a partial unique
 *    index, as in SQLite: two collectors on one database cannot open two.
 * 4. Prepared statements only: each is PQprepare'd once per connection, on
 *    first use, and run with PQexecPrepared; no value is pasted into SQL.
 *    Parameter types are declared where a parameter is unused or only
 *    tested for NULL (PostgreSQL cannot infer them there).
 * 5. Claim counts per state are kept in claim_counts by a plpgsql trigger
 *    (as SQLite's triggers do), so an unfiltered page's total is a few
 *    rows read, never a count over claims. The trigger only inserts deltas
 *    (+1, -1), summed on read and folded into one row per state by the
 *    maintenance step: one counter row per state, updated in place, would
 *    be locked by every transaction that opens or moves a claim until it
 *    commits. That serialised every collector's batches behind one row,
 *    and closed a deadlock: batch A holds 'open' and inserts a claim for
 *    device X and class C; batch B inserted that device and class first
 *    (the one-open-claim index makes A wait on B) and now waits on 'open'.
 * 6. Errors are logged at most once a minute (pg_log, as sq_log), the last
 *    one kept for last_error. A lost connection is reset (PQreset) once per
 *    call, outside a transaction only: inside one, the work done so far is
 *    gone with the connection, so the call fails and the caller's ROLLBACK
 *    resets it; nothing was acknowledged before its COMMIT.
 * 7. PostgreSQL aborts a transaction at its first error where SQLite goes
 *    on; store.c rolls back (or back to the savepoint) after every failed
 *    op, so the difference does not show. A COMMIT of an aborted
 *    transaction "succeeds" as ROLLBACK: pg_exec checks the command tag.
 * 8. Telemetry rows, rollups and forecast state are BYTEA, sent as binary
 *    parameters; results come as text (bytea in hex, unescaped here).
 *    Sequences are not transactional: a rolled-back insert leaves a gap in
 *    the ids (claims, names), which SQLite would have reused.
 * 10. Names (the dictionary of device ids, sensors, codes) are added on a
 *    connection of their own, each INSERT committed at once, never inside
 *    a report's transaction: two collectors whose batches both bring new
 *    names would otherwise each wait on the other's uncommitted row (a
 *    deadlock, and the batch refused). A name added for a batch that then
 *    rolls back stays, unused and harmless; names are never deleted, so
 *    the cache of them outlives every rollback.
 * 11. store.c opens a savepoint per report inside a batch and releases it
 *    after: two more round trips per report than the insert itself. They
 *    are owed instead: SAVEPOINT and RELEASE queue here and go out with the
 *    next statement, in one pipeline (libpq pipeline mode) with it; a
 *    savepoint released with no statement inside it, or rolled back to
 *    with none, is never sent at all; COMMIT and ROLLBACK drop what is
 *    owed (they end every savepoint). A failure of an owed command shows
 *    as the failure of the statement it went with, which the caller rolls
 *    back as any other.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "tpd/jsonfile.h"
#include "tpd/log.h"
#include "rollup.h"
#include "store.h"
#include "store_pg.h"
#include "telem_codec.h"

#define PG_MIGRATE_LOCK 0x74706364 /* "tpcd": the migrations' advisory lock */

/* Column types (pg_type.h is server-side; these OIDs are fixed). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_NUMERIC 1700

#define T " TEXT COLLATE \"C\""
#define REAL " DOUBLE PRECISION"
/* strftime('%Y-%m-%dT%H:%M:%fZ','now') and '%SZ' of SQLite */
#define PG_NOW_MS \
	"to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define PG_NOW_S \
	"to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *const pg_migrations[] = {
	/* 1: the whole schema of SQLite's migrations 1-8 */
	"CREATE TABLE devices ("
	"  id" T " PRIMARY KEY, model" T ", purchase_date" T ", owner_contact" T ","
	"  channel" T ", fw" T ", state" T ", last_seen" REAL ", public_key" T ","
	"  registered_at" T ", locale" T ", region" T ");"
	"CREATE TABLE reports ("
	"  id BIGSERIAL PRIMARY KEY, dev" T " NOT NULL, seq BIGINT NOT NULL, kind" T " NOT NULL,"
	"  ts" REAL " NOT NULL, received_at" T " NOT NULL DEFAULT " PG_NOW_MS ","
	"  body" T " NOT NULL, jws" T ", verified INTEGER NOT NULL DEFAULT 0,"
	"  jws_hash" T ", chain" T ", UNIQUE (dev, seq));"
	"CREATE INDEX reports_dev_kind_ts ON reports (dev, kind, ts);"
	"CREATE INDEX reports_signed ON reports (dev, seq) WHERE jws IS NOT NULL;"
	"CREATE TABLE claims ("
	"  id BIGSERIAL PRIMARY KEY, device" T " NOT NULL, model" T ", category" T " NOT NULL,"
	"  state" T " NOT NULL DEFAULT 'open', predictive INTEGER NOT NULL DEFAULT 0,"
	"  detected_ts" REAL ", opened_at" T " NOT NULL, purchase_date" T ","
	"  warranty_status" T " NOT NULL DEFAULT 'unknown', warranty_until" T ","
	"  warranty_policy" T ", title" T " NOT NULL, description" T " NOT NULL,"
	"  selfcheck_verdict" T ", suggested_resolution" T ", review_due" T ","
	"  warranty_reason" T ", priority" T " NOT NULL DEFAULT 'normal', updated_at" T ","
	"  feedback_rating INTEGER, feedback_comment" T ", feedback_at" T ","
	"  origin" T " NOT NULL DEFAULT 'device', contact" T ", channel" T ","
	"  tracking_token" T ", assignee" T ", resolution_summary" T ","
	"  resolution_parts" T ", resolution_at" T ", resolution_by" T ","
	"  locale" T " NOT NULL DEFAULT 'en', title_zh" T ", description_zh" T ","
	"  region" T ", forecast" T ");"
	"CREATE UNIQUE INDEX claims_one_open ON claims (device, category)"
	"  WHERE state NOT IN ('resolved', 'closed', 'rejected');"
	"CREATE INDEX claims_state ON claims (state, opened_at);"
	"CREATE INDEX claims_device ON claims (device, id);"
	"CREATE INDEX claims_state_id ON claims (state, id);"
	"CREATE INDEX claims_opened ON claims (opened_at);"
	"CREATE INDEX claims_assignee ON claims (assignee, id);"
	"CREATE UNIQUE INDEX claims_tracking ON claims (tracking_token);"
	"CREATE TABLE claim_faults ("
	"  claim_id BIGINT NOT NULL REFERENCES claims (id), code" T " NOT NULL,"
	"  first_ts" REAL ", PRIMARY KEY (claim_id, code));"
	"CREATE TABLE claim_evidence ("
	"  id BIGSERIAL PRIMARY KEY, claim_id BIGINT NOT NULL REFERENCES claims (id),"
	"  report_id BIGINT NOT NULL REFERENCES reports (id), kind" T " NOT NULL,"
	"  seq BIGINT NOT NULL, verified INTEGER NOT NULL, code" T ", state" T ");"
	"CREATE INDEX claim_evidence_claim ON claim_evidence (claim_id);"
	"CREATE TABLE claim_timeline ("
	"  id BIGSERIAL PRIMARY KEY, claim_id BIGINT NOT NULL REFERENCES claims (id),"
	"  at" T " NOT NULL, event" T " NOT NULL, by" T " NOT NULL, note" T ");"
	"CREATE INDEX claim_timeline_claim ON claim_timeline (claim_id);"
	"CREATE TABLE outbox ("
	"  id BIGSERIAL PRIMARY KEY, topic" T " NOT NULL, payload" T " NOT NULL,"
	"  created_at" T " NOT NULL DEFAULT " PG_NOW_MS ", sent_at" T ");"
	"CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;"
	/* design note 5 */
	"CREATE TABLE claim_counts (state" T " PRIMARY KEY, n BIGINT NOT NULL);"
	"CREATE FUNCTION claims_count() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	"  IF TG_OP IN ('UPDATE', 'DELETE') THEN"
	"   UPDATE claim_counts SET n = n - 1 WHERE state = OLD.state;"
	"  END IF;"
	"  IF TG_OP IN ('INSERT', 'UPDATE') THEN"
	"   INSERT INTO claim_counts VALUES (NEW.state, 1)"
	"   ON CONFLICT (state) DO UPDATE SET n = claim_counts.n + 1;"
	"  END IF;"
	"  RETURN NULL;"
	" END $$;"
	"CREATE TRIGGER claims_count_insert AFTER INSERT OR DELETE ON claims"
	"  FOR EACH ROW EXECUTE FUNCTION claims_count();"
	"CREATE TRIGGER claims_count_update AFTER UPDATE OF state ON claims"
	"  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)"
	"  EXECUTE FUNCTION claims_count();"
	/* compact telemetry (store_sqlite.c design note 7) */
	"CREATE TABLE names (id BIGSERIAL PRIMARY KEY, name" T " NOT NULL UNIQUE);"
	"CREATE TABLE telemetry ("
	"  dev_id BIGINT NOT NULL, seq BIGINT NOT NULL, ts" REAL " NOT NULL,"
	"  layout BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (dev_id, seq));"
	"CREATE INDEX telemetry_ts ON telemetry (dev_id, ts);"
	"CREATE TABLE telemetry_hour ("
	"  dev_id BIGINT NOT NULL, start BIGINT NOT NULL, layout BIGINT NOT NULL,"
	"  data BYTEA NOT NULL, PRIMARY KEY (dev_id, start, layout));"
	"CREATE TABLE telemetry_day ("
	"  dev_id BIGINT NOT NULL, start BIGINT NOT NULL, layout BIGINT NOT NULL,"
	"  data BYTEA NOT NULL, PRIMARY KEY (dev_id, start, layout));"
	"CREATE TABLE rollup_mark (dev_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL);"
	"CREATE TABLE events ("
	"  id BIGSERIAL PRIMARY KEY, uuid" T " NOT NULL UNIQUE, event" T " NOT NULL,"
	"  claim_id BIGINT NOT NULL, at" T " NOT NULL, body" T " NOT NULL);"
	"CREATE TABLE webhook_cursor (target" T " PRIMARY KEY, last_event BIGINT NOT NULL);"
	"CREATE TABLE forecast_state ("
	"  dev" T " PRIMARY KEY, saved_at" REAL " NOT NULL, state BYTEA NOT NULL);",
	/* 2: claim_counts holds deltas, summed on read (design note 5) */
	"ALTER TABLE claim_counts DROP CONSTRAINT IF EXISTS claim_counts_pkey;"
	"CREATE INDEX IF NOT EXISTS claim_counts_state ON claim_counts (state);"
	"CREATE OR REPLACE FUNCTION claims_count() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	"  IF TG_OP IN ('UPDATE', 'DELETE') THEN"
	"   INSERT INTO claim_counts VALUES (OLD.state, -1);"
	"  END IF;"
	"  IF TG_OP IN ('INSERT', 'UPDATE') THEN"
	"   INSERT INTO claim_counts VALUES (NEW.state, 1);"
	"  END IF;"
	"  RETURN NULL;"
	" END $$;",
};

#define PG_CLAIM_COLS \
	"id, state, device, model, category, predictive, detected_ts, opened_at, purchase_date," \
	" warranty_status, warranty_until, warranty_policy, title, description," \
	" selfcheck_verdict, suggested_resolution, review_due, priority, warranty_reason," \
	" updated_at, feedback_rating, feedback_comment, feedback_at," \
	" EXISTS (SELECT 1 FROM claim_evidence e JOIN reports r ON r.id = e.report_id" \
	"  WHERE e.claim_id = claims.id AND r.chain = 'broken')," \
	" origin, contact, channel, tracking_token," \
	" assignee, resolution_summary, resolution_parts, resolution_at, resolution_by," \
	" locale, title_zh, description_zh, region, forecast"

#define PG_DEVICE_COLS \
	"id, model, purchase_date, owner_contact, channel, public_key, registered_at," \
	" public_key IS NOT NULL AS registered, fw, state, last_seen," \
	" (SELECT count(*) FROM claims WHERE device = devices.id" \
	"  AND state NOT IN ('resolved', 'closed', 'rejected')) AS open_claims, locale, region"

/* A claims page: $1 state, $2 device, $3 since, $4 after (id), $5 limit;
 * one statement per combination of filters, types declared (note 4). */
#define PG_CLAIM_PAGE(where) \
	"SELECT " PG_CLAIM_COLS " FROM claims WHERE id > $4" where " ORDER BY id LIMIT $5"
#define PG_CLAIM_COUNT(where) "SELECT count(*) FROM claims WHERE true" where

#define PG_W_STATE " AND state = $1"
#define PG_W_DEVICE " AND device = $2"
#define PG_W_SINCE " AND opened_at >= $3"

enum { PG_F_STATE = 1, PG_F_DEVICE = 2, PG_F_SINCE = 4 };

/* The extra filters of the claims list (store_sqlite.c SQ_CLAIM_WHERE):
 * $1 state, $2 device, $3 since, $6 warranty, $7 priority, $8 predictive,
 * $9 model, $10 overdue, $11 now, $12 text, $13 category, $14 assignee,
 * $15 assigned; explicit NULL tests on declared types. */
#define PG_CLAIM_WHERE \
	" WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR device = $2)" \
	" AND ($3 IS NULL OR opened_at >= $3)" \
	" AND ($6 IS NULL OR warranty_status = $6) AND ($7 IS NULL OR priority = $7)" \
	" AND ($8 IS NULL OR predictive = $8) AND ($9 IS NULL OR model = $9)" \
	" AND ($10 IS NULL OR ($10 = 1) = (state IN ('open', 'in_review') AND review_due < $11))" \
	" AND ($12 IS NULL OR strpos(lower(title || ' ' || description || ' ' || device || ' '" \
	"  || coalesce(title_zh, '') || ' ' || coalesce(assignee, '')), lower($12 COLLATE \"C\")) > 0)" \
	" AND ($13 IS NULL OR category = $13)" \
	" AND ($14 IS NULL OR assignee = $14)" \
	" AND ($15 IS NULL OR (assignee IS NOT NULL) = ($15 = 1))"
#define PG_CLAIM_EXTRA(order) \
	"SELECT " PG_CLAIM_COLS " FROM claims" PG_CLAIM_WHERE " AND id > $4" order " LIMIT $5"
#define PG_CLAIM_EXTRA_TYPES "tttiitt4t4tttt4"

enum pg_stmt_id {
	PG_INSERT_REPORT,
	PG_SIGNED_BEFORE,
	PG_GAP_BEFORE,
	PG_DEVICE_SEEN,
	PG_DEVICE_FIND,
	PG_DEVICE_INSERT,
	PG_DEVICE_UPDATE,
	PG_DEVICE_PURCHASE,
	PG_CLAIM_FIND_OPEN,
	PG_CLAIM_INSERT,
	PG_CLAIM_ADD_FAULT,
	PG_CLAIM_ADD_EVIDENCE,
	PG_CLAIM_ADD_TIMELINE,
	PG_CLAIM_UPDATE_TEXT,
	PG_CLAIM_SET_WORK,
	PG_CLAIM_SET_STATE,
	PG_CLAIM_SET_WARRANTY,
	PG_CLAIM_SET_FEEDBACK,
	PG_CLAIM_HAD,
	PG_OUTBOX_ADD,
	PG_OUTBOX_NEXT,
	PG_OUTBOX_DONE,
	PG_EVENT_ADD,
	PG_CLAIM_BY_TOKEN,
	PG_REPORTS_RECENT,
	PG_TELEMETRY_LAST,
	PG_FORECAST_PUT,
	PG_FORECAST_GET,
	PG_EVENT_NEXT,
	PG_EVENT_PENDING,
	PG_CURSOR_GET,
	PG_CURSOR_SET,
	PG_COUNTS,
	PG_CLAIM_GET,
	PG_CLAIM_FAULTS,
	PG_CLAIM_EVIDENCE_BRIEF,
	PG_CLAIM_TIMELINE,
	PG_CLAIM_EVIDENCE,
	PG_CLAIM_PAGE_0,      /* + filter bits, PG_F_* */
	PG_CLAIM_PAGE_7 = PG_CLAIM_PAGE_0 + 7,
	PG_CLAIM_COUNT_0,     /* + filter bits */
	PG_CLAIM_COUNT_7 = PG_CLAIM_COUNT_0 + 7,
	PG_CLAIM_EXTRA_ID,    /* the extra filters, by sort order */
	PG_CLAIM_EXTRA_DUE,
	PG_CLAIM_EXTRA_OPENED,
	PG_CLAIM_EXTRA_PRIORITY,
	PG_CLAIM_EXTRA_COUNT,
	PG_DEVICE_GET,
	PG_DEVICE_LIST,
	PG_DEVICE_KEYS,
	PG_TELEMETRY_BY_SEQ,
	PG_TELEMETRY_BY_TS,
	PG_COUNT_REPORTS,
	PG_COUNT_REPORTS_DEV,
	PG_COUNT_REPORTS_KIND,
	PG_COUNT_REPORTS_DEV_KIND,
	PG_SEQS_STORED,
	PG_NAME_FIND,
	PG_NAME_GET,
	PG_NAME_ADD,
	PG_TELEM_INSERT,
	PG_HOUR_LIST,
	PG_DAY_LIST,
	PG_HOUR_GET,
	PG_DAY_GET,
	PG_HOUR_PUT,
	PG_DAY_PUT,
	PG_MAINT_NEXT_DEV,
	PG_MARK_GET,
	PG_MARK_PUT,
	PG_MAINT_ROWS,
	PG_RETAIN,
	PG_COUNTS_COMPACT,
	PG_STMT_COUNT
};

struct pg_stmt_def {
	const char *name;
	const char *sql;
	/* parameter types, one letter each: t text, i bigint, 4 integer,
	 * f double, b bytea; NULL: all inferred by the server */
	const char *types;
};

static const struct pg_stmt_def pg_stmts[PG_STMT_COUNT] = {
	[PG_INSERT_REPORT] = { "insert_report",
		"INSERT INTO reports (dev, seq, kind, ts, body, jws, verified, jws_hash, chain)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dev, seq) DO NOTHING"
		" RETURNING id", "titfttitt" },
	/* the partial index of the signed reports alone */
	[PG_SIGNED_BEFORE] = { "signed_before",
		"SELECT jws_hash FROM reports"
		" WHERE dev = $1 AND seq < $2 AND jws IS NOT NULL ORDER BY seq DESC LIMIT 1", "ti" },
	/* reports of dev missing between its signed report before seq and seq:
	 * the seqs between less the reports and telemetry rows stored there
	 * (another collector's open batch may hold them; NULL: no signed one) */
	[PG_GAP_BEFORE] = { "gap_before",
		"WITH p AS (SELECT seq FROM reports"
		"  WHERE dev = $1 AND seq < $2 AND jws IS NOT NULL ORDER BY seq DESC LIMIT 1)"
		" SELECT $2 - (SELECT seq FROM p) - 1"
		"  - (SELECT count(*) FROM reports WHERE dev = $1 AND seq > (SELECT seq FROM p) AND seq < $2)"
		"  - (SELECT count(*) FROM telemetry WHERE dev_id = (SELECT id FROM names WHERE name = $1)"
		"     AND seq > (SELECT seq FROM p) AND seq < $2)", "ti" },
	/* SQLite's max(x, NULL) is NULL, greatest() skips NULLs: the CASE
	 * keeps the SQLite answer for a report without a time */
	[PG_DEVICE_SEEN] = { "device_seen",
		"INSERT INTO devices (id, model, fw, last_seen, state) VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT (id) DO UPDATE SET model = coalesce(devices.model, $2), fw = $3,"
		" last_seen = CASE WHEN $4 IS NULL THEN NULL"
		"  ELSE greatest(coalesce(devices.last_seen, 0), $4) END,"
		" state = coalesce($5, devices.state)", "tttft" },
	[PG_DEVICE_FIND] = { "device_find",
		"SELECT coalesce(model, ''), coalesce(purchase_date, ''), coalesce(public_key, ''),"
		" coalesce(owner_contact, ''), coalesce(channel, ''), coalesce(locale, ''),"
		" coalesce(region, '') FROM devices WHERE id = $1", "t" },
	[PG_DEVICE_INSERT] = { "device_insert",
		"INSERT INTO devices (id, model, purchase_date, public_key, owner_contact, channel,"
		" locale, region, registered_at) VALUES ($1, nullif($2, ''), nullif($3, ''),"
		" nullif($4, ''), nullif($5, ''), nullif($6, ''), nullif($7, ''), nullif($8, ''),"
		" " PG_NOW_S ")"
		/* another collector stored it meanwhile (all load one --registry at
		 * start and on SIGHUP): this row is the one to keep, as an update */
		" ON CONFLICT (id) DO UPDATE SET model = coalesce(EXCLUDED.model, devices.model),"
		" purchase_date = EXCLUDED.purchase_date, public_key = EXCLUDED.public_key,"
		" owner_contact = EXCLUDED.owner_contact, channel = EXCLUDED.channel,"
		" locale = EXCLUDED.locale, region = EXCLUDED.region,"
		" registered_at = coalesce(devices.registered_at, EXCLUDED.registered_at)",
		"tttttttt" },
	[PG_DEVICE_UPDATE] = { "device_update",
		"UPDATE devices SET model = coalesce(nullif($2, ''), model),"
		" purchase_date = nullif($3, ''), public_key = nullif($4, ''),"
		" owner_contact = nullif($5, ''), channel = nullif($6, ''),"
		" locale = nullif($7, ''), region = nullif($8, ''),"
		" registered_at = coalesce(registered_at, " PG_NOW_S ")"
		" WHERE id = $1", "tttttttt" },
	[PG_DEVICE_PURCHASE] = { "device_purchase",
		"SELECT purchase_date, locale, region, channel FROM devices WHERE id = $1", "t" },
	[PG_CLAIM_FIND_OPEN] = { "claim_find_open",
		"SELECT id FROM claims WHERE device = $1 AND category = $2"
		" AND state NOT IN ('resolved', 'closed', 'rejected')", "tt" },
	/* $6 opened_at is also updated_at */
	[PG_CLAIM_INSERT] = { "claim_insert",
		"INSERT INTO claims (device, model, category, predictive, detected_ts, opened_at,"
		" purchase_date, title, description, selfcheck_verdict, suggested_resolution,"
		" priority, review_due, warranty_status, warranty_until, warranty_policy,"
		" warranty_reason, updated_at, origin, contact, channel, tracking_token,"
		" locale, title_zh, description_zh, region, forecast)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
		" $17, $6, coalesce($18, 'device'), $19, $20, $21, coalesce($22, 'en'), $23, $24,"
		" $25, $26) RETURNING id", "ttt4fttttttttttttttttttttt" },
	[PG_CLAIM_ADD_FAULT] = { "claim_add_fault",
		"INSERT INTO claim_faults (claim_id, code, first_ts) VALUES ($1, $2, $3)"
		" ON CONFLICT DO NOTHING", "itf" },
	[PG_CLAIM_ADD_EVIDENCE] = { "claim_add_evidence",
		"INSERT INTO claim_evidence (claim_id, report_id, kind, seq, verified, code, state)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)", "iiti4tt" },
	[PG_CLAIM_ADD_TIMELINE] = { "claim_add_timeline",
		"INSERT INTO claim_timeline (claim_id, at, event, by, note)"
		" VALUES ($1, $2, $3, $4, $5)", "itttt" },
	[PG_CLAIM_UPDATE_TEXT] = { "claim_update_text",
		"UPDATE claims SET description = $1, suggested_resolution = $2, priority = $4,"
		" description_zh = coalesce($5, description_zh) WHERE id = $3", "ttitt" },
	[PG_CLAIM_SET_WORK] = { "claim_set_work",
		"UPDATE claims SET assignee = CASE WHEN $2 <> 0 THEN nullif($3, '') ELSE assignee END,"
		" resolution_summary = CASE WHEN $4 <> 0 THEN $5 ELSE resolution_summary END,"
		" resolution_parts = CASE WHEN $4 <> 0 THEN $6 ELSE resolution_parts END,"
		" resolution_at = CASE WHEN $4 <> 0 THEN $7 ELSE resolution_at END,"
		" resolution_by = CASE WHEN $4 <> 0 THEN $8 ELSE resolution_by END,"
		" forecast = CASE WHEN $9 <> 0 THEN $10 ELSE forecast END,"
		" updated_at = " PG_NOW_S " WHERE id = $1", "i4t4tttt4t" },
	[PG_CLAIM_SET_STATE] = { "claim_set_state",
		"UPDATE claims SET state = $2, updated_at = " PG_NOW_S " WHERE id = $1", "it" },
	[PG_CLAIM_SET_WARRANTY] = { "claim_set_warranty",
		"UPDATE claims SET warranty_status = $2, warranty_until = $3, warranty_policy = $4,"
		" warranty_reason = $5, purchase_date = $6 WHERE id = $1", "ittttt" },
	[PG_CLAIM_SET_FEEDBACK] = { "claim_set_feedback",
		"UPDATE claims SET feedback_rating = $2, feedback_comment = $3, feedback_at = $4"
		" WHERE id = $1", "i4tt" },
	[PG_CLAIM_HAD] = { "claim_had",
		"SELECT EXISTS (SELECT 1 FROM claims c JOIN claim_faults f ON f.claim_id = c.id"
		" WHERE c.device = $1 AND c.category = $2 AND f.code = $3)", "ttt" },
	[PG_OUTBOX_ADD] = { "outbox_add", "INSERT INTO outbox (topic, payload) VALUES ($1, $2)",
		"tt" },
	[PG_OUTBOX_NEXT] = { "outbox_next",
		"SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL AND id > $1 ORDER BY id"
		" LIMIT 1", "i" },
	[PG_OUTBOX_DONE] = { "outbox_done",
		"UPDATE outbox SET sent_at = " PG_NOW_MS " WHERE id = $1", "i" },
	[PG_CLAIM_BY_TOKEN] = { "claim_by_token",
		"SELECT id FROM claims WHERE tracking_token = $1", "t" },
	[PG_REPORTS_RECENT] = { "reports_recent",
		"SELECT id, seq, ts, verified, body FROM reports WHERE dev = $1"
		" AND kind = $2 AND ts >= $3 ORDER BY seq DESC LIMIT $4", "ttfi" },
	[PG_TELEMETRY_LAST] = { "telemetry_last",
		"SELECT seq, ts, layout, data FROM telemetry WHERE dev_id = $1 AND ts >= $2"
		" ORDER BY seq DESC LIMIT $3", "ifi" },
	[PG_FORECAST_PUT] = { "forecast_put",
		"INSERT INTO forecast_state (dev, saved_at, state) VALUES ($1, $2, $3)"
		" ON CONFLICT (dev) DO UPDATE SET saved_at = $2, state = $3", "tfb" },
	[PG_FORECAST_GET] = { "forecast_get", "SELECT state FROM forecast_state WHERE dev = $1",
		"t" },
	[PG_EVENT_ADD] = { "event_add",
		"INSERT INTO events (uuid, event, claim_id, at, body) VALUES ($1, $2, $3, $4, $5)",
		"ttitt" },
	[PG_EVENT_NEXT] = { "event_next",
		"SELECT id, body FROM events WHERE id > $1 ORDER BY id LIMIT 1", "i" },
	[PG_EVENT_PENDING] = { "event_pending", "SELECT count(*) FROM events WHERE id > $1", "i" },
	/* a target seen for the first time starts after the events already there */
	[PG_CURSOR_GET] = { "cursor_get",
		"INSERT INTO webhook_cursor (target, last_event)"
		" VALUES ($1, (SELECT coalesce(max(id), 0) FROM events))"
		" ON CONFLICT (target) DO UPDATE SET last_event = webhook_cursor.last_event"
		" RETURNING last_event", "t" },
	[PG_CURSOR_SET] = { "cursor_set",
		"UPDATE webhook_cursor SET last_event = $2 WHERE target = $1", "ti" },
	/* ordered by state: SQLite's GROUP BY sorts, and the object's keys
	 * come out in the same order */
	[PG_COUNTS] = { "counts",
		"SELECT * FROM (SELECT state, count(*),"
		" sum(CASE WHEN review_due < $1 AND state IN ('open', 'in_review') THEN 1 ELSE 0 END)"
		" FROM claims GROUP BY state ORDER BY state) s"
		" UNION ALL SELECT '#outbox', count(*), 0 FROM outbox WHERE sent_at IS NULL", "t" },
	[PG_CLAIM_GET] = { "claim_get", "SELECT " PG_CLAIM_COLS " FROM claims WHERE id = $1",
		"i" },
	[PG_CLAIM_FAULTS] = { "claim_faults",
		"SELECT code FROM claim_faults WHERE claim_id = $1"
		" ORDER BY first_ts NULLS FIRST, code", "i" },
	[PG_CLAIM_EVIDENCE_BRIEF] = { "claim_evidence_brief",
		"SELECT e.kind, e.seq, e.verified, e.code, e.state, r.ts, r.chain"
		" FROM claim_evidence e JOIN reports r ON r.id = e.report_id"
		" WHERE e.claim_id = $1 ORDER BY e.seq", "i" },
	[PG_CLAIM_TIMELINE] = { "claim_timeline",
		"SELECT at, event, by, note FROM claim_timeline WHERE claim_id = $1 ORDER BY id",
		"i" },
	[PG_CLAIM_EVIDENCE] = { "claim_evidence",
		"SELECT e.kind, e.seq, r.ts, e.verified, e.code, e.state, r.chain, r.jws"
		" FROM claim_evidence e JOIN reports r ON r.id = e.report_id"
		" WHERE e.claim_id = $1 ORDER BY e.seq", "i" },
	[PG_CLAIM_PAGE_0] = { "claim_page", PG_CLAIM_PAGE(""), "tttii" },
	[PG_CLAIM_PAGE_0 + 1] = { "claim_page_state", PG_CLAIM_PAGE(PG_W_STATE), "tttii" },
	[PG_CLAIM_PAGE_0 + 2] = { "claim_page_device", PG_CLAIM_PAGE(PG_W_DEVICE), "tttii" },
	[PG_CLAIM_PAGE_0 + 3] = { "claim_page_state_device",
		PG_CLAIM_PAGE(PG_W_STATE PG_W_DEVICE), "tttii" },
	[PG_CLAIM_PAGE_0 + 4] = { "claim_page_since", PG_CLAIM_PAGE(PG_W_SINCE), "tttii" },
	[PG_CLAIM_PAGE_0 + 5] = { "claim_page_state_since",
		PG_CLAIM_PAGE(PG_W_STATE PG_W_SINCE), "tttii" },
	[PG_CLAIM_PAGE_0 + 6] = { "claim_page_device_since",
		PG_CLAIM_PAGE(PG_W_DEVICE PG_W_SINCE), "tttii" },
	[PG_CLAIM_PAGE_0 + 7] = { "claim_page_state_device_since",
		PG_CLAIM_PAGE(PG_W_STATE PG_W_DEVICE PG_W_SINCE), "tttii" },
	/* the totals without a device or date filter: the trigger's counts */
	[PG_CLAIM_COUNT_0] = { "claim_count",
		"SELECT coalesce(sum(n), 0) FROM claim_counts", "ttt" },
	[PG_CLAIM_COUNT_0 + 1] = { "claim_count_state",
		"SELECT coalesce(sum(n), 0) FROM claim_counts WHERE state = $1", "ttt" },
	[PG_CLAIM_COUNT_0 + 2] = { "claim_count_device", PG_CLAIM_COUNT(PG_W_DEVICE), "ttt" },
	[PG_CLAIM_COUNT_0 + 3] = { "claim_count_state_device",
		PG_CLAIM_COUNT(PG_W_STATE PG_W_DEVICE), "ttt" },
	[PG_CLAIM_COUNT_0 + 4] = { "claim_count_since", PG_CLAIM_COUNT(PG_W_SINCE), "ttt" },
	[PG_CLAIM_COUNT_0 + 5] = { "claim_count_state_since",
		PG_CLAIM_COUNT(PG_W_STATE PG_W_SINCE), "ttt" },
	[PG_CLAIM_COUNT_0 + 6] = { "claim_count_device_since",
		PG_CLAIM_COUNT(PG_W_DEVICE PG_W_SINCE), "ttt" },
	[PG_CLAIM_COUNT_0 + 7] = { "claim_count_state_device_since",
		PG_CLAIM_COUNT(PG_W_STATE PG_W_DEVICE PG_W_SINCE), "ttt" },
	[PG_CLAIM_EXTRA_ID] = { "claim_extra_id", PG_CLAIM_EXTRA(" ORDER BY id"),
		PG_CLAIM_EXTRA_TYPES },
	[PG_CLAIM_EXTRA_DUE] = { "claim_extra_due",
		PG_CLAIM_EXTRA(" ORDER BY review_due IS NULL, review_due, id"), PG_CLAIM_EXTRA_TYPES },
	[PG_CLAIM_EXTRA_OPENED] = { "claim_extra_opened",
		PG_CLAIM_EXTRA(" ORDER BY opened_at DESC, id DESC"), PG_CLAIM_EXTRA_TYPES },
	[PG_CLAIM_EXTRA_PRIORITY] = { "claim_extra_priority",
		PG_CLAIM_EXTRA(" ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1"
			       " ELSE 2 END, review_due NULLS FIRST, id"), PG_CLAIM_EXTRA_TYPES },
	[PG_CLAIM_EXTRA_COUNT] = { "claim_extra_count",
		"SELECT count(*) FROM claims" PG_CLAIM_WHERE, PG_CLAIM_EXTRA_TYPES },
	[PG_DEVICE_GET] = { "device_get", "SELECT " PG_DEVICE_COLS " FROM devices WHERE id = $1",
		"t" },
	[PG_DEVICE_LIST] = { "device_list",
		"SELECT " PG_DEVICE_COLS " FROM devices WHERE id > $1 ORDER BY id LIMIT $2", "ti" },
	[PG_DEVICE_KEYS] = { "device_keys",
		"SELECT id, public_key FROM devices WHERE public_key IS NOT NULL", NULL },
	/* $1 dev, $2 since, $3 until, $4 after (seq), $5 limit; open ends
	 * are bound to -+Infinity (store_sqlite.c design note 6) */
	[PG_TELEMETRY_BY_SEQ] = { "telemetry_by_seq",
		"SELECT seq, ts, layout, data FROM telemetry"
		" WHERE dev_id = $1 AND seq > $4 ORDER BY seq LIMIT $5", "iffii" },
	[PG_TELEMETRY_BY_TS] = { "telemetry_by_ts",
		"SELECT seq, ts, layout, data FROM telemetry"
		" WHERE dev_id = $1 AND ts >= $2 AND ts < $3 AND seq > $4 ORDER BY seq LIMIT $5",
		"iffii" },
	[PG_COUNT_REPORTS] = { "count_reports",
		"SELECT (SELECT count(*) FROM reports) + (SELECT count(*) FROM telemetry)", "tt" },
	[PG_COUNT_REPORTS_DEV] = { "count_reports_dev",
		"SELECT (SELECT count(*) FROM reports WHERE dev = $1) + (SELECT count(*) FROM"
		" telemetry WHERE dev_id = (SELECT id FROM names WHERE name = $1))", "tt" },
	[PG_COUNT_REPORTS_KIND] = { "count_reports_kind",
		"SELECT (SELECT count(*) FROM reports WHERE kind = $2) + CASE WHEN $2 = 'telemetry'"
		" THEN (SELECT count(*) FROM telemetry) ELSE 0 END", "tt" },
	[PG_SEQS_STORED] = { "seqs_stored",
		"SELECT seq FROM reports WHERE dev = $1 AND seq BETWEEN $2 AND $3"
		" UNION ALL SELECT seq FROM telemetry WHERE dev_id = $4 AND seq BETWEEN $2 AND $3"
		" ORDER BY 1 LIMIT $5", "tiiii" },
	[PG_COUNT_REPORTS_DEV_KIND] = { "count_reports_dev_kind",
		"SELECT (SELECT count(*) FROM reports WHERE dev = $1 AND kind = $2) +"
		" CASE WHEN $2 = 'telemetry' THEN (SELECT count(*) FROM telemetry"
		" WHERE dev_id = (SELECT id FROM names WHERE name = $1)) ELSE 0 END", "tt" },
	[PG_NAME_FIND] = { "name_find", "SELECT id FROM names WHERE name = $1", "t" },
	[PG_NAME_GET] = { "name_get", "SELECT name FROM names WHERE id = $1", "i" },
	/* another collector may add the same name meanwhile: no error then,
	 * no row, and the caller looks it up */
	[PG_NAME_ADD] = { "name_add",
		"INSERT INTO names (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
		"t" },
	[PG_TELEM_INSERT] = { "telemetry_insert",
		"INSERT INTO telemetry (dev_id, seq, ts, layout, data) VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT DO NOTHING", "iifib" },
	/* rollups: $1 dev, $2 first start, $3 end (both whole seconds, the
	 * page's "after" folded into $2 by the caller), $4 limit */
	[PG_HOUR_LIST] = { "hour_list",
		"SELECT start, layout, data FROM telemetry_hour WHERE dev_id = $1"
		" AND start >= $2 AND start < $3 ORDER BY start, layout LIMIT $4", "iiii" },
	[PG_DAY_LIST] = { "day_list",
		"SELECT start, layout, data FROM telemetry_day WHERE dev_id = $1"
		" AND start >= $2 AND start < $3 ORDER BY start, layout LIMIT $4", "iiii" },
	[PG_HOUR_GET] = { "hour_get",
		"SELECT data FROM telemetry_hour WHERE dev_id = $1 AND start = $2 AND layout = $3",
		"iii" },
	[PG_DAY_GET] = { "day_get",
		"SELECT data FROM telemetry_day WHERE dev_id = $1 AND start = $2 AND layout = $3",
		"iii" },
	[PG_HOUR_PUT] = { "hour_put",
		"INSERT INTO telemetry_hour VALUES ($1, $2, $3, $4)"
		" ON CONFLICT (dev_id, start, layout) DO UPDATE SET data = EXCLUDED.data", "iiib" },
	[PG_DAY_PUT] = { "day_put",
		"INSERT INTO telemetry_day VALUES ($1, $2, $3, $4)"
		" ON CONFLICT (dev_id, start, layout) DO UPDATE SET data = EXCLUDED.data", "iiib" },
	[PG_MAINT_NEXT_DEV] = { "maintain_next_device",
		"SELECT dev_id FROM telemetry WHERE dev_id > $1 ORDER BY dev_id LIMIT 1", "i" },
	[PG_MARK_GET] = { "mark_get", "SELECT seq FROM rollup_mark WHERE dev_id = $1", "i" },
	[PG_MARK_PUT] = { "mark_put",
		"INSERT INTO rollup_mark VALUES ($1, $2)"
		" ON CONFLICT (dev_id) DO UPDATE SET seq = EXCLUDED.seq", "ii" },
	[PG_MAINT_ROWS] = { "maintain_rows",
		"SELECT seq, ts, layout, data FROM telemetry WHERE dev_id = $1 AND seq > $2"
		" ORDER BY seq LIMIT $3", "iii" },
	[PG_RETAIN] = { "retain",
		"DELETE FROM telemetry WHERE dev_id = $1 AND ts < $2 AND seq <= $3", "ifi" },
	/* design note 5: the deltas this snapshot sees become one row per
	 * state; those committed meanwhile are not deleted, so none is lost */
	[PG_COUNTS_COMPACT] = { "counts_compact",
		"WITH d AS (DELETE FROM claim_counts RETURNING state, n)"
		" INSERT INTO claim_counts SELECT state, sum(n) FROM d GROUP BY state"
		" HAVING sum(n) <> 0", "" },
};

#define PG_LOG_EVERY_S 60
#define PG_NAME_SLOTS 4096     /* dictionary cache entries */
#define PG_PARAMS_MAX 16
#define PG_OWED_MAX 16         /* deferred savepoint commands (note 11) */

struct pg_name {
	char *name;            /* NULL: empty slot */
	int64_t id;
};

struct pg_ctx {
	PGconn *db;
	bool prepared[PG_STMT_COUNT];
	bool in_tx;            /* BEGIN sent, no COMMIT/ROLLBACK yet (note 6) */
	bool reader;           /* a read-only connection (open_reader) */
	/* names by name on the writer, by id on a reader; every cached name
	 * is committed (note 10), so no rollback empties the cache */
	struct pg_name names[PG_NAME_SLOTS];
	int64_t maint_cursor;
	char *url;             /* the writer's, for the side connections (pg_side) */
	char sqlstate[6];      /* of pg_run's last failed statement ("" when none) */
	PGconn *lease;         /* pg_lead's session locks (note 9), NULL until asked */
	PGconn *namer;         /* adds names outside the transactions (note 10) */
	/* store.c's savepoint commands not sent yet, oldest first (note 11) */
	enum pg_owed { PG_OWE_SAVEPOINT, PG_OWE_RELEASE } owed[PG_OWED_MAX];
	unsigned nowed;
	char last_error[256];
	double log_next;
	unsigned long log_quiet;
};

/* One statement's parameters, 1-based as in the SQL; unset ones are NULL. */
struct pg_params {
	int n;
	const char *v[PG_PARAMS_MAX * 2];
	int len[PG_PARAMS_MAX * 2];
	int fmt[PG_PARAMS_MAX * 2];
	char num[PG_PARAMS_MAX * 2][32];
};

static double pg_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Records an error and logs it, at most one line a minute (note 6). */
__attribute__((format(printf, 2, 3)))
static void pg_log(struct pg_ctx *c, const char *fmt, ...)
{
	va_list ap;
	double now = pg_mono();
	size_t n;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	/* libpq's messages end in a newline, and may have a DETAIL line */
	for (n = 0; c->last_error[n]; n++)
		if (c->last_error[n] == '\n')
			c->last_error[n] = ' ';
	while (n > 0 && c->last_error[n - 1] == ' ')
		c->last_error[--n] = '\0';
	if (now < c->log_next) {
		c->log_quiet++;
		return;
	}
	if (c->log_quiet)
		tpd_log(TPD_LOG_ERR, "store", "postgresql: %s (and %lu more errors in the last minute)",
			c->last_error, c->log_quiet);
	else
		tpd_log(TPD_LOG_ERR, "store", "postgresql: %s", c->last_error);
	c->log_quiet = 0;
	c->log_next = now + PG_LOG_EVERY_S;
}

static void pg_set(struct pg_params *p, int i, const char *v, int len, int fmt)
{
	p->v[i - 1] = v;
	p->len[i - 1] = len;
	p->fmt[i - 1] = fmt;
	if (i > p->n)
		p->n = i;
}

static void pg_text(struct pg_params *p, int i, const char *s)
{
	pg_set(p, i, s, 0, 0);
}

static void pg_int(struct pg_params *p, int i, int64_t v)
{
	snprintf(p->num[i - 1], sizeof(p->num[0]), "%lld", (long long)v);
	pg_set(p, i, p->num[i - 1], 0, 0);
}

/* A double exactly ("%.17g" round-trips); NaN and infinities: NULL. */
static void pg_real(struct pg_params *p, int i, double v)
{
	if (!isfinite(v)) {
		pg_set(p, i, NULL, 0, 0);
		return;
	}
	snprintf(p->num[i - 1], sizeof(p->num[0]), "%.17g", v);
	pg_set(p, i, p->num[i - 1], 0, 0);
}

/* An open end of a range: +-Infinity, which float8 orders past every value. */
static void pg_bound(struct pg_params *p, int i, double v)
{
	if (isnan(v))
		v = -HUGE_VAL;
	if (isinf(v))
		pg_set(p, i, v > 0 ? "Infinity" : "-Infinity", 0, 0);
	else
		pg_real(p, i, v);
}

static void pg_blob(struct pg_params *p, int i, const void *data, size_t len)
{
	pg_set(p, i, data ? data : "", (int)len, 1);
}

static Oid pg_type_oid(char t)
{
	switch (t) {
	case 't': return PG_OID_TEXT;
	case 'i': return PG_OID_INT8;
	case '4': return PG_OID_INT4;
	case 'f': return PG_OID_FLOAT8;
	case 'b': return PG_OID_BYTEA;
	default: return 0;
	}
}

/* The connection, usable for a new call (note 6): reset once when it was
 * lost outside a transaction. */
static bool pg_session(struct pg_ctx *c, char *err, size_t errlen);

static bool pg_ready(struct pg_ctx *c)
{
	if (PQstatus(c->db) == CONNECTION_OK)
		return true;
	if (c->in_tx) {
		pg_log(c, "connection lost inside a transaction: %s", PQerrorMessage(c->db));
		return false;
	}
	PQreset(c->db);
	memset(c->prepared, 0, sizeof(c->prepared));   /* they died with the session */
	if (PQstatus(c->db) != CONNECTION_OK) {
		pg_log(c, "connection lost, reconnect failed: %s", PQerrorMessage(c->db));
		return false;
	}
	if (!pg_session(c, c->last_error, sizeof(c->last_error))) {
		pg_log(c, "%s", c->last_error);
		return false;
	}
	return true;
}

static bool pg_prepare(struct pg_ctx *c, enum pg_stmt_id id)
{
	const struct pg_stmt_def *d = &pg_stmts[id];
	Oid types[PG_PARAMS_MAX * 2];
	int n = d->types ? (int)strlen(d->types) : 0;
	PGresult *res;

	for (int i = 0; i < n; i++)
		types[i] = pg_type_oid(d->types[i]);
	res = PQprepare(c->db, d->name, d->sql, n, n ? types : NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_log(c, "prepare %s failed: %s", d->name, PQerrorMessage(c->db));
		PQclear(res);
		return false;
	}
	PQclear(res);
	c->prepared[id] = true;
	return true;
}

static const char *const pg_owed_sql[] = {
	[PG_OWE_SAVEPOINT] = "SAVEPOINT report",
	[PG_OWE_RELEASE] = "RELEASE report",
};

/* The owed commands and then sql as one simple-query string (one round
 * trip; PQexec stops at the first that fails and returns its error). */
static PGresult *pg_exec_owed(struct pg_ctx *c, const char *sql)
{
	char buf[PG_OWED_MAX * 20 + 64];
	size_t n = 0;

	if (!c->nowed)
		return PQexec(c->db, sql);
	for (unsigned i = 0; i < c->nowed; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s;", pg_owed_sql[c->owed[i]]);
	snprintf(buf + n, sizeof(buf) - n, "%s", sql);
	c->nowed = 0;
	return PQexec(c->db, buf);
}

/* Design note 11: store.c's SAVEPOINT / RELEASE / ROLLBACK TO "report",
 * queued or dropped; false when sql is none of them or must go now. */
static bool pg_owe(struct pg_ctx *c, const char *sql, enum tpd_err *rc)
{
	enum pg_owed op;
	PGresult *res;

	*rc = TPD_OK;
	if (strcmp(sql, "ROLLBACK TO report") == 0)
		/* nothing ran since the savepoint: nothing to undo, and the
		 * RELEASE that follows takes the owed SAVEPOINT back */
		return c->nowed && c->owed[c->nowed - 1] == PG_OWE_SAVEPOINT;
	if (strcmp(sql, pg_owed_sql[PG_OWE_SAVEPOINT]) == 0)
		op = PG_OWE_SAVEPOINT;
	else if (strcmp(sql, pg_owed_sql[PG_OWE_RELEASE]) == 0)
		op = PG_OWE_RELEASE;
	else
		return false;
	if (op == PG_OWE_RELEASE && c->nowed && c->owed[c->nowed - 1] == PG_OWE_SAVEPOINT) {
		c->nowed--;   /* opened and released with nothing inside */
		return true;
	}
	if (c->nowed == PG_OWED_MAX) {   /* deeper than store.c nests: send */
		res = pg_exec_owed(c, "SELECT 1");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pg_log(c, "%s: %s", sql, PQerrorMessage(c->db));
			*rc = TPD_ERR_DB;
		}
		PQclear(res);
	}
	c->owed[c->nowed++] = op;
	return true;
}

/* A prepared statement, after the owed commands in one pipeline (note 11).
 * Returns the first failed command's result, else the statement's. */
static PGresult *pg_exec_prepared(struct pg_ctx *c, const char *name, int n,
				  const struct pg_params *p)
{
	unsigned nq = c->nowed + 1;
	PGresult *out = NULL, *r;
	bool sent;

	if (!c->nowed)
		return PQexecPrepared(c->db, name, n, p->v, p->len, p->fmt, 0);
	sent = PQenterPipelineMode(c->db);
	for (unsigned i = 0; sent && i < c->nowed; i++)
		sent = PQsendQueryParams(c->db, pg_owed_sql[c->owed[i]], 0, NULL, NULL, NULL, NULL,
					 0);
	c->nowed = 0;
	sent = sent && PQsendQueryPrepared(c->db, name, n, p->v, p->len, p->fmt, 0) &&
	       PQpipelineSync(c->db);
	for (unsigned q = 0; sent && q < nq; q++) {
		r = PQgetResult(c->db);
		if (!r)
			break;   /* the connection failed */
		if (!out && (q == nq - 1 || PQresultStatus(r) != PGRES_COMMAND_OK))
			out = r;
		else
			PQclear(r);
		while ((r = PQgetResult(c->db)))   /* to the NULL ending this one */
			PQclear(r);
	}
	while (sent && (r = PQgetResult(c->db))) {   /* the sync point */
		bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;

		PQclear(r);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(c->db)) {   /* results left: the session is broken */
		PQclear(out);
		out = NULL;
	}
	return out;
}

/* Runs prepared statement id; the result (rows or a command's), or NULL
 * after logging the error. The caller PQclear()s it. */
static PGresult *pg_run(struct pg_ctx *c, enum pg_stmt_id id, const struct pg_params *p)
{
	const struct pg_stmt_def *d = &pg_stmts[id];
	int n = d->types ? (int)strlen(d->types) : p->n;
	PGresult *res;
	ExecStatusType st;

	/* libpq learns of a lost connection when it next uses it: outside a
	 * transaction the call is tried once more on a new session */
	for (int attempt = 0;; attempt++) {
		if (!pg_ready(c))
			return NULL;
		if (!c->prepared[id] && !pg_prepare(c, id)) {
			if (!attempt && !c->in_tx && PQstatus(c->db) != CONNECTION_OK)
				continue;
			return NULL;
		}
		res = pg_exec_prepared(c, d->name, n, p);
		st = PQresultStatus(res);
		c->sqlstate[0] = '\0';
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return res;
		snprintf(c->sqlstate, sizeof(c->sqlstate), "%s",
			 PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
								   : "");
		/* another collector's claim of this device and class won the race:
		 * the caller joins it (claims.c), nothing to log */
		if (id != PG_CLAIM_INSERT || strcmp(c->sqlstate, "23505") != 0)
			pg_log(c, "%s: %s", d->name, PQerrorMessage(c->db));
		PQclear(res);
		if (attempt || c->in_tx || PQstatus(c->db) == CONNECTION_OK)
			return NULL;
	}
}

/* Runs a statement whose rows do not matter. */
static enum tpd_err pg_done(struct pg_ctx *c, enum pg_stmt_id id, const struct pg_params *p)
{
	PGresult *res = pg_run(c, id, p);

	if (!res)
		return TPD_ERR_DB;
	PQclear(res);
	return TPD_OK;
}

/* A fixed statement without values (a savepoint) inside a transaction. */
static enum tpd_err pg_tx_simple(struct pg_ctx *c, const char *sql)
{
	PGresult *res;
	enum tpd_err rc = TPD_OK;

	if (!pg_ready(c))
		return TPD_ERR_DB;
	res = pg_exec_owed(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_log(c, "%s: %s", sql, PQerrorMessage(c->db));
		rc = TPD_ERR_DB;
	}
	PQclear(res);
	return rc;
}

static int64_t pg_i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double pg_f64(const PGresult *res, int row, int col)
{
	return strtod(PQgetvalue(res, row, col), NULL);
}

static bool pg_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col);
}

/* A boolean or an integer flag column. */
static bool pg_flag(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	return v[0] && v[0] != 'f' && strcmp(v, "0") != 0;
}

/* A bytea column, unescaped (PQfreemem it), or NULL. */
static unsigned char *pg_bytes(const PGresult *res, int row, int col, size_t *len)
{
	*len = 0;
	return PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
}

static void pg_names_forget(struct pg_ctx *c)
{
	for (int i = 0; i < PG_NAME_SLOTS; i++) {
		free(c->names[i].name);
		c->names[i].name = NULL;
	}
}

/* BEGIN/COMMIT/ROLLBACK and the savepoints of store.c. */
static enum tpd_err pg_exec(void *ctx, const char *sql)
{
	struct pg_ctx *c = ctx;
	bool begin = strcmp(sql, "BEGIN IMMEDIATE") == 0 || strcmp(sql, "BEGIN") == 0;
	bool commit = strcmp(sql, "COMMIT") == 0;
	bool rollback = strcmp(sql, "ROLLBACK") == 0;
	PGresult *res;
	enum tpd_err rc = TPD_OK;

	if (c->in_tx && pg_owe(c, sql, &rc))
		return rc;
	if (begin || commit || rollback)
		c->nowed = 0;          /* they end every savepoint (note 11) */
	if (rollback && PQstatus(c->db) != CONNECTION_OK) {
		/* the transaction died with the connection: nothing to undo */
		c->in_tx = false;
		return TPD_OK;
	}
	if (begin)
		c->in_tx = false;      /* a new call: the connection may be reset */
	if (!pg_ready(c)) {
		if (commit)
			c->in_tx = false;
		return TPD_ERR_DB;
	}
	/* BEGIN IMMEDIATE is SQLite's write lock; PostgreSQL locks rows */
	res = pg_exec_owed(c, begin ? "BEGIN" : sql);
	if (begin && PQresultStatus(res) != PGRES_COMMAND_OK && PQstatus(c->db) != CONNECTION_OK &&
	    pg_ready(c)) {
		/* the session was gone before the transaction began: a new one */
		PQclear(res);
		res = PQexec(c->db, "BEGIN");
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_log(c, "%s: %s", sql, PQerrorMessage(c->db));
		rc = TPD_ERR_DB;
	} else if (commit && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* an aborted transaction's COMMIT rolls back (note 7) */
		pg_log(c, "COMMIT rolled back (an earlier statement failed)");
		rc = TPD_ERR_DB;
	}
	PQclear(res);
	if (begin)
		c->in_tx = rc == TPD_OK;
	if (commit || rollback)
		c->in_tx = false;
	return rc;
}

/* One query's first value as an integer, for the migrations. */
static int pg_simple_int(PGconn *db, const char *sql, int *out)
{
	PGresult *res = PQexec(db, sql);
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	*out = 0;
	if (ok && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		*out = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok;
}

static bool pg_simple(PGconn *db, const char *sql, char *err, size_t errlen, const char *what)
{
	PGresult *res = PQexec(db, sql);
	ExecStatusType st = PQresultStatus(res);

	PQclear(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	snprintf(err, errlen, "%s: %s", what, PQerrorMessage(db));
	err[strcspn(err, "\n")] = '\0';
	return false;
}

/* Design note 1. */
static enum tpd_err pg_migrate(struct pg_ctx *c, char *err, size_t errlen)
{
	const int latest = (int)(sizeof(pg_migrations) / sizeof(pg_migrations[0]));
	char lock[80];

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)", PG_MIGRATE_LOCK);
	for (;;) {
		int version = 0;
		char set[96], what[48];

		if (!pg_simple(c->db, "BEGIN", err, errlen, "schema migration") ||
		    !pg_simple(c->db, lock, err, errlen, "schema migration lock") ||
		    !pg_simple(c->db, "CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL)",
			       err, errlen, "schema_version"))
			goto fail;
		if (!pg_simple_int(c->db, "SELECT max(version) FROM schema_version", &version)) {
			snprintf(err, errlen, "schema_version: %s", PQerrorMessage(c->db));
			err[strcspn(err, "\n")] = '\0';
			goto fail;
		}
		if (version > latest) {
			snprintf(err, errlen, "database schema version %d is newer than this tpcollect (%d)",
				 version, latest);
			goto fail;
		}
		if (version == latest)
			return pg_simple(c->db, "COMMIT", err, errlen, "schema migration")
			       ? TPD_OK : TPD_ERR_DB;
		snprintf(what, sizeof(what), "schema migration %d failed", version + 1);
		snprintf(set, sizeof(set), "DELETE FROM schema_version;"
			 " INSERT INTO schema_version VALUES (%d)", version + 1);
		if (!pg_simple(c->db, pg_migrations[version], err, errlen, what) ||
		    !pg_simple(c->db, set, err, errlen, what) ||
		    !pg_simple(c->db, "COMMIT", err, errlen, what))
			goto fail;
	}
fail:
	PQclear(PQexec(c->db, "ROLLBACK"));
	return TPD_ERR_DB;
}

static void pg_close(void *ctx)
{
	struct pg_ctx *c = ctx;

	if (!c)
		return;
	pg_names_forget(c);
	PQfinish(c->db);
	PQfinish(c->lease);   /* the leases go with it */
	PQfinish(c->namer);
	free(c->url);
	free(c);
}

/* A new session's settings (after a connect or a reset): the notices of
 * "IF NOT EXISTS" and of a ROLLBACK with nothing to undo are not for the
 * collector's log; a reader cannot write by mistake. */
static bool pg_session(struct pg_ctx *c, char *err, size_t errlen)
{
	return pg_simple(c->db, "SET client_min_messages = warning", err, errlen, "session") &&
	       (!c->reader || pg_simple(c->db, "SET default_transaction_read_only = on", err, errlen,
					"session"));
}

/* libpq takes "postgresql://" and "postgres://" alike. */
static enum tpd_err pg_connect(const char *url, bool reader, struct pg_ctx **out, char *err,
			       size_t errlen)
{
	struct pg_ctx *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return TPD_ERR_NOMEM;
	c->db = PQconnectdb(url);
	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", c->db ? PQerrorMessage(c->db) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		pg_close(c);
		return TPD_ERR_DB;
	}
	c->reader = reader;
	if (!pg_session(c, err, errlen)) {
		pg_close(c);
		return TPD_ERR_DB;
	}
	*out = c;
	return TPD_OK;
}

static enum tpd_err pg_open(const char *url, void **out, char *err, size_t errlen)
{
	struct pg_ctx *c;
	enum tpd_err rc = pg_connect(url, false, &c, err, errlen);

	*out = NULL;
	if (rc)
		return rc;
	rc = pg_migrate(c, err, errlen);
	c->url = rc ? NULL : strdup(url);
	if (!rc && !c->url)
		rc = TPD_ERR_NOMEM;
	if (rc) {
		pg_close(c);
		return rc;
	}
	*out = c;
	return TPD_OK;
}

/*
 * Note 9: of several collectors on one database, the one that holds job's
 * session advisory lock does it (store.h, tpc_store_leads). The locks live
 * on a connection of their own, outside every transaction, so no rollback
 * lets them go; a collector that dies or loses that connection loses its
 * leases at once and another one takes them at its next ask. Asking again
 * for a lock already held succeeds (session locks stack; they are never
 * unlocked but with the connection).
 */
static unsigned pg_hash(const char *s);

/* A connection of c's own beside the writer (the leases', the names'),
 * opened when first asked and again after it broke; NULL when it cannot be. */
static PGconn *pg_side(struct pg_ctx *c, PGconn **side, const char *what)
{
	if (*side && PQstatus(*side) != CONNECTION_OK) {
		PQfinish(*side);
		*side = NULL;
	}
	if (!*side && c->url) {
		*side = PQconnectdb(c->url);
		if (!*side || PQstatus(*side) != CONNECTION_OK) {
			pg_log(c, "%s connection: %s", what,
			       *side ? PQerrorMessage(*side) : "out of memory");
			PQfinish(*side);
			*side = NULL;
		}
	}
	return *side;
}

/* A failed statement on a side connection: logged, and the connection
 * dropped so the next ask gets a fresh one. */
static void pg_side_failed(struct pg_ctx *c, PGconn **side, PGresult *r, const char *what)
{
	pg_log(c, "%s: %s", what, PQerrorMessage(*side));
	PQclear(r);
	PQfinish(*side);
	*side = NULL;
}

/* Whether this session holds the advisory lock ($1, $2). */
#define PG_LEASE_HELD \
	"EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted" \
	" AND pid = pg_backend_pid() AND classid = $1::int4::oid AND objid = $2::int4::oid" \
	" AND objsubid = 2)"

/* A job's advisory lock key: its name's 32-bit FNV-1a (not the name
 * cache's slot, whose 4096 values would let two jobs share a lock). */
static void pg_lease_key(const char *job, char key[16])
{
	uint32_t h = 2166136261u;

	while (*job)
		h = (h ^ (unsigned char)*job++) * 16777619u;
	snprintf(key, 16, "%d", (int)(h & 0x7fffffff));
}

static enum tpd_err pg_lead(void *ctx, const char *job, bool *leader)
{
	struct pg_ctx *c = ctx;
	char key[16];
	const char *params[2] = { "1953522532", key };   /* "tpcd": our class of locks */
	PGresult *r;

	*leader = false;
	if (!pg_side(c, &c->lease, "lease"))
		return TPD_ERR_DB;
	pg_lease_key(job, key);
	/* session locks stack: taken once, then only seen held (pg_unlead
	 * then needs one unlock) */
	r = PQexecParams(c->lease, "SELECT CASE WHEN " PG_LEASE_HELD
			 " THEN true ELSE pg_try_advisory_lock($1::int4, $2::int4) END", 2, NULL,
			 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char what[64];

		snprintf(what, sizeof(what), "lease %s", job);   /* as before pg_side */
		pg_side_failed(c, &c->lease, r, what);
		return TPD_ERR_DB;
	}
	*leader = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return TPD_OK;
}

/* Lets the lease go: unlocks while the session holds it (once, as pg_lead
 * takes it once; the check keeps PostgreSQL from warning of a lock not
 * held). */
static enum tpd_err pg_unlead(void *ctx, const char *job)
{
	struct pg_ctx *c = ctx;
	char key[16];
	const char *params[2] = { "1953522532", key };
	bool held = true;

	if (!c->lease || PQstatus(c->lease) != CONNECTION_OK)
		return TPD_OK;      /* gone with the session */
	pg_lease_key(job, key);
	for (int i = 0; held && i < 16; i++) {
		PGresult *r = PQexecParams(c->lease, "SELECT CASE WHEN " PG_LEASE_HELD
					   " THEN pg_advisory_unlock($1::int4, $2::int4) ELSE false END",
					   2, NULL, params, NULL, NULL, 0);

		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			pg_side_failed(c, &c->lease, r, "lease release");
			return TPD_ERR_DB;
		}
		held = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
	}
	return TPD_OK;
}

/* A read-only connection (store.c design note 2): it sees what is committed. */
static enum tpd_err pg_open_reader(const char *url, void **out, char *err, size_t errlen)
{
	struct pg_ctx *c;
	enum tpd_err rc = pg_connect(url, true, &c, err, errlen);

	*out = rc ? NULL : c;
	return rc;
}

unsigned tpc_store_pg_statements(const char **name, const char **sql, const char **types,
				 unsigned i)
{
	if (i >= PG_STMT_COUNT)
		return PG_STMT_COUNT;
	*name = pg_stmts[i].name;
	*sql = pg_stmts[i].sql;
	*types = pg_stmts[i].types ? pg_stmts[i].types : "";
	return PG_STMT_COUNT;
}

static unsigned pg_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % PG_NAME_SLOTS;
}

/* A lookup of a name's id, no insert. TPD_ERR_NOTFOUND if none. */
static enum tpd_err pg_name_find(struct pg_ctx *c, const char *name, int64_t *id)
{
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc;

	pg_text(&p, 1, name);
	res = pg_run(c, PG_NAME_FIND, &p);
	if (!res)
		return TPD_ERR_DB;
	rc = PQntuples(res) ? TPD_OK : TPD_ERR_NOTFOUND;
	if (!rc)
		*id = pg_i64(res, 0, 0);
	PQclear(res);
	return rc;
}

/* The dictionary id of name, added when new (writer; note 10). */
static enum tpd_err pg_name_id(struct pg_ctx *c, const char *name, int64_t *id)
{
	struct pg_name *slot = &c->names[pg_hash(name)];
	PGresult *res;
	enum tpd_err rc;

	if (slot->name && strcmp(slot->name, name) == 0) {
		*id = slot->id;
		return TPD_OK;
	}
	rc = pg_name_find(c, name, id);
	if (rc == TPD_ERR_NOTFOUND) {
		/* note 10: added outside the transaction, committed at once */
		const char *v[1] = { name };

		if (!pg_side(c, &c->namer, "names"))
			return TPD_ERR_DB;
		res = PQexecParams(c->namer, pg_stmts[PG_NAME_ADD].sql, 1, NULL, v, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pg_side_failed(c, &c->namer, res, "name_add");
			return TPD_ERR_DB;
		}
		rc = PQntuples(res) ? TPD_OK : TPD_ERR_NOTFOUND;
		if (!rc)
			*id = pg_i64(res, 0, 0);
		PQclear(res);
		if (rc)    /* another collector added it meanwhile */
			rc = pg_name_find(c, name, id);
	}
	if (rc)
		return rc == TPD_ERR_NOTFOUND ? TPD_ERR_DB : rc;
	free(slot->name);
	slot->name = strdup(name);
	slot->id = *id;
	return TPD_OK;
}

/* The name of a dictionary id, NULL when unknown; owned by the cache. */
static const char *pg_name_of(struct pg_ctx *c, int64_t id)
{
	struct pg_name *slot = &c->names[(uint64_t)id % PG_NAME_SLOTS];
	struct pg_params p = { 0 };
	PGresult *res;
	char *name = NULL;

	if (slot->name && slot->id == id)
		return slot->name;
	pg_int(&p, 1, id);
	res = pg_run(c, PG_NAME_GET, &p);
	if (!res)
		return NULL;
	if (PQntuples(res))
		name = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!name)
		return NULL;
	free(slot->name);
	slot->name = name;
	slot->id = id;
	return name;
}

/* A telemetry report as a compact row; TPD_ERR_INVAL when it has none. */
static enum tpd_err pg_insert_telemetry(struct pg_ctx *c, const struct tpc_report_row *r)
{
	cJSON *parsed = r->json ? NULL : cJSON_Parse(r->body);
	const cJSON *json = r->json ? r->json : parsed;
	char layout[TPC_TELEM_LAYOUT_MAX];
	unsigned char data[TPC_TELEM_DATA_MAX];
	size_t len = 0;
	int64_t dev_id, layout_id;
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = json ? tpc_telem_encode(json, layout, sizeof(layout), data, sizeof(data),
						  &len) : TPD_ERR_INVAL;

	cJSON_Delete(parsed);
	if (rc)
		return TPD_ERR_INVAL;
	rc = pg_name_id(c, r->dev, &dev_id);
	if (!rc)
		rc = pg_name_id(c, layout, &layout_id);
	if (rc)
		return TPD_ERR_DB;
	pg_int(&p, 1, dev_id);
	pg_int(&p, 2, (int64_t)r->seq);
	pg_real(&p, 3, r->ts);
	pg_int(&p, 4, layout_id);
	pg_blob(&p, 5, data, len);
	res = pg_run(c, PG_TELEM_INSERT, &p);
	if (!res)
		return TPD_ERR_DB;
	rc = strcmp(PQcmdTuples(res), "0") == 0 ? TPD_ERR_DUPLICATE : TPD_OK;
	PQclear(res);
	return rc;
}

static enum tpd_err pg_insert_report(void *ctx, const struct tpc_report_row *r, int64_t *id)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc;

	if (strcmp(r->kind, "telemetry") == 0 && !r->jws && isfinite(r->ts)) {
		rc = pg_insert_telemetry(c, r);
		if (rc != TPD_ERR_INVAL) {
			*id = 0;       /* no evidence refers to telemetry */
			return rc;
		}
	}
	pg_text(&p, 1, r->dev);
	pg_int(&p, 2, (int64_t)r->seq);
	pg_text(&p, 3, r->kind);
	pg_real(&p, 4, r->ts);
	pg_text(&p, 5, r->body);
	pg_text(&p, 6, r->jws);
	pg_int(&p, 7, r->verified);
	pg_text(&p, 8, r->jws_hash);
	pg_text(&p, 9, r->chain);
	res = pg_run(c, PG_INSERT_REPORT, &p);
	if (!res)
		return TPD_ERR_DB;
	/* ON CONFLICT DO NOTHING: no row returned for a seen (dev, seq) */
	rc = PQntuples(res) ? TPD_OK : TPD_ERR_DUPLICATE;
	if (!rc)
		*id = pg_i64(res, 0, 0);
	PQclear(res);
	return rc;
}

static enum tpd_err pg_device_seen(void *ctx, const char *id, const char *model, const char *fw,
				   double ts, const char *state)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, id);
	pg_text(&p, 2, model);
	pg_text(&p, 3, fw);
	pg_real(&p, 4, ts);
	pg_text(&p, 5, state);
	return pg_done(ctx, PG_DEVICE_SEEN, &p);
}

static bool pg_same(const PGresult *res, int col, const char *v)
{
	return strcmp(PQgetvalue(res, 0, col), v ? v : "") == 0;
}

/* Inserts, updates or leaves a device, telling which. */
static enum tpd_err pg_device_upsert(void *ctx, const struct tpc_device_row *d,
				     enum tpc_upsert *res_out)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	PGresult *res;
	bool exists = false, same = false;

	pg_text(&p, 1, d->id);
	res = pg_run(c, PG_DEVICE_FIND, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res)) {
		exists = true;
		same = (!d->model || !d->model[0] || pg_same(res, 0, d->model)) &&
		       pg_same(res, 1, d->purchase_date) && pg_same(res, 2, d->public_key) &&
		       pg_same(res, 3, d->owner_contact) && pg_same(res, 4, d->channel) &&
		       pg_same(res, 5, d->locale) && pg_same(res, 6, d->region);
	}
	PQclear(res);
	if (same) {
		*res_out = TPC_UPSERT_UNCHANGED;
		return TPD_OK;
	}
	pg_text(&p, 2, d->model ? d->model : "");
	pg_text(&p, 3, d->purchase_date ? d->purchase_date : "");
	pg_text(&p, 4, d->public_key ? d->public_key : "");
	pg_text(&p, 5, d->owner_contact ? d->owner_contact : "");
	pg_text(&p, 6, d->channel ? d->channel : "");
	pg_text(&p, 7, d->locale ? d->locale : "");
	pg_text(&p, 8, d->region ? d->region : "");
	*res_out = exists ? TPC_UPSERT_UPDATED : TPC_UPSERT_CREATED;
	return pg_done(c, exists ? PG_DEVICE_UPDATE : PG_DEVICE_INSERT, &p);
}

static void pg_copy(const PGresult *res, int col, char *buf, size_t len)
{
	snprintf(buf, len, "%s", PQgetvalue(res, 0, col));   /* "" for NULL */
}

static enum tpd_err pg_device_profile(void *ctx, const char *id, struct tpc_device_profile *pr)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	memset(pr, 0, sizeof(*pr));
	pg_text(&p, 1, id);
	res = pg_run(c, PG_DEVICE_PURCHASE, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res)) {
		pg_copy(res, 0, pr->purchase_date, sizeof(pr->purchase_date));
		pg_copy(res, 1, pr->locale, sizeof(pr->locale));
		pg_copy(res, 2, pr->region, sizeof(pr->region));
		pg_copy(res, 3, pr->channel, sizeof(pr->channel));
		rc = TPD_OK;
	}
	PQclear(res);
	return rc;
}

static enum tpd_err pg_gap_before(void *ctx, const char *dev, uint64_t seq, int64_t *missing)
{
	struct pg_params p = { 0 };
	PGresult *res;

	*missing = 0;
	pg_text(&p, 1, dev);
	pg_int(&p, 2, (int64_t)seq);
	res = pg_run(ctx, PG_GAP_BEFORE, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res) && !pg_null(res, 0, 0))
		*missing = pg_i64(res, 0, 0);
	PQclear(res);
	return TPD_OK;
}

static enum tpd_err pg_signed_before(void *ctx, const char *dev, uint64_t seq, char *hash,
				     size_t len)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	pg_text(&p, 1, dev);
	pg_int(&p, 2, (int64_t)seq);
	res = pg_run(c, PG_SIGNED_BEFORE, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res) && !pg_null(res, 0, 0)) {
		snprintf(hash, len, "%s", PQgetvalue(res, 0, 0));
		rc = TPD_OK;
	}
	PQclear(res);
	return rc;
}

static enum tpd_err pg_forecast_put(void *ctx, const char *dev, const void *state, size_t len,
				    double saved_at)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, dev);
	pg_real(&p, 2, saved_at);
	pg_blob(&p, 3, state, len);
	return pg_done(ctx, PG_FORECAST_PUT, &p);
}

static enum tpd_err pg_forecast_get(void *ctx, const char *dev, void **state, size_t *len)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	*state = NULL;
	*len = 0;
	pg_text(&p, 1, dev);
	res = pg_run(c, PG_FORECAST_GET, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res)) {
		size_t n;
		unsigned char *b = pg_bytes(res, 0, 0, &n);

		rc = TPD_ERR_NOMEM;
		if (b && n > 0 && (*state = malloc(n))) {
			memcpy(*state, b, n);
			*len = n;
			rc = TPD_OK;
		} else if (b && n == 0) {
			rc = TPD_ERR_NOTFOUND;
		}
		PQfreemem(b);
	}
	PQclear(res);
	return rc;
}

/* One bigint from a statement; TPD_ERR_NOTFOUND for no row. */
static enum tpd_err pg_one_id(struct pg_ctx *c, enum pg_stmt_id id, const struct pg_params *p,
			      int64_t *out)
{
	PGresult *res = pg_run(c, id, p);
	enum tpd_err rc;

	if (!res)
		return TPD_ERR_DB;
	rc = PQntuples(res) && !pg_null(res, 0, 0) ? TPD_OK : TPD_ERR_NOTFOUND;
	if (!rc)
		*out = pg_i64(res, 0, 0);
	PQclear(res);
	return rc;
}

static enum tpd_err pg_claim_find_open(void *ctx, const char *device, const char *category,
				       int64_t *id)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, device);
	pg_text(&p, 2, category);
	return pg_one_id(ctx, PG_CLAIM_FIND_OPEN, &p, id);
}

static enum tpd_err pg_claim_insert(void *ctx, const struct tpc_claim_new *cl, int64_t *id)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	enum tpd_err rc;

	pg_text(&p, 1, cl->device);
	pg_text(&p, 2, cl->model);
	pg_text(&p, 3, cl->category);
	pg_int(&p, 4, cl->predictive);
	pg_real(&p, 5, cl->detected_ts);
	pg_text(&p, 6, cl->opened_at);
	pg_text(&p, 7, cl->purchase_date);
	pg_text(&p, 8, cl->title);
	pg_text(&p, 9, cl->description);
	pg_text(&p, 10, cl->selfcheck_verdict);
	pg_text(&p, 11, cl->suggested_resolution);
	pg_text(&p, 12, cl->priority ? cl->priority : "normal");
	pg_text(&p, 13, cl->review_due);
	pg_text(&p, 14, cl->warranty.status ? cl->warranty.status : "unknown");
	pg_text(&p, 15, cl->warranty.until);
	pg_text(&p, 16, cl->warranty.policy);
	pg_text(&p, 17, cl->warranty.reason);
	pg_text(&p, 18, cl->origin);
	pg_text(&p, 19, cl->contact);
	pg_text(&p, 20, cl->channel);
	pg_text(&p, 21, cl->tracking_token);
	pg_text(&p, 22, cl->locale);
	pg_text(&p, 23, cl->title_zh);
	pg_text(&p, 24, cl->description_zh);
	pg_text(&p, 25, cl->region);
	pg_text(&p, 26, cl->forecast);
	/* the one insert a second collector can make fail (claims_one_open):
	 * in a savepoint, so that its failure leaves the transaction usable,
	 * as in SQLite (note 7); claims are rare, the round trips cheap */
	if (c->in_tx && pg_tx_simple(c, "SAVEPOINT claim_insert"))
		return TPD_ERR_DB;
	rc = pg_one_id(c, PG_CLAIM_INSERT, &p, id);
	if (rc == TPD_ERR_NOTFOUND)
		rc = TPD_ERR_DB;
	if (rc == TPD_ERR_DB && strcmp(c->sqlstate, "23505") == 0)
		rc = TPD_ERR_DUPLICATE;   /* claims_one_open: the other's is committed */
	/* chosen as a deadlock's victim (40P01; 40001 cannot happen at READ
	 * COMMITTED): the savepoint's rollback below undoes only this insert;
	 * the caller rolls back the rest and may try again (claims.c) */
	if (rc == TPD_ERR_DB && strcmp(c->sqlstate, "40P01") == 0)
		rc = TPD_ERR_RETRY;
	if (c->in_tx && rc)
		pg_tx_simple(c, "ROLLBACK TO SAVEPOINT claim_insert");
	if (c->in_tx && pg_tx_simple(c, "RELEASE SAVEPOINT claim_insert") && !rc)
		rc = TPD_ERR_DB;
	return rc;
}

static enum tpd_err pg_claim_add_fault(void *ctx, int64_t claim, const char *code, double ts,
				       bool *added)
{
	struct pg_params p = { 0 };
	PGresult *res;

	*added = false;
	pg_int(&p, 1, claim);
	pg_text(&p, 2, code);
	pg_real(&p, 3, ts);
	res = pg_run(ctx, PG_CLAIM_ADD_FAULT, &p);
	if (!res)
		return TPD_ERR_DB;
	*added = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	return TPD_OK;
}

static enum tpd_err pg_claim_add_evidence(void *ctx, int64_t claim, int64_t report,
					  const char *kind, uint64_t seq, bool verified,
					  const char *code, const char *state)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	pg_int(&p, 2, report);
	pg_text(&p, 3, kind);
	pg_int(&p, 4, (int64_t)seq);
	pg_int(&p, 5, verified);
	pg_text(&p, 6, code);
	pg_text(&p, 7, state);
	return pg_done(ctx, PG_CLAIM_ADD_EVIDENCE, &p);
}

static enum tpd_err pg_claim_add_timeline(void *ctx, int64_t claim, const char *at,
					  const char *event, const char *by, const char *note)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	pg_text(&p, 2, at);
	pg_text(&p, 3, event);
	pg_text(&p, 4, by);
	pg_text(&p, 5, note);
	return pg_done(ctx, PG_CLAIM_ADD_TIMELINE, &p);
}

static enum tpd_err pg_claim_update_text(void *ctx, int64_t claim, const char *description,
					 const char *description_zh,
					 const char *suggested_resolution, const char *priority)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, description);
	pg_text(&p, 2, suggested_resolution);
	pg_int(&p, 3, claim);
	pg_text(&p, 4, priority);
	pg_text(&p, 5, description_zh);
	return pg_done(ctx, PG_CLAIM_UPDATE_TEXT, &p);
}

static enum tpd_err pg_claim_set_work(void *ctx, int64_t claim, const struct tpc_claim_work *w)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	pg_int(&p, 2, w->set_assignee);
	pg_text(&p, 3, w->assignee ? w->assignee : "");
	pg_int(&p, 4, w->set_resolution);
	pg_text(&p, 5, w->summary);
	pg_text(&p, 6, w->parts);
	pg_text(&p, 7, w->at);
	pg_text(&p, 8, w->by);
	pg_int(&p, 9, w->set_forecast);
	pg_text(&p, 10, w->forecast);
	return pg_done(ctx, PG_CLAIM_SET_WORK, &p);
}

static enum tpd_err pg_claim_set_state(void *ctx, int64_t claim, const char *state)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	pg_text(&p, 2, state);
	return pg_done(ctx, PG_CLAIM_SET_STATE, &p);
}

static enum tpd_err pg_claim_set_warranty(void *ctx, int64_t claim,
					  const struct tpc_claim_warranty *w)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	pg_text(&p, 2, w->status);
	pg_text(&p, 3, w->until);
	pg_text(&p, 4, w->policy);
	pg_text(&p, 5, w->reason);
	pg_text(&p, 6, w->purchase_date);
	return pg_done(ctx, PG_CLAIM_SET_WARRANTY, &p);
}

static enum tpd_err pg_claim_set_feedback(void *ctx, int64_t claim, int rating,
					  const char *comment, const char *at)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	pg_int(&p, 2, rating);
	pg_text(&p, 3, comment);
	pg_text(&p, 4, at);
	return pg_done(ctx, PG_CLAIM_SET_FEEDBACK, &p);
}

static enum tpd_err pg_outbox_add(void *ctx, const char *topic, const char *payload)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, topic);
	pg_text(&p, 2, payload);
	return pg_done(ctx, PG_OUTBOX_ADD, &p);
}

static enum tpd_err pg_outbox_next(void *ctx, int64_t after, int64_t *id, char **topic,
				   char **payload)
{
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	*topic = *payload = NULL;
	pg_int(&p, 1, after);
	res = pg_run(ctx, PG_OUTBOX_NEXT, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res)) {
		*id = pg_i64(res, 0, 0);
		*topic = strdup(PQgetvalue(res, 0, 1));
		*payload = strdup(PQgetvalue(res, 0, 2));
		rc = *topic && *payload ? TPD_OK : TPD_ERR_NOMEM;
		if (rc) {
			free(*topic);
			free(*payload);
			*topic = *payload = NULL;
		}
	}
	PQclear(res);
	return rc;
}

static enum tpd_err pg_outbox_done(void *ctx, int64_t id)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, id);
	return pg_done(ctx, PG_OUTBOX_DONE, &p);
}

static enum tpd_err pg_event_add(void *ctx, const char *uuid, const char *event, int64_t claim,
				 const char *at, const char *body)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, uuid);
	pg_text(&p, 2, event);
	pg_int(&p, 3, claim);
	pg_text(&p, 4, at);
	pg_text(&p, 5, body);
	return pg_done(ctx, PG_EVENT_ADD, &p);
}

static enum tpd_err pg_event_next(void *ctx, int64_t after, int64_t *id, char **body)
{
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	*body = NULL;
	pg_int(&p, 1, after);
	res = pg_run(ctx, PG_EVENT_NEXT, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res)) {
		*id = pg_i64(res, 0, 0);
		*body = strdup(PQgetvalue(res, 0, 1));
		rc = *body ? TPD_OK : TPD_ERR_NOMEM;
	}
	PQclear(res);
	return rc;
}

static enum tpd_err pg_event_pending(void *ctx, int64_t after, int64_t *n)
{
	struct pg_params p = { 0 };
	enum tpd_err rc;

	*n = 0;
	pg_int(&p, 1, after);
	rc = pg_one_id(ctx, PG_EVENT_PENDING, &p, n);
	return rc == TPD_ERR_NOTFOUND ? TPD_ERR_DB : rc;
}

static enum tpd_err pg_webhook_cursor(void *ctx, const char *target, int64_t *last)
{
	struct pg_params p = { 0 };
	enum tpd_err rc;

	*last = 0;
	pg_text(&p, 1, target);
	rc = pg_one_id(ctx, PG_CURSOR_GET, &p, last);
	return rc == TPD_ERR_NOTFOUND ? TPD_ERR_DB : rc;
}

static enum tpd_err pg_webhook_cursor_set(void *ctx, const char *target, int64_t last)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, target);
	pg_int(&p, 2, last);
	return pg_done(ctx, PG_CURSOR_SET, &p);
}

/* Claims per state, the overdue ones and the unsent outbox (store.h). */
static enum tpd_err pg_counts(void *ctx, const char *now_iso, cJSON **out)
{
	struct pg_params p = { 0 };
	cJSON *o = cJSON_CreateObject(), *by = o ? cJSON_AddObjectToObject(o, "claims") : NULL;
	int64_t overdue = 0, outbox = 0;
	enum tpd_err rc = TPD_OK;
	PGresult *res;

	*out = NULL;
	if (!by) {
		cJSON_Delete(o);
		return TPD_ERR_NOMEM;
	}
	pg_text(&p, 1, now_iso);
	res = pg_run(ctx, PG_COUNTS, &p);
	if (!res) {
		cJSON_Delete(o);
		return TPD_ERR_DB;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *state = PQgetvalue(res, r, 0);

		if (strcmp(state, "#outbox") == 0) {
			outbox = pg_i64(res, r, 1);
			continue;
		}
		overdue += pg_i64(res, r, 2);
		if (!cJSON_AddNumberToObject(by, state, (double)pg_i64(res, r, 1)))
			rc = TPD_ERR_NOMEM;
	}
	PQclear(res);
	if (!rc && (!cJSON_AddNumberToObject(o, "overdue", (double)overdue) ||
		    !cJSON_AddNumberToObject(o, "outbox", (double)outbox)))
		rc = TPD_ERR_NOMEM;
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return TPD_OK;
}

static bool pg_json_text(cJSON *o, const char *key, const PGresult *res, int row, int i)
{
	if (pg_null(res, row, i))
		return cJSON_AddNullToObject(o, key) != NULL;
	return cJSON_AddStringToObject(o, key, PQgetvalue(res, row, i)) != NULL;
}

static bool pg_json_real(cJSON *o, const char *key, const PGresult *res, int row, int i)
{
	if (pg_null(res, row, i))
		return cJSON_AddNullToObject(o, key) != NULL;
	return cJSON_AddNumberToObject(o, key, pg_f64(res, row, i)) != NULL;
}

static bool pg_oid_is_int(Oid t)
{
	return t == PG_OID_INT8 || t == PG_OID_INT4 || t == PG_OID_INT2 || t == PG_OID_NUMERIC;
}

static bool pg_oid_is_real(Oid t)
{
	return t == PG_OID_FLOAT8 || t == PG_OID_FLOAT4;
}

/* A column as SQLite's dynamic typing would give it: integers and reals
 * as numbers, a boolean as 1/0 unless named in bools, NULL as null. */
static cJSON *pg_value(const PGresult *res, int row, int i, bool as_bool)
{
	Oid t = PQftype(res, i);

	if (as_bool)
		return cJSON_CreateBool(!pg_null(res, row, i) && pg_flag(res, row, i));
	if (pg_null(res, row, i))
		return cJSON_CreateNull();
	if (pg_oid_is_int(t))
		return cJSON_CreateNumber((double)pg_i64(res, row, i));
	if (pg_oid_is_real(t))
		return cJSON_CreateNumber(pg_f64(res, row, i));
	if (t == PG_OID_BOOL)
		return cJSON_CreateNumber(pg_flag(res, row, i));
	return cJSON_CreateString(PQgetvalue(res, row, i));
}

/* Fills array key of o from a query over one claim id. */
static enum tpd_err pg_claim_children(struct pg_ctx *c, cJSON *o, int64_t id,
				      enum pg_stmt_id sql, const char *key)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_OK;

	if (!arr)
		return TPD_ERR_NOMEM;
	pg_int(&p, 1, id);
	res = pg_run(c, sql, &p);
	if (!res)
		return TPD_ERR_DB;
	for (int r = 0; !rc && r < PQntuples(res); r++) {
		int ncol = PQnfields(res);
		cJSON *item;

		if (ncol == 1) {   /* fault_codes: plain strings */
			item = cJSON_CreateString(PQgetvalue(res, r, 0));
		} else {
			item = cJSON_CreateObject();
			for (int i = 0; item && i < ncol; i++) {
				const char *name = PQfname(res, i);
				cJSON *v;

				if (pg_null(res, r, i) && strcmp(name, "note") == 0)
					continue;  /* a timeline entry without a note */
				v = pg_value(res, r, i, strcmp(name, "verified") == 0);
				if (!v || !cJSON_AddItemToObject(item, name, v)) {
					cJSON_Delete(v);
					cJSON_Delete(item);
					item = NULL;
				}
			}
		}
		if (!item || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			rc = TPD_ERR_NOMEM;
		}
	}
	PQclear(res);
	return rc;
}

/* Column i, JSON text we wrote, as the value it holds (null if NULL). */
static bool pg_json_parsed(cJSON *o, const char *key, const PGresult *res, int row, int i)
{
	cJSON *v = pg_null(res, row, i) ? NULL : cJSON_Parse(PQgetvalue(res, row, i));

	if (!v)
		return cJSON_AddNullToObject(o, key) != NULL;
	if (!cJSON_AddItemToObject(o, key, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

/* "assignee" and "resolution": {summary, parts[], at, by} or null. */
static bool pg_claim_work_json(cJSON *o, const PGresult *res, int row)
{
	cJSON *r;

	if (!pg_json_text(o, "assignee", res, row, 28))
		return false;
	if (pg_null(res, row, 29))
		return cJSON_AddNullToObject(o, "resolution") != NULL;
	r = cJSON_AddObjectToObject(o, "resolution");
	return r && pg_json_text(r, "summary", res, row, 29) &&
	       pg_json_parsed(r, "parts", res, row, 30) && pg_json_text(r, "at", res, row, 31) &&
	       pg_json_text(r, "by", res, row, 32);
}

/* "locale" and "text", as store_sqlite.c's sq_claim_text_json. */
static bool pg_claim_text_json(cJSON *o, const PGresult *res, int row)
{
	const char *locale = pg_null(res, row, 33) ? NULL : PQgetvalue(res, row, 33);
	bool zh = !pg_null(res, row, 34) && !pg_null(res, row, 35);
	cJSON *text, *en, *cn;

	if (!locale || !cJSON_AddStringToObject(o, "locale", locale))
		return false;
	text = cJSON_AddObjectToObject(o, "text");
	en = text ? cJSON_AddObjectToObject(text, "en") : NULL;
	if (!en || !pg_json_text(en, "title", res, row, 12) ||
	    !pg_json_text(en, "description", res, row, 13))
		return false;
	if (!zh)
		return true;
	cn = cJSON_AddObjectToObject(text, "zh-CN");
	if (!cn || !pg_json_text(cn, "title", res, row, 34) ||
	    !pg_json_text(cn, "description", res, row, 35))
		return false;
	if (strcmp(locale, "zh-CN") == 0) {
		cJSON_ReplaceItemInObjectCaseSensitive(o, "title",
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cn, "title"), true));
		cJSON_ReplaceItemInObjectCaseSensitive(o, "description",
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cn, "description"), true));
	}
	return true;
}

/* The SPEC §6 object from row `row` of PG_CLAIM_COLS, in the key order of
 * store_sqlite.c's sq_claim_from_row. */
static enum tpd_err pg_claim_from_row(struct pg_ctx *c, const PGresult *res, int row,
				      cJSON **out)
{
	cJSON *o = cJSON_CreateObject(), *w;
	int64_t id = pg_i64(res, row, 0);
	char cid[32];
	enum tpd_err rc = TPD_ERR_NOMEM;

	*out = NULL;
	if (!o)
		return TPD_ERR_NOMEM;
	tpc_claim_id_format(id, cid, sizeof(cid));
	if (!cJSON_AddStringToObject(o, "id", cid) || !pg_json_text(o, "state", res, row, 1) ||
	    !pg_json_text(o, "device", res, row, 2) || !pg_json_text(o, "model", res, row, 3) ||
	    !pg_json_text(o, "category", res, row, 4))
		goto fail;
	rc = pg_claim_children(c, o, id, PG_CLAIM_FAULTS, "fault_codes");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!cJSON_AddBoolToObject(o, "predictive", pg_flag(res, row, 5)) ||
	    !pg_json_real(o, "detected_ts", res, row, 6) ||
	    !pg_json_text(o, "opened_at", res, row, 7) ||
	    !pg_json_text(o, "purchase_date", res, row, 8))
		goto fail;
	w = cJSON_AddObjectToObject(o, "warranty");
	if (!w || !pg_json_text(w, "status", res, row, 9) || !pg_json_text(w, "until", res, row, 10) ||
	    !pg_json_text(w, "policy", res, row, 11) ||
	    (!pg_null(res, row, 18) && !pg_json_text(w, "reason", res, row, 18)) ||
	    !pg_json_text(o, "title", res, row, 12) || !pg_json_text(o, "description", res, row, 13) ||
	    !pg_json_text(o, "priority", res, row, 17))
		goto fail;
	rc = pg_claim_children(c, o, id, PG_CLAIM_EVIDENCE_BRIEF, "evidence");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!pg_json_text(o, "selfcheck_verdict", res, row, 14) ||
	    !pg_json_text(o, "suggested_resolution", res, row, 15) ||
	    !pg_json_text(o, "review_due", res, row, 16))
		goto fail;
	rc = pg_claim_children(c, o, id, PG_CLAIM_TIMELINE, "timeline");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!pg_json_text(o, "updated_at", res, row, 19) ||
	    !cJSON_AddBoolToObject(o, "chain_broken", pg_flag(res, row, 23)))
		goto fail;
	if (!pg_json_text(o, "origin", res, row, 24) || !pg_json_text(o, "contact", res, row, 25) ||
	    !pg_json_text(o, "channel", res, row, 26) ||
	    !pg_json_text(o, "tracking_token", res, row, 27))
		goto fail;
	if (!pg_claim_work_json(o, res, row) || !pg_claim_text_json(o, res, row) ||
	    !pg_json_text(o, "region", res, row, 36) || !pg_json_parsed(o, "forecast", res, row, 37))
		goto fail;
	if (pg_null(res, row, 20)) {
		if (!cJSON_AddNullToObject(o, "feedback"))
			goto fail;
	} else {
		cJSON *fb = cJSON_AddObjectToObject(o, "feedback");

		if (!fb || !cJSON_AddNumberToObject(fb, "rating", (double)pg_i64(res, row, 20)) ||
		    !pg_json_text(fb, "comment", res, row, 21) || !pg_json_text(fb, "at", res, row, 22))
			goto fail;
	}
	*out = o;
	return TPD_OK;
fail:
	cJSON_Delete(o);
	return rc;
}

static enum tpd_err pg_claim_get(void *ctx, int64_t claim, cJSON **out)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	*out = NULL;
	pg_int(&p, 1, claim);
	res = pg_run(c, PG_CLAIM_GET, &p);
	if (!res)
		return TPD_ERR_DB;
	/* the children's queries run while res is held: libpq keeps it */
	if (PQntuples(res))
		rc = pg_claim_from_row(c, res, 0, out);
	PQclear(res);
	return rc;
}

static bool pg_claim_filter_extra(const struct tpc_claim_filter *f)
{
	return f->warranty || f->priority || f->predictive || f->model || f->overdue || f->text ||
	       f->category || f->assignee || f->assigned ||
	       (f->sort && strcmp(f->sort, "id") != 0);
}

static unsigned pg_claim_filter_bits(const struct tpc_claim_filter *f)
{
	return (f->state ? PG_F_STATE : 0) | (f->device ? PG_F_DEVICE : 0) |
	       (f->since ? PG_F_SINCE : 0);
}

static void pg_bind_claim_filter(struct pg_params *p, const struct tpc_claim_filter *f,
				 bool extra)
{
	pg_text(p, 1, f->state);
	pg_text(p, 2, f->device);
	pg_text(p, 3, f->since);
	pg_int(p, 4, f->after);
	pg_int(p, 5, f->limit ? (int)f->limit : 100);
	if (!extra)
		return;
	pg_text(p, 6, f->warranty);
	pg_text(p, 7, f->priority);
	if (f->predictive)
		pg_int(p, 8, f->predictive == 1);
	pg_text(p, 9, f->model);
	if (f->overdue)
		pg_int(p, 10, f->overdue == 1);
	pg_text(p, 11, f->now_iso ? f->now_iso : "");
	pg_text(p, 12, f->text);
	pg_text(p, 13, f->category);
	pg_text(p, 14, f->assignee);
	if (f->assigned)
		pg_int(p, 15, f->assigned == 1);
	else
		pg_set(p, 15, NULL, 0, 0);
}

/* The statement of a sort order: a fixed list, never text from the request. */
static enum pg_stmt_id pg_claim_order(const char *sort)
{
	if (sort && strcmp(sort, "review_due") == 0)
		return PG_CLAIM_EXTRA_DUE;
	if (sort && strcmp(sort, "-opened_at") == 0)
		return PG_CLAIM_EXTRA_OPENED;
	if (sort && strcmp(sort, "priority") == 0)
		return PG_CLAIM_EXTRA_PRIORITY;
	return PG_CLAIM_EXTRA_ID;
}

static enum tpd_err pg_claim_list(void *ctx, const struct tpc_claim_filter *f, cJSON **out,
				  int64_t *total)
{
	struct pg_ctx *c = ctx;
	unsigned bits = pg_claim_filter_bits(f);
	bool extra = pg_claim_filter_extra(f);
	cJSON *arr = cJSON_CreateArray();
	struct pg_params p = { 0 };
	PGresult *res;
	enum tpd_err rc = TPD_OK;

	*out = NULL;
	if (!arr)
		return TPD_ERR_NOMEM;
	pg_bind_claim_filter(&p, f, extra);
	res = pg_run(c, extra ? pg_claim_order(f->sort)
			      : (enum pg_stmt_id)(PG_CLAIM_PAGE_0 + bits), &p);
	if (!res) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	for (int r = 0; !rc && r < PQntuples(res); r++) {
		cJSON *item;

		rc = pg_claim_from_row(c, res, r, &item);
		if (!rc)
			cJSON_AddItemToArray(arr, item);
	}
	PQclear(res);
	if (!rc && total) {
		rc = pg_one_id(c, extra ? PG_CLAIM_EXTRA_COUNT
				       : (enum pg_stmt_id)(PG_CLAIM_COUNT_0 + bits), &p, total);
		if (rc == TPD_ERR_NOTFOUND)
			rc = TPD_ERR_DB;
	}
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err pg_claim_had(void *ctx, const char *dev, const char *category,
				 const char *code, bool *had)
{
	struct pg_params p = { 0 };
	PGresult *res;

	*had = false;
	pg_text(&p, 1, dev);
	pg_text(&p, 2, category);
	pg_text(&p, 3, code);
	res = pg_run(ctx, PG_CLAIM_HAD, &p);
	if (!res)
		return TPD_ERR_DB;
	*had = PQntuples(res) && pg_flag(res, 0, 0);
	PQclear(res);
	return TPD_OK;
}

/* Every row of a query as an object keyed by column name (pg_value). */
static enum tpd_err pg_rows(struct pg_ctx *c, enum pg_stmt_id id, const struct pg_params *p,
			    const char *const *bools, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray();
	PGresult *res;
	enum tpd_err rc = TPD_OK;

	*out = NULL;
	if (!arr)
		return TPD_ERR_NOMEM;
	res = pg_run(c, id, p);
	if (!res) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	for (int r = 0; !rc && r < PQntuples(res); r++) {
		cJSON *o = cJSON_CreateObject();

		for (int i = 0; o && i < PQnfields(res); i++) {
			const char *name = PQfname(res, i);
			cJSON *v = pg_value(res, r, i, bools && tpd_str_in_set(name, bools));

			if (!v || !cJSON_AddItemToObject(o, name, v)) {
				cJSON_Delete(v);
				cJSON_Delete(o);
				o = NULL;
			}
		}
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			rc = TPD_ERR_NOMEM;
		}
	}
	PQclear(res);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err pg_claim_evidence(void *ctx, int64_t claim, cJSON **out)
{
	static const char *const bools[] = { "verified", NULL };
	struct pg_params p = { 0 };

	pg_int(&p, 1, claim);
	return pg_rows(ctx, PG_CLAIM_EVIDENCE, &p, bools, out);
}

static enum tpd_err pg_device_get(void *ctx, const char *id, cJSON **out)
{
	static const char *const bools[] = { "registered", NULL };
	struct pg_params p = { 0 };
	cJSON *arr;
	enum tpd_err rc;

	*out = NULL;
	pg_text(&p, 1, id);
	rc = pg_rows(ctx, PG_DEVICE_GET, &p, bools, &arr);
	if (rc)
		return rc;
	if (cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr);
		return TPD_ERR_NOTFOUND;
	}
	*out = cJSON_DetachItemFromArray(arr, 0);
	cJSON_Delete(arr);
	return TPD_OK;
}

static enum tpd_err pg_device_list(void *ctx, const char *after, unsigned limit, cJSON **out)
{
	static const char *const bools[] = { "registered", NULL };
	struct pg_params p = { 0 };

	pg_text(&p, 1, after ? after : "");
	pg_int(&p, 2, limit ? (int)limit : 100);
	return pg_rows(ctx, PG_DEVICE_LIST, &p, bools, out);
}

static enum tpd_err pg_device_keys(void *ctx, tpc_device_key_fn fn, void *arg)
{
	struct pg_params p = { 0 };
	PGresult *res = pg_run(ctx, PG_DEVICE_KEYS, &p);
	enum tpd_err rc = TPD_OK;

	if (!res)
		return TPD_ERR_DB;
	for (int r = 0; !rc && r < PQntuples(res); r++)
		rc = fn(arg, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
	PQclear(res);
	return rc;
}

/* A double as a whole-second bound of the rollups' BIGINT start. */
static int64_t pg_clamp_i64(double v)
{
	if (isnan(v) || v <= -9.2e18)
		return INT64_MIN;
	if (v >= 9.2e18)
		return INT64_MAX;
	return (int64_t)v;
}

/* Raw rows or rollups of one device as report-shaped objects. */
static enum tpd_err pg_telemetry_list(void *ctx, const struct tpc_telemetry_filter *f,
				      cJSON **out)
{
	struct pg_ctx *c = ctx;
	bool raw = f->resolution == TPC_RES_RAW;
	bool bounded = isfinite(f->since) || isfinite(f->until);
	double step = f->resolution == TPC_RES_DAY ? 86400 : 3600;
	enum pg_stmt_id sid = raw ? (bounded ? PG_TELEMETRY_BY_TS : PG_TELEMETRY_BY_SEQ)
			      : f->resolution == TPC_RES_DAY ? PG_DAY_LIST : PG_HOUR_LIST;
	int64_t after = (int64_t)(f->after_seq > INT64_MAX - 1 ? INT64_MAX - 1 : f->after_seq);
	cJSON *arr = cJSON_CreateArray();
	struct pg_params p = { 0 };
	PGresult *res;
	int64_t dev_id;
	enum tpd_err rc;

	*out = NULL;
	if (!arr)
		return TPD_ERR_NOMEM;
	rc = pg_name_find(c, f->dev, &dev_id);
	if (rc == TPD_ERR_NOTFOUND) {
		*out = arr;            /* a device that never sent telemetry */
		return TPD_OK;
	}
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	pg_int(&p, 1, dev_id);
	if (raw) {
		pg_bound(&p, 2, isfinite(f->since) ? f->since : -HUGE_VAL);
		pg_bound(&p, 3, isfinite(f->until) ? f->until : HUGE_VAL);
		pg_int(&p, 4, after);
		pg_int(&p, 5, f->limit ? (int)f->limit : 500);
	} else {
		/* the rollup periods that overlap [since, until), after the page's
		 * last start; start is whole seconds, so "< until" is "< ceil" */
		int64_t lo = isfinite(f->since) ? pg_clamp_i64(floor(f->since / step) * step)
						: INT64_MIN;

		if (after + 1 > lo)
			lo = after + 1;
		pg_int(&p, 2, lo);
		pg_int(&p, 3, isfinite(f->until) ? pg_clamp_i64(ceil(f->until)) : INT64_MAX);
		pg_int(&p, 4, f->limit ? (int)f->limit : 500);
	}
	res = pg_run(c, sid, &p);
	if (!res) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	for (int r = 0; !rc && r < PQntuples(res); r++) {
		int l = raw ? 2 : 1;
		const char *layout = pg_name_of(c, pg_i64(res, r, l));
		size_t len;
		unsigned char *data = pg_bytes(res, r, l + 1, &len);
		cJSON *item = NULL;

		if (!layout || !data)
			rc = TPD_ERR_DB;
		else if (raw)
			rc = tpc_telem_decode(f->dev, (uint64_t)pg_i64(res, r, 0), pg_f64(res, r, 1),
					      layout, data, len, &item);
		else
			rc = tpc_telem_agg_decode(f->dev, (double)pg_i64(res, r, 0), layout, data, len,
						  &item);
		PQfreemem(data);
		if (rc == TPD_ERR_INVAL) {
			pg_log(c, "telemetry of %s: a row does not decode", f->dev);
			rc = TPD_ERR_DB;
		}
		if (!rc && !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			rc = TPD_ERR_NOMEM;
		}
	}
	PQclear(res);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

/* Maintenance: rollups and retention, as store_sqlite.c --------------- */

/* The rollup module's view of this backend (rollup.h). */
static const char *pg_rollup_name(void *ctx, int64_t id)
{
	return pg_name_of(ctx, id);
}

static enum tpd_err pg_rollup_get(void *ctx, bool day, int64_t dev_id, double start,
				  int64_t layout, unsigned char *buf, size_t cap, size_t *len)
{
	struct pg_params p = { 0 };
	enum tpd_err rc = TPD_OK;
	PGresult *res;

	*len = 0;
	pg_int(&p, 1, dev_id);
	pg_int(&p, 2, (int64_t)start);
	pg_int(&p, 3, layout);
	res = pg_run(ctx, day ? PG_DAY_GET : PG_HOUR_GET, &p);
	if (!res)
		return TPD_ERR_DB;
	if (PQntuples(res)) {
		unsigned char *b = pg_bytes(res, 0, 0, len);

		if (!b)
			rc = TPD_ERR_NOMEM;
		else if (*len > cap)
			rc = TPD_ERR_DB;
		else
			memcpy(buf, b, *len);
		PQfreemem(b);
	}
	PQclear(res);
	return rc;
}

static enum tpd_err pg_rollup_put(void *ctx, bool day, int64_t dev_id, double start,
				  int64_t layout, const unsigned char *data, size_t len)
{
	struct pg_params p = { 0 };

	pg_int(&p, 1, dev_id);
	pg_int(&p, 2, (int64_t)start);
	pg_int(&p, 3, layout);
	pg_blob(&p, 4, data, len);
	return pg_done(ctx, day ? PG_DAY_PUT : PG_HOUR_PUT, &p);
}

/* Rolls up one device's rows of closed hours (seq above its mark) and
 * deletes its raw rows older than cutoff that are rolled up. */
static enum tpd_err pg_maintain_device(struct pg_ctx *c, int64_t dev_id, double open_hour,
				       double cutoff, unsigned *rows, struct tpc_rollup *g)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int64_t mark = 0, last;
	enum tpd_err rc;

	pg_int(&p, 1, dev_id);
	rc = pg_one_id(c, PG_MARK_GET, &p, &mark);
	if (rc == TPD_ERR_NOTFOUND)
		rc = TPD_OK;
	if (rc)
		return rc;
	last = mark;
	tpc_rollup_device(g, dev_id);
	pg_int(&p, 2, mark);
	pg_int(&p, 3, *rows);
	/* the whole budget's rows come at once; the groups' statements run
	 * while the result is held */
	res = pg_run(c, PG_MAINT_ROWS, &p);
	if (!res)
		return TPD_ERR_DB;
	for (int r = 0; !rc && r < PQntuples(res); r++) {
		double ts = pg_f64(res, r, 1);
		int64_t layout = pg_i64(res, r, 2);
		size_t len;
		unsigned char *data;

		if (ts >= open_hour)
			break;            /* its hour is still open: next time */
		data = pg_bytes(res, r, 3, &len);
		if (!data) {
			rc = TPD_ERR_NOMEM;
			break;
		}
		(*rows)--;
		rc = tpc_rollup_row(g, ts, layout, data, len);
		PQfreemem(data);
		last = pg_i64(res, r, 0);
	}
	PQclear(res);
	if (!rc)
		rc = tpc_rollup_flush(g);
	if (tpc_rollup_undecodable(g))
		pg_log(c, "%u telemetry rows of device id %lld do not decode; left out of their rollups",
		       tpc_rollup_undecodable(g), (long long)dev_id);
	if (!rc && last != mark) {
		struct pg_params m = { 0 };

		pg_int(&m, 1, dev_id);
		pg_int(&m, 2, last);
		rc = pg_done(c, PG_MARK_PUT, &m);
	}
	if (!rc && isfinite(cutoff)) {
		struct pg_params d = { 0 };

		pg_int(&d, 1, dev_id);
		pg_real(&d, 2, cutoff);
		pg_int(&d, 3, last);
		rc = pg_done(c, PG_RETAIN, &d);
	}
	return rc;
}

#define PG_MAINT_ROWS_MAX 5000      /* raw rows rolled up per step */
#define PG_MAINT_DEVICES_MAX 200    /* devices visited per step */

static enum tpd_err pg_maintain(void *ctx, double now, double raw_keep_s, bool *more)
{
	struct pg_ctx *c = ctx;
	struct tpc_rollup_io io = { c, pg_rollup_name, pg_rollup_get, pg_rollup_put };
	struct tpc_rollup *g = tpc_rollup_new(&io);
	unsigned rows = PG_MAINT_ROWS_MAX;
	double open_hour = floor(now / 3600) * 3600;
	double cutoff = raw_keep_s > 0 ? now - raw_keep_s : NAN;
	enum tpd_err rc = TPD_OK;

	*more = true;
	if (!g)
		return TPD_ERR_NOMEM;
	rc = pg_done(c, PG_COUNTS_COMPACT, &(struct pg_params){ 0 });
	for (int d = 0; !rc && d < PG_MAINT_DEVICES_MAX && rows > 0; d++) {
		struct pg_params p = { 0 };
		int64_t dev_id = 0;

		pg_int(&p, 1, c->maint_cursor);
		rc = pg_one_id(c, PG_MAINT_NEXT_DEV, &p, &dev_id);
		if (rc == TPD_ERR_NOTFOUND) {
			c->maint_cursor = 0;   /* a whole pass is done */
			*more = false;
			rc = TPD_OK;
			break;
		}
		if (rc)
			break;
		rc = pg_maintain_device(c, dev_id, open_hour, cutoff, &rows, g);
		/* a device with more than the budget continues in the next step */
		if (!rc && rows > 0)
			c->maint_cursor = dev_id;
	}
	tpc_rollup_free(g);
	return rc;
}

static enum tpd_err pg_seqs_stored(void *ctx, const char *dev, uint64_t lo, uint64_t hi,
				   uint64_t *seqs, size_t max, size_t *n)
{
	struct pg_ctx *c = ctx;
	struct pg_params p = { 0 };
	int64_t dev_id = -1;   /* no telemetry yet: none of it matches */
	enum tpd_err rc = pg_name_find(c, dev, &dev_id);
	PGresult *res;

	*n = 0;
	if (rc && rc != TPD_ERR_NOTFOUND)
		return rc;
	pg_text(&p, 1, dev);
	pg_int(&p, 2, (int64_t)lo);
	pg_int(&p, 3, (int64_t)hi);
	pg_int(&p, 4, dev_id);
	pg_int(&p, 5, (int64_t)max);
	res = pg_run(c, PG_SEQS_STORED, &p);
	if (!res)
		return TPD_ERR_DB;
	for (int r = 0; r < PQntuples(res) && *n < max; r++)
		seqs[(*n)++] = (uint64_t)pg_i64(res, r, 0);
	PQclear(res);
	return TPD_OK;
}

static enum tpd_err pg_count_reports(void *ctx, const char *dev, const char *kind, int64_t *n)
{
	struct pg_params p = { 0 };
	enum tpd_err rc;

	pg_text(&p, 1, dev);
	pg_text(&p, 2, kind);
	rc = pg_one_id(ctx, dev && kind ? PG_COUNT_REPORTS_DEV_KIND
			   : dev ? PG_COUNT_REPORTS_DEV
			   : kind ? PG_COUNT_REPORTS_KIND : PG_COUNT_REPORTS, &p, n);
	return rc == TPD_ERR_NOTFOUND ? TPD_ERR_DB : rc;
}

static enum tpd_err pg_claim_by_token(void *ctx, const char *token, int64_t *id)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, token);
	return pg_one_id(ctx, PG_CLAIM_BY_TOKEN, &p, id);
}

/* Telemetry's newest compact rows decoded into report bodies, id 0. */
static enum tpd_err pg_telemetry_recent(struct pg_ctx *c, const char *dev, double since,
					unsigned limit, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray();
	struct pg_params p = { 0 };
	PGresult *res;
	int64_t dev_id;
	enum tpd_err rc;

	if (!arr)
		return TPD_ERR_NOMEM;
	rc = pg_name_find(c, dev, &dev_id);
	if (rc == TPD_ERR_NOTFOUND) {
		*out = arr;
		return TPD_OK;
	}
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	pg_int(&p, 1, dev_id);
	pg_bound(&p, 2, since);
	pg_int(&p, 3, limit);
	res = pg_run(c, PG_TELEMETRY_LAST, &p);
	if (!res) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	for (int r = 0; !rc && r < PQntuples(res); r++) {
		const char *layout = pg_name_of(c, pg_i64(res, r, 2));
		size_t len;
		unsigned char *data = pg_bytes(res, r, 3, &len);

		rc = !layout || !data ? TPD_ERR_DB
		     : tpc_telem_item_append(arr, dev, (uint64_t)pg_i64(res, r, 0), pg_f64(res, r, 1),
					     layout, data, len);
		PQfreemem(data);
	}
	PQclear(res);
	if (rc) {
		cJSON_Delete(arr);
		return rc == TPD_ERR_INVAL ? TPD_ERR_DB : rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err pg_reports_recent(void *ctx, const char *dev, const char *kind,
				      double since, unsigned limit, cJSON **out)
{
	static const char *const bools[] = { "verified", NULL };
	struct pg_params p = { 0 };

	*out = NULL;
	if (strcmp(kind, "telemetry") == 0)
		return pg_telemetry_recent(ctx, dev, since, limit, out);
	pg_text(&p, 1, dev);
	pg_text(&p, 2, kind);
	pg_bound(&p, 3, since);
	pg_int(&p, 4, limit);
	return pg_rows(ctx, PG_REPORTS_RECENT, &p, bools, out);
}

static void pg_last_error(void *ctx, char *buf, size_t len)
{
	const struct pg_ctx *c = ctx;

	snprintf(buf, len, "%s", c->last_error);
}

#define PG_OPS(prefix) {                               \
	.scheme = prefix,                              \
	.open = pg_open,                               \
	.open_reader = pg_open_reader,                 \
	.close = pg_close,                             \
	.exec = pg_exec,                               \
	.last_error = pg_last_error,                   \
	.insert_report = pg_insert_report,             \
	.signed_before = pg_signed_before,             \
	.device_seen = pg_device_seen,                 \
	.device_upsert = pg_device_upsert,             \
	.device_get = pg_device_get,                   \
	.device_list = pg_device_list,                 \
	.device_keys = pg_device_keys,                 \
	.device_profile = pg_device_profile,           \
	.claim_find_open = pg_claim_find_open,         \
	.claim_insert = pg_claim_insert,               \
	.claim_add_fault = pg_claim_add_fault,         \
	.claim_add_evidence = pg_claim_add_evidence,   \
	.claim_add_timeline = pg_claim_add_timeline,   \
	.claim_update_text = pg_claim_update_text,     \
	.claim_set_work = pg_claim_set_work,           \
	.claim_set_state = pg_claim_set_state,         \
	.claim_set_warranty = pg_claim_set_warranty,   \
	.claim_set_feedback = pg_claim_set_feedback,   \
	.claim_get = pg_claim_get,                     \
	.claim_list = pg_claim_list,                   \
	.claim_had = pg_claim_had,                     \
	.forecast_put = pg_forecast_put,               \
	.forecast_get = pg_forecast_get,               \
	.lead = pg_lead,                               \
	.unlead = pg_unlead,                           \
	.gap_before = pg_gap_before,                   \
	.maintain = pg_maintain,                       \
	.claim_evidence = pg_claim_evidence,           \
	.telemetry_list = pg_telemetry_list,           \
	.count_reports = pg_count_reports,             \
	.seqs_stored = pg_seqs_stored,                 \
	.outbox_add = pg_outbox_add,                   \
	.outbox_next = pg_outbox_next,                 \
	.outbox_done = pg_outbox_done,                 \
	.event_add = pg_event_add,                     \
	.event_next = pg_event_next,                   \
	.event_pending = pg_event_pending,             \
	.webhook_cursor = pg_webhook_cursor,           \
	.webhook_cursor_set = pg_webhook_cursor_set,   \
	.counts = pg_counts,                           \
	.claim_by_token = pg_claim_by_token,           \
	.reports_recent = pg_reports_recent,           \
}

/* One backend, two URL schemes (libpq reads both). */
const struct tpc_store_ops tpc_store_pg = PG_OPS("postgresql:");
const struct tpc_store_ops tpc_store_pg_short = PG_OPS("postgres:");
