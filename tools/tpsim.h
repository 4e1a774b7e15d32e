/*
 * tpsim.h - the fleet simulator's parts: the labelled fleet generator
 * (tpsim_gen.c) and the replay of a folder of traces through real agents
 * (tpsim.c).
 */
#ifndef TPSIM_H
#define TPSIM_H

#include <stdbool.h>
#include <stdint.h>

struct tpsim_gen_cfg {
	const char *dir;                  /* where traces and labels.csv go */
	const char *const *board_dirs;    /* product descriptions */
	unsigned devices, days;
	double period_s;                  /* one trace row this often */
	uint64_t seed;
};

/* Writes the fleet; 0 on success, 1 after one line on stderr. */
int tpsim_generate(const struct tpsim_gen_cfg *cfg);

#endif
