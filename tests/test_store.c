/* test_store.c - the SQLite backend on a real file: migrations, idempotent
 * reports, the one-open-claim index, claim JSON with every SPEC §6 field. */
#include <sqlite3.h>

#include "testutil.h"
#include "store.h"

static char dir[64], url[128];

static int setup(void **state)
{
	(void)state;
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
	assert_int_equal(sqlite3_column_int(st, 0), 4);
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
	sqlite3_exec(db, "PRAGMA user_version = 4", NULL, NULL, NULL);
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
	assert_int_equal(tpc_store_claim_insert(s, &c, &id2), TPD_ERR_DB);
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
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
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
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM reports WHERE dev = 'TPB'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);   /* not committed yet */
	sqlite3_reset(st);
	assert_int_equal(tpc_store_batch_commit(s), TPD_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* after the batch, begin/commit are transactions of their own again */
	r.seq = 9;
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_insert_report(s, &r, &id), TPD_OK);
	tpc_store_rollback(s);
	assert_int_equal(tpc_store_count_reports(s, "TPB", NULL, &n), TPD_OK);
	assert_int_equal(n, 2);
	tpc_store_close(s);
}

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
	};
	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
