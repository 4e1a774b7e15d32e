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
	double period_s;                  /* every device's row period; 0: drawn per device */
	double period_min_s;              /* floor for a drawn period (file size); 0: none */
	const char *mix;                  /* "even", "tune" or "test": the fleet's proportions */
	uint64_t seed;
};

/* Writes the fleet; 0 on success, 1 after one line on stderr. */
int tpsim_generate(const struct tpsim_gen_cfg *cfg);

/* 1 if name is a --mix the generator knows. */
bool tpsim_gen_mix_known(const char *name);

#endif
