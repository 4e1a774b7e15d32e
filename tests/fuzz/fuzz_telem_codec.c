/* fuzz_telem_codec.c - the compact telemetry rows and rollups the database
 * holds (telem_codec.c). The input is a layout string, a NUL, then the
 * encoded values. A row that decodes must encode again to values that
 * decode and encode to the same bytes (what the API serves is what was
 * stored; compared as bytes, as a corrupt layout may name a sensor twice). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telem_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct tpc_telem_agg *agg;
	static char layout[TPC_TELEM_LAYOUT_MAX], layout2[TPC_TELEM_LAYOUT_MAX],
		layout3[TPC_TELEM_LAYOUT_MAX];
	static unsigned char again[TPC_TELEM_DATA_MAX], again3[TPC_TELEM_DATA_MAX];
	const unsigned char *vals;
	size_t llen, vlen, len2, len3;
	cJSON *out = NULL, *out2 = NULL;

	if (!nul || (llen = (size_t)(nul - data)) >= sizeof(layout))
		return 0;
	memcpy(layout, data, llen);
	layout[llen] = '\0';
	vals = nul + 1;
	vlen = size - llen - 1;
	if (tpc_telem_decode("D", 7, 1764000000, layout, vals, vlen, &out) == TPD_OK &&
	    tpc_telem_encode(out, layout2, sizeof(layout2), again, sizeof(again), &len2) == TPD_OK) {
		if (tpc_telem_decode("D", 7, 1764000000, layout2, again, len2, &out2) != TPD_OK ||
		    tpc_telem_encode(out2, layout3, sizeof(layout3), again3, sizeof(again3), &len3) !=
			    TPD_OK ||
		    strcmp(layout2, layout3) != 0 || len2 != len3 || memcmp(again, again3, len2) != 0)
			abort();
	}
	cJSON_Delete(out);
	cJSON_Delete(out2);
	out = NULL;
	if (tpc_telem_agg_decode("D", 1764000000, layout, vals, vlen, &out) == TPD_OK)
		cJSON_Delete(out);
	agg = calloc(1, sizeof(*agg));
	if (agg && tpc_telem_agg_add_row(agg, layout, vals, vlen) == TPD_OK &&
	    tpc_telem_agg_add_rollup(agg, layout, vals, vlen) == TPD_OK &&
	    tpc_telem_agg_encode(agg, layout, again, sizeof(again), &len2) == TPD_OK)
		(void)len2;
	free(agg);
	return 0;
}
