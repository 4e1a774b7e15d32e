/* fuzz_workcal.c - a region's business calendar (cJSON + field validation)
 * and, when it parses, the working-time arithmetic on it: between() must
 * give back exactly the working time add() counted, whatever the hours,
 * weekdays, holidays and summer time say. */
#include <stdint.h>
#include <stdlib.h>

#include "workcal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* around the 2026 switches, a claim, the range's ends */
	static const int64_t instants[] = { 1774746000, 1774742400, 1792890000, 1764000071,
					    1767225600, -2208988800LL, 253402300799LL,
					    INT64_MIN, INT64_MAX };
	static const int64_t works[] = { 0, 1, 3600, 27000, 2 * 28800, 7 * 86400 };
	struct tpc_workcal *c;
	char err[256];

	c = tpc_workcal_parse("FZ", (const char *)data, size, err, sizeof(err));
	if (!c)
		return 0;
	for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
		for (size_t j = 0; j < sizeof(works) / sizeof(works[0]); j++) {
			int64_t due = tpc_workcal_add(c, instants[i], works[j]);

			if (due == INT64_MAX)
				continue;
			if (tpc_workcal_between(c, instants[i], due) != works[j])
				abort();
		}
		tpc_workcal_utc_offset(c, instants[i]);
	}
	tpc_workcal_free(c);
	return 0;
}
