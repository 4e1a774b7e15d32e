/* fuzz_json_files.c - hand-written data files: product descriptions and the
 * warranty policy (cJSON + field validation). First byte picks the parser. */
#include <stddef.h>
#include <stdint.h>

#include "tpd/product.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpd_product p;
	struct tpc_policy *pol;
	char err[256];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		tpd_product_parse((const char *)data + 1, size - 1, "fuzz", &p, err, sizeof(err));
	} else if (tpc_policy_parse((const char *)data + 1, size - 1, "fuzz", &pol, err,
				    sizeof(err)) == TPD_OK) {
		const char *codes[] = { "PWR_OVERVOLT", "FAN_STALL" };
		struct tpc_warranty w;

		tpc_policy_warranty(pol, "archer-ax55", codes, 2, "2024-02-29", 1764000000.0, &w);
		tpc_policy_review_due(pol, NULL, 1764000000.0);
		tpc_policy_free(pol);
	}
	return 0;
}
