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
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

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
};

enum sq_stmt_id {
	SQ_INSERT_REPORT,
	SQ_DEVICE_SEEN,
	SQ_DEVICE_REGISTER,
	SQ_DEVICE_PURCHASE,
	SQ_CLAIM_FIND_OPEN,
	SQ_CLAIM_INSERT,
	SQ_CLAIM_ADD_FAULT,
	SQ_CLAIM_ADD_EVIDENCE,
	SQ_CLAIM_ADD_TIMELINE,
	SQ_CLAIM_UPDATE_TEXT,
	SQ_STMT_COUNT
};

static const char *const sq_sql[SQ_STMT_COUNT] = {
	[SQ_INSERT_REPORT] =
		"INSERT INTO reports (dev, seq, kind, ts, body, jws, verified) VALUES (?,?,?,?,?,?,?)"
		" ON CONFLICT (dev, seq) DO NOTHING",
	[SQ_DEVICE_SEEN] =
		"INSERT INTO devices (id, model, fw, last_seen, state) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (id) DO UPDATE SET model = coalesce(devices.model, ?2), fw = ?3,"
		" last_seen = max(coalesce(devices.last_seen, 0), ?4),"
		" state = coalesce(?5, devices.state)",
	[SQ_DEVICE_REGISTER] =
		"INSERT INTO devices (id, model, purchase_date, owner_contact, channel)"
		" VALUES (?1, nullif(?2, ''), nullif(?3, ''), nullif(?4, ''), nullif(?5, ''))"
		" ON CONFLICT (id) DO UPDATE SET model = coalesce(nullif(?2, ''), devices.model),"
		" purchase_date = nullif(?3, ''), owner_contact = nullif(?4, ''),"
		" channel = nullif(?5, '')",
	[SQ_DEVICE_PURCHASE] = "SELECT purchase_date FROM devices WHERE id = ?",
	[SQ_CLAIM_FIND_OPEN] =
		"SELECT id FROM claims WHERE device = ? AND category = ?"
		" AND state NOT IN ('resolved', 'closed', 'rejected')",
	[SQ_CLAIM_INSERT] =
		"INSERT INTO claims (device, model, category, predictive, detected_ts, opened_at,"
		" purchase_date, title, description, selfcheck_verdict, suggested_resolution)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?)",
	[SQ_CLAIM_ADD_FAULT] =
		"INSERT INTO claim_faults (claim_id, code, first_ts) VALUES (?,?,?)"
		" ON CONFLICT DO NOTHING",
	[SQ_CLAIM_ADD_EVIDENCE] =
		"INSERT INTO claim_evidence (claim_id, report_id, kind, seq, verified, code, state)"
		" VALUES (?,?,?,?,?,?,?)",
	[SQ_CLAIM_ADD_TIMELINE] =
		"INSERT INTO claim_timeline (claim_id, at, event, by, note) VALUES (?,?,?,?,?)",
	[SQ_CLAIM_UPDATE_TEXT] =
		"UPDATE claims SET description = ?, suggested_resolution = ? WHERE id = ?",
};

struct sq_ctx {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_STMT_COUNT];
};

/* The cached statement, reset and unbound, or NULL. */
static sqlite3_stmt *sq_stmt(struct sq_ctx *c, enum sq_stmt_id id)
{
	sqlite3_stmt *st = c->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(c->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &c->stmt[id], NULL) != SQLITE_OK) {
			fprintf(stderr, "tpcollect: sqlite: prepare failed: %s\n", sqlite3_errmsg(c->db));
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
		fprintf(stderr, "tpcollect: sqlite: %s\n", sqlite3_errmsg(c->db));
		sqlite3_reset(st);
		return TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return TPD_OK;
}

static enum tpd_err sq_exec(void *ctx, const char *sql)
{
	struct sq_ctx *c = ctx;
	char *msg = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "tpcollect: sqlite: %s: %s\n", sql, msg ? msg : "?");
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
	sqlite3_close(c->db);
	free(c);
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
	if (rc) {
		sq_close(c);
		return rc;
	}
	*out = c;
	return TPD_OK;
}

static enum tpd_err sq_insert_report(void *ctx, const struct tpc_report_row *r, int64_t *id)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_INSERT_REPORT);
	enum tpd_err rc;

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, r->dev);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->seq);
	sq_bind_text(st, 3, r->kind);
	sq_bind_real(st, 4, r->ts);
	sq_bind_text(st, 5, r->body);
	sq_bind_text(st, 6, r->jws);
	sqlite3_bind_int(st, 7, r->verified);
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

static enum tpd_err sq_device_register(void *ctx, const char *id, const char *model,
				       const char *purchase_date, const char *owner_contact,
				       const char *channel)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_REGISTER);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, model ? model : "");
	sq_bind_text(st, 3, purchase_date ? purchase_date : "");
	sq_bind_text(st, 4, owner_contact ? owner_contact : "");
	sq_bind_text(st, 5, channel ? channel : "");
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
		fprintf(stderr, "tpcollect: sqlite: %s\n", sqlite3_errmsg(c->db));
		out = TPD_ERR_DB;
	}
	sqlite3_reset(st);
	return out;
}

static enum tpd_err sq_device_purchase_date(void *ctx, const char *id, char *buf, size_t len)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_DEVICE_PURCHASE);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, id);
	return sq_one_text(c, st, buf, len);
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
	rc = sq_done(c, st);
	if (!rc)
		*id = sqlite3_last_insert_rowid(c->db);
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
					 const char *suggested_resolution)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st = sq_stmt(c, SQ_CLAIM_UPDATE_TEXT);

	if (!st)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, description);
	sq_bind_text(st, 2, suggested_resolution);
	sqlite3_bind_int64(st, 3, claim);
	return sq_done(c, st);
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
static enum tpd_err sq_claim_children(struct sq_ctx *c, cJSON *o, int64_t id, const char *sql,
				      const char *key)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);
	sqlite3_stmt *st;
	enum tpd_err out = TPD_OK;
	int rc;

	if (!arr || sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
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
	sqlite3_finalize(st);
	return out;
}

#define SQ_CLAIM_COLS \
	"id, state, device, model, category, predictive, detected_ts, opened_at, purchase_date," \
	" warranty_status, warranty_until, warranty_policy, title, description," \
	" selfcheck_verdict, suggested_resolution, review_due"

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
	rc = sq_claim_children(c, o, id, "SELECT code FROM claim_faults WHERE claim_id = ?"
			       " ORDER BY first_ts, code", "fault_codes");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!cJSON_AddBoolToObject(o, "predictive", sqlite3_column_int(st, 5)) ||
	    !sq_json_real(o, "detected_ts", st, 6) || !sq_json_text(o, "opened_at", st, 7) ||
	    !sq_json_text(o, "purchase_date", st, 8))
		goto fail;
	w = cJSON_AddObjectToObject(o, "warranty");
	if (!w || !sq_json_text(w, "status", st, 9) || !sq_json_text(w, "until", st, 10) ||
	    !sq_json_text(w, "policy", st, 11) || !sq_json_text(o, "title", st, 12) ||
	    !sq_json_text(o, "description", st, 13))
		goto fail;
	rc = sq_claim_children(c, o, id, "SELECT e.kind, e.seq, e.verified, e.code, e.state,"
			       " r.ts FROM claim_evidence e JOIN reports r ON r.id = e.report_id"
			       " WHERE e.claim_id = ? ORDER BY e.seq", "evidence");
	if (rc)
		goto fail;
	rc = TPD_ERR_NOMEM;
	if (!sq_json_text(o, "selfcheck_verdict", st, 14) ||
	    !sq_json_text(o, "suggested_resolution", st, 15) || !sq_json_text(o, "review_due", st, 16))
		goto fail;
	rc = sq_claim_children(c, o, id, "SELECT at, event, by, note FROM claim_timeline"
			       " WHERE claim_id = ? ORDER BY id", "timeline");
	if (rc)
		goto fail;
	*out = o;
	return TPD_OK;
fail:
	cJSON_Delete(o);
	return rc;
}

static enum tpd_err sq_claim_get(void *ctx, int64_t claim, cJSON **out)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st;
	enum tpd_err rc = TPD_ERR_NOTFOUND;
	int step;

	*out = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT " SQ_CLAIM_COLS " FROM claims WHERE id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return TPD_ERR_DB;
	sqlite3_bind_int64(st, 1, claim);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = sq_claim_from_row(c, st, out);
	else if (step != SQLITE_DONE)
		rc = TPD_ERR_DB;
	sqlite3_finalize(st);
	return rc;
}

static enum tpd_err sq_claim_list(void *ctx, const struct tpc_claim_filter *f, cJSON **out)
{
	struct sq_ctx *c = ctx;
	cJSON *arr = cJSON_CreateArray();
	sqlite3_stmt *st;
	enum tpd_err rc = TPD_OK;
	int step;

	*out = NULL;
	if (!arr)
		return TPD_ERR_NOMEM;
	if (sqlite3_prepare_v2(c->db, "SELECT " SQ_CLAIM_COLS " FROM claims"
			       " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR device = ?2)"
			       " AND (?3 IS NULL OR opened_at >= ?3) ORDER BY id LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK) {
		cJSON_Delete(arr);
		return TPD_ERR_DB;
	}
	sq_bind_text(st, 1, f->state);
	sq_bind_text(st, 2, f->device);
	sq_bind_text(st, 3, f->since);
	sqlite3_bind_int(st, 4, f->limit ? (int)f->limit : 100);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *item;

		rc = sq_claim_from_row(c, st, &item);
		if (rc)
			break;
		cJSON_AddItemToArray(arr, item);
	}
	if (!rc && step != SQLITE_DONE)
		rc = TPD_ERR_DB;
	sqlite3_finalize(st);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return TPD_OK;
}

static enum tpd_err sq_count_reports(void *ctx, const char *dev, const char *kind, int64_t *n)
{
	struct sq_ctx *c = ctx;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM reports WHERE (?1 IS NULL OR dev = ?1)"
			       " AND (?2 IS NULL OR kind = ?2)", -1, &st, NULL) != SQLITE_OK)
		return TPD_ERR_DB;
	sq_bind_text(st, 1, dev);
	sq_bind_text(st, 2, kind);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? TPD_OK : TPD_ERR_DB;
}

const struct tpc_store_ops tpc_store_sqlite = {
	.scheme = "sqlite:",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.insert_report = sq_insert_report,
	.device_seen = sq_device_seen,
	.device_register = sq_device_register,
	.device_purchase_date = sq_device_purchase_date,
	.claim_find_open = sq_claim_find_open,
	.claim_insert = sq_claim_insert,
	.claim_add_fault = sq_claim_add_fault,
	.claim_add_evidence = sq_claim_add_evidence,
	.claim_add_timeline = sq_claim_add_timeline,
	.claim_update_text = sq_claim_update_text,
	.claim_get = sq_claim_get,
	.claim_list = sq_claim_list,
	.count_reports = sq_count_reports,
};
