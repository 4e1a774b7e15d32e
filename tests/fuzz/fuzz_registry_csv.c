/* fuzz_registry_csv.c - the device registry CSV (tpc_registry_load: libcsv
 * records, comments, row validation). The input is handed over as a file
 * in memory (memfd), as the loader reads a path. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpc_registry *reg;
	char path[64], err[256];
	int fd = memfd_create("registry.csv", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (tpc_registry_load(path, &reg, err, sizeof(err)) == TPD_OK) {
			tpc_registry_find(reg, "TP1");
			tpc_registry_free(reg);
		}
	}
	close(fd);
	return 0;
}
