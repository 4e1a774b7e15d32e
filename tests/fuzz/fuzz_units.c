/* fuzz_units.c - sizes and durations with units (tpd_units_size,
 * tpd_units_duration): every option or config value that takes one. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t plains[] = { 1, 1000, 86400000ULL, UINT64_MAX };
	char *s;
	uint64_t v, plain;
	size_t i;

	if (size == 0 || size > 256)
		return 0;
	plain = plains[data[0] % 4];
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (tpd_units_size(s, plain, 0, UINT64_MAX, &v) == TPD_UNITS_OK && plain == 1 &&
	    strlen(s) > 0 && s[0] == '0' && strspn(s, "0") == strlen(s) && v != 0)
		abort();                                     /* "000" is zero bytes */
	tpd_units_duration(s, plain, 0, UINT64_MAX, &v);
	for (i = 0; i < 4; i++)
		tpd_units_duration(s, plains[i], 1000, 86400000ULL, &v);
	free(s);
	return 0;
}
