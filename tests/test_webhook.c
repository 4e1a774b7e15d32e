/* test_webhook.c - the webhook targets file, the signature (against
 * openssl's HMAC-SHA256), event ids, and the store's events and cursors on
 * a real SQLite file. Delivery itself: tests/integration/22-webhooks.sh. */
#include "testutil.h"
#include "events.h"
#include "store.h"
#include "webhook.h"

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

static enum tpd_err parse(const char *text, struct tpc_webhook **wh, char *err, size_t len)
{
	return tpc_webhook_parse(text, strlen(text), "hooks", wh, err, len);
}

static void test_targets_file(void **state)
{
	struct tpc_webhook *wh;
	struct tpc_webhook_status st;
	char err[256];

	(void)state;
	assert_int_equal(parse("# helpdesks\n\nhd http://127.0.0.1:9/h sixteen-byte-key\r\n"
			       "  ops.2 https://x.example/y 0123456789abcdef0123\n", &wh, err,
			       sizeof(err)), TPD_OK);
	assert_int_equal(tpc_webhook_count(wh), 2);
	tpc_webhook_status(wh, 1, &st);
	assert_string_equal(st.name, "ops.2");
	assert_int_equal(st.failing_since, 0);
	tpc_webhook_free(wh);

	assert_int_equal(parse("hd ftp://h/x sixteen-byte-key\n", &wh, err, sizeof(err)),
			 TPD_ERR_INVAL);
	assert_non_null(strstr(err, "hooks:1: URL"));
	assert_null(wh);
	assert_int_equal(parse("# c\nhd http://h/x short\n", &wh, err, sizeof(err)), TPD_ERR_INVAL);
	assert_non_null(strstr(err, "hooks:2: secret"));
	assert_int_equal(parse("h/d http://h/x sixteen-byte-key\n", &wh, err, sizeof(err)),
			 TPD_ERR_INVAL);
	assert_non_null(strstr(err, "name"));
	assert_int_equal(parse("a http://h/x sixteen-byte-key\na http://h/y sixteen-byte-key\n",
			       &wh, err, sizeof(err)), TPD_ERR_INVAL);
	assert_non_null(strstr(err, "hooks:2: name a given twice"));
	assert_int_equal(parse("a http://h/x sixteen-byte-key extra\n", &wh, err, sizeof(err)),
			 TPD_ERR_INVAL);
	assert_int_equal(parse("# nothing\n", &wh, err, sizeof(err)), TPD_ERR_INVAL);
	assert_non_null(strstr(err, "no targets"));
	assert_int_equal(tpc_webhook_parse("a http://h/x sixteen-byte-key\0", 31, "hooks", &wh, err,
					   sizeof(err)), TPD_ERR_INVAL);
}

static void test_signature(void **state)
{
	char sig[128];

	(void)state;
	/* printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac sixteen-byte-key */
	assert_int_equal(tpc_webhook_sign("sixteen-byte-key", 1700000000, "{\"a\":1}", 7, sig,
					  sizeof(sig)), TPD_OK);
	assert_string_equal(sig, "t=1700000000,v1="
			    "8ef7df12fdfbcf66dbc750a88e4a6d706f663ed4f609a11127682b67f5bf11bb");
	assert_int_equal(tpc_webhook_sign("k", 1, "", 0, sig, 10), TPD_ERR_INVAL);
}

static void test_uuid(void **state)
{
	char a[37], b[37];

	(void)state;
	assert_int_equal(tpc_events_uuid(a), TPD_OK);
	assert_int_equal(tpc_events_uuid(b), TPD_OK);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_string_not_equal(a, b);
}

static void test_events_and_cursors(void **state)
{
	struct tpc_store *s;
	char err[256], *body;
	int64_t last, id, n;

	(void)state;
	if (tpc_store_open(url, &s, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_event_add(s, "u1", "claim.opened", 1, "2026-01-01T00:00:00Z",
					     "{\"n\":1}"), TPD_OK);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	/* a new target starts after what is there */
	assert_int_equal(tpc_store_webhook_cursor(s, "hd", &last), TPD_OK);
	assert_int_equal(last, 1);
	assert_int_equal(tpc_store_event_next(s, last, &id, &body), TPD_ERR_NOTFOUND);
	/* a rolled-back change leaves no event */
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_event_add(s, "u2", "claim.note_added", 1, "x", "{}"), TPD_OK);
	tpc_store_rollback(s);
	assert_int_equal(tpc_store_event_pending(s, last, &n), TPD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(tpc_store_begin(s), TPD_OK);
	assert_int_equal(tpc_store_event_add(s, "u3", "claim.note_added", 1, "x", "{\"n\":3}"),
			 TPD_OK);
	/* the same event id twice is refused */
	assert_int_equal(tpc_store_event_add(s, "u3", "claim.note_added", 1, "x", "{}"),
			 TPD_ERR_DB);
	assert_int_equal(tpc_store_commit(s), TPD_OK);
	assert_int_equal(tpc_store_event_pending(s, last, &n), TPD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(tpc_store_event_next(s, last, &id, &body), TPD_OK);
	assert_string_equal(body, "{\"n\":3}");
	free(body);
	assert_int_equal(tpc_store_webhook_cursor_set(s, "hd", id), TPD_OK);
	tpc_store_close(s);
	/* the cursor is durable */
	if (tpc_store_open(url, &s, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(tpc_store_webhook_cursor(s, "hd", &last), TPD_OK);
	assert_int_equal(last, id);
	assert_int_equal(tpc_store_webhook_cursor(s, "other", &last), TPD_OK);
	assert_int_equal(last, id);
	tpc_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets_file),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test_setup_teardown(test_events_and_cursors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
