/*
 * events.c - builds a claim event and queues it in the store (events.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include <cjson/cJSON.h>

#include "claims.h"
#include "events.h"
#include "store.h"

enum tpd_err tpc_events_uuid(char out[37])
{
	unsigned char b[16];

	/* getrandom: the kernel's CSPRNG, no state of ours to share between
	 * threads; 16 bytes never return short */
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return TPD_ERR_IO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 (RFC 4122 4.4) */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* variant 10 */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return TPD_OK;
}

enum tpd_err tpc_events_queue(struct tpc_store *s, int64_t claim, const char *event, double now)
{
	char uuid[37], at[32], *text = NULL;
	cJSON *o = NULL, *cl = NULL;
	enum tpd_err rc = tpc_events_uuid(uuid);

	if (rc)
		return rc;
	rc = tpc_store_claim_get_locked(s, claim, &cl);
	if (rc)
		return rc;
	tpc_iso_time(now, at, sizeof(at));
	o = cJSON_CreateObject();
	rc = TPD_ERR_NOMEM;
	if (!o || !cJSON_AddStringToObject(o, "event", event) ||
	    !cJSON_AddStringToObject(o, "id", uuid) || !cJSON_AddStringToObject(o, "at", at))
		goto out;
	/* stored with the tracking token: webhook.c turns it into the link */
	if (!cJSON_AddItemToObject(o, "claim", cl))
		goto out;
	cl = NULL;
	text = cJSON_PrintUnformatted(o);
	if (text)
		rc = tpc_store_event_add(s, uuid, event, claim, at, text);
out:
	cJSON_free(text);
	cJSON_Delete(cl);
	cJSON_Delete(o);
	return rc;
}
