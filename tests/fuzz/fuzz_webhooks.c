/* fuzz_webhooks.c - the webhook targets file (tpcollect --webhooks). */
#include <stddef.h>
#include <stdint.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpc_webhook *wh;
	struct tpc_webhook_status st;
	char err[256];

	if (tpc_webhook_parse((const char *)data, size, "fuzz", &wh, err, sizeof(err)) == TPD_OK) {
		for (size_t i = 0; i < tpc_webhook_count(wh); i++)
			tpc_webhook_status(wh, i, &st);
		tpc_webhook_free(wh);
	}
	return 0;
}
