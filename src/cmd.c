/*
 * cmd.c - parsing cloud -> device commands and keeping claim notices
 * (see cmd.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tpd/jsonfile.h"
#include "cmd.h"

static const char *const cmd_states[] = {
	"open", "in_review", "approved", "rejected", "remote_guidance", "repair_scheduled",
	"replacement", "resolved", "closed", NULL
};

static bool cmd_claim_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n < sizeof(((struct tpd_cmd *)0)->claim) && strncmp(s, "C-", 2) == 0 &&
	       strspn(s + 2, "0123456789") == n - 2;
}

enum tpd_err tpd_cmd_parse(const char *payload, size_t len, struct tpd_cmd *out, char *why,
			   size_t whylen)
{
	static const char *const claim_keys[] = { "op", "claim", "state", NULL };
	static const char *const selfcheck_keys[] = { "op", NULL };
	const cJSON *op, *claim, *state, *bad;
	cJSON *o;
	enum tpd_err rc = TPD_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	if (len > TPD_CMD_MAX_BYTES) {
		snprintf(why, whylen, "larger than %d bytes", TPD_CMD_MAX_BYTES);
		return TPD_ERR_INVAL;
	}
	o = cJSON_ParseWithLength(payload, len);
	if (!cJSON_IsObject(o)) {
		snprintf(why, whylen, "not a JSON object");
		goto out;
	}
	op = cJSON_GetObjectItemCaseSensitive(o, "op");
	if (!cJSON_IsString(op)) {
		snprintf(why, whylen, "op: required, a string");
		goto out;
	}
	if (strcmp(op->valuestring, "selfcheck") == 0) {
		bad = tpd_json_unknown_key(o, selfcheck_keys);
		if (bad) {
			snprintf(why, whylen, "selfcheck: unknown field \"%.32s\"", bad->string);
			goto out;
		}
		out->op = TPD_CMD_SELFCHECK;
		rc = TPD_OK;
		goto out;
	}
	if (strcmp(op->valuestring, "claim") != 0) {
		snprintf(why, whylen, "op \"%.32s\" is not selfcheck or claim", op->valuestring);
		goto out;
	}
	bad = tpd_json_unknown_key(o, claim_keys);
	claim = cJSON_GetObjectItemCaseSensitive(o, "claim");
	state = cJSON_GetObjectItemCaseSensitive(o, "state");
	if (bad)
		snprintf(why, whylen, "claim: unknown field \"%.32s\"", bad->string);
	else if (!cJSON_IsString(claim) || !cmd_claim_id_valid(claim->valuestring))
		snprintf(why, whylen, "claim: required, an id like C-000123");
	else if (!cJSON_IsString(state) || !tpd_str_in_set(state->valuestring, cmd_states))
		snprintf(why, whylen, "state: required, a claim state");
	else
		rc = TPD_OK;
	if (!rc) {
		out->op = TPD_CMD_CLAIM;
		snprintf(out->claim, sizeof(out->claim), "%s", claim->valuestring);
		snprintf(out->state, sizeof(out->state), "%s", state->valuestring);
	}
out:
	cJSON_Delete(o);
	return rc;
}

enum tpd_err tpd_cmd_claims_merge(const char *old, const struct tpd_cmd *c, double now,
				  char **out)
{
	cJSON *prev = old ? cJSON_Parse(old) : NULL;
	cJSON *root = cJSON_CreateObject(), *arr, *item;
	const cJSON *it;
	int kept = 1;

	*out = NULL;
	arr = root ? cJSON_AddArrayToObject(root, "claims") : NULL;
	item = cJSON_CreateObject();
	if (!arr || !item || !cJSON_AddStringToObject(item, "claim", c->claim) ||
	    !cJSON_AddStringToObject(item, "state", c->state) ||
	    !cJSON_AddNumberToObject(item, "received", now) || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);   /* not in arr: adding it was the last step */
		cJSON_Delete(root);
		cJSON_Delete(prev);
		return TPD_ERR_NOMEM;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(prev, "claims")) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "claim"));

		if (!id || strcmp(id, c->claim) == 0 || kept >= TPD_CMD_CLAIMS_KEPT)
			continue;
		if (cJSON_AddItemToArray(arr, cJSON_Duplicate(it, true)))
			kept++;
	}
	*out = cJSON_Print(root);
	cJSON_Delete(root);
	cJSON_Delete(prev);
	return *out ? TPD_OK : TPD_ERR_NOMEM;
}
