/* fuzz_ingest.c - what the collector takes from MQTT: topic + payload through
 * tpc_ingest_decode (JSON schemas, JWS envelope, signature against a
 * registry with one device). The first byte picks the topic kind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tpd/jws.h"
#include "ingest.h"
#include "registry.h"

static struct tpc_registry *fuzz_registry(void)
{
	static struct tpc_registry *reg;   /* fuzz harness only: built once */
	struct tpd_rng *rng;
	struct tpd_key *key;
	char b64[256];

	if (reg)
		return reg;
	if (tpd_rng_new(&rng) || tpd_key_generate(rng, &key) ||
	    tpd_key_public_b64(key, b64, sizeof(b64)) || tpc_registry_new(&reg) ||
	    tpc_registry_put_key(reg, "TP1", b64))
		abort();
	tpd_key_free(key);
	tpd_rng_free(rng);
	return reg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const topics[] = {
		"tp/v1/TP1/telemetry", "tp/v1/TP1/fault", "tp/v1/TP1/selfcheck",
		"tp/v1/TP1/status", "tp/v1/TP1/cmd", "tp/v1/TP 1/x",
	};
	struct tpc_report r;
	enum tpc_reject reason;
	char why[256];

	if (size < 1)
		return 0;
	if (tpc_ingest_decode(topics[data[0] % 6], data + 1, size - 1, fuzz_registry(), &r, &reason,
			      why, sizeof(why)) == TPD_OK)
		tpc_report_clear(&r);
	return 0;
}
