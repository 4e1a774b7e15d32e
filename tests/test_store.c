/* test_store.c - the storage backends on a real database: migrations,
 * idempotent reports, the one-open-claim index, claim JSON with every SPEC
 * §6 field. The SQLite group runs on a file; the PostgreSQL group runs the
 * same tests (and its own) on TPC_TEST_PG_URL, with a fresh schema each. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "testutil.h"
#include "store.h"
#include "store_pg.h"
#include "store_sqlite.h"
#include "tpd/jsonfile.h"

static char dir[64], url[512];
static bool pg_mode;      /* the PostgreSQL group is running */

static int setup(void **state)
{
	(void)state;
	pg_mode = false;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(dir);
	return 0;
}

/* Runs SQL on a connection of the test's own; false with the message. */
static bool pg_side_exec(const char *sql)
{
	PGconn *db = PQconnectdb(url);
	PGresult *res;
	bool ok;

	if (PQstatus(db) != CONNECTION_OK) {
		print_error("%s: %s", url, PQerrorMessage(db));
		PQfinish(db);
		return false;
	}
	res = PQexec(db, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		print_error("%s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
	return ok;
}

static int pg_group_setup(void **state)
{
	const char *u = getenv("TPC_TEST_PG_URL");

	(void)state;
	pg_mode = true;
	snprintf(url, sizeof(url), "%s", u ? u : "");
	return 0;
}

/* Every PostgreSQL test starts from an empty schema. */
static int pg_setup(void **state)
{
	(void)state;
	return pg_side_exec("SET client_min_messages = warning;"
			    /* a failed test's connections (an open transaction would
			     * hold the drop up for ever) */
			    " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
			    "  WHERE datname = current_database() AND pid <> pg_backend_pid();"
			    " DROP SCHEMA public CASCADE; CREATE SCHEMA public;") ? 0 : -1;
}

static int pg_teardown(void **state)
{
	(void)state;
	return 0;
}

/* One integer from a connection that is not the store's (what others see). */
static long long side_count(const char *sql)
{
	long long n = -1;

	if (pg_mode) {
		PGconn *db = PQconnectdb(url);
		PGresult *res = PQexec(db, sql);

		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		else
			print_error("%s: %s", sql, PQerrorMessage(db));
		PQclear(res);
		PQfinish(db);
	} else {
		char path[128];
		sqlite3 *db;
		sqlite3_stmt *st;

		snprintf(path, sizeof(path), "%s/t.db", dir);
		if (sqlite3_open(path, &db) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				n = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
	}
	return n;
}

static struct tpc_store *open_store(void)
{
	struct tpc_store *s;
	char err[256];

	if (tpc_store_open(url, &s, err, sizeof(err)))
		fail_msg("%s", err);
	return s;
}

static void test_migrations_and_reopen(void **state)
{
	struct tpc_store *s;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[128], err[256];

	(void)state;
	s = open_store();
	tpc_store_close(s);
	s = open_store();                      /* second open: nothing to migrate */
	tpc_store_close(s);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 8);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* a database from a newer tpcollect is refused, not downgraded */
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(tpc_store_open(url, &s, err, sizeof(err)), TPD_ERR_DB);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA user_version = 8", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(tpc_store_open("mysql://x", &s, err, sizeof(err)), TPD_ERR_UNSUPPORTED);
	assert_int_equal(tpc_store_open("sqlite:", &s, err, sizeof(err)), TPD_ERR_INVAL);
	assert_int_equal(tpc_store_open("sqlite:/nonexistent/dir/x.db", &s, err, sizeof(err)), TPD_ERR_DB);
}

static void test_reports_are_idempotent(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_report_row r = { .dev = "TPX", .seq = 7, .kind = "telemetry", .ts = 1.5,
				    .body = "{}" };
	int64_t id1, id2, n;

	(void)state;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id1), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id2), TPD_ERR_DUPLICATE);
	r.seq = 8;
	assert_int_equal(tpc_store_insert_report(s, &r, &id2), TPD_OK);
	assert_true(id2 > id1);
	r.dev = "TPY";                          /* same seq, other device: a new report */
	assert_int_equal(tpc_store_insert_report(s, &r, &id2), TPD_OK);
	/* values with SQL metacharacters are data */
	r.dev = "x'); DROP TABLE reports; --";
	assert_int_equal(tpc_store_insert_report(s, &r, &id2), TPD_OK);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_count_reports(s, "TPX", NULL, &n), TPD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(tpc_store_count_reports(s, NULL, "telemetry", &n), TPD_OK);
	assert_int_equal(n, 4);
	/* a rolled-back transaction leaves nothing */
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	r.seq = 99;
	assert_int_equal(tpc_store_insert_report(s, &r, &id2), TPD_OK);
	tpc_store_rollback(s);
	assert_int_equal(tpc_store_count_reports(s, NULL, NULL, &n), TPD_OK);
	assert_int_equal(n, 4);
	tpc_store_close(s);
}

static void test_claim_json_has_every_spec_field(void **state)
{
	static const char *const fields[] = {
		"id", "state", "device", "model", "category", "fault_codes", "predictive",
		"detected_ts", "opened_at", "purchase_date", "warranty", "title", "description",
		"evidence", "selfcheck_verdict", "suggested_resolution", "review_due", "timeline", NULL
	};
	struct tpc_store *s = open_store();
	struct tpc_claim_new c = { .device = "TPC", .model = "m", .category = "thermal",
				   .detected_ts = 1764000071.5, .opened_at = "2026-11-25T10:02:11Z",
				   .purchase_date = "2025-06-01", .title = "t", .description = "d",
				   .suggested_resolution = "repair" };
	struct tpc_report_row r = { .dev = "TPC", .seq = 813, .kind = "fault", .ts = 1.0,
				    .body = "{}", .jws = "a.b.c", .verified = true };
	int64_t id, id2, rid;
	bool added;
	cJSON *o, *list;
	char cid[16];
	int64_t total = -1;
	struct tpc_claim_filter f = { 0 };

	(void)state;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &rid), TPD_OK);
	assert_int_equal(tpc_store_claim_insert(s, &c, &id), TPD_OK);
	assert_int_equal(tpc_store_claim_add_fault(s, id, "TEMP_RISING", 1.0, &added), TPD_OK);
	assert_true(added);
	assert_int_equal(tpc_store_claim_add_fault(s, id, "TEMP_RISING", 2.0, &added), TPD_OK);
	assert_false(added);
	assert_int_equal(tpc_store_claim_add_evidence(s, id, rid, "fault", 813, true, "TEMP_RISING",
						      "raised"), TPD_OK);
	assert_int_equal(tpc_store_claim_add_timeline(s, id, "2026-11-25T10:02:11Z", "opened",
						      "system", NULL), TPD_OK);
	/* a second open claim of the same device and class violates the index */
	assert_int_equal(tpc_store_claim_insert(s, &c, &id2), TPD_ERR_DUPLICATE);
	assert_int_equal(tpc_store_claim_find_open(s, "TPC", "thermal", &id2), TPD_OK);
	assert_int_equal(id2, id);
	assert_int_equal(tpc_store_claim_find_open(s, "TPC", "power", &id2), TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_store_commit(s), TPD_OK);

	assert_int_equal(tpc_store_claim_get(s, id, &o), TPD_OK);
	for (int i = 0; fields[i]; i++)
		if (!cJSON_HasObjectItem(o, fields[i]))
			fail_msg("claim JSON lacks %s", fields[i]);
	tpc_claim_id_format(id, cid, sizeof(cid));
	assert_string_equal(cJSON_GetObjectItem(o, "id")->valuestring, cid);
	assert_true(strncmp(cid, "C-00000", 7) == 0);
	assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "open");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "fault_codes"), 0)->valuestring,
			    "TEMP_RISING");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "warranty"), "status")->valuestring,
			    "unknown");
	assert_true(cJSON_HasObjectItem(cJSON_GetObjectItem(o, "warranty"), "until"));
	assert_true(cJSON_GetObjectItem(o, "detected_ts")->valuedouble == 1764000071.5);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "review_due")));
	assert_string_equal(cJSON_GetObjectItem(o, "priority")->valuestring, "normal");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "feedback")));
	cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "evidence"), 0);
	assert_string_equal(cJSON_GetObjectItem(ev, "kind")->valuestring, "fault");
	assert_true(cJSON_GetObjectItem(ev, "seq")->valuedouble == 813);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ev, "verified")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "timeline"), 0),
						"by")->valuestring, "system");
	cJSON_Delete(o);
	assert_int_equal(tpc_store_claim_get(s, id + 100, &o), TPD_ERR_NOTFOUND);

	f.device = "TPC";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(list), 1);
	assert_int_equal(total, 1);
	cJSON_Delete(list);
	f.after = id;              /* the next page is empty, the total is not */
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(list), 0);
	assert_int_equal(total, 1);
	cJSON_Delete(list);
	f.after = 0;
	f.state = "closed";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, NULL), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	f.state = NULL;
	f.since = "2026-11-26";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, NULL), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	tpc_store_close(s);
}

static void test_device_upsert_reports_what_changed(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_device_row d = { .id = "TPD1", .model = "m", .purchase_date = "2025-06-01",
				    .public_key = "AAAA", .owner_contact = "x'); DROP TABLE devices;--" };
	enum tpc_upsert res;
	cJSON *o, *list;

	(void)state;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_device_upsert(s, &d, &res), TPD_OK);
	assert_int_equal(res, TPC_UPSERT_CREATED);
	assert_int_equal(tpc_store_device_upsert(s, &d, &res), TPD_OK);
	assert_int_equal(res, TPC_UPSERT_UNCHANGED);
	d.purchase_date = "";
	assert_int_equal(tpc_store_device_upsert(s, &d, &res), TPD_OK);
	assert_int_equal(res, TPC_UPSERT_UPDATED);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_device_get(s, "TPD1", &o), TPD_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "purchase_date")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "registered")));
	/* SQL metacharacters are data, stored as given */
	assert_string_equal(cJSON_GetObjectItem(o, "owner_contact")->valuestring,
			    "x'); DROP TABLE devices;--");
	cJSON_Delete(o);
	assert_int_equal(tpc_store_device_get(s, "nope", &o), TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_store_device_list(s, NULL, 10, &list), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
	assert_int_equal(tpc_store_device_list(s, "TPD1", 10, &list), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	tpc_store_close(s);
}

static void test_outbox_in_order_until_done(void **state)
{
	struct tpc_store *s = open_store();
	char *topic, *payload;
	int64_t id1, id2;

	(void)state;
	assert_int_equal(tpc_store_outbox_next(s, 0, &id1, &topic, &payload), TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_outbox_add(s, "tp/v1/A/cmd", "{\"n\":1}"), TPD_OK);
	assert_int_equal(tpc_store_outbox_add(s, "tp/v1/A/cmd", "{\"n\":2}"), TPD_OK);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_outbox_next(s, 0, &id1, &topic, &payload), TPD_OK);
	assert_string_equal(payload, "{\"n\":1}");
	free(topic);
	free(payload);
	assert_int_equal(tpc_store_outbox_next(s, id1, &id2, &topic, &payload), TPD_OK);
	assert_string_equal(payload, "{\"n\":2}");
	free(topic);
	free(payload);
	/* not acknowledged yet: a restart (after = 0) sends the first again */
	assert_int_equal(tpc_store_outbox_done(s, id2), TPD_OK);
	assert_int_equal(tpc_store_outbox_next(s, 0, &id2, &topic, &payload), TPD_OK);
	assert_int_equal(id2, id1);
	free(topic);
	free(payload);
	assert_int_equal(tpc_store_outbox_done(s, id1), TPD_OK);
	assert_int_equal(tpc_store_outbox_next(s, 0, &id2, &topic, &payload), TPD_ERR_NOTFOUND);
	tpc_store_close(s);
}

static void test_claim_ids(void **state)
{
	int64_t id;
	char buf[16];

	(void)state;
	tpc_claim_id_format(123, buf, sizeof(buf));
	assert_string_equal(buf, "C-000123");
	assert_true(tpc_claim_id_parse("C-000123", &id) && id == 123);
	assert_true(tpc_claim_id_parse("C-1234567", &id) && id == 1234567);
	assert_false(tpc_claim_id_parse("C-", &id));
	assert_false(tpc_claim_id_parse("C-12x", &id));
	assert_false(tpc_claim_id_parse("C--1", &id));
	assert_false(tpc_claim_id_parse("C-0", &id));
	assert_false(tpc_claim_id_parse("123", &id));
	assert_false(tpc_claim_id_parse("C-99999999999999999999999", &id));
}

/* Group commit: reports in a batch are savepoints; one rolled back goes
 * alone, the rest become durable at batch_commit, and self-locking calls from
 * the batch's thread do not deadlock. Another connection sees nothing of the
 * batch before its commit. */
static void test_batch_group_commit(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_report_row r = { .dev = "TPB", .seq = 1, .kind = "telemetry", .ts = 1,
				    .body = "{}" };
	int64_t id, n;

	(void)state;
	assert_int_equal(tpc_store_batch_begin(s), TPD_OK);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		r.seq = seq;
		assert_int_equal(tpc_store_begin(s), TPD_OK);
		assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
		if (seq == 2)
			tpc_store_rollback(s);          /* this report alone is undone */
		else
			assert_int_equal(tpc_store_commit(s), TPD_OK);
	}
	r.seq = 1;                                  /* a duplicate inside the batch */
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_ERR_DUPLICATE);
	tpc_store_rollback(s);
	assert_int_equal(tpc_store_count_reports(s, "TPB", NULL, &n), TPD_OK);  /* self-locking */
	assert_int_equal(n, 2);
	/* (telemetry of "{}" has no compact form: it is in reports) */
	assert_int_equal(side_count("SELECT count(*) FROM reports WHERE dev = 'TPB'"), 0);
	assert_int_equal(tpc_store_batch_commit(s), TPD_OK);
	assert_int_equal(side_count("SELECT count(*) FROM reports WHERE dev = 'TPB'"), 2);
	/* after the batch, begin/commit are transactions of their own again */
	r.seq = 9;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
	tpc_store_rollback(s);
	assert_int_equal(tpc_store_count_reports(s, "TPB", NULL, &n), TPD_OK);
	assert_int_equal(n, 2);
	tpc_store_close(s);
}


/* Tables that grow with the fleet or its history: a plan may search them by
 * an index, never scan them. */
static const char *const big_tables[] = {
	"reports", "claims", "claim_faults", "claim_evidence", "claim_timeline", "devices",
	"outbox", "telemetry", "telemetry_hour", "telemetry_day", "names", "rollup_mark",
	"c", "e", "f", "r", NULL
};

/* Statements that read a whole table on purpose. */
static const char *const scan_allowed[] = {
	"device_keys",        /* start-up: every registered key into the registry */
	"count_reports",      /* diagnostics for tests and tpclaim, not the API */
	"count_reports_kind",
	"legacy_telemetry",   /* once, converting an older database's JSON rows */
	NULL
};

/* Every statement the backend prepares, through EXPLAIN QUERY PLAN: no
 * SCAN of a large table (issue 15: index-driven queries only). */
static void test_every_plan_uses_an_index(void **state)
{
	struct tpc_store *s = open_store();
	const char *name, *sql;
	unsigned n = tpc_store_sqlite_statements(&name, &sql, 0), bad = 0, seen = 0;
	char path[128];
	sqlite3 *db;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_true(n > 40);
	for (unsigned i = 0; i < n; i++) {
		char *eqp;
		sqlite3_stmt *st;
		bool allowed;

		tpc_store_sqlite_statements(&name, &sql, i);
		assert_non_null(name);
		assert_non_null(sql);
		allowed = tpd_str_in_set(name, scan_allowed);
		eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
		if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", name, sqlite3_errmsg(db));
		sqlite3_free(eqp);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			char table[64] = "";

			seen++;
			if (sscanf(detail, "SCAN %63s", table) != 1)
				continue;
			if (tpd_str_in_set(table, big_tables) && !allowed) {
				print_error("%s: %s\n  in: %s\n", name, detail, sql);
				bad++;
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	assert_true(seen > 40);
	assert_int_equal(bad, 0);
	tpc_store_close(s);
}

static const char tel_fmt[] =
	"{\"v\":1,\"dev\":\"%s\",\"model\":\"m\",\"fw\":\"1.0\",\"seq\":%llu,\"ts\":%.1f,"
	"\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":%.1f,\"max\":55.0,\"avg\":53.1,"
	"\"n\":60},\"fan.main\":{\"min\":null,\"max\":null,\"avg\":null,\"n\":0,\"fail\":3}},"
	"\"events\":{\"undervoltage\":%u},\"load\":{\"cpu\":0.35}}";

static void add_telemetry(struct tpc_store *s, const char *dev, uint64_t seq, double ts)
{
	char body[512];
	struct tpc_report_row r = { .dev = dev, .seq = seq, .kind = "telemetry", .ts = ts,
				    .body = body };
	int64_t id;

	snprintf(body, sizeof(body), tel_fmt, dev, (unsigned long long)seq, ts,
		 50.0 + (double)(seq % 3), (unsigned)(seq % 2));
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
}

/* The time-bounded and the seq-paged telemetry queries answer the same rows
 * the old single query did. */
static void test_telemetry_ranges_and_pages(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_telemetry_filter f = { .dev = "TPT", .since = NAN, .until = NAN,
					  .resolution = TPC_RES_RAW };
	cJSON *arr, *want;
	char body[512];

	(void)state;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	for (uint64_t seq = 1; seq <= 100; seq++)
		add_telemetry(s, "TPT", seq, 1000.0 + 60.0 * (double)seq);
	add_telemetry(s, "TPU", 1, 1060.0);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 100);
	/* a compact row gives back the report the device sent */
	snprintf(body, sizeof(body), tel_fmt, "TPT", 7ULL, 1000.0 + 60 * 7, 51.0, 1u);
	want = cJSON_Parse(body);
	assert_true(cJSON_Compare(cJSON_GetArrayItem(arr, 6), want, true));
	cJSON_Delete(want);
	cJSON_Delete(arr);
	f.after_seq = 90;                      /* keyset page, no time bound */
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 10);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "seq")->valueint, 91);
	cJSON_Delete(arr);
	f.after_seq = 0;
	f.since = 1000.0 + 60 * 41;            /* seq 41 .. */
	f.until = 1000.0 + 60 * 51;            /* .. 50 */
	f.limit = 6;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 6);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "seq")->valueint, 41);
	cJSON_Delete(arr);
	f.after_seq = 46;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 4);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 3), "seq")->valueint, 50);
	cJSON_Delete(arr);
	f.after_seq = 0;                       /* only since: to the end */
	f.until = NAN;
	f.limit = 0;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 60);
	cJSON_Delete(arr);
	f.since = NAN;                         /* only until */
	f.until = 1000.0 + 60 * 3;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	cJSON_Delete(arr);
	tpc_store_close(s);
}

/* The signed predecessor is found across unsigned telemetry; claim_had
 * and the claim totals (kept by triggers) follow inserts and state changes. */
static void test_signed_before_claim_had_and_totals(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_report_row r = { .dev = "TPS", .seq = 5, .kind = "fault", .ts = 1,
				    .body = "{}", .jws = "a.b.c", .verified = true, .jws_hash = "H5" };
	struct tpc_claim_new c = { .device = "TPS", .model = "m", .category = "thermal",
				   .opened_at = "2026-11-25T10:02:11Z", .title = "t",
				   .description = "d" };
	struct tpc_claim_filter f = { 0 };
	char hash[64];
	int64_t id, claim, total, all0, open0;
	bool had, added;
	cJSON *list;

	(void)state;
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &all0), TPD_OK);   /* earlier tests' */
	cJSON_Delete(list);
	f.state = "open";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &open0), TPD_OK);
	cJSON_Delete(list);
	f.state = NULL;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_signed_before(s, "TPS", 9, hash, sizeof(hash)), TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
	for (uint64_t seq = 6; seq < 50; seq++)
		add_telemetry(s, "TPS", seq, (double)seq);
	assert_int_equal(tpc_store_signed_before(s, "TPS", 50, hash, sizeof(hash)), TPD_OK);
	assert_string_equal(hash, "H5");
	assert_int_equal(tpc_store_signed_before(s, "TPS", 5, hash, sizeof(hash)), TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_store_claim_had(s, "TPS", "thermal", "TEMP_RISING", &had), TPD_OK);
	assert_false(had);
	assert_int_equal(tpc_store_claim_insert(s, &c, &claim), TPD_OK);
	assert_int_equal(tpc_store_claim_add_fault(s, claim, "TEMP_RISING", 1, &added), TPD_OK);
	assert_int_equal(tpc_store_claim_had(s, "TPS", "thermal", "TEMP_RISING", &had), TPD_OK);
	assert_true(had);
	assert_int_equal(tpc_store_claim_had(s, "TPS", "power", "TEMP_RISING", &had), TPD_OK);
	assert_false(had);
	assert_int_equal(tpc_store_claim_had(s, "TPS", "thermal", "FAN_DEGRADED", &had), TPD_OK);
	assert_false(had);
	assert_int_equal(tpc_store_claim_had(s, "TPX", "thermal", "TEMP_RISING", &had), TPD_OK);
	assert_false(had);
	c.device = "TPS2";
	assert_int_equal(tpc_store_claim_insert(s, &c, &id), TPD_OK);
	assert_int_equal(tpc_store_claim_set_state(s, id, "in_review"), TPD_OK);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
	assert_int_equal(total, all0 + 2);
	cJSON_Delete(list);
	f.state = "open";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
	assert_int_equal(total, open0 + 1);
	cJSON_Delete(list);
	f.state = "in_review";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
	assert_int_equal(total, 1);              /* no earlier test moves a claim */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "device")->valuestring,
			    "TPS2");
	cJSON_Delete(list);
	f.state = NULL;
	f.device = "TPS2";
	f.since = "2026-11-25";
	assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
	assert_int_equal(total, 1);
	cJSON_Delete(list);
	/* maintenance folds PostgreSQL's count deltas (store_pg.c note 5):
	 * the totals stay, and follow the next change */
	f = (struct tpc_claim_filter){ 0 };
	for (int pass = 0; pass < 2; pass++) {
		bool more = true;

		for (int step = 0; more && step < 100; step++)
			assert_int_equal(tpc_store_maintain(s, 1.8e9, &more), TPD_OK);
		assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
		assert_int_equal(total, all0 + 2);
		cJSON_Delete(list);
		f.state = "in_review";
		assert_int_equal(tpc_store_claim_list(s, &f, &list, &total), TPD_OK);
		assert_int_equal(total, 1 - pass);
		cJSON_Delete(list);
		f.state = NULL;
		if (!pass)
			assert_int_equal(tpc_store_claim_set_state(s, id, "approved"), TPD_OK);
	}
	tpc_store_close(s);
}

/* The seqs of a device stored in a range, reports and telemetry alike
 * (the gap detector's question when collectors share the stream). */
static void test_seqs_stored(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_report_row r = { .dev = "TPQ", .seq = 5, .kind = "fault", .ts = 1,
				    .body = "{}" };
	uint64_t seqs[8];
	size_t n;
	int64_t id;

	(void)state;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
	for (uint64_t seq = 7; seq <= 9; seq++)
		add_telemetry(s, "TPQ", seq, (double)seq);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_seqs_stored(s, "TPQ", 1, 20, seqs, 8, &n), TPD_OK);
	assert_int_equal(n, 4);
	assert_int_equal(seqs[0], 5);
	assert_int_equal(seqs[1], 7);
	assert_int_equal(seqs[3], 9);
	assert_int_equal(tpc_store_seqs_stored(s, "TPQ", 6, 8, seqs, 8, &n), TPD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[0], 7);
	assert_int_equal(tpc_store_seqs_stored(s, "TPQ", 1, 20, seqs, 2, &n), TPD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[1], 7);
	assert_int_equal(tpc_store_seqs_stored(s, "TPQ", 6, 6, seqs, 8, &n), TPD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(tpc_store_seqs_stored(s, "NOBODY", 1, 20, seqs, 8, &n), TPD_OK);
	assert_int_equal(n, 0);
	tpc_store_close(s);
}

/* Inside a batch last_seen is written once per device at the commit, as the
 * per-report UPSERT would have left it, and a rolled-back report's is not. */
static void test_batch_device_seen(void **state)
{
	struct tpc_store *s = open_store();
	struct tpc_report_row r = { .dev = "TPL", .kind = "telemetry", .body = "{}" };
	int64_t id;
	cJSON *o;

	(void)state;
	assert_int_equal(tpc_store_batch_begin(s), TPD_OK);
	for (uint64_t seq = 1; seq <= 4; seq++) {
		char fw[8];

		r.seq = seq;
		r.ts = 100.0 * (double)seq;
		snprintf(fw, sizeof(fw), "1.%u", (unsigned)seq);
		assert_int_equal(tpc_store_begin(s), TPD_OK);
		assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
		assert_int_equal(tpc_store_device_seen(s, "TPL", seq == 1 ? NULL : "m1", fw,
						       seq == 3 ? 50.0 : r.ts,
						       seq == 2 ? "online" : NULL), TPD_OK);
		if (seq == 4)
			tpc_store_rollback(s);          /* its ts and fw must not show */
		else
			assert_int_equal(tpc_store_commit(s), TPD_OK);
	}
	assert_int_equal(tpc_store_device_get(s, "TPL", &o), TPD_ERR_NOTFOUND);  /* not yet */
	assert_int_equal(tpc_store_batch_commit(s), TPD_OK);
	assert_int_equal(tpc_store_device_get(s, "TPL", &o), TPD_OK);
	assert_true(cJSON_GetObjectItem(o, "last_seen")->valuedouble == 200.0);
	assert_string_equal(cJSON_GetObjectItem(o, "fw")->valuestring, "1.3");
	assert_string_equal(cJSON_GetObjectItem(o, "model")->valuestring, "m1");
	assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "online");
	cJSON_Delete(o);
	tpc_store_close(s);
}

struct read_job {
	struct tpc_store *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	enum tpd_err rc;
	int n;
};

static void *read_thread(void *arg)
{
	struct read_job *j = arg;
	struct tpc_telemetry_filter f = { .dev = "TPR", .since = NAN, .until = NAN,
					  .resolution = TPC_RES_RAW };
	cJSON *arr = NULL;
	enum tpd_err rc = tpc_store_telemetry_list(j->s, &f, &arr);

	pthread_mutex_lock(&j->lock);
	j->rc = rc;
	j->n = cJSON_GetArraySize(arr);
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	cJSON_Delete(arr);
	return NULL;
}

/* An API read from another thread is answered while the ingest thread holds
 * the writer through an open batch, and sees the last commit only. */
static void test_reads_do_not_wait_for_a_batch(void **state)
{
	struct tpc_store *s = open_store();
	struct read_job j = { .s = s };
	struct timespec until;
	pthread_t t;
	int rc = 0;

	(void)state;
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.cond, NULL);
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	add_telemetry(s, "TPR", 1, 1.0);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_batch_begin(s), TPD_OK);
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	add_telemetry(s, "TPR", 2, 2.0);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(pthread_create(&t, NULL, read_thread, &j), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;                      /* a hang, not a speed, is the failure */
	pthread_mutex_lock(&j.lock);
	while (!j.done && rc == 0)
		rc = pthread_cond_timedwait(&j.cond, &j.lock, &until);
	pthread_mutex_unlock(&j.lock);
	assert_true(j.done);
	assert_int_equal(tpc_store_batch_commit(s), TPD_OK);
	pthread_join(t, NULL);
	assert_int_equal(j.rc, TPD_OK);
	assert_int_equal(j.n, 1);                /* the batch was not committed yet */
	pthread_cond_destroy(&j.cond);
	pthread_mutex_destroy(&j.lock);
	tpc_store_close(s);
}

/* Closed hours are rolled up (hourly and daily, same shape as a report),
 * the open hour is not; raw rows past the retention go once rolled up; the
 * range picks raw or rollup. */
static void test_rollups_and_retention(void **state)
{
	struct tpc_store *s = open_store();
	const double t0 = 1764028800.0;          /* 2025-11-25 00:00 UTC */
	struct tpc_telemetry_filter f = { .dev = "TPH", .since = t0, .until = t0 + 86400,
					  .resolution = TPC_RES_HOUR };
	const cJSON *h, *temp;
	int64_t n;
	bool more = true;
	cJSON *arr;

	(void)state;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	for (uint64_t seq = 1; seq <= 180; seq++)       /* three hours of 60 s telemetry */
		add_telemetry(s, "TPH", seq, t0 + 60.0 * (double)(seq - 1));
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	/* at t0 + 2.5 h: the first two hours are closed */
	for (int i = 0; i < 10 && more; i++)
		assert_int_equal(tpc_store_maintain(s, t0 + 9000, &more), TPD_OK);
	assert_false(more);
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	h = cJSON_GetArrayItem(arr, 1);
	assert_true(cJSON_GetObjectItem(h, "ts")->valuedouble == t0 + 3600);
	assert_int_equal(cJSON_GetObjectItem(h, "reports")->valueint, 60);
	assert_true(cJSON_GetObjectItem(h, "period_s")->valuedouble == 3600);
	assert_string_equal(cJSON_GetObjectItem(h, "model")->valuestring, "m");
	temp = cJSON_GetObjectItem(cJSON_GetObjectItem(h, "sensors"), "temp.cpu");
	assert_true(cJSON_GetObjectItem(temp, "min")->valuedouble == 50.0);
	assert_true(cJSON_GetObjectItem(temp, "max")->valuedouble == 55.0);
	assert_true(fabs(cJSON_GetObjectItem(temp, "avg")->valuedouble - 53.1) < 1e-9);
	assert_int_equal(cJSON_GetObjectItem(temp, "n")->valueint, 3600);
	temp = cJSON_GetObjectItem(cJSON_GetObjectItem(h, "sensors"), "fan.main");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(temp, "min")));
	assert_int_equal(cJSON_GetObjectItem(temp, "fail")->valueint, 180);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "events"), "undervoltage")->valueint,
			 30);
	assert_true(fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "load"), "cpu")->valuedouble -
			 0.35) < 1e-9);
	cJSON_Delete(arr);
	/* the third hour closes later; one day row holds all three */
	more = true;
	for (int i = 0; i < 10 && more; i++)
		assert_int_equal(tpc_store_maintain(s, t0 + 4 * 3600, &more), TPD_OK);
	f.resolution = TPC_RES_DAY;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "reports")->valueint, 180);
	cJSON_Delete(arr);
	/* retention: with 1 day raw, two days later the raw rows go, the rollups stay */
	assert_int_equal(tpc_store_count_reports(s, "TPH", "telemetry", &n), TPD_OK);
	assert_int_equal(n, 180);
	tpc_store_set_raw_days(s, 1);
	more = true;
	for (int i = 0; i < 10 && more; i++)
		assert_int_equal(tpc_store_maintain(s, t0 + 2 * 86400 + 3600, &more), TPD_OK);
	assert_int_equal(tpc_store_count_reports(s, "TPH", "telemetry", &n), TPD_OK);
	assert_int_equal(n, 0);
	f.resolution = TPC_RES_HOUR;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	cJSON_Delete(arr);
	/* the range decides: an hour -> raw, a week -> hourly, a year -> daily */
	f.resolution = TPC_RES_AUTO;
	f.now = t0 + 3 * 86400;
	f.since = f.now - 3600;
	f.until = NAN;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(f.resolution, TPC_RES_RAW);
	cJSON_Delete(arr);
	f.resolution = TPC_RES_AUTO;
	f.since = f.now - 7 * 86400;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(f.resolution, TPC_RES_HOUR);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	cJSON_Delete(arr);
	f.resolution = TPC_RES_AUTO;
	f.since = f.now - 365 * 86400;
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(f.resolution, TPC_RES_DAY);
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	cJSON_Delete(arr);
	tpc_store_close(s);
}

/* A database of schema 4 with telemetry as JSON text is converted on open. */
static void test_old_telemetry_is_converted(void **state)
{
	char path[128], odir[64], ourl[160], body[512], err[256];
	struct tpc_telemetry_filter f = { .dev = "TPO", .since = NAN, .until = NAN,
					  .resolution = TPC_RES_RAW };
	struct tpc_store *s;
	sqlite3 *db;
	cJSON *arr;
	int64_t n;

	(void)state;
	tu_mkdtemp(odir, sizeof(odir));
	snprintf(path, sizeof(path), "%s/old.db", odir);
	snprintf(ourl, sizeof(ourl), "sqlite:%s", path);
	assert_int_equal(tpc_store_open(ourl, &s, err, sizeof(err)), TPD_OK);
	tpc_store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE telemetry; DROP TABLE telemetry_hour;"
				      "DROP TABLE telemetry_day; DROP TABLE names; DROP TABLE rollup_mark;"
				      /* and migration 6's (claim events, tracking) */
				      "DROP TABLE events; DROP TABLE webhook_cursor;"
				      "DROP INDEX claims_tracking; ALTER TABLE claims DROP COLUMN origin;"
				      "ALTER TABLE claims DROP COLUMN contact;"
				      "ALTER TABLE claims DROP COLUMN channel;"
				      "ALTER TABLE claims DROP COLUMN tracking_token;"
				      /* and migration 7's (the forecasts' saved state) */
				      "DROP TABLE forecast_state;"
				      /* and migration 8's (assignee, resolution, both
				       * languages, region, forecast; a device's locale) */
				      "DROP INDEX claims_assignee;"
				      "ALTER TABLE claims DROP COLUMN assignee;"
				      "ALTER TABLE claims DROP COLUMN resolution_summary;"
				      "ALTER TABLE claims DROP COLUMN resolution_parts;"
				      "ALTER TABLE claims DROP COLUMN resolution_at;"
				      "ALTER TABLE claims DROP COLUMN resolution_by;"
				      "ALTER TABLE claims DROP COLUMN locale;"
				      "ALTER TABLE claims DROP COLUMN title_zh;"
				      "ALTER TABLE claims DROP COLUMN description_zh;"
				      "ALTER TABLE claims DROP COLUMN region;"
				      "ALTER TABLE claims DROP COLUMN forecast;"
				      "ALTER TABLE devices DROP COLUMN locale;"
				      "ALTER TABLE devices DROP COLUMN region;"
				      "PRAGMA user_version = 4", NULL, NULL, NULL), SQLITE_OK);
	for (unsigned seq = 1; seq <= 3; seq++) {
		char *sql;

		snprintf(body, sizeof(body), tel_fmt, "TPO", (unsigned long long)seq, 100.0 * seq,
			 51.0, 0u);
		sql = sqlite3_mprintf("INSERT INTO reports (dev, seq, kind, ts, body) VALUES"
				      " ('TPO', %u, 'telemetry', %f, %Q)", seq, 100.0 * seq, body);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
	}
	sqlite3_close(db);
	assert_int_equal(tpc_store_open(ourl, &s, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpc_store_telemetry_list(s, &f, &arr), TPD_OK);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "seq")->valueint, 3);
	cJSON_Delete(arr);
	assert_int_equal(tpc_store_count_reports(s, "TPO", NULL, &n), TPD_OK);
	assert_int_equal(n, 3);                  /* moved, not copied */
	tpc_store_close(s);
	tu_rm_rf(odir);
}

/* PostgreSQL only ------------------------------------------------------ */

/* Schema version 2 in schema_version; reopening changes nothing; a newer
 * database is refused; postgres:// is the same backend; a server that is
 * not there is TPD_ERR_DB with a message. */
static void test_pg_migrations_and_reopen(void **state)
{
	struct tpc_store *s = open_store();
	char err[256], alias[512], bad[64];

	(void)state;
	tpc_store_close(s);
	assert_int_equal(side_count("SELECT max(version) FROM schema_version"), 2);
	s = open_store();
	tpc_store_close(s);
	assert_int_equal(side_count("SELECT count(*) FROM schema_version"), 1);
	assert_true(pg_side_exec("UPDATE schema_version SET version = 99"));
	err[0] = '\0';
	assert_int_equal(tpc_store_open(url, &s, err, sizeof(err)), TPD_ERR_DB);
	assert_non_null(strstr(err, "newer"));
	/* a version 1 database (one counter row per state, the key on it)
	 * upgrades in place: the rows stay as deltas, the key goes */
	assert_true(pg_side_exec("WITH d AS (DELETE FROM claim_counts RETURNING state, n)"
				 " INSERT INTO claim_counts SELECT state, sum(n) FROM d GROUP BY state;"
				 " ALTER TABLE claim_counts ADD PRIMARY KEY (state);"
				 " UPDATE schema_version SET version = 1"));
	s = open_store();
	tpc_store_close(s);
	assert_int_equal(side_count("SELECT max(version) FROM schema_version"), 2);
	assert_int_equal(side_count("SELECT count(*) FROM pg_constraint"
				    " WHERE conname = 'claim_counts_pkey'"), 0);
	assert_true(strncmp(url, "postgresql://", 13) == 0);
	snprintf(alias, sizeof(alias), "postgres://%s", url + 13);
	assert_int_equal(tpc_store_open(alias, &s, err, sizeof(err)), TPD_OK);
	tpc_store_close(s);
	snprintf(bad, sizeof(bad), "postgresql://nobody@127.0.0.1:1/x");
	err[0] = '\0';
	assert_int_equal(tpc_store_open(bad, &s, err, sizeof(err)), TPD_ERR_DB);
	assert_true(err[0] != '\0');
}

static void *open_thread(void *arg)
{
	struct tpc_store *s;
	char err[256];
	enum tpd_err rc = tpc_store_open(url, &s, err, sizeof(err));

	if (!rc)
		tpc_store_close(s);
	else
		print_error("open: %s\n", err);
	*(enum tpd_err *)arg = rc;
	return NULL;
}

/* Two collectors on one database: they migrate an empty one at the same
 * time (the advisory lock), and they can never hold two open claims of one
 * device and class (the partial unique index). */
static void test_pg_two_collectors(void **state)
{
	enum tpd_err rc[4];
	pthread_t t[4];
	struct tpc_claim_new c = { .device = "TP2", .model = "m", .category = "power",
				   .opened_at = "2026-11-25T10:02:11Z", .title = "t",
				   .description = "d" };
	struct tpc_store *a, *b;
	int64_t id, id2;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_thread, &rc[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rc[i], TPD_OK);
	}
	assert_int_equal(side_count("SELECT count(*) FROM schema_version"), 1);
	a = open_store();
	b = open_store();
	assert_int_equal(tpc_store_begin(a), TPD_OK);
	assert_int_equal(tpc_store_claim_insert(a, &c, &id), TPD_OK);
	assert_int_equal(tpc_store_commit(a), TPD_OK);
	assert_int_equal(tpc_store_begin(b), TPD_OK);
	assert_int_equal(tpc_store_claim_find_open(b, "TP2", "power", &id2), TPD_OK);
	assert_int_equal(id2, id);
	assert_int_equal(tpc_store_claim_insert(b, &c, &id2), TPD_ERR_DUPLICATE);
	tpc_store_rollback(b);
	/* the failed insert left b usable */
	assert_int_equal(tpc_store_begin(b), TPD_OK);
	assert_int_equal(tpc_store_claim_set_state(b, id, "resolved"), TPD_OK);
	assert_int_equal(tpc_store_claim_insert(b, &c, &id2), TPD_OK);
	assert_int_equal(tpc_store_commit(b), TPD_OK);
	/* deltas (store_pg.c note 5): +1, -1, +1 open; +1 resolved */
	assert_int_equal(side_count("SELECT sum(n) FROM claim_counts WHERE state = 'open'"), 1);
	assert_int_equal(side_count("SELECT count(*) FROM claim_counts WHERE state = 'open'"), 3);
	assert_int_equal(side_count("SELECT sum(n) FROM claim_counts WHERE state = 'resolved'"), 1);
	tpc_store_close(a);
	tpc_store_close(b);
}

struct deadlock_side {
	struct tpc_store *s;
	struct tpc_claim_new c;
	atomic_bool first_done;
	enum tpd_err rc;
};

/* b's transaction, on its own thread (a store is held by one thread from
 * begin to commit): TPDL2's claim, then TPDL1's, which waits on a's. */
static void *deadlock_b(void *arg)
{
	struct deadlock_side *d = arg;
	int64_t id;

	assert_int_equal(tpc_store_begin(d->s), TPD_OK);
	d->c.device = "TPDL2";
	assert_int_equal(tpc_store_claim_insert(d->s, &d->c, &id), TPD_OK);
	atomic_store(&d->first_done, true);
	d->c.device = "TPDL1";
	d->rc = tpc_store_claim_insert(d->s, &d->c, &id);
	if (d->rc)
		tpc_store_rollback(d->s);
	else
		assert_int_equal(tpc_store_commit(d->s), TPD_OK);
	return NULL;
}

/* Two transactions that each opened a claim and then open the other's
 * device and class wait on each other; PostgreSQL aborts one of them, and
 * that one's insert is TPD_ERR_RETRY (undone, the transaction able to roll
 * back); the other's goes through once it has. */
static void test_pg_deadlock_is_retry(void **state)
{
	struct tpc_claim_new c = { .model = "m", .category = "power",
				   .opened_at = "2026-11-25T10:02:11Z", .title = "t",
				   .description = "d" };
	struct deadlock_side b = { .c = c };
	struct tpc_store *a = open_store();
	enum tpd_err rc;
	pthread_t t;
	int64_t id;

	(void)state;
	b.s = open_store();
	c.device = "TPDL1";
	assert_int_equal(tpc_store_begin(a), TPD_OK);
	assert_int_equal(tpc_store_claim_insert(a, &c, &id), TPD_OK);
	assert_int_equal(pthread_create(&t, NULL, deadlock_b, &b), 0);
	while (!atomic_load(&b.first_done))
		usleep(10 * 1000);
	usleep(300 * 1000);             /* b waits on a's TPDL1 by now */
	c.device = "TPDL2";             /* and a on b's: the cycle */
	rc = tpc_store_claim_insert(a, &c, &id);
	if (rc == TPD_ERR_RETRY)
		tpc_store_rollback(a);      /* a was chosen: b goes on */
	else
		assert_int_equal(rc, TPD_OK);
	pthread_join(t, NULL);
	assert_true((rc == TPD_ERR_RETRY) != (b.rc == TPD_ERR_RETRY));
	assert_true(rc == TPD_OK || b.rc == TPD_OK);
	if (!rc)
		assert_int_equal(tpc_store_commit(a), TPD_OK);
	assert_int_equal(side_count("SELECT count(*) FROM claims WHERE device LIKE 'TPDL%'"), 2);
	tpc_store_close(a);
	tpc_store_close(b.s);
}

/* A lease is one collector's at a time; asked again it is not taken twice
 * (so one release lets it go); released, another takes it; jobs whose
 * names differ never share a lock. */
static void test_pg_leases(void **state)
{
	struct tpc_store *a = open_store(), *b = open_store();
	char job[16];

	(void)state;
	assert_true(tpc_store_leads(a, "job-x"));
	assert_false(tpc_store_leads(b, "job-x"));
	for (int i = 1; i <= 12; i++) {   /* as many as a collector's partitions */
		snprintf(job, sizeof(job), "partition-%d", i);
		assert_true(tpc_store_leads(i % 2 ? a : b, job));
	}
	usleep((useconds_t)(TPC_STORE_LEAD_S * 1e6) + 100000);
	assert_true(tpc_store_leads(a, "job-x"));   /* asked again: held, not taken again */
	tpc_store_unlead(a, "job-x");
	usleep((useconds_t)(TPC_STORE_LEAD_S * 1e6) + 100000);
	assert_true(tpc_store_leads(b, "job-x"));
	assert_false(tpc_store_leads(a, "job-x"));
	tpc_store_close(b);                         /* its session's locks go with it */
	usleep((useconds_t)(TPC_STORE_LEAD_S * 1e6) + 100000);
	assert_true(tpc_store_leads(a, "job-x"));
	assert_true(tpc_store_leads(a, "partition-2"));
	tpc_store_close(a);
}

/* The server ends every session of the store (a restart, a failover): the
 * next call outside a transaction reconnects; a transaction that was open
 * fails and rolls back, and nothing of it is stored. */
static void test_pg_connection_lost(void **state)
{
	static const char kill_sql[] =
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
		" WHERE datname = current_database() AND pid <> pg_backend_pid()";
	struct tpc_store *s = open_store();
	struct tpc_report_row r = { .dev = "TPK", .seq = 1, .kind = "status", .ts = 1,
				    .body = "{}" };
	int64_t id, n;
	cJSON *o;
	char err[256];

	(void)state;
	assert_true(side_count(kill_sql) >= 1);
	assert_int_equal(tpc_store_count_reports(s, NULL, NULL, &n), TPD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(tpc_store_device_get(s, "none", &o), TPD_ERR_NOTFOUND);   /* a reader */
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
	assert_true(side_count(kill_sql) >= 1);
	r.seq = 2;
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_ERR_DB);
	tpc_store_rollback(s);
	tpc_store_last_error(s, err, sizeof(err));
	assert_true(err[0] != '\0');
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_count_reports(s, NULL, NULL, &n), TPD_OK);
	assert_int_equal(n, 1);                 /* seq 2 only: seq 1 went with the session */
	tpc_store_close(s);
}

/* Statements that read a whole table on purpose. */
static const char *const pg_scan_allowed[] = {
	"device_keys", "count_reports", "count_reports_kind",
	"counts",             /* /metrics: claims per state, support-desk sizes */
	/* the support queue's occasional searches (store_sqlite.c SQ_CLAIM_WHERE) */
	"claim_extra_id", "claim_extra_due", "claim_extra_opened", "claim_extra_priority",
	"claim_extra_count",
	NULL
};

/* Every statement through EXPLAIN with sequential scans disabled: a plan
 * that still has "Seq Scan on" a large table has no index to use. */
static void test_pg_every_plan_uses_an_index(void **state)
{
	struct tpc_store *s = open_store();
	const char *name, *sql, *types;
	unsigned n = tpc_store_pg_statements(&name, &sql, &types, 0), bad = 0, seen = 0, scans = 0;
	PGconn *db = PQconnectdb(url);

	(void)state;
	tpc_store_close(s);                     /* migrated */
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	PQclear(PQexec(db, "SET enable_seqscan = off"));
	assert_true(n > 40);
	for (unsigned i = 0; i < n; i++) {
		const char *vals[32] = { 0 };
		int lens[32] = { 0 }, fmts[32] = { 0 };
		Oid oids[32] = { 0 };
		char explain[8192];
		PGresult *res;
		size_t np;

		tpc_store_pg_statements(&name, &sql, &types, i);
		np = strlen(types);
		for (size_t k = 0; k < np && k < 32; k++) {
			vals[k] = types[k] == 't' ? "x" : "1";
			oids[k] = types[k] == 't' ? 25 : types[k] == 'i' ? 20 : types[k] == '4' ? 23
				  : types[k] == 'f' ? 701 : 17;
			if (types[k] == 'b') {
				fmts[k] = 1;
				lens[k] = 1;
			}
		}
		snprintf(explain, sizeof(explain), "EXPLAIN %s", sql);
		/* a write's plan is a plan too; run in a transaction rolled back */
		PQclear(PQexec(db, "BEGIN"));
		res = PQexecParams(db, explain, (int)np, np ? oids : NULL, vals, lens, fmts, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", name, PQerrorMessage(db));
		for (int r = 0; r < PQntuples(res); r++) {
			const char *line = PQgetvalue(res, r, 0), *at = strstr(line, "Seq Scan on ");
			char table[64] = "";

			seen++;
			if (!at || sscanf(at, "Seq Scan on %63s", table) != 1)
				continue;
			scans++;
			if (tpd_str_in_set(table, big_tables) && !tpd_str_in_set(name, pg_scan_allowed)) {
				print_error("%s: %s\n  in: %s\n", name, line, sql);
				bad++;
			}
		}
		PQclear(res);
		PQclear(PQexec(db, "ROLLBACK"));
	}
	PQfinish(db);
	assert_true(seen > 40);
	assert_true(scans > 0);        /* the allowed ones do scan: the check sees scans */
	assert_int_equal(bad, 0);
}

/* Drops what differs by the clock alone (updated_at, registered_at, ...). */
static void strip_clock(cJSON *o)
{
	static const char *const keys[] = { "updated_at", "registered_at", NULL };
	cJSON *child;

	if (!o)
		return;
	for (int k = 0; keys[k]; k++)
		cJSON_DeleteItemFromObjectCaseSensitive(o, keys[k]);
	cJSON_ArrayForEach(child, o)
		strip_clock(child);
}

/* The same writes on both backends; every read's JSON must be the same. */
static void same_script(struct tpc_store *s)
{
	struct tpc_device_row d = { .id = "TPJ", .model = "m", .purchase_date = "2025-06-01",
				    .public_key = "AAAA", .owner_contact = "o@x", .channel = "shop",
				    .locale = "zh-CN", .region = "CN" };
	struct tpc_claim_new c = { .device = "TPJ", .model = "m", .category = "thermal",
				   .detected_ts = 1764000071.5, .opened_at = "2026-11-25T10:02:11Z",
				   .purchase_date = "2025-06-01", .title = "t", .description = "d",
				   .suggested_resolution = "repair", .priority = "high",
				   .review_due = "2026-11-27T10:02:11Z",
				   .warranty = { .status = "in_warranty", .until = "2027-06-01",
						 .policy = "p" },
				   .tracking_token = "tok", .locale = "zh-CN", .title_zh = "标题",
				   .description_zh = "描述", .region = "CN",
				   .forecast = "{\"eta_h\":12.5,\"trend\":[1,2]}" };
	struct tpc_report_row r = { .dev = "TPJ", .seq = 5, .kind = "fault", .ts = 1764000071.25,
				    .body = "{\"code\":\"TEMP_RISING\"}", .jws = "a.b.c",
				    .verified = true, .jws_hash = "H", .chain = "broken" };
	struct tpc_claim_work w = { .set_assignee = true, .assignee = "ana",
				    .set_resolution = true, .summary = "fan", .parts = "[\"fan\"]",
				    .at = "2026-11-26T00:00:00Z", .by = "ana" };
	struct tpc_claim_warranty wa = { .status = "excluded", .until = NULL, .policy = "p",
					 .reason = "water", .purchase_date = "2025-06-02" };
	enum tpc_upsert up;
	int64_t id, id2, rid;
	bool added;

	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_device_upsert(s, &d, &up), TPD_OK);
	assert_int_equal(tpc_store_device_seen(s, "TPJ", "m", "1.2", 1764000000.5, "online"), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &rid), TPD_OK);
	add_telemetry(s, "TPJ", 6, 1764000100.0);
	add_telemetry(s, "TPJ", 7, 1764000160.0);
	assert_int_equal(tpc_store_claim_insert(s, &c, &id), TPD_OK);
	assert_int_equal(tpc_store_claim_add_fault(s, id, "TEMP_RISING", 1.5, &added), TPD_OK);
	/* a fault without a time sorts first (SQLite: NULL before any value) */
	assert_int_equal(tpc_store_claim_add_fault(s, id, "TEMP_HIGH", NAN, &added), TPD_OK);
	assert_int_equal(tpc_store_claim_add_evidence(s, id, rid, "fault", 5, true, "TEMP_RISING",
						      "raised"), TPD_OK);
	assert_int_equal(tpc_store_claim_add_timeline(s, id, "2026-11-25T10:02:11Z", "opened",
						      "system", NULL), TPD_OK);
	assert_int_equal(tpc_store_claim_add_timeline(s, id, "2026-11-25T11:00:00Z", "note",
						      "ana", "called"), TPD_OK);
	assert_int_equal(tpc_store_claim_update_text(s, id, "d2", "描述2", "replace", "normal"),
			 TPD_OK);
	assert_int_equal(tpc_store_claim_set_work(s, id, &w), TPD_OK);
	assert_int_equal(tpc_store_claim_set_warranty(s, id, &wa), TPD_OK);
	assert_int_equal(tpc_store_claim_set_feedback(s, id, 4, "ok", "2026-11-28T00:00:00Z"),
			 TPD_OK);
	c.category = "power";
	c.predictive = true;
	c.tracking_token = "tok2";
	c.review_due = NULL;
	c.locale = NULL;
	c.title_zh = c.description_zh = c.forecast = NULL;
	c.warranty.status = NULL;
	assert_int_equal(tpc_store_claim_insert(s, &c, &id2), TPD_OK);
	assert_int_equal(tpc_store_claim_set_state(s, id2, "in_review"), TPD_OK);
	/* of one priority, the claim without a review time first; the text
	 * search is ASCII-only lower() on both */
	c.device = "TPJ2";
	c.priority = "high";
	c.tracking_token = "tok3";
	c.title = "Überhitzt";
	assert_int_equal(tpc_store_claim_insert(s, &c, &id2), TPD_OK);
	assert_int_equal(tpc_store_event_add(s, "u1", "claim.opened", id, "2026-11-25T10:02:11Z",
					     "{\"a\":1}"), TPD_OK);
	assert_int_equal(tpc_store_outbox_add(s, "tp/v1/TPJ/cmd", "{}"), TPD_OK);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
}

static char *same_reads(struct tpc_store *s)
{
	static const char *const sorts[] = { "id", "review_due", "-opened_at", "priority", NULL };
	cJSON *all = cJSON_CreateObject(), *o;
	struct tpc_claim_filter f = { 0 };
	struct tpc_telemetry_filter tf = { .dev = "TPJ", .since = NAN, .until = NAN,
					   .resolution = TPC_RES_RAW };
	int64_t total, n;
	char *text, key[64];

	assert_int_equal(tpc_store_claim_get(s, 1, &o), TPD_OK);
	cJSON_AddItemToObject(all, "claim1", o);
	assert_int_equal(tpc_store_claim_get(s, 2, &o), TPD_OK);
	cJSON_AddItemToObject(all, "claim2", o);
	for (int i = 0; sorts[i]; i++) {
		f.sort = sorts[i];
		assert_int_equal(tpc_store_claim_list(s, &f, &o, &total), TPD_OK);
		snprintf(key, sizeof(key), "list_%s_%lld", sorts[i], (long long)total);
		cJSON_AddItemToObject(all, key, o);
	}
	f.sort = NULL;
	f.text = "TPJ";
	f.assigned = 1;
	f.overdue = 2;
	f.now_iso = "2026-12-01T00:00:00Z";
	assert_int_equal(tpc_store_claim_list(s, &f, &o, &total), TPD_OK);
	snprintf(key, sizeof(key), "list_filtered_%lld", (long long)total);
	cJSON_AddItemToObject(all, key, o);
	f.text = "über";                 /* no match: lower() leaves Ü */
	f.assigned = 0;
	f.overdue = 0;
	assert_int_equal(tpc_store_claim_list(s, &f, &o, &total), TPD_OK);
	snprintf(key, sizeof(key), "list_text_%lld", (long long)total);
	cJSON_AddItemToObject(all, key, o);
	memset(&f, 0, sizeof(f));
	f.overdue = 1;
	f.predictive = 2;
	f.now_iso = "2026-12-01T00:00:00Z";
	assert_int_equal(tpc_store_claim_list(s, &f, &o, &total), TPD_OK);
	snprintf(key, sizeof(key), "list_overdue_%lld", (long long)total);
	cJSON_AddItemToObject(all, key, o);
	assert_int_equal(tpc_store_claim_evidence(s, 1, &o), TPD_OK);
	cJSON_AddItemToObject(all, "evidence", o);
	assert_int_equal(tpc_store_device_get(s, "TPJ", &o), TPD_OK);
	cJSON_AddItemToObject(all, "device", o);
	assert_int_equal(tpc_store_device_list(s, NULL, 0, &o), TPD_OK);
	cJSON_AddItemToObject(all, "devices", o);
	assert_int_equal(tpc_store_counts(s, "2026-12-01T00:00:00Z", &o), TPD_OK);
	cJSON_AddItemToObject(all, "counts", o);
	assert_int_equal(tpc_store_telemetry_list(s, &tf, &o), TPD_OK);
	cJSON_AddItemToObject(all, "telemetry", o);
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_reports_recent(s, "TPJ", "fault", 0, 10, &o), TPD_OK);
	cJSON_AddItemToObject(all, "recent_fault", o);
	assert_int_equal(tpc_store_reports_recent(s, "TPJ", "telemetry", 0, 10, &o), TPD_OK);
	cJSON_AddItemToObject(all, "recent_telemetry", o);
	tpc_store_rollback(s);
	assert_int_equal(tpc_store_claim_by_token(s, "tok2", &n), TPD_OK);
	cJSON_AddNumberToObject(all, "by_token", (double)n);
	assert_int_equal(tpc_store_count_reports(s, "TPJ", "telemetry", &n), TPD_OK);
	cJSON_AddNumberToObject(all, "count_tel", (double)n);
	assert_int_equal(tpc_store_event_pending(s, 0, &n), TPD_OK);
	cJSON_AddNumberToObject(all, "pending", (double)n);
	strip_clock(all);
	text = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return text;
}

static void test_pg_same_json_as_sqlite(void **state)
{
	char sdir[64], surl[128], err[256];
	struct tpc_store *lite, *pg = open_store();
	char *a, *b;

	(void)state;
	tu_mkdtemp(sdir, sizeof(sdir));
	snprintf(surl, sizeof(surl), "sqlite:%s/same.db", sdir);
	assert_int_equal(tpc_store_open(surl, &lite, err, sizeof(err)), TPD_OK);
	same_script(lite);
	same_script(pg);
	a = same_reads(lite);
	b = same_reads(pg);
	if (strcmp(a, b) != 0)
		fail_msg("sqlite:\n%s\npostgresql:\n%s", a, b);
	free(a);
	free(b);
	tpc_store_close(lite);
	tpc_store_close(pg);
	tu_rm_rf(sdir);
}

#define PG_TEST(fn) cmocka_unit_test_setup_teardown(fn, pg_setup, pg_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations_and_reopen),
		cmocka_unit_test(test_reports_are_idempotent),
		cmocka_unit_test(test_batch_group_commit),
		cmocka_unit_test(test_claim_json_has_every_spec_field),
		cmocka_unit_test(test_claim_ids),
		cmocka_unit_test(test_device_upsert_reports_what_changed),
		cmocka_unit_test(test_outbox_in_order_until_done),
		cmocka_unit_test(test_every_plan_uses_an_index),
		cmocka_unit_test(test_telemetry_ranges_and_pages),
		cmocka_unit_test(test_signed_before_claim_had_and_totals),
		cmocka_unit_test(test_batch_device_seen),
		cmocka_unit_test(test_seqs_stored),
		cmocka_unit_test(test_reads_do_not_wait_for_a_batch),
		cmocka_unit_test(test_rollups_and_retention),
		cmocka_unit_test(test_old_telemetry_is_converted),
	};
	/* the same tests but the SQLite-only ones (PRAGMA, EXPLAIN QUERY
	 * PLAN, the old telemetry's conversion), and PostgreSQL's own */
	const struct CMUnitTest pg_tests[] = {
		PG_TEST(test_pg_migrations_and_reopen),
		PG_TEST(test_reports_are_idempotent),
		PG_TEST(test_batch_group_commit),
		PG_TEST(test_claim_json_has_every_spec_field),
		PG_TEST(test_device_upsert_reports_what_changed),
		PG_TEST(test_outbox_in_order_until_done),
		PG_TEST(test_pg_every_plan_uses_an_index),
		PG_TEST(test_telemetry_ranges_and_pages),
		PG_TEST(test_signed_before_claim_had_and_totals),
		PG_TEST(test_batch_device_seen),
		PG_TEST(test_seqs_stored),
		PG_TEST(test_reads_do_not_wait_for_a_batch),
		PG_TEST(test_rollups_and_retention),
		PG_TEST(test_pg_two_collectors),
		PG_TEST(test_pg_deadlock_is_retry),
		PG_TEST(test_pg_leases),
		PG_TEST(test_pg_connection_lost),
		PG_TEST(test_pg_same_json_as_sqlite),
	};
	const char *pg_url = getenv("TPC_TEST_PG_URL"), *required = getenv("TPC_TEST_PG_REQUIRED");
	int failed = cmocka_run_group_tests_name("store", tests, setup, teardown);

	if (pg_url && *pg_url) {
		failed += cmocka_run_group_tests_name("store_pg", pg_tests, pg_group_setup, NULL);
	} else if (required && strcmp(required, "1") == 0) {
		fprintf(stderr, "[  FAILED  ] store_pg: TPC_TEST_PG_REQUIRED=1 but TPC_TEST_PG_URL"
			" is not set: the PostgreSQL tests did not run\n");
		failed++;
	} else {
		printf("[ SKIPPED  ] store_pg: TPC_TEST_PG_URL is not set, the PostgreSQL tests"
		       " did not run\n");
	}
	return failed;
}
