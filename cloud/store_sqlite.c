/*
 * store_sqlite.c - the SQLite storage backend ("sqlite:PATH").
 *
 * Layout: schema migrations, statement cache, writes, claim JSON assembly.
 *
 * Design notes:
 * 1. WAL journal with synchronous=NORMAL: a commit survives a process crash;
 *    after a power cut the last commits may be lost, but the broker's
 *    persistent session re-delivers what was not acknowledged.
 * 2. The schema version is PRAGMA user_version; each migration runs in its
 *    own transaction, so a half-applied upgrade is impossible.
 * 3. "At most one open claim per device and class" is also a partial unique
 *    index, so no code path can break it.
 * 4. Prepared statements only: no value is ever pasted into SQL text.
 * 5. Errors are logged at most once a minute (sq_log): a full disk fails
 *    every statement of every report the broker delivers again, and one
 *    line per failure would fill the log faster than the database. The
 *    last error is kept for the collector's health answer.
 * 6. Index-driven queries only: one statement per filter combination, open
 *    ends bound to +-inf rather than "?2 IS NULL OR", INDEXED BY where the
 *    planner could pick a walk; test_store checks every plan.
 * 7. Telemetry is not kept as JSON text (0.9 MB per device-day) but as
 *    compact rows (telem_codec.h): (device id, seq, ts, layout id, values)
 *    in a WITHOUT ROWID table, where the device id and the layout are ids
 *    in the names dictionary. Hourly and daily rollups (telemetry_hour,
 *    telemetry_day) are made by sq_maintain from closed hours, a few
 *    hundred devices per short transaction, which also deletes the raw
 *    rows past the retention (--raw-days) once they are rolled up.
 *    Signed reports and status stay in reports, byte for byte.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "tpd/jsonfile.h"
#include "rollup.h"
#include "store.h"
#include "store_sqlite.h"
#include "telem_codec.h"

static const char *const sq_migrations[] = {
	/* 1: reports, devices, claims */
	"CREATE TABLE devices ("
	"  id TEXT PRIMARY KEY, model TEXT, purchase_date TEXT, owner_contact TEXT,"
	"  channel TEXT, fw TEXT, state TEXT, last_seen REAL);"
	"CREATE TABLE reports ("
	"  id INTEGER PRIMARY KEY, dev TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
	"  ts REAL NOT NULL, received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  body TEXT NOT NULL, jws TEXT, verified INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (dev, seq));"
	"CREATE INDEX reports_dev_kind_ts ON reports (dev, kind, ts);"
	"CREATE TABLE claims ("
	"  id INTEGER PRIMARY KEY, device TEXT NOT NULL, model TEXT, category TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'open', predictive INTEGER NOT NULL DEFAULT 0,"
	"  detected_ts REAL, opened_at TEXT NOT NULL, purchase_date TEXT,"
	"  warranty_status TEXT NOT NULL DEFAULT 'unknown', warranty_until TEXT,"
	"  warranty_policy TEXT, title TEXT NOT NULL, description TEXT NOT NULL,"
	"  selfcheck_verdict TEXT, suggested_resolution TEXT, review_due TEXT);"
	"CREATE UNIQUE INDEX claims_one_open ON claims (device, category)"
	"  WHERE state NOT IN ('resolved', 'closed', 'rejected');"
	"CREATE INDEX claims_state ON claims (state, opened_at);"
	"CREATE TABLE claim_faults ("
	"  claim_id INTEGER NOT NULL REFERENCES claims (id), code TEXT NOT NULL,"
	"  first_ts REAL, PRIMARY KEY (claim_id, code));"
	"CREATE TABLE claim_evidence ("
	"  id INTEGER PRIMARY KEY, claim_id INTEGER NOT NULL REFERENCES claims (id),"
	"  report_id INTEGER NOT NULL REFERENCES reports (id), kind TEXT NOT NULL,"
	"  seq INTEGER NOT NULL, verified INTEGER NOT NULL, code TEXT, state TEXT);"
	"CREATE INDEX claim_evidence_claim ON claim_evidence (claim_id);"
	"CREATE TABLE claim_timeline ("
	"  id INTEGER PRIMARY KEY, claim_id INTEGER NOT NULL REFERENCES claims (id),"
	"  at TEXT NOT NULL, event TEXT NOT NULL, by TEXT NOT NULL, note TEXT);"
	"CREATE INDEX claim_timeline_claim ON claim_timeline (claim_id);",
	/* 2: registry keys, warranty reason, priority, feedback, device outbox */
	"ALTER TABLE devices ADD COLUMN public_key TEXT;"
	"ALTER TABLE devices ADD COLUMN registered_at TEXT;"
	"ALTER TABLE claims ADD COLUMN warranty_reason TEXT;"
	"ALTER TABLE claims ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';"
	"ALTER TABLE claims ADD COLUMN updated_at TEXT;"
	"ALTER TABLE claims ADD COLUMN feedback_rating INTEGER;"
	"ALTER TABLE claims ADD COLUMN feedback_comment TEXT;"
	"ALTER TABLE claims ADD COLUMN feedback_at TEXT;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL,"
	"  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), sent_at TEXT);"
	"CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;",
	/* 3: the evidence chain (SPEC §2 "prev"); the parentheses tell clang's
	 * -Wstring-concatenation that two statements in one element are meant */
	("ALTER TABLE reports ADD COLUMN jws_hash TEXT;"
	 "ALTER TABLE reports ADD COLUMN chain TEXT;"),
	/* 4: an index for every query (design note 6): a device's signed
	 * reports, the claim filters, the claim counts kept by triggers */
	("CREATE INDEX reports_signed ON reports (dev, seq) WHERE jws IS NOT NULL;"
	 "CREATE INDEX claims_device ON claims (device, id);"
	 "CREATE INDEX claims_state_id ON claims (state, id);"
	 "CREATE INDEX claims_opened ON claims (opened_at);"
	 "CREATE TABLE claim_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
	 "INSERT INTO claim_counts SELECT state, count(*) FROM claims GROUP BY state;"
	 "CREATE TRIGGER claims_count_insert AFTER INSERT ON claims BEGIN"
	 "  INSERT INTO claim_counts VALUES (NEW.state, 1)"
	 "  ON CONFLICT (state) DO UPDATE SET n = n + 1; END;"
	 "CREATE TRIGGER claims_count_update AFTER UPDATE OF state ON claims"
	 "  WHEN OLD.state IS NOT NEW.state BEGIN"
	 "  UPDATE claim_counts SET n = n - 1 WHERE state = OLD.state;"
	 "  INSERT INTO claim_counts VALUES (NEW.state, 1)"
	 "  ON CONFLICT (state) DO UPDATE SET n = n + 1; END;"
	 "CREATE TRIGGER claims_count_delete AFTER DELETE ON claims BEGIN"
	 "  UPDATE claim_counts SET n = n - 1 WHERE state = OLD.state; END;"),
	/* 5: compact telemetry, its rollups, and the dictionary of device ids
	 * and layouts they refer to (design note 7); the old JSON rows are
	 * converted by sq_convert_telemetry */
	("CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	 "CREATE TABLE telemetry ("
	 "  dev_id INTEGER NOT NULL, seq INTEGER NOT NULL, ts REAL NOT NULL,"
	 "  layout INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (dev_id, seq)) WITHOUT ROWID;"
	 "CREATE INDEX telemetry_ts ON telemetry (dev_id, ts);"
	 "CREATE TABLE telemetry_hour ("
	 "  dev_id INTEGER NOT NULL, start INTEGER NOT NULL, layout INTEGER NOT NULL,"
	 "  data BLOB NOT NULL, PRIMARY KEY (dev_id, start, layout)) WITHOUT ROWID;"
	 "CREATE TABLE telemetry_day ("
	 "  dev_id INTEGER NOT NULL, start INTEGER NOT NULL, layout INTEGER NOT NULL,"
	 "  data BLOB NOT NULL, PRIMARY KEY (dev_id, start, layout)) WITHOUT ROWID;"
	 "CREATE TABLE rollup_mark (dev_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);"),
	/* 6: claim events for webhooks (events.h) and each target's cursor */
	("CREATE TABLE events ("
	 "  id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, event TEXT NOT NULL,"
	 "  claim_id INTEGER NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL);"
	 "CREATE TABLE webhook_cursor (target TEXT PRIMARY KEY, last_event INTEGER NOT NULL);"
	 /* who opened a claim, how to reach the customer, the tracking link's token */
	 "ALTER TABLE claims ADD COLUMN origin TEXT NOT NULL DEFAULT 'device';"
	 "ALTER TABLE claims ADD COLUMN contact TEXT;"
	 "ALTER TABLE claims ADD COLUMN channel TEXT;"
	 "ALTER TABLE claims ADD COLUMN tracking_token TEXT;"
	 "CREATE UNIQUE INDEX claims_tracking ON claims (tracking_token);"),
	/* 7: the predictive engine's state of devices gone idle (fleet.c note 4) */
	("CREATE TABLE forecast_state ("
	 "  dev TEXT PRIMARY KEY, saved_at REAL NOT NULL, state BLOB NOT NULL);"),
	/* 8: who works a claim and what was done (the resolution), its text in
	 * both languages (English stays in title/description), the region whose
	 * business calendar set review_due, the forecast a predictive claim was
	 * opened on; a device's locale and region from the registry */
	("ALTER TABLE claims ADD COLUMN assignee TEXT;"
	 "ALTER TABLE claims ADD COLUMN resolution_summary TEXT;"
	 "ALTER TABLE claims ADD COLUMN resolution_parts TEXT;"
	 "ALTER TABLE claims ADD COLUMN resolution_at TEXT;"
	 "ALTER TABLE claims ADD COLUMN resolution_by TEXT;"
	 "ALTER TABLE claims ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';"
	 "ALTER TABLE claims ADD COLUMN title_zh TEXT;"
	 "ALTER TABLE claims ADD COLUMN description_zh TEXT;"
	 "ALTER TABLE claims ADD COLUMN region TEXT;"
	 "ALTER TABLE claims ADD COLUMN forecast TEXT;"
	 "CREATE INDEX claims_assignee ON claims (assignee, id);"
	 "ALTER TABLE devices ADD COLUMN locale TEXT;"
	 "ALTER TABLE devices ADD COLUMN region TEXT;"),
};

#define SQ_CLAIM_COLS \
	"id, state, device, model, category, predictive, detected_ts, opened_at, purchase_date," \
	" warranty_status, warranty_until, warranty_policy, title, description," \
	" selfcheck_verdict, suggested_resolution, review_due, priority, warranty_reason," \
	" updated_at, feedback_rating, feedback_comment, feedback_at," \
	" EXISTS (SELECT 1 FROM claim_evidence e JOIN reports r ON r.id = e.report_id" \
	"  WHERE e.claim_id = claims.id AND r.chain = 'broken')," \
	" origin, contact, channel, tracking_token," \
	" assignee, resolution_summary, resolution_parts, resolution_at, resolution_by," \
	" locale, title_zh, description_zh, region, forecast"

#define SQ_DEVICE_COLS \
	"id, model, purchase_date, owner_contact, channel, public_key, registered_at," \
	" public_key IS NOT NULL AS registered, fw, state, last_seen," \
	" (SELECT count(*) FROM claims WHERE device = devices.id" \
	"  AND state NOT IN ('resolved', 'closed', 'rejected')) AS open_claims, locale, region"

/* A claims page: ?1 state, ?2 device, ?3 since, ?4 after (id), ?5 limit;
 * one statement per combination of filters (design note 6). */
#define SQ_CLAIM_PAGE(index, where) \
	"SELECT " SQ_CLAIM_COLS " FROM claims" index " WHERE id > ?4" where \
	" ORDER BY id LIMIT ?5"
#define SQ_CLAIM_COUNT(index, where) "SELECT count(*) FROM claims" index " WHERE 1" where

#define SQ_W_STATE " AND state = ?1"
#define SQ_W_DEVICE " AND device = ?2"
#define SQ_W_SINCE " AND opened_at >= ?3"
#define SQ_BY_STATE " INDEXED BY claims_state_id"
#define SQ_BY_STATE_SINCE " INDEXED BY claims_state"
#define SQ_BY_DEVICE " INDEXED BY claims_device"
#define SQ_BY_SINCE " INDEXED BY claims_opened"

/* Filter bits of a claims query: the index of its two statements below. */
enum { SQ_F_STATE = 1, SQ_F_DEVICE = 2, SQ_F_SINCE = 4 };

enum sq_stmt_id {
	SQ_INSERT_REPORT,
	SQ_SIGNED_BEFORE,
	SQ_DEVICE_SEEN,
	SQ_DEVICE_FIND,
	SQ_DEVICE_INSERT,
	SQ_DEVICE_UPDATE,
	SQ_DEVICE_PURCHASE,
	SQ_CLAIM_FIND_OPEN,
	SQ_CLAIM_INSERT,
	SQ_CLAIM_ADD_FAULT,
	SQ_CLAIM_ADD_EVIDENCE,
	SQ_CLAIM_ADD_TIMELINE,
	SQ_CLAIM_UPDATE_TEXT,
	SQ_CLAIM_SET_WORK,
	SQ_CLAIM_SET_STATE,
	SQ_CLAIM_SET_WARRANTY,
	SQ_CLAIM_SET_FEEDBACK,
	SQ_CLAIM_HAD,
	SQ_OUTBOX_ADD,
	SQ_OUTBOX_NEXT,
	SQ_OUTBOX_DONE,
	SQ_EVENT_ADD,
	SQ_CLAIM_BY_TOKEN,
	SQ_REPORTS_RECENT,
	SQ_TELEMETRY_LAST,
	SQ_FORECAST_PUT,
	SQ_FORECAST_GET,
	SQ_EVENT_NEXT,
	SQ_EVENT_PENDING,
	SQ_CURSOR_GET,
	SQ_CURSOR_SET,
	SQ_CLAIM_GET,
	SQ_CLAIM_FAULTS,
	SQ_CLAIM_EVIDENCE_BRIEF,
	SQ_CLAIM_TIMELINE,
	SQ_CLAIM_EVIDENCE,
	SQ_CLAIM_PAGE_0,      /* + filter bits, SQ_F_* */
	SQ_CLAIM_PAGE_7 = SQ_CLAIM_PAGE_0 + 7,
	SQ_CLAIM_COUNT_0,     /* + filter bits */
	SQ_CLAIM_COUNT_7 = SQ_CLAIM_COUNT_0 + 7,
	SQ_DEVICE_GET,
	SQ_DEVICE_LIST,
	SQ_DEVICE_KEYS,
	SQ_TELEMETRY_BY_SEQ,
	SQ_TELEMETRY_BY_TS,
	SQ_COUNT_REPORTS,
	SQ_COUNT_REPORTS_DEV,
	SQ_COUNT_REPORTS_KIND,
	SQ_COUNT_REPORTS_DEV_KIND,
	SQ_SEQS_STORED,
	SQ_NAME_FIND,
	SQ_NAME_GET,
	SQ_NAME_ADD,
	SQ_TELEM_INSERT,
	SQ_HOUR_LIST,
	SQ_DAY_LIST,
	SQ_HOUR_GET,
	SQ_DAY_GET,
	SQ_HOUR_PUT,
	SQ_DAY_PUT,
	SQ_MAINT_NEXT_DEV,
	SQ_MARK_GET,
	SQ_MARK_PUT,
	SQ_MAINT_ROWS,
	SQ_RETAIN,
	SQ_LEGACY_TELEMETRY,
	SQ_LEGACY_DELETE,
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_STMT_COUNT
};

static const char *const sq_sql[SQ_STMT_COUNT] = {
	[SQ_INSERT_REPORT] =
		"INSERT INTO reports (dev, seq, kind, ts, body, jws, verified, jws_hash, chain)"
		" VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (dev, seq) DO NOTHING",
	/* one step down a partial index of the signed reports alone: the
	 * unsigned telemetry between two signed reports is never walked */
	[SQ_SIGNED_BEFORE] =
		"SELECT jws_hash FROM reports INDEXED BY reports_signed"
		" WHERE dev = ? AND seq < ? AND jws IS NOT NULL ORDER BY seq DESC LIMIT 1",
	[SQ_DEVICE_SEEN] =
		"INSERT INTO devices (id, model, fw, last_seen, state) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (id) DO UPDATE SET model = coalesce(devices.model, ?2), fw = ?3,"
		" last_seen = max(coalesce(devices.last_seen, 0), ?4),"
		" state = coalesce(?5, devices.state)",
	[SQ_DEVICE_FIND] =
		"SELECT coalesce(model, ''), coalesce(purchase_date, ''), coalesce(public_key, ''),"
		" coalesce(owner_contact, ''), coalesce(channel, ''), coalesce(locale, ''),"
		" coalesce(region, '') FROM devices WHERE id = ?",
	[SQ_DEVICE_INSERT] =
		"INSERT INTO devices (id, model, purchase_date, public_key, owner_contact, channel,"
		" locale, region, registered_at) VALUES (?1, nullif(?2, ''), nullif(?3, ''),"
		" nullif(?4, ''), nullif(?5, ''), nullif(?6, ''), nullif(?7, ''), nullif(?8, ''),"
		" strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
	[SQ_DEVICE_UPDATE] =
		"UPDATE devices SET model = coalesce(nullif(?2, ''), model),"
		" purchase_date = nullif(?3, ''), public_key = nullif(?4, ''),"
		" owner_contact = nullif(?5, ''), channel = nullif(?6, ''),"
		" locale = nullif(?7, ''), region = nullif(?8, ''),"
		" registered_at = coalesce(registered_at, strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
		" WHERE id = ?1",
	[SQ_DEVICE_PURCHASE] =
		"SELECT purchase_date, locale, region, channel FROM devices WHERE id = ?",
	[SQ_CLAIM_FIND_OPEN] =
		"SELECT id FROM claims WHERE device = ? AND category = ?"
		" AND state NOT IN ('resolved', 'closed', 'rejected')",
	[SQ_CLAIM_INSERT] =
		"INSERT INTO claims (device, model, category, predictive, detected_ts, opened_at,"
		" purchase_date, title, description, selfcheck_verdict, suggested_resolution,"
		" priority, review_due, warranty_status, warranty_until, warranty_policy,"
		" warranty_reason, updated_at, origin, contact, channel, tracking_token,"
		" locale, title_zh, description_zh, region, forecast)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?6,coalesce(?19,'device'),?20,?21,?22,"
		" coalesce(?23,'en'),?24,?25,?26,?27)",
	[SQ_CLAIM_ADD_FAULT] =
		"INSERT INTO claim_faults (claim_id, code, first_ts) VALUES (?,?,?)"
		" ON CONFLICT DO NOTHING",
	[SQ_CLAIM_ADD_EVIDENCE] =
		"INSERT INTO claim_evidence (claim_id, report_id, kind, seq, verified, code, state)"
		" VALUES (?,?,?,?,?,?,?)",
	[SQ_CLAIM_ADD_TIMELINE] =
		"INSERT INTO claim_timeline (claim_id, at, event, by, note) VALUES (?,?,?,?,?)",
	[SQ_CLAIM_UPDATE_TEXT] =
		"UPDATE claims SET description = ?1, suggested_resolution = ?2, priority = ?4,"
		" description_zh = coalesce(?5, description_zh) WHERE id = ?3",
	[SQ_CLAIM_SET_WORK] =
		"UPDATE claims SET assignee = CASE WHEN ?2 THEN nullif(?3, '') ELSE assignee END,"
		" resolution_summary = CASE WHEN ?4 THEN ?5 ELSE resolution_summary END,"
		" resolution_parts = CASE WHEN ?4 THEN ?6 ELSE resolution_parts END,"
		" resolution_at = CASE WHEN ?4 THEN ?7 ELSE resolution_at END,"
		" resolution_by = CASE WHEN ?4 THEN ?8 ELSE resolution_by END,"
		" forecast = CASE WHEN ?9 THEN ?10 ELSE forecast END,"
		" updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
	[SQ_CLAIM_SET_STATE] =
		"UPDATE claims SET state = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')"
		" WHERE id = ?1",
	[SQ_CLAIM_SET_WARRANTY] =
		"UPDATE claims SET warranty_status = ?2, warranty_until = ?3, warranty_policy = ?4,"
		" warranty_reason = ?5, purchase_date = ?6 WHERE id = ?1",
	[SQ_CLAIM_SET_FEEDBACK] =
		"UPDATE claims SET feedback_rating = ?2, feedback_comment = ?3, feedback_at = ?4"
		" WHERE id = ?1",
	[SQ_CLAIM_HAD] =
		"SELECT EXISTS (SELECT 1 FROM claims c INDEXED BY claims_device"
		" JOIN claim_faults f ON f.claim_id = c.id"
		" WHERE c.device = ?1 AND c.category = ?2 AND f.code = ?3)",
	[SQ_OUTBOX_ADD] = "INSERT INTO outbox (topic, payload) VALUES (?, ?)",
	[SQ_OUTBOX_NEXT] =
		"SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id"
		" LIMIT 1",
	[SQ_OUTBOX_DONE] =
		"UPDATE outbox SET sent_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
	[SQ_CLAIM_BY_TOKEN] = "SELECT id FROM claims WHERE tracking_token = ?",
	[SQ_REPORTS_RECENT] =
		"SELECT id, seq, ts, verified, body FROM reports WHERE dev = ?1"
		" AND kind = ?2 AND ts >= ?3 ORDER BY seq DESC LIMIT ?4",
	/* a manual claim's context: the device's newest compact rows */
	[SQ_TELEMETRY_LAST] =
		"SELECT seq, ts, layout, data FROM telemetry WHERE dev_id = ?1 AND ts >= ?2"
		" ORDER BY seq DESC LIMIT ?3",
	[SQ_FORECAST_PUT] =
		"INSERT INTO forecast_state (dev, saved_at, state) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (dev) DO UPDATE SET saved_at = ?2, state = ?3",
	[SQ_FORECAST_GET] = "SELECT state FROM forecast_state WHERE dev = ?",
	[SQ_EVENT_ADD] =
		"INSERT INTO events (uuid, event, claim_id, at, body) VALUES (?,?,?,?,?)",
	[SQ_EVENT_NEXT] = "SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT 1",
	[SQ_EVENT_PENDING] = "SELECT count(*) FROM events WHERE id > ?",
	/* a target seen for the first time starts after the events already
	 * there: a new helpdesk is not sent the whole history */
	[SQ_CURSOR_GET] =
		"INSERT INTO webhook_cursor (target, last_event)"
		" VALUES (?1, (SELECT coalesce(max(id), 0) FROM events))"
		" ON CONFLICT (target) DO UPDATE SET last_event = last_event RETURNING last_event",
	[SQ_CURSOR_SET] = "UPDATE webhook_cursor SET last_event = ?2 WHERE target = ?1",
	[SQ_CLAIM_GET] = "SELECT " SQ_CLAIM_COLS " FROM claims WHERE id = ?",
	[SQ_CLAIM_FAULTS] =
		"SELECT code FROM claim_faults WHERE claim_id = ? ORDER BY first_ts, code",
	[SQ_CLAIM_EVIDENCE_BRIEF] =
		"SELECT e.kind, e.seq, e.verified, e.code, e.state, r.ts, r.chain"
		" FROM claim_evidence e JOIN reports r ON r.id = e.report_id"
		" WHERE e.claim_id = ? ORDER BY e.seq",
	[SQ_CLAIM_TIMELINE] =
		"SELECT at, event, by, note FROM claim_timeline WHERE claim_id = ? ORDER BY id",
	[SQ_CLAIM_EVIDENCE] =
		"SELECT e.kind, e.seq, r.ts, e.verified, e.code, e.state, r.chain, r.jws"
		" FROM claim_evidence e JOIN reports r ON r.id = e.report_id"
		" WHERE e.claim_id = ? ORDER BY e.seq",
	[SQ_CLAIM_PAGE_0] = SQ_CLAIM_PAGE("", ""),
	[SQ_CLAIM_PAGE_0 + 1] = SQ_CLAIM_PAGE(SQ_BY_STATE, SQ_W_STATE),
	[SQ_CLAIM_PAGE_0 + 2] = SQ_CLAIM_PAGE(SQ_BY_DEVICE, SQ_W_DEVICE),
	[SQ_CLAIM_PAGE_0 + 3] = SQ_CLAIM_PAGE(SQ_BY_DEVICE, SQ_W_STATE SQ_W_DEVICE),
	[SQ_CLAIM_PAGE_0 + 4] = SQ_CLAIM_PAGE(SQ_BY_SINCE, SQ_W_SINCE),
	[SQ_CLAIM_PAGE_0 + 5] = SQ_CLAIM_PAGE(SQ_BY_STATE_SINCE, SQ_W_STATE SQ_W_SINCE),
	[SQ_CLAIM_PAGE_0 + 6] = SQ_CLAIM_PAGE(SQ_BY_DEVICE, SQ_W_DEVICE SQ_W_SINCE),
	[SQ_CLAIM_PAGE_0 + 7] = SQ_CLAIM_PAGE(SQ_BY_DEVICE, SQ_W_STATE SQ_W_DEVICE SQ_W_SINCE),
	/* the totals without a device or date filter are kept by triggers
	 * (migration 4), so no page counts the whole table */
	[SQ_CLAIM_COUNT_0] = "SELECT coalesce(sum(n), 0) FROM claim_counts",
	[SQ_CLAIM_COUNT_0 + 1] = "SELECT coalesce(sum(n), 0) FROM claim_counts WHERE state = ?1",
	[SQ_CLAIM_COUNT_0 + 2] = SQ_CLAIM_COUNT(SQ_BY_DEVICE, SQ_W_DEVICE),
	[SQ_CLAIM_COUNT_0 + 3] = SQ_CLAIM_COUNT(SQ_BY_DEVICE, SQ_W_STATE SQ_W_DEVICE),
	[SQ_CLAIM_COUNT_0 + 4] = SQ_CLAIM_COUNT(SQ_BY_SINCE, SQ_W_SINCE),
	[SQ_CLAIM_COUNT_0 + 5] = SQ_CLAIM_COUNT(SQ_BY_STATE_SINCE, SQ_W_STATE SQ_W_SINCE),
	[SQ_CLAIM_COUNT_0 + 6] = SQ_CLAIM_COUNT(SQ_BY_DEVICE, SQ_W_DEVICE SQ_W_SINCE),
	[SQ_CLAIM_COUNT_0 + 7] = SQ_CLAIM_COUNT(SQ_BY_DEVICE, SQ_W_STATE SQ_W_DEVICE SQ_W_SINCE),
	[SQ_DEVICE_GET] = "SELECT " SQ_DEVICE_COLS " FROM devices WHERE id = ?",
	[SQ_DEVICE_LIST] = "SELECT " SQ_DEVICE_COLS " FROM devices WHERE id > ? ORDER BY id LIMIT ?",
	[SQ_DEVICE_KEYS] = "SELECT id, public_key FROM devices WHERE public_key IS NOT NULL",
	/* ?1 dev, ?2 since, ?3 until, ?4 after (seq), ?5 limit: without a time
	 * bound the (dev, seq) key pages; with one the (dev, kind, ts) index
	 * finds the range, and only its rows are sorted by seq */
	[SQ_TELEMETRY_BY_SEQ] =
		"SELECT seq, ts, layout, data FROM telemetry"
		" WHERE dev_id = ?1 AND seq > ?4 ORDER BY seq LIMIT ?5",
	[SQ_TELEMETRY_BY_TS] =
		"SELECT seq, ts, layout, data FROM telemetry INDEXED BY telemetry_ts"
		" WHERE dev_id = ?1 AND ts >= ?2 AND ts < ?3 AND seq > ?4 ORDER BY seq LIMIT ?5",
	/* diagnostics (tests, tpclaim): the unfiltered ones count a table */
	[SQ_COUNT_REPORTS] =
		"SELECT (SELECT count(*) FROM reports) + (SELECT count(*) FROM telemetry)",
	[SQ_COUNT_REPORTS_DEV] =
		"SELECT (SELECT count(*) FROM reports WHERE dev = ?1) + (SELECT count(*) FROM"
		" telemetry WHERE dev_id = (SELECT id FROM names WHERE name = ?1))",
	[SQ_COUNT_REPORTS_KIND] =
		"SELECT (SELECT count(*) FROM reports WHERE kind = ?2) + CASE WHEN ?2 = 'telemetry'"
		" THEN (SELECT count(*) FROM telemetry) ELSE 0 END",
	[SQ_SEQS_STORED] =
		"SELECT seq FROM reports WHERE dev = ?1 AND seq BETWEEN ?2 AND ?3"
		" UNION ALL SELECT seq FROM telemetry WHERE dev_id = ?4 AND seq BETWEEN ?2 AND ?3"
		" ORDER BY 1 LIMIT ?5",
	[SQ_COUNT_REPORTS_DEV_KIND] =
		"SELECT (SELECT count(*) FROM reports WHERE dev = ?1 AND kind = ?2) +"
		" CASE WHEN ?2 = 'telemetry' THEN (SELECT count(*) FROM telemetry"
		" WHERE dev_id = (SELECT id FROM names WHERE name = ?1)) ELSE 0 END",
	[SQ_NAME_FIND] = "SELECT id FROM names WHERE name = ?",
	[SQ_NAME_GET] = "SELECT name FROM names WHERE id = ?",
	[SQ_NAME_ADD] = "INSERT INTO names (name) VALUES (?)",
	[SQ_TELEM_INSERT] =
		"INSERT INTO telemetry (dev_id, seq, ts, layout, data) VALUES (?,?,?,?,?)"
		" ON CONFLICT DO NOTHING",
	/* rollups: ?1 dev, ?2 first start, ?3 end, ?4 after (start), ?5 limit */
	[SQ_HOUR_LIST] =
		"SELECT start, layout, data FROM telemetry_hour WHERE dev_id = ?1"
		" AND start >= max(?2, ?4 + 1) AND start < ?3 ORDER BY start, layout LIMIT ?5",
	[SQ_DAY_LIST] =
		"SELECT start, layout, data FROM telemetry_day WHERE dev_id = ?1"
		" AND start >= max(?2, ?4 + 1) AND start < ?3 ORDER BY start, layout LIMIT ?5",
	[SQ_HOUR_GET] =
		"SELECT data FROM telemetry_hour WHERE dev_id = ? AND start = ? AND layout = ?",
	[SQ_DAY_GET] = "SELECT data FROM telemetry_day WHERE dev_id = ? AND start = ? AND layout = ?",
	[SQ_HOUR_PUT] = "INSERT OR REPLACE INTO telemetry_hour VALUES (?, ?, ?, ?)",
	[SQ_DAY_PUT] = "INSERT OR REPLACE INTO telemetry_day VALUES (?, ?, ?, ?)",
	[SQ_MAINT_NEXT_DEV] = "SELECT dev_id FROM telemetry WHERE dev_id > ? ORDER BY dev_id LIMIT 1",
	[SQ_MARK_GET] = "SELECT seq FROM rollup_mark WHERE dev_id = ?",
	[SQ_MARK_PUT] = "INSERT OR REPLACE INTO rollup_mark VALUES (?, ?)",
	[SQ_MAINT_ROWS] =
		"SELECT seq, ts, layout, data FROM telemetry WHERE dev_id = ?1 AND seq > ?2"
		" ORDER BY seq LIMIT ?3",
	[SQ_RETAIN] =
		"DELETE FROM telemetry INDEXED BY telemetry_ts WHERE dev_id = ?1 AND ts < ?2"
		" AND seq <= ?3",
	/* migration 5's conversion of the JSON rows, a chunk at a time */
	[SQ_LEGACY_TELEMETRY] =
		"SELECT id, dev, seq, ts, body FROM reports"
		" WHERE kind = 'telemetry' AND id > ?1 ORDER BY id LIMIT 2000",
	[SQ_LEGACY_DELETE] = "DELETE FROM reports WHERE id = ?",
	/* transactions, prepared once like the rest (a SAVEPOINT parsed per
	 * report cost 6 % of ingest) */
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_SAVEPOINT] = "SAVEPOINT report",
	[SQ_RELEASE] = "RELEASE report",
	[SQ_ROLLBACK_TO] = "ROLLBACK TO report",
};

static const char *const sq_stmt_names[SQ_STMT_COUNT] = {
	[SQ_INSERT_REPORT] = "insert_report", [SQ_SIGNED_BEFORE] = "signed_before",
	[SQ_DEVICE_SEEN] = "device_seen", [SQ_DEVICE_FIND] = "device_find",
	[SQ_DEVICE_INSERT] = "device_insert", [SQ_DEVICE_UPDATE] = "device_update",
	[SQ_DEVICE_PURCHASE] = "device_purchase", [SQ_CLAIM_FIND_OPEN] = "claim_find_open",
	[SQ_CLAIM_INSERT] = "claim_insert", [SQ_CLAIM_ADD_FAULT] = "claim_add_fault",
	[SQ_CLAIM_ADD_EVIDENCE] = "claim_add_evidence",
	[SQ_CLAIM_ADD_TIMELINE] = "claim_add_timeline",
	[SQ_CLAIM_UPDATE_TEXT] = "claim_update_text", [SQ_CLAIM_SET_STATE] = "claim_set_state",
	[SQ_CLAIM_SET_WORK] = "claim_set_work",
	[SQ_CLAIM_SET_WARRANTY] = "claim_set_warranty",
	[SQ_CLAIM_SET_FEEDBACK] = "claim_set_feedback", [SQ_CLAIM_HAD] = "claim_had",
	[SQ_OUTBOX_ADD] = "outbox_add", [SQ_OUTBOX_NEXT] = "outbox_next",
	[SQ_OUTBOX_DONE] = "outbox_done", [SQ_CLAIM_GET] = "claim_get",
	[SQ_CLAIM_FAULTS] = "claim_faults", [SQ_CLAIM_EVIDENCE_BRIEF] = "claim_evidence_brief",
	[SQ_CLAIM_TIMELINE] = "claim_timeline", [SQ_CLAIM_EVIDENCE] = "claim_evidence",
	[SQ_CLAIM_PAGE_0] = "claim_page", [SQ_CLAIM_PAGE_0 + 1] = "claim_page_state",
	[SQ_CLAIM_PAGE_0 + 2] = "claim_page_device",
	[SQ_CLAIM_PAGE_0 + 3] = "claim_page_state_device",
	[SQ_CLAIM_PAGE_0 + 4] = "claim_page_since",
	[SQ_CLAIM_PAGE_0 + 5] = "claim_page_state_since",
	[SQ_CLAIM_PAGE_0 + 6] = "claim_page_device_since",
	[SQ_CLAIM_PAGE_0 + 7] = "claim_page_state_device_since",
	[SQ_CLAIM_COUNT_0] = "claim_count", [SQ_CLAIM_COUNT_0 + 1] = "claim_count_state",
	[SQ_CLAIM_COUNT_0 + 2] = "claim_count_device",
	[SQ_CLAIM_COUNT_0 + 3] = "claim_count_state_device",
	[SQ_CLAIM_COUNT_0 + 4] = "claim_count_since",
	[SQ_CLAIM_COUNT_0 + 5] = "claim_count_state_since",
	[SQ_CLAIM_COUNT_0 + 6] = "claim_count_device_since",
	[SQ_CLAIM_COUNT_0 + 7] = "claim_count_state_device_since",
	[SQ_DEVICE_GET] = "device_get", [SQ_DEVICE_LIST] = "device_list",
	[SQ_DEVICE_KEYS] = "device_keys", [SQ_TELEMETRY_BY_SEQ] = "telemetry_by_seq",
	[SQ_TELEMETRY_BY_TS] = "telemetry_by_ts", [SQ_COUNT_REPORTS] = "count_reports",
	[SQ_COUNT_REPORTS_DEV] = "count_reports_dev", [SQ_COUNT_REPORTS_KIND] = "count_reports_kind",
	[SQ_COUNT_REPORTS_DEV_KIND] = "count_reports_dev_kind", [SQ_SEQS_STORED] = "seqs_stored",
	[SQ_NAME_FIND] = "name_find", [SQ_NAME_GET] = "name_get", [SQ_NAME_ADD] = "name_add",
	[SQ_TELEM_INSERT] = "telemetry_insert", [SQ_HOUR_LIST] = "hour_list",
	[SQ_DAY_LIST] = "day_list", [SQ_HOUR_GET] = "hour_get", [SQ_DAY_GET] = "day_get",
	[SQ_HOUR_PUT] = "hour_put", [SQ_DAY_PUT] = "day_put",
	[SQ_MAINT_NEXT_DEV] = "maintain_next_device", [SQ_MARK_GET] = "mark_get",
	[SQ_MARK_PUT] = "mark_put", [SQ_MAINT_ROWS] = "maintain_rows", [SQ_RETAIN] = "retain",
	[SQ_LEGACY_TELEMETRY] = "legacy_telemetry", [SQ_LEGACY_DELETE] = "legacy_delete",
	[SQ_CLAIM_BY_TOKEN] = "claim_by_token", [SQ_REPORTS_RECENT] = "reports_recent",
	[SQ_TELEMETRY_LAST] = "telemetry_last",
	[SQ_FORECAST_PUT] = "forecast_put", [SQ_FORECAST_GET] = "forecast_get",
	[SQ_EVENT_ADD] = "event_add", [SQ_EVENT_NEXT] = "event_next",
	[SQ_EVENT_PENDING] = "event_pending", [SQ_CURSOR_GET] = "cursor_get",
	[SQ_CURSOR_SET] = "cursor_set",
	[SQ_BEGIN] = "begin",
	[SQ_COMMIT] = "commit", [SQ_ROLLBACK] = "rollback", [SQ_SAVEPOINT] = "savepoint",
	[SQ_RELEASE] = "release", [SQ_ROLLBACK_TO] = "rollback_to",
};

#define SQ_LOG_EVERY_S 60

#define SQ_NAME_SLOTS 4096   /* dictionary cache entries (design note 7) */

struct sq_name {
	char *name;               /* NULL: empty slot */
	int64_t id;
};

struct sq_ctx {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_STMT_COUNT];
	/* names: by name on the writer (emptied by every rollback, as its ids
	 * may have been rolled back), by id on a reader (committed only) */
	struct sq_name names[SQ_NAME_SLOTS];
	int64_t maint_cursor;     /* maintenance: the last device id visited */
	/* under the store's lock, like every call here (store.c) */
	char last_error[256];
	double log_next;          /* monotonic seconds: the next line may be logged */
	unsigned long log_quiet;  /* errors not logged since the last line */
};

static double sq_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Records an error and logs it, at most one line a minute (design note 5). */
__attribute__((format(printf, 2, 3)))
static void sq_log(struct sq_ctx *c, const char *fmt, ...)
{
	va_list ap;
	double now = sq_mono();

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	if (now < c->log_next) {
		c->log_quiet++;
		return;
	}
	if (c->log_quiet)
		fprintf(stderr, "tpcollect: sqlite: %s (and %lu more errors in the last minute)\n",
			c->last_error, c->log_quiet);
	else
		fprintf(stderr, "tpcollect: sqlite: %s\n", c->last_error);
	c->log_quiet = 0;
	c->log_next = now + SQ_LOG_EVERY_S;
}

/* The cached statement, reset and unbound, or NULL. */
static sqlite3_stmt *sq_stmt(struct sq_ctx *c, enum sq_stmt_id id)
{
	sqlite3_stmt *st = c->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(c->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &c->stmt[id], NULL) != SQLITE_OK) {
			sq_log(c, "prepare failed: %s", sqlite3_errmsg(c->db));
			return NULL;
		}
		return c->stmt[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void sq_bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows. */
static enum tpd_err sq_done(struct sq_ctx *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		sqlite3_reset(st);
		return TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return TPD_OK;
}

static void sq_names_forget(struct sq_ctx *c);
static enum tpd_err sq_convert_telemetry(struct sq_ctx *c, char *err, size_t errlen);

/* The prepared form of a transaction statement, or SQ_STMT_COUNT. */
static enum sq_stmt_id sq_tx_stmt(const char *sql)
{
	for (int i = SQ_BEGIN; i <= SQ_ROLLBACK_TO; i++)
		if (strcmp(sq_sql[i], sql) == 0)
			return (enum sq_stmt_id)i;
	return SQ_STMT_COUNT;
}

static enum tpd_err sq_exec(void *ctx, const char *sql)
{
	struct sq_ctx *c = ctx;
	enum sq_stmt_id id = sq_tx_stmt(sql);
	sqlite3_stmt *st;
	char *msg = NULL;

	/* SQLite rolls a transaction back by itself on SQLITE_FULL and IOERR;
	 * the caller's ROLLBACK then has nothing to do, and its "no transaction
	 * is active" must not hide the error that mattered. */
	if (id == SQ_ROLLBACK || id == SQ_ROLLBACK_TO)
		sq_names_forget(c);    /* its new names may be gone (design note 7) */
	if ((id == SQ_ROLLBACK || id == SQ_ROLLBACK_TO) && sqlite3_get_autocommit(c->db))
		return TPD_OK;
	if (id != SQ_STMT_COUNT) {
		st = sq_stmt(c, id);
		if (!st)
			return TPD_ERR_DB;
		if (sqlite3_step(st) != SQLITE_DONE) {
			sq_log(c, "%s: %s", sql, sqlite3_errmsg(c->db));
			sqlite3_reset(st);
			return TPD_ERR_DB;
		}
		sqlite3_reset(st);
		return TPD_OK;
	}
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sq_log(c, "%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return TPD_ERR_DB;
	}
	return TPD_OK;
}

static enum tpd_err sq_migrate(struct sq_ctx *c, char *err, size_t errlen)
{
	const int latest = (int)(sizeof(sq_migrations) / sizeof(sq_migrations[0]));
	sqlite3_stmt *st;
	int version = 0;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return TPD_ERR_DB;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > latest) {
		snprintf(err, errlen, "database schema version %d is newer than this tpcollect (%d)",
			 version, latest);
		return TPD_ERR_DB;
	}
	for (int v = version; v < latest; v++) {
		char pragma[48];
		char *msg = NULL;

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(c->db, sq_migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(c->db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "schema migration %d failed: %s", v + 1, msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return TPD_ERR_DB;
		}
	}
	return TPD_OK;
}

static void sq_close(void *ctx)
{
	struct sq_ctx *c = ctx;

	if (!c)
		return;
	for (int i = 0; i < SQ_STMT_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	for (int i = 0; i < SQ_NAME_SLOTS; i++)
		free(c->names[i].name);
	sqlite3_close(c->db);
	free(c);
}

static void sq_names_forget(struct sq_ctx *c)
{
	for (int i = 0; i < SQ_NAME_SLOTS; i++) {
		free(c->names[i].name);
		c->names[i].name = NULL;
	}
}

static unsigned sq_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % SQ_NAME_SLOTS;
}

/* The dictionary id of name, added when new (writer, in a transaction). */
static enum tpd_err sq_name_id(struct sq_ctx *c, const char *name, int64_t *id)
{
	struct sq_name *slot = &c->names[sq_hash(name)];
	sqlite3_stmt *st;
	int step;

	if (slot->name && strcmp(slot->name, name) == 0) {
		*id = slot->id;
		return TPD_OK;
	}
	st = sq_stmt(c, SQ_NAME_FIND);
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, name);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (step == SQLITE_DONE) {
		st = sq_stmt(c, SQ_NAME_ADD);
		if (!st)
			return TPD_ERR_DB;
		sq_bind_text(st, 1, name);
		if (sq_done(c, st))
			return TPD_ERR_DB;
		*id = sqlite3_last_insert_rowid(c->db);
	} else if (step != SQLITE_ROW) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		return TPD_ERR_DB;
	}
	free(slot->name);
	slot->name = strdup(name);
	slot->id = *id;
	return TPD_OK;
}

/* The name of a dictionary id (any connection: ids are never reused, and a
 * reader sees committed ones only). NULL when unknown; owned by the cache. */
static const char *sq_name_of(struct sq_ctx *c, int64_t id)
{
	struct sq_name *slot = &c->names[(uint64_t)id % SQ_NAME_SLOTS];
	sqlite3_stmt *st;
	char *name = NULL;

	if (slot->name && slot->id == id)
		return slot->name;
	st = sq_stmt(c, SQ_NAME_GET);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		name = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (!name)
		return NULL;
	free(slot->name);
	slot->name = name;
	slot->id = id;
	return name;
}

/* A reader's lookup of a device id: no insert. TPD_ERR_NOTFOUND if none. */
static enum tpd_err sq_name_find(struct sq_ctx *c, const char *name, int64_t *id)
{
	sqlite3_stmt *st = sq_stmt(c, SQ_NAME_FIND);
	int step;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, name);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return step == SQLITE_ROW ? TPD_OK : step == SQLITE_DONE ? TPD_ERR_NOTFOUND : TPD_ERR_DB;
}

static enum tpd_err sq_open(const char *url, void **out, char *err, size_t errlen)
{
	const char *path = url + strlen("sqlite:");
	struct sq_ctx *c;
	enum tpd_err rc;

	*out = NULL;
	if (!*path) {
		snprintf(err, errlen, "sqlite: URL names no file (sqlite:PATH)");
		return TPD_ERR_INVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return TPD_ERR_NOMEM;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
		sq_close(c);
		return TPD_ERR_DB;
	}
	sqlite3_busy_timeout(c->db, 5000);
	if (sq_exec(c, "PRAGMA journal_mode = WAL") || sq_exec(c, "PRAGMA synchronous = NORMAL") ||
	    sq_exec(c, "PRAGMA foreign_keys = ON")) {
		snprintf(err, errlen, "%s: cannot set WAL mode (not a database, or read-only?)", path);
		sq_close(c);
		return TPD_ERR_DB;
	}
	rc = sq_migrate(c, err, errlen);
	if (!rc)
		rc = sq_convert_telemetry(c, err, errlen);
	if (rc) {
		sq_close(c);
		return rc;
	}
	*out = c;
	return TPD_OK;
}

/* A read-only connection to a database sq_open has migrated (store.c
 * design note 2): its own statement cache, WAL snapshots of the last
 * commit, never a lock on the writer. */
static enum tpd_err sq_open_reader(const char *url, void **out, char *err, size_t errlen)
{
	const char *path = url + strlen("sqlite:");
	struct sq_ctx *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return TPD_ERR_NOMEM;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
		sq_close(c);
		return TPD_ERR_DB;
	}
	sqlite3_busy_timeout(c->db, 5000);
	*out = c;
	return TPD_OK;
}

unsigned tpc_store_sqlite_statements(const char **name, const char **sql, unsigned i)
{
	if (i >= SQ_STMT_COUNT)
		return SQ_STMT_COUNT;
	*name = sq_stmt_names[i];
	*sql = sq_sql[i];
	return SQ_STMT_COUNT;
}

/* A telemetry report as a compact row (design note 7). TPD_ERR_INVAL when
 * it has no compact form (then it goes to reports as text). */
static enum tpd_err sq_insert_telemetry(struct sq_ctx *c, const struct tpc_report_row *r)
{
	cJSON *parsed = r->json ? NULL : cJSON_Parse(r->body);
	const cJSON *json = r->json ? r->json : parsed;
	char layout[TPC_TELEM_LAYOUT_MAX];
	unsigned char data[TPC_TELEM_DATA_MAX];
	size_t len = 0;
	int64_t dev_id, layout_id;
	sqlite3_stmt *st;
	enum tpd_err rc = json ? tpc_telem_encode(json, layout, sizeof(layout), data, sizeof(data),
						  &len) : TPD_ERR_INVAL;

	cJSON_Delete(parsed);
	if (rc)
		return TPD_ERR_INVAL;
	rc = sq_name_id(c, r->dev, &dev_id);
	if (!rc)
		rc = sq_name_id(c, layout, &layout_id);
	st = rc ? NULL : sq_stmt(c, SQ_TELEM_INSERT);
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, dev_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->seq);
	sqlite3_bind_double(st, 3, r->ts);
	sqlite3_bind_int64(st, 4, layout_id);
	sqlite3_bind_blob(st, 5, data, (int)len, SQLITE_STATIC);
	rc = sq_done(c, st);
	if (rc)
		return rc;
	return sqlite3_changes(c->db) ? TPD_OK : TPD_ERR_DUPLICATE;
}

static enum tpd_err sq_insert_report(void *ctx, const struct tpc_report_row *r, int64_t *id)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st;
	enum tpd_err rc;

	if (strcmp(r->kind, "telemetry") == 0 && !r->jws && isfinite(r->ts)) {
		rc = sq_insert_telemetry(c, r);
		if (rc != TPD_ERR_INVAL) {
			*id = 0;       /* no evidence refers to telemetry */
			return rc;
		}
	}
	st = sq_stmt(c, SQ_INSERT_REPORT);
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, r->dev);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->seq);
	sq_bind_text(st, 3, r->kind);
	sq_bind_real(st, 4, r->ts);
	sq_bind_text(st, 5, r->body);
	sq_bind_text(st, 6, r->jws);
	sqlite3_bind_int(st, 7, r->verified);
	sq_bind_text(st, 8, r->jws_hash);
	sq_bind_text(st, 9, r->chain);
	rc = sq_done(c, st);
	if (rc)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return TPD_ERR_DUPLICATE;
	*id = sqlite3_last_insert_rowid(c->db);
	return TPD_OK;
}

static enum tpd_err sq_device_seen(void *ctx, const char *id, const char *model, const char *fw,
				   double ts, const char *state)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_SEEN);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, model);
	sq_bind_text(st, 3, fw);
	sq_bind_real(st, 4, ts);
	sq_bind_text(st, 5, state);
	return sq_done(c, st);
}

static bool sq_same(const unsigned char *col, const char *v)
{
	return strcmp((const char *)col, v ? v : "") == 0;
}

static void sq_bind_device(sqlite3_stmt *st, const struct tpc_device_row *d)
{
	sq_bind_text(st, 1, d->id);
	sq_bind_text(st, 2, d->model ? d->model : "");
	sq_bind_text(st, 3, d->purchase_date ? d->purchase_date : "");
	sq_bind_text(st, 4, d->public_key ? d->public_key : "");
	sq_bind_text(st, 5, d->owner_contact ? d->owner_contact : "");
	sq_bind_text(st, 6, d->channel ? d->channel : "");
	sq_bind_text(st, 7, d->locale ? d->locale : "");
	sq_bind_text(st, 8, d->region ? d->region : "");
}

/* Inserts, updates or leaves a device, telling which: a re-import of the
 * same file reports every row unchanged. */
static enum tpd_err sq_device_upsert(void *ctx, const struct tpc_device_row *d,
				     enum tpc_upsert *res)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_FIND);
	bool exists = false, same = false;
	int step;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, d->id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		exists = true;
		same = (!d->model || !d->model[0] || sq_same(sqlite3_column_text(st, 0), d->model)) &&
		       sq_same(sqlite3_column_text(st, 1), d->purchase_date) &&
		       sq_same(sqlite3_column_text(st, 2), d->public_key) &&
		       sq_same(sqlite3_column_text(st, 3), d->owner_contact) &&
		       sq_same(sqlite3_column_text(st, 4), d->channel) &&
		       sq_same(sqlite3_column_text(st, 5), d->locale) &&
		       sq_same(sqlite3_column_text(st, 6), d->region);
	}
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return TPD_ERR_DB;
	if (same) {
		*res = TPC_UPSERT_UNCHANGED;
		return TPD_OK;
	}
	st = sq_stmt(c, exists ? SQ_DEVICE_UPDATE : SQ_DEVICE_INSERT);
	if (!st)
		return TPD_ERR_DB;
	sq_bind_device(st, d);
	*res = exists ? TPC_UPSERT_UPDATED : TPC_UPSERT_CREATED;
	return sq_done(c, st);
}

/* Runs a one-column query; TPD_ERR_NOTFOUND for no row or NULL. */
static enum tpd_err sq_one_text(struct sq_ctx *c, sqlite3_stmt *st, char *buf, size_t len)
{
	int rc = sqlite3_step(st);
	enum tpd_err out = TPD_ERR_NOTFOUND;

	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
		out = TPD_OK;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		out = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return out;
}

/* Copies column i ("" for NULL) into buf. */
static void sq_column_copy(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", v ? (const char *)v : "");
}

static enum tpd_err sq_device_profile(void *ctx, const char *id, struct tpc_device_profile *p)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_PURCHASE);
	enum tpd_err out = TPD_ERR_NOTFOUND;
	int step;

	memset(p, 0, sizeof(*p));
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		sq_column_copy(st, 0, p->purchase_date, sizeof(p->purchase_date));
		sq_column_copy(st, 1, p->locale, sizeof(p->locale));
		sq_column_copy(st, 2, p->region, sizeof(p->region));
		sq_column_copy(st, 3, p->channel, sizeof(p->channel));
		out = TPD_OK;
	} else if (step != SQLITE_DONE) {
		out = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return out;
}

static enum tpd_err sq_signed_before(void *ctx, const char *dev, uint64_t seq, char *hash,
				     size_t len)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_SIGNED_BEFORE);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	return sq_one_text(c, st, hash, len);
}

static enum tpd_err sq_forecast_put(void *ctx, const char *dev, const void *state, size_t len,
				    double saved_at)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_FORECAST_PUT);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sqlite3_bind_double(st, 2, saved_at);
	sqlite3_bind_blob64(st, 3, state, len, SQLITE_STATIC);
	return sq_done(c, st);
}

static enum tpd_err sq_forecast_get(void *ctx, const char *dev, void **state, size_t *len)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_FORECAST_GET);
	enum tpd_err out = TPD_ERR_NOTFOUND;
	int rc;

	*state = NULL;
	*len = 0;
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *b = sqlite3_column_blob(st, 0);

		out = TPD_ERR_NOMEM;
		if (n > 0 && b && (*state = malloc((size_t)n))) {
			memcpy(*state, b, (size_t)n);
			*len = (size_t)n;
			out = TPD_OK;
		} else if (n <= 0) {
			out = TPD_ERR_NOTFOUND;
		}
	} else if (rc != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		out = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return out;
}

static enum tpd_err sq_claim_find_open(void *ctx, const char *device, const char *category,
				       int64_t *id)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_FIND_OPEN);
	enum tpd_err out = TPD_ERR_NOTFOUND;
	int rc;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, device);
	sq_bind_text(st, 2, category);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		out = TPD_OK;
	} else if (rc != SQLITE_DONE) {
		out = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return out;
}

static enum tpd_err sq_claim_insert(void *ctx, const struct tpc_claim_new *cl, int64_t *id)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_INSERT);
	enum tpd_err rc;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, cl->device);
	sq_bind_text(st, 2, cl->model);
	sq_bind_text(st, 3, cl->category);
	sqlite3_bind_int(st, 4, cl->predictive);
	sq_bind_real(st, 5, cl->detected_ts);
	sq_bind_text(st, 6, cl->opened_at);
	sq_bind_text(st, 7, cl->purchase_date);
	sq_bind_text(st, 8, cl->title);
	sq_bind_text(st, 9, cl->description);
	sq_bind_text(st, 10, cl->selfcheck_verdict);
	sq_bind_text(st, 11, cl->suggested_resolution);
	sq_bind_text(st, 12, cl->priority ? cl->priority : "normal");
	sq_bind_text(st, 13, cl->review_due);
	sq_bind_text(st, 14, cl->warranty.status ? cl->warranty.status : "unknown");
	sq_bind_text(st, 15, cl->warranty.until);
	sq_bind_text(st, 16, cl->warranty.policy);
	sq_bind_text(st, 17, cl->warranty.reason);
	sq_bind_text(st, 19, cl->origin);
	sq_bind_text(st, 20, cl->contact);
	sq_bind_text(st, 21, cl->channel);
	sq_bind_text(st, 22, cl->tracking_token);
	sq_bind_text(st, 23, cl->locale);
	sq_bind_text(st, 24, cl->title_zh);
	sq_bind_text(st, 25, cl->description_zh);
	sq_bind_text(st, 26, cl->region);
	sq_bind_text(st, 27, cl->forecast);
	rc = sq_done(c, st);
	if (!rc)
		*id = sqlite3_last_insert_rowid(c->db);
	else if (sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_UNIQUE)
		rc = TPD_ERR_DUPLICATE;   /* claims_one_open (design note 3) */
	return rc;
}

static enum tpd_err sq_claim_add_fault(void *ctx, int64_t claim, const char *code, double ts,
				       bool *added)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_ADD_FAULT);
	enum tpd_err rc;

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sq_bind_text(st, 2, code);
	sq_bind_real(st, 3, ts);
	rc = sq_done(c, st);
	*added = !rc && sqlite3_changes(c->db) > 0;
	return rc;
}

static enum tpd_err sq_claim_add_evidence(void *ctx, int64_t claim, int64_t report,
					  const char *kind, uint64_t seq, bool verified,
					  const char *code, const char *state)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_ADD_EVIDENCE);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sqlite3_bind_int64(st, 2, report);
	sq_bind_text(st, 3, kind);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)seq);
	sqlite3_bind_int(st, 5, verified);
	sq_bind_text(st, 6, code);
	sq_bind_text(st, 7, state);
	return sq_done(c, st);
}

static enum tpd_err sq_claim_add_timeline(void *ctx, int64_t claim, const char *at,
					  const char *event, const char *by, const char *note)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_ADD_TIMELINE);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sq_bind_text(st, 2, at);
	sq_bind_text(st, 3, event);
	sq_bind_text(st, 4, by);
	sq_bind_text(st, 5, note);
	return sq_done(c, st);
}

static enum tpd_err sq_claim_update_text(void *ctx, int64_t claim, const char *description,
					 const char *description_zh,
					 const char *suggested_resolution, const char *priority)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_UPDATE_TEXT);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, description);
	sq_bind_text(st, 2, suggested_resolution);
	sqlite3_bind_int64(st, 3, claim);
	sq_bind_text(st, 4, priority);
	sq_bind_text(st, 5, description_zh);
	return sq_done(c, st);
}

static enum tpd_err sq_claim_set_work(void *ctx, int64_t claim, const struct tpc_claim_work *w)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_SET_WORK);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sqlite3_bind_int(st, 2, w->set_assignee);
	sq_bind_text(st, 3, w->assignee ? w->assignee : "");
	sqlite3_bind_int(st, 4, w->set_resolution);
	sq_bind_text(st, 5, w->summary);
	sq_bind_text(st, 6, w->parts);
	sq_bind_text(st, 7, w->at);
	sq_bind_text(st, 8, w->by);
	sqlite3_bind_int(st, 9, w->set_forecast);
	sq_bind_text(st, 10, w->forecast);
	return sq_done(c, st);
}

static enum tpd_err sq_claim_set_state(void *ctx, int64_t claim, const char *state)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_SET_STATE);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sq_bind_text(st, 2, state);
	return sq_done(c, st);
}

static enum tpd_err sq_claim_set_warranty(void *ctx, int64_t claim,
					  const struct tpc_claim_warranty *w)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_SET_WARRANTY);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sq_bind_text(st, 2, w->status);
	sq_bind_text(st, 3, w->until);
	sq_bind_text(st, 4, w->policy);
	sq_bind_text(st, 5, w->reason);
	sq_bind_text(st, 6, w->purchase_date);
	return sq_done(c, st);
}

static enum tpd_err sq_claim_set_feedback(void *ctx, int64_t claim, int rating,
					  const char *comment, const char *at)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_SET_FEEDBACK);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	sqlite3_bind_int(st, 2, rating);
	sq_bind_text(st, 3, comment);
	sq_bind_text(st, 4, at);
	return sq_done(c, st);
}

static enum tpd_err sq_outbox_add(void *ctx, const char *topic, const char *payload)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_OUTBOX_ADD);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, topic);
	sq_bind_text(st, 2, payload);
	return sq_done(c, st);
}

static enum tpd_err sq_outbox_next(void *ctx, int64_t after, int64_t *id, char **topic,
				   char **payload)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_OUTBOX_NEXT);
	enum tpd_err rc = TPD_ERR_NOTFOUND;
	int step;

	*topic = *payload = NULL;
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, after);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*topic = strdup((const char *)sqlite3_column_text(st, 1));
		*payload = strdup((const char *)sqlite3_column_text(st, 2));
		rc = *topic && *payload ? TPD_OK : TPD_ERR_NOMEM;
		if (rc) {
			free(*topic);
			free(*payload);
			*topic = *payload = NULL;
		}
	} else if (step != SQLITE_DONE) {
		rc = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return rc;
}

static enum tpd_err sq_outbox_done(void *ctx, int64_t id)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_OUTBOX_DONE);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, id);
	return sq_done(c, st);
}

static enum tpd_err sq_event_add(void *ctx, const char *uuid, const char *event, int64_t claim,
				 const char *at, const char *body)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_EVENT_ADD);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, uuid);
	sq_bind_text(st, 2, event);
	sqlite3_bind_int64(st, 3, claim);
	sq_bind_text(st, 4, at);
	sq_bind_text(st, 5, body);
	return sq_done(c, st);
}

static enum tpd_err sq_event_next(void *ctx, int64_t after, int64_t *id, char **body)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_EVENT_NEXT);
	enum tpd_err rc = TPD_ERR_NOTFOUND;
	int step;

	*body = NULL;
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, after);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*body = strdup((const char *)sqlite3_column_text(st, 1));
		rc = *body ? TPD_OK : TPD_ERR_NOMEM;
	} else if (step != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		rc = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return rc;
}

/* One integer from a statement bound to (text a, int64 b). */
static enum tpd_err sq_int_query(struct sq_ctx *c, enum sq_stmt_id id, const char *a,
				 int64_t b, int64_t *out)
{
	sqlite3_stmt *st = sq_stmt(c, id);
	enum tpd_err rc = TPD_OK;

	*out = 0;
	if (!st)
		return TPD_ERR_DB;
	if (a)
		sq_bind_text(st, 1, a);
	else
		sqlite3_bind_int64(st, 1, b);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
	} else {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		rc = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return rc;
}

static enum tpd_err sq_event_pending(void *ctx, int64_t after, int64_t *n)
{
	return sq_int_query(ctx, SQ_EVENT_PENDING, NULL, after, n);
}

static enum tpd_err sq_webhook_cursor(void *ctx, const char *target, int64_t *last)
{
	return sq_int_query(ctx, SQ_CURSOR_GET, target, 0, last);
}

static enum tpd_err sq_webhook_cursor_set(void *ctx, const char *target, int64_t last)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CURSOR_SET);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, target);
	sqlite3_bind_int64(st, 2, last);
	return sq_done(c, st);
}

/* Claims per state, those past review_due while open or in review, and the
 * device outbox's unsent rows, for /metrics (one read, no index needed at
 * support-desk sizes; issue 15 may add one). */
static enum tpd_err sq_counts(void *ctx, const char *now_iso, cJSON **out)
{
	struct sq_ctx *c = ctx;
	static const char sql[] =
		"SELECT state, count(*), sum(review_due < ?1 AND state IN ('open','in_review'))"
		" FROM claims GROUP BY state"
		" UNION ALL SELECT '#outbox', count(*), 0 FROM outbox WHERE sent_at IS NULL";
	cJSON *o = cJSON_CreateObject(), *by = o ? cJSON_AddObjectToObject(o, "claims") : NULL;
	sqlite3_stmt *st = NULL;
	int64_t overdue = 0, outbox = 0;
	enum tpd_err rc = TPD_OK;
	int step;

	*out = NULL;
	if (!by) {
		cJSON_Delete(o);
		return TPD_ERR_NOMEM;
	}
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sq_log(c, "prepare failed: %s", sqlite3_errmsg(c->db));
		cJSON_Delete(o);
		return TPD_ERR_DB;
	}
	sqlite3_bind_text(st, 1, now_iso, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);

		if (strcmp(state, "#outbox") == 0) {
			outbox = sqlite3_column_int64(st, 1);
			continue;
		}
		overdue += sqlite3_column_int64(st, 2);
		if (!cJSON_AddNumberToObject(by, state, (double)sqlite3_column_int64(st, 1)))
			rc = TPD_ERR_NOMEM;
	}
	if (step != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		rc = TPD_ERR_DB;
	}
	sqlite3_finalize(st);
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

/* Adds column i as a string or null. */
static bool sq_json_text(cJSON *o, const char *key, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return cJSON_AddNullToObject(o, key) != NULL;
	return cJSON_AddStringToObject(o, key, (const char *)sqlite3_column_text(st, i)) != NULL;
}

static bool sq_json_real(cJSON *o, const char *key, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return cJSON_AddNullToObject(o, key) != NULL;
	return cJSON_AddNumberToObject(o, key, sqlite3_column_double(st, i)) != NULL;
}

/* Fills array key of o from a query over one claim id. */
static enum tpd_err sq_claim_children(struct sq_ctx *c, cJSON *o, int64_t id,
				      enum sq_stmt_id sql, const char *key)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);
	sqlite3_stmt *st = arr ? sq_stmt(c, sql) : NULL;
	enum tpd_err out = TPD_OK;
	int rc;

	if (!st)
		return arr ? TPD_ERR_DB : TPD_ERR_NOMEM;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int ncol = sqlite3_column_count(st);
		cJSON *item;

		if (ncol == 1) {   /* fault_codes: plain strings */
			item = cJSON_CreateString((const char *)sqlite3_column_text(st, 0));
		} else {
			item = cJSON_CreateObject();
			for (int i = 0; item && i < ncol; i++) {
				const char *name = sqlite3_column_name(st, i);
				bool ok;

				if (strcmp(name, "verified") == 0)
					ok = cJSON_AddBoolToObject(item, name, sqlite3_column_int(st, i)) != NULL;
				else if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
					ok = cJSON_AddNumberToObject(item, name,
								     (double)sqlite3_column_int64(st, i)) != NULL;
				else if (sqlite3_column_type(st, i) == SQLITE_FLOAT)   /* ts: SPEC §2 */
					ok = cJSON_AddNumberToObject(item, name,
								     sqlite3_column_double(st, i)) != NULL;
				else if (sqlite3_column_type(st, i) == SQLITE_NULL && strcmp(name, "note") == 0)
					continue;  /* a timeline entry without a note */
				else
					ok = sq_json_text(item, name, st, i);
				if (!ok) {
					cJSON_Delete(item);
					item = NULL;
				}
			}
		}
		if (!item || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			out = TPD_ERR_NOMEM;
			break;
		}
	}
	if (!out && rc != SQLITE_DONE)
		out = TPD_ERR_DB;
	sqlite3_reset(st);
	return out;
}

/* Adds column i, JSON text we wrote, as the value it holds (null if NULL
 * or, never expected, unparsable). */
static bool sq_json_parsed(cJSON *o, const char *key, sqlite3_stmt *st, int i)
{
	const char *text = (const char *)sqlite3_column_text(st, i);
	cJSON *v = text ? cJSON_Parse(text) : NULL;

	if (!v)
		return cJSON_AddNullToObject(o, key) != NULL;
	if (!cJSON_AddItemToObject(o, key, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

/* "assignee" and "resolution": {summary, parts[], at, by} or null. */
static bool sq_claim_work_json(cJSON *o, sqlite3_stmt *st)
{
	cJSON *r;

	if (!sq_json_text(o, "assignee", st, 28))
		return false;
	if (sqlite3_column_type(st, 29) == SQLITE_NULL)
		return cJSON_AddNullToObject(o, "resolution") != NULL;
	r = cJSON_AddObjectToObject(o, "resolution");
	return r && sq_json_text(r, "summary", st, 29) && sq_json_parsed(r, "parts", st, 30) &&
	       sq_json_text(r, "at", st, 31) && sq_json_text(r, "by", st, 32);
}

/* "locale" and "text": {"en": {title, description}, "zh-CN": {...}}; the
 * claim's own title and description are those of its locale. English is
 * always there (columns 12, 13); Chinese when it was written. */
static bool sq_claim_text_json(cJSON *o, sqlite3_stmt *st)
{
	const char *locale = (const char *)sqlite3_column_text(st, 33);
	bool zh = sqlite3_column_type(st, 34) != SQLITE_NULL &&
		  sqlite3_column_type(st, 35) != SQLITE_NULL;
	cJSON *text, *en, *cn;

	if (!locale || !cJSON_AddStringToObject(o, "locale", locale))
		return false;
	text = cJSON_AddObjectToObject(o, "text");
	en = text ? cJSON_AddObjectToObject(text, "en") : NULL;
	if (!en || !sq_json_text(en, "title", st, 12) || !sq_json_text(en, "description", st, 13))
		return false;
	if (!zh)
		return true;
	cn = cJSON_AddObjectToObject(text, "zh-CN");
	if (!cn || !sq_json_text(cn, "title", st, 34) || !sq_json_text(cn, "description", st, 35))
		return false;
	if (strcmp(locale, "zh-CN") == 0) {
		cJSON_ReplaceItemInObjectCaseSensitive(o, "title",
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cn, "title"), true));
		cJSON_ReplaceItemInObjectCaseSensitive(o, "description",
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cn, "description"), true));
	}
	return true;
}

/* Builds the SPEC §6 object from a row of SQ_CLAIM_COLS. */
static enum tpd_err sq_claim_from_row(struct sq_ctx *c, sqlite3_stmt *st, cJSON **out)
{
	cJSON *o = cJSON_CreateObject(), *w;
	int64_t id = sqlite3_column_int64(st, 0);
	char cid[32];
	enum tpd_err rc = TPD_ERR_NOMEM;

	*out = NULL;
	if (!o)
		return TPD_ERR_NOMEM;
	tpc_claim_id_format(id, cid, sizeof(cid));
	if (!cJSON_AddStringToObject(o, "id", cid) || !sq_json_text(o, "state", st, 1) ||
	    !sq_json_text(o, "device", st, 2) || !sq_json_text(o, "model", st, 3) ||
	    !sq_json_text(o, "category", st, 4))
		goto fail;
	rc = sq_claim_children(c, o, id, SQ_CLAIM_FAULTS, "fault_codes");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!cJSON_AddBoolToObject(o, "predictive", sqlite3_column_int(st, 5)) ||
	    !sq_json_real(o, "detected_ts", st, 6) || !sq_json_text(o, "opened_at", st, 7) ||
	    !sq_json_text(o, "purchase_date", st, 8))
		goto fail;
	w = cJSON_AddObjectToObject(o, "warranty");
	if (!w || !sq_json_text(w, "status", st, 9) || !sq_json_text(w, "until", st, 10) ||
	    !sq_json_text(w, "policy", st, 11) ||
	    (sqlite3_column_type(st, 18) != SQLITE_NULL && !sq_json_text(w, "reason", st, 18)) ||
	    !sq_json_text(o, "title", st, 12) || !sq_json_text(o, "description", st, 13) ||
	    !sq_json_text(o, "priority", st, 17))
		goto fail;
	rc = sq_claim_children(c, o, id, SQ_CLAIM_EVIDENCE_BRIEF, "evidence");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!sq_json_text(o, "selfcheck_verdict", st, 14) ||
	    !sq_json_text(o, "suggested_resolution", st, 15) || !sq_json_text(o, "review_due", st, 16))
		goto fail;
	rc = sq_claim_children(c, o, id, SQ_CLAIM_TIMELINE, "timeline");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!sq_json_text(o, "updated_at", st, 19) ||
	    !cJSON_AddBoolToObject(o, "chain_broken", sqlite3_column_int(st, 23)))
		goto fail;
	if (!sq_json_text(o, "origin", st, 24) || !sq_json_text(o, "contact", st, 25) ||
	    !sq_json_text(o, "channel", st, 26) || !sq_json_text(o, "tracking_token", st, 27))
		goto fail;
	if (!sq_claim_work_json(o, st) || !sq_claim_text_json(o, st) ||
	    !sq_json_text(o, "region", st, 36) || !sq_json_parsed(o, "forecast", st, 37))
		goto fail;
	if (sqlite3_column_type(st, 20) == SQLITE_NULL) {
		if (!cJSON_AddNullToObject(o, "feedback"))
			goto fail;
	} else {
		cJSON *fb = cJSON_AddObjectToObject(o, "feedback");

		if (!fb || !cJSON_AddNumberToObject(fb, "rating", sqlite3_column_int(st, 20)) ||
		    !sq_json_text(fb, "comment", st, 21) || !sq_json_text(fb, "at", st, 22))
			goto fail;
	}
	*out = o;
	return TPD_OK;
fail:
	cJSON_Delete(o);
	return rc;
}

static enum tpd_err sq_claim_get(void *ctx, int64_t claim, cJSON **out)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_GET);
	enum tpd_err rc = TPD_ERR_NOTFOUND;
	int step;

	*out = NULL;
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = sq_claim_from_row(c, st, out);
	else if (step != SQLITE_DONE)
		rc = TPD_ERR_DB;
	sqlite3_reset(st);
	return rc;
}

/* The extra filters and sort orders of the claims list (warranty,
 * priority, predictive, model, overdue, text, sort): one dynamic query on
 * top of the index of state/device/since, for the support queue's
 * occasional searches; the plain pages stay on the prepared statements. */
#define SQ_CLAIM_WHERE \
	" WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR device = ?2)" \
	" AND (?3 IS NULL OR opened_at >= ?3)" \
	" AND (?6 IS NULL OR warranty_status = ?6) AND (?7 IS NULL OR priority = ?7)" \
	" AND (?8 IS NULL OR predictive = ?8) AND (?9 IS NULL OR model = ?9)" \
	" AND (?10 IS NULL OR ?10 = (state IN ('open', 'in_review') AND review_due < ?11))" \
	" AND (?12 IS NULL OR instr(lower(title || ' ' || description || ' ' || device || ' '" \
	"  || coalesce(title_zh, '') || ' ' || coalesce(assignee, '')), lower(?12)) > 0)" \
	" AND (?13 IS NULL OR category = ?13)" \
	" AND (?14 IS NULL OR assignee = ?14) AND (?15 IS NULL OR (assignee IS NOT NULL) = ?15)"

static bool sq_claim_filter_extra(const struct tpc_claim_filter *f)
{
	return f->warranty || f->priority || f->predictive || f->model || f->overdue || f->text ||
	       f->category || f->assignee || f->assigned ||
	       (f->sort && strcmp(f->sort, "id") != 0);
}

static unsigned sq_claim_filter_bits(const struct tpc_claim_filter *f)
{
	return (f->state ? SQ_F_STATE : 0) | (f->device ? SQ_F_DEVICE : 0) |
	       (f->since ? SQ_F_SINCE : 0);
}

static void sq_bind_claim_filter(sqlite3_stmt *st, const struct tpc_claim_filter *f)
{
	sq_bind_text(st, 1, f->state);
	sq_bind_text(st, 2, f->device);
	sq_bind_text(st, 3, f->since);
	sq_bind_text(st, 6, f->warranty);
	sq_bind_text(st, 7, f->priority);
	if (f->predictive)
		sqlite3_bind_int(st, 8, f->predictive == 1);
	sq_bind_text(st, 9, f->model);
	if (f->overdue)
		sqlite3_bind_int(st, 10, f->overdue == 1);
	sq_bind_text(st, 11, f->now_iso ? f->now_iso : "");
	sq_bind_text(st, 12, f->text);
	sq_bind_text(st, 13, f->category);
	sq_bind_text(st, 14, f->assignee);
	if (f->assigned)
		sqlite3_bind_int(st, 15, f->assigned == 1);
}

/* ORDER BY for a sort name: a fixed list, never text from the request. */
static const char *sq_claim_order(const char *sort)
{
	if (sort && strcmp(sort, "review_due") == 0)
		return " ORDER BY review_due IS NULL, review_due, id";
	if (sort && strcmp(sort, "-opened_at") == 0)
		return " ORDER BY opened_at DESC, id DESC";
	if (sort && strcmp(sort, "priority") == 0)
		return " ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,"
		       " review_due, id";
	return " ORDER BY id";
}

/* A page by keyset (id > after) on the index of its filters; the total
 * from the trigger-kept counts or an index range, never a table scan. */
static enum tpd_err sq_claim_list(void *ctx, const struct tpc_claim_filter *f, cJSON **out,
				  int64_t *total)
{
	struct sq_ctx *c = ctx;
	unsigned bits = sq_claim_filter_bits(f);
	cJSON *arr = cJSON_CreateArray();
	sqlite3_stmt *st;
	enum tpd_err rc = TPD_OK;
	bool extra = sq_claim_filter_extra(f);
	int step;

	*out = NULL;
	if (!arr)
		return TPD_ERR_NOMEM;
	if (extra) {
		char sql[4096];

		snprintf(sql, sizeof(sql), "SELECT " SQ_CLAIM_COLS " FROM claims" SQ_CLAIM_WHERE
			 " AND id > ?4%s LIMIT ?5", sq_claim_order(f->sort));
		if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
			sq_log(c, "prepare failed: %s", sqlite3_errmsg(c->db));
			st = NULL;
		}
	} else {
		st = sq_stmt(c, (enum sq_stmt_id)(SQ_CLAIM_PAGE_0 + bits));
	}
	if (!st) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	sq_bind_claim_filter(st, f);
	sqlite3_bind_int64(st, 4, f->after);
	sqlite3_bind_int(st, 5, f->limit ? (int)f->limit : 100);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *item;

		rc = sq_claim_from_row(c, st, &item);
		if (rc)
			break;
		cJSON_AddItemToArray(arr, item);
	}
	if (!rc && step != SQLITE_DONE)
		rc = TPD_ERR_DB;
	if (extra)
		sqlite3_finalize(st);
	else
		sqlite3_reset(st);
	if (!rc && total) {
		if (extra) {
			if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM claims" SQ_CLAIM_WHERE, -1,
					       &st, NULL) != SQLITE_OK)
				st = NULL;
		} else {
			st = sq_stmt(c, (enum sq_stmt_id)(SQ_CLAIM_COUNT_0 + bits));
		}
		if (!st)
			rc = TPD_ERR_DB;
		if (!rc) {
			sq_bind_claim_filter(st, f);
			if (sqlite3_step(st) == SQLITE_ROW)
				*total = sqlite3_column_int64(st, 0);
			else
				rc = TPD_ERR_DB;
			if (extra)
				sqlite3_finalize(st);
			else
				sqlite3_reset(st);
		}
	}
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err sq_claim_had(void *ctx, const char *dev, const char *category,
				 const char *code, bool *had)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_HAD);
	int step;

	*had = false;
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sq_bind_text(st, 2, category);
	sq_bind_text(st, 3, code);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*had = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return step == SQLITE_ROW ? TPD_OK : TPD_ERR_DB;
}

/* One result row as an object keyed by column name: integers and reals as
 * numbers, text as strings, NULL as null; columns named in bools as true/false. */
static cJSON *sq_row_object(sqlite3_stmt *st, const char *const *bools)
{
	cJSON *o = cJSON_CreateObject();
	int ncol = sqlite3_column_count(st);

	for (int i = 0; o && i < ncol; i++) {
		const char *name = sqlite3_column_name(st, i);
		int type = sqlite3_column_type(st, i);
		cJSON *v;

		if (bools && tpd_str_in_set(name, bools))
			v = cJSON_CreateBool(sqlite3_column_int(st, i));
		else if (type == SQLITE_INTEGER)
			v = cJSON_CreateNumber((double)sqlite3_column_int64(st, i));
		else if (type == SQLITE_FLOAT)
			v = cJSON_CreateNumber(sqlite3_column_double(st, i));
		else if (type == SQLITE_NULL)
			v = cJSON_CreateNull();
		else
			v = cJSON_CreateString((const char *)sqlite3_column_text(st, i));
		if (!v || !cJSON_AddItemToObject(o, name, v)) {
			cJSON_Delete(v);
			cJSON_Delete(o);
			o = NULL;
		}
	}
	return o;
}

/* Runs a cached, bound query; every row becomes an object (or, with
 * parse_col >= 0, that column parsed as JSON) in a new array. Resets st. */
static enum tpd_err sq_rows(struct sq_ctx *c, sqlite3_stmt *st, const char *const *bools,
			    int parse_col, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray();
	enum tpd_err rc = arr ? TPD_OK : TPD_ERR_NOMEM;
	int step = SQLITE_DONE;

	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *item = parse_col >= 0
			? cJSON_Parse((const char *)sqlite3_column_text(st, parse_col))
			: sq_row_object(st, bools);

		if (!item || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			rc = TPD_ERR_NOMEM;
		}
	}
	if (!rc && step != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		rc = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err sq_claim_evidence(void *ctx, int64_t claim, cJSON **out)
{
	static const char *const bools[] = { "verified", NULL };
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_EVIDENCE);

	*out = NULL;
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	return sq_rows(c, st, bools, -1, out);
}

static enum tpd_err sq_device_get(void *ctx, const char *id, cJSON **out)
{
	static const char *const bools[] = { "registered", NULL };
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_GET);
	cJSON *arr;
	enum tpd_err rc;

	*out = NULL;
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, id);
	rc = sq_rows(c, st, bools, -1, &arr);
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

static enum tpd_err sq_device_list(void *ctx, const char *after, unsigned limit, cJSON **out)
{
	static const char *const bools[] = { "registered", NULL };
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_LIST);

	*out = NULL;
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, after ? after : "");
	sqlite3_bind_int(st, 2, limit ? (int)limit : 100);
	return sq_rows(c, st, bools, -1, out);
}

static enum tpd_err sq_device_keys(void *ctx, tpc_device_key_fn fn, void *arg)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_KEYS);
	enum tpd_err rc = TPD_OK;
	int step = SQLITE_DONE;

	if (!st)
		return TPD_ERR_DB;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(arg, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1));
	if (!rc && step != SQLITE_DONE)
		rc = TPD_ERR_DB;
	sqlite3_reset(st);
	return rc;
}

/* Raw rows or rollups of one device as report-shaped objects. */
static enum tpd_err sq_telemetry_list(void *ctx, const struct tpc_telemetry_filter *f,
				      cJSON **out)
{
	struct sq_ctx *c = ctx;
	bool raw = f->resolution == TPC_RES_RAW;
	bool bounded = isfinite(f->since) || isfinite(f->until);
	double step = f->resolution == TPC_RES_DAY ? 86400 : 3600;
	enum sq_stmt_id sid = raw ? (bounded ? SQ_TELEMETRY_BY_TS : SQ_TELEMETRY_BY_SEQ)
			      : f->resolution == TPC_RES_DAY ? SQ_DAY_LIST : SQ_HOUR_LIST;
	cJSON *arr = cJSON_CreateArray();
	sqlite3_stmt *st;
	int64_t dev_id;
	enum tpd_err rc;
	int row;

	*out = NULL;
	if (!arr)
		return TPD_ERR_NOMEM;
	rc = sq_name_find(c, f->dev, &dev_id);
	if (rc == TPD_ERR_NOTFOUND) {
		*out = arr;            /* a device that never sent telemetry */
		return TPD_OK;
	}
	st = rc ? NULL : sq_stmt(c, sid);
	if (!st) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	sqlite3_bind_int64(st, 1, dev_id);
	/* an open end is a bound past every time, not NULL: "?2 IS NULL OR"
	 * would keep SQLite off the ts index (design note 6) */
	if (raw) {
		sqlite3_bind_double(st, 2, isfinite(f->since) ? f->since : -HUGE_VAL);
		sqlite3_bind_double(st, 3, isfinite(f->until) ? f->until : HUGE_VAL);
	} else {
		/* the rollup periods that overlap [since, until) */
		sqlite3_bind_double(st, 2, isfinite(f->since) ? floor(f->since / step) * step : -HUGE_VAL);
		sqlite3_bind_double(st, 3, isfinite(f->until) ? f->until : HUGE_VAL);
	}
	sqlite3_bind_int64(st, 4, (sqlite3_int64)(f->after_seq > INT64_MAX - 1 ? INT64_MAX - 1
						  : f->after_seq));
	sqlite3_bind_int(st, 5, f->limit ? (int)f->limit : 500);
	while (!rc && (row = sqlite3_step(st)) == SQLITE_ROW) {
		int l = raw ? 2 : 1;
		const char *layout = sq_name_of(c, sqlite3_column_int64(st, l));
		const unsigned char *data = sqlite3_column_blob(st, l + 1);
		size_t len = (size_t)sqlite3_column_bytes(st, l + 1);
		cJSON *item = NULL;

		if (!layout)
			rc = TPD_ERR_DB;
		else if (raw)
			rc = tpc_telem_decode(f->dev, (uint64_t)sqlite3_column_int64(st, 0),
					      sqlite3_column_double(st, 1), layout, data, len, &item);
		else
			rc = tpc_telem_agg_decode(f->dev, sqlite3_column_double(st, 0), layout, data,
						  len, &item);
		if (rc == TPD_ERR_INVAL) {
			sq_log(c, "telemetry of %s: a row does not decode", f->dev);
			rc = TPD_ERR_DB;
		}
		if (!rc && !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			rc = TPD_ERR_NOMEM;
		}
	}
	if (!rc && row != SQLITE_DONE) {
		sq_log(c, "%s", sqlite3_errmsg(c->db));
		rc = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

/* Maintenance (design note 7) ---------------------------------------- */

/* The rollup module's view of this backend (rollup.h). */
static const char *sq_rollup_name(void *ctx, int64_t id)
{
	return sq_name_of(ctx, id);
}

static enum tpd_err sq_rollup_get(void *ctx, bool day, int64_t dev_id, double start,
				  int64_t layout, unsigned char *buf, size_t cap, size_t *len)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, day ? SQ_DAY_GET : SQ_HOUR_GET);
	enum tpd_err rc = TPD_OK;
	int step;

	*len = 0;
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, dev_id);
	sqlite3_bind_double(st, 2, start);
	sqlite3_bind_int64(st, 3, layout);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		if (*len > cap)
			rc = TPD_ERR_DB;
		else if (*len)
			memcpy(buf, sqlite3_column_blob(st, 0), *len);
	} else if (step != SQLITE_DONE) {
		rc = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return rc;
}

static enum tpd_err sq_rollup_put(void *ctx, bool day, int64_t dev_id, double start,
				  int64_t layout, const unsigned char *data, size_t len)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, day ? SQ_DAY_PUT : SQ_HOUR_PUT);

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, dev_id);
	sqlite3_bind_double(st, 2, start);
	sqlite3_bind_int64(st, 3, layout);
	sqlite3_bind_blob(st, 4, data, (int)len, SQLITE_STATIC);
	return sq_done(c, st);
}

/* Rolls up one device's rows of closed hours (seq above its mark) and
 * deletes its raw rows older than cutoff that are rolled up. *rows: budget
 * left. */
static enum tpd_err sq_maintain_device(struct sq_ctx *c, int64_t dev_id, double open_hour,
				       double cutoff, unsigned *rows, struct tpc_rollup *g)
{
	sqlite3_stmt *st = sq_stmt(c, SQ_MARK_GET);
	int64_t mark = 0, last;
	enum tpd_err rc = TPD_OK;
	int step;

	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, dev_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		mark = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	last = mark;
	tpc_rollup_device(g, dev_id);
	st = sq_stmt(c, SQ_MAINT_ROWS);
	if (!st)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, dev_id);
	sqlite3_bind_int64(st, 2, mark);
	sqlite3_bind_int(st, 3, (int)*rows);
	/* the row statement stays open while the groups read and write the
	 * rollup tables: SQLite allows that on one connection */
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		double ts = sqlite3_column_double(st, 1);
		int64_t layout = sqlite3_column_int64(st, 2);
		const unsigned char *data = sqlite3_column_blob(st, 3);
		size_t len = (size_t)sqlite3_column_bytes(st, 3);

		if (ts >= open_hour)
			break;            /* its hour is still open: next time */
		(*rows)--;
		rc = tpc_rollup_row(g, ts, layout, data, len);
		last = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (!rc)
		rc = tpc_rollup_flush(g);
	if (tpc_rollup_undecodable(g))
		sq_log(c, "%u telemetry rows of device id %lld do not decode; left out of their rollups",
		       tpc_rollup_undecodable(g), (long long)dev_id);
	if (!rc && last != mark) {
		st = sq_stmt(c, SQ_MARK_PUT);
		if (!st)
			return TPD_ERR_DB;
		sqlite3_bind_int64(st, 1, dev_id);
		sqlite3_bind_int64(st, 2, last);
		rc = sq_done(c, st);
	}
	if (!rc && isfinite(cutoff)) {
		st = sq_stmt(c, SQ_RETAIN);
		if (!st)
			return TPD_ERR_DB;
		sqlite3_bind_int64(st, 1, dev_id);
		sqlite3_bind_double(st, 2, cutoff);
		sqlite3_bind_int64(st, 3, last);
		rc = sq_done(c, st);
	}
	return rc;
}

#define SQ_MAINT_ROWS_MAX 5000      /* raw rows rolled up per step */
#define SQ_MAINT_DEVICES_MAX 200    /* devices visited per step */

static enum tpd_err sq_maintain(void *ctx, double now, double raw_keep_s, bool *more)
{
	struct sq_ctx *c = ctx;
	struct tpc_rollup_io io = { c, sq_rollup_name, sq_rollup_get, sq_rollup_put };
	struct tpc_rollup *g = tpc_rollup_new(&io);
	unsigned rows = SQ_MAINT_ROWS_MAX;
	double open_hour = floor(now / 3600) * 3600;
	double cutoff = raw_keep_s > 0 ? now - raw_keep_s : NAN;
	enum tpd_err rc = TPD_OK;

	*more = true;
	if (!g)
		return TPD_ERR_NOMEM;
	for (int d = 0; !rc && d < SQ_MAINT_DEVICES_MAX && rows > 0; d++) {
		sqlite3_stmt *st = sq_stmt(c, SQ_MAINT_NEXT_DEV);
		int step;
		int64_t dev_id = 0;

		if (!st) {
			rc = TPD_ERR_DB;
			break;
		}
		sqlite3_bind_int64(st, 1, c->maint_cursor);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			dev_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (step == SQLITE_DONE) {
			c->maint_cursor = 0;   /* a whole pass is done */
			*more = false;
			break;
		}
		if (step != SQLITE_ROW) {
			rc = TPD_ERR_DB;
			break;
		}
		rc = sq_maintain_device(c, dev_id, open_hour, cutoff, &rows, g);
		/* a device with more than the budget continues in the next step */
		if (!rc && rows > 0)
			c->maint_cursor = dev_id;
	}
	tpc_rollup_free(g);
	return rc;
}

/* Migration 5's second half: the JSON telemetry rows of an older database
 * into compact rows, 2000 per transaction. */
static enum tpd_err sq_convert_telemetry(struct sq_ctx *c, char *err, size_t errlen)
{
	unsigned long moved = 0;
	int64_t after = 0;

	for (;;) {
		sqlite3_stmt *st, *del;
		int n = 0, step;
		enum tpd_err rc = sq_exec(c, "BEGIN IMMEDIATE");

		st = rc ? NULL : sq_stmt(c, SQ_LEGACY_TELEMETRY);
		if (!st)
			goto fail;
		sqlite3_bind_int64(st, 1, after);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			struct tpc_report_row r = {
				.dev = (const char *)sqlite3_column_text(st, 1),
				.seq = (uint64_t)sqlite3_column_int64(st, 2), .kind = "telemetry",
				.ts = sqlite3_column_double(st, 3),
				.body = (const char *)sqlite3_column_text(st, 4),
			};
			after = sqlite3_column_int64(st, 0);
			n++;
			rc = sq_insert_telemetry(c, &r);
			if (rc == TPD_ERR_INVAL)
				continue;      /* no compact form: it stays as text */
			if (rc == TPD_ERR_DUPLICATE)
				rc = TPD_OK;   /* already there: drop the copy */
			if (rc)
				break;
			del = sq_stmt(c, SQ_LEGACY_DELETE);
			if (!del)
				break;
			sqlite3_bind_int64(del, 1, sqlite3_column_int64(st, 0));
			if (sq_done(c, del))
				break;
			moved++;
		}
		sqlite3_reset(st);
		if (step != SQLITE_DONE || sq_exec(c, "COMMIT"))
			goto fail;
		if (n == 0)
			break;
	}
	if (moved)
		fprintf(stderr, "tpcollect: sqlite: %lu telemetry reports converted to compact rows\n",
			moved);
	return TPD_OK;
fail:
	snprintf(err, errlen, "converting telemetry to compact rows failed: %s", c->last_error);
	sq_exec(c, "ROLLBACK");
	return TPD_ERR_DB;
}

static enum tpd_err sq_seqs_stored(void *ctx, const char *dev, uint64_t lo, uint64_t hi,
				   uint64_t *seqs, size_t max, size_t *n)
{
	struct sq_ctx *c = ctx;
	int64_t dev_id = -1;   /* no telemetry yet: none of it matches */
	enum tpd_err rc = sq_name_find(c, dev, &dev_id);
	sqlite3_stmt *st;
	int step;

	*n = 0;
	if (rc && rc != TPD_ERR_NOTFOUND)
		return rc;
	st = sq_stmt(c, SQ_SEQS_STORED);
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sqlite3_bind_int64(st, 2, (int64_t)lo);
	sqlite3_bind_int64(st, 3, (int64_t)hi);
	sqlite3_bind_int64(st, 4, dev_id);
	sqlite3_bind_int64(st, 5, (int64_t)max);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		seqs[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? TPD_OK : TPD_ERR_DB;
}

static enum tpd_err sq_count_reports(void *ctx, const char *dev, const char *kind, int64_t *n)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, dev && kind ? SQ_COUNT_REPORTS_DEV_KIND
				   : dev ? SQ_COUNT_REPORTS_DEV
				   : kind ? SQ_COUNT_REPORTS_KIND : SQ_COUNT_REPORTS);
	int rc;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sq_bind_text(st, 2, kind);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? TPD_OK : TPD_ERR_DB;
}

static enum tpd_err sq_claim_by_token(void *ctx, const char *token, int64_t *id)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_BY_TOKEN);
	int rc;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, token);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? TPD_OK : rc == SQLITE_DONE ? TPD_ERR_NOTFOUND : TPD_ERR_DB;
}

/* Telemetry lives in compact rows, not in reports: its newest rows decoded
 * into report bodies, with id 0 (no report to cite as evidence). */
static enum tpd_err sq_telemetry_recent(struct sq_ctx *c, const char *dev, double since,
					unsigned limit, cJSON **out)
{
	sqlite3_stmt *st;
	cJSON *arr = cJSON_CreateArray();
	int64_t dev_id;
	enum tpd_err rc;
	int row;

	if (!arr)
		return TPD_ERR_NOMEM;
	rc = sq_name_find(c, dev, &dev_id);
	if (rc == TPD_ERR_NOTFOUND) {
		*out = arr;
		return TPD_OK;
	}
	st = rc ? NULL : sq_stmt(c, SQ_TELEMETRY_LAST);
	if (!st) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	sqlite3_bind_int64(st, 1, dev_id);
	sqlite3_bind_double(st, 2, since);
	sqlite3_bind_int(st, 3, (int)limit);
	while (!rc && (row = sqlite3_step(st)) == SQLITE_ROW) {
		const char *layout = sq_name_of(c, sqlite3_column_int64(st, 2));

		rc = !layout ? TPD_ERR_DB
		     : tpc_telem_item_append(arr, dev, (uint64_t)sqlite3_column_int64(st, 0),
					     sqlite3_column_double(st, 1), layout,
					     sqlite3_column_blob(st, 3),
					     (size_t)sqlite3_column_bytes(st, 3));
	}
	sqlite3_reset(st);
	if (rc) {
		cJSON_Delete(arr);
		return rc == TPD_ERR_INVAL ? TPD_ERR_DB : rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err sq_reports_recent(void *ctx, const char *dev, const char *kind,
				      double since, unsigned limit, cJSON **out)
{
	static const char *const bools[] = { "verified", NULL };
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st;

	*out = NULL;
	if (strcmp(kind, "telemetry") == 0)
		return sq_telemetry_recent(c, dev, since, limit, out);
	st = sq_stmt(c, SQ_REPORTS_RECENT);
	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sq_bind_text(st, 2, kind);
	sqlite3_bind_double(st, 3, since);
	sqlite3_bind_int(st, 4, (int)limit);
	return sq_rows(c, st, bools, -1, out);
}

static void sq_last_error(void *ctx, char *buf, size_t len)
{
	const struct sq_ctx *c = ctx;

	snprintf(buf, len, "%s", c->last_error);
}

const struct tpc_store_ops tpc_store_sqlite = {
	.scheme = "sqlite:",
	.open = sq_open,
	.open_reader = sq_open_reader,
	.close = sq_close,
	.exec = sq_exec,
	.last_error = sq_last_error,
	.insert_report = sq_insert_report,
	.signed_before = sq_signed_before,
	.device_seen = sq_device_seen,
	.device_upsert = sq_device_upsert,
	.device_get = sq_device_get,
	.device_list = sq_device_list,
	.device_keys = sq_device_keys,
	.device_profile = sq_device_profile,
	.claim_find_open = sq_claim_find_open,
	.claim_insert = sq_claim_insert,
	.claim_add_fault = sq_claim_add_fault,
	.claim_add_evidence = sq_claim_add_evidence,
	.claim_add_timeline = sq_claim_add_timeline,
	.claim_update_text = sq_claim_update_text,
	.claim_set_work = sq_claim_set_work,
	.claim_set_state = sq_claim_set_state,
	.claim_set_warranty = sq_claim_set_warranty,
	.claim_set_feedback = sq_claim_set_feedback,
	.claim_get = sq_claim_get,
	.claim_list = sq_claim_list,
	.claim_had = sq_claim_had,
	.forecast_put = sq_forecast_put,
	.forecast_get = sq_forecast_get,
	.maintain = sq_maintain,
	.claim_evidence = sq_claim_evidence,
	.telemetry_list = sq_telemetry_list,
	.count_reports = sq_count_reports,
	.seqs_stored = sq_seqs_stored,
	.outbox_add = sq_outbox_add,
	.outbox_next = sq_outbox_next,
	.outbox_done = sq_outbox_done,
	.event_add = sq_event_add,
	.event_next = sq_event_next,
	.event_pending = sq_event_pending,
	.webhook_cursor = sq_webhook_cursor,
	.webhook_cursor_set = sq_webhook_cursor_set,
	.counts = sq_counts,
	.claim_by_token = sq_claim_by_token,
	.reports_recent = sq_reports_recent,
};
