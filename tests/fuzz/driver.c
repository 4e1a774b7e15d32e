/*
 * driver.c - runs a fuzz target without libFuzzer: every file named on the
 * command line (or in a named folder) once, then N pseudo-random mutations of
 * each (default 2000; FUZZ_MUTATIONS=0 for a pure corpus replay).
 *
 * `make test` uses it as a regression run over tests/fuzz/corpus/TARGET with
 * the sanitizers of the build; `make fuzz` links the same targets with clang's
 * libFuzzer instead, for coverage-guided runs.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long driver_inputs;

static uint32_t driver_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

/* Flips, inserts, deletes and splices bytes; the mutated copy is run. */
static void driver_mutate(const uint8_t *data, size_t size, unsigned rounds, uint64_t seed)
{
	static const char *const tokens[] = { "{", "}", "[", "]", "\"", ",", ":", "null", "-1e999",
					      "\n", "\\u0000", ".", "C-", "1.5", "\"\"", NULL };
	size_t cap = size * 2 + 64;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return;
	for (unsigned r = 0; r < rounds; r++) {
		size_t n = size;
		unsigned edits = 1 + driver_rand(&seed) % 4;

		memcpy(buf, data, size);
		for (unsigned e = 0; e < edits; e++) {
			size_t at = n ? driver_rand(&seed) % n : 0;

			switch (driver_rand(&seed) % 4) {
			case 0:
				if (n)
					buf[at] ^= (uint8_t)(1u << (driver_rand(&seed) % 8));
				break;
			case 1:
				if (n) {
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
				}
				break;
			case 2:
				if (n < cap) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = (uint8_t)driver_rand(&seed);
					n++;
				}
				break;
			default: {
				int ntok = 0;
				const char *t;
				size_t tl;

				while (tokens[ntok])
					ntok++;
				t = tokens[driver_rand(&seed) % (unsigned)ntok];
				tl = strlen(t);
				if (n + tl <= cap) {
					memmove(buf + at + tl, buf + at, n - at);
					memcpy(buf + at, t, tl);
					n += tl;
				}
			}
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
		driver_inputs++;
	}
	free(buf);
}

static void driver_file(const char *path, unsigned rounds)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (!fp) {
		fprintf(stderr, "fuzz: %s: cannot open\n", path);
		exit(1);
	}
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	data = malloc(size > 0 ? (size_t)size : 1);
	if (!data || fread(data, 1, (size_t)size, fp) != (size_t)size) {
		fprintf(stderr, "fuzz: %s: cannot read\n", path);
		exit(1);
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	driver_inputs++;
	driver_mutate(data, (size_t)size, rounds, 0x9e3779b97f4a7c15ull ^ (uint64_t)size);
	free(data);
}

int main(int argc, char **argv)
{
	const char *env = getenv("FUZZ_MUTATIONS");
	unsigned rounds = env ? (unsigned)strtoul(env, NULL, 10) : 2000;
	unsigned long files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *dir;
		struct dirent *de;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) && (dir = opendir(argv[i]))) {
			while ((de = readdir(dir))) {
				char path[4096];

				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				driver_file(path, rounds);
				files++;
			}
			closedir(dir);
		} else {
			driver_file(argv[i], rounds);
			files++;
		}
	}
	if (files == 0) {
		fprintf(stderr, "fuzz: no inputs (give corpus files or folders)\n");
		return 2;
	}
	printf("%lu inputs from %lu seeds, no crash\n", driver_inputs, files);
	return 0;
}
