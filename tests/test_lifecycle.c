/* test_lifecycle.c - every (from, to) pair of claim states against SPEC §6,
 * and the bearer-token file. */
#include "testutil.h"
#include "lifecycle.h"
#include "tokens.h"

/* The allowed edges, as SPEC §6 draws them plus escalation from guidance. */
static bool allowed(const char *from, const char *to)
{
	static const char *const edges[][2] = {
		{ "open", "in_review" }, { "in_review", "approved" }, { "in_review", "rejected" },
		{ "approved", "remote_guidance" }, { "approved", "repair_scheduled" },
		{ "approved", "replacement" }, { "remote_guidance", "repair_scheduled" },
		{ "remote_guidance", "replacement" }, { "remote_guidance", "resolved" },
		{ "repair_scheduled", "resolved" }, { "replacement", "resolved" },
		{ "resolved", "closed" },
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (strcmp(edges[i][0], from) == 0 && strcmp(edges[i][1], to) == 0)
			return true;
	return false;
}

static void test_every_transition(void **state)
{
	char why[256];
	int legal = 0, illegal = 0;

	(void)state;
	for (int i = 0; tpc_claim_states[i]; i++) {
		for (int j = 0; tpc_claim_states[j]; j++) {
			const char *from = tpc_claim_states[i], *to = tpc_claim_states[j];
			enum tpd_err rc = tpc_lifecycle_check(from, to, why, sizeof(why));

			if (allowed(from, to)) {
				assert_int_equal(rc, TPD_OK);
				legal++;
				continue;
			}
			if (rc != TPD_ERR_STATE)
				fail_msg("%s -> %s: %d, want refused", from, to, rc);
			/* the message names the move and what is allowed instead */
			assert_non_null(strstr(why, from));
			assert_non_null(strstr(why, to));
			assert_true(strstr(why, "allowed from") || strstr(why, "is final"));
			illegal++;
		}
	}
	assert_int_equal(legal, 12);
	assert_int_equal(illegal, 81 - 12);
	assert_int_equal(tpc_lifecycle_check("open", "done", why, sizeof(why)), TPD_ERR_INVAL);
	assert_non_null(strstr(why, "not a claim state"));
	assert_int_equal(tpc_lifecycle_check("open", NULL, why, sizeof(why)), TPD_ERR_INVAL);
	tpc_lifecycle_next("in_review", why, sizeof(why));
	assert_string_equal(why, "approved, rejected");
	tpc_lifecycle_next("closed", why, sizeof(why));
	assert_string_equal(why, "");
}

static void test_open_and_feedback_states(void **state)
{
	(void)state;
	assert_true(tpc_claim_state_open("open"));
	assert_true(tpc_claim_state_open("repair_scheduled"));
	assert_false(tpc_claim_state_open("resolved"));
	assert_false(tpc_claim_state_open("closed"));
	assert_false(tpc_claim_state_open("rejected"));
	assert_false(tpc_claim_state_open("nonsense"));
	assert_true(tpc_claim_feedback_allowed("resolved"));
	assert_true(tpc_claim_feedback_allowed("closed"));
	assert_false(tpc_claim_feedback_allowed("rejected"));
	assert_false(tpc_claim_feedback_allowed("open"));
}

static void test_tokens(void **state)
{
	struct tpd_rng *rng;
	struct tpc_tokens *t;
	char dir[64], path[128], tok[64], tok2[64], line[160], line2[160], text[512], err[256];

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/tokens", dir);
	assert_int_equal(tpd_rng_new(&rng), TPD_OK);
	assert_int_equal(tpc_token_new(rng, "ann", TPC_ROLE_SUPPORT, tok, sizeof(tok), line, sizeof(line)), TPD_OK);
	assert_int_equal(tpc_token_new(rng, "bob@support", TPC_ROLE_VIEWER, tok2, sizeof(tok2), line2, sizeof(line2)),
			 TPD_OK);
	assert_int_equal(strlen(tok), 43);
	assert_null(strstr(line, tok));                  /* the file never holds the token */
	assert_int_equal(tpc_token_new(rng, "no spaces", TPC_ROLE_SUPPORT, tok, sizeof(tok), line, sizeof(line)),
			 TPD_ERR_INVAL);
	snprintf(text, sizeof(text), "# support tokens\n%s\n\n%s\n", line, line2);
	tu_write(path, text);
	assert_int_equal(tpc_tokens_load(path, &t, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpc_tokens_count(t), 2);
	assert_string_equal(tpc_tokens_check(t, tok2), "bob@support");
	{
		enum tpc_role role = TPC_ROLE_SUPPORT;

		assert_non_null(strstr(line2, " viewer"));
		assert_null(strstr(line, " support"));   /* the default is not written */
		assert_string_equal(tpc_tokens_lookup(t, tok2, &role), "bob@support");
		assert_int_equal(role, TPC_ROLE_VIEWER);
		assert_string_equal(tpc_tokens_lookup(t, tok, &role), "ann");
		assert_int_equal(role, TPC_ROLE_SUPPORT);
	}
	assert_null(tpc_tokens_check(t, "nope"));
	assert_null(tpc_tokens_check(t, ""));
	tok2[5] ^= 1;
	assert_null(tpc_tokens_check(t, tok2));
	tpc_tokens_free(t);

	tu_write(path, "ann sha256:abc\n");
	assert_int_equal(tpc_tokens_load(path, &t, err, sizeof(err)), TPD_ERR_INVAL);
	assert_non_null(strstr(err, ":1: "));
	tu_write(path, "ann plain-token-in-the-file\n");
	assert_int_equal(tpc_tokens_load(path, &t, err, sizeof(err)), TPD_ERR_INVAL);
	snprintf(text, sizeof(text), "%.*s admin\n", (int)strcspn(line, " ") + 72, line);
	tu_write(path, text);
	assert_int_equal(tpc_tokens_load(path, &t, err, sizeof(err)), TPD_ERR_INVAL);
	assert_non_null(strstr(err, "support or viewer"));
	tu_write(path, "# nothing\n");
	assert_int_equal(tpc_tokens_load(path, &t, err, sizeof(err)), TPD_ERR_INVAL);
	assert_non_null(strstr(err, "no tokens"));
	tpd_rng_free(rng);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition),
		cmocka_unit_test(test_open_and_feedback_states),
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
