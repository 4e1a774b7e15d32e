/*
 * tpd/cli.h - table-driven command-line and config-file options (SPEC §1).
 *
 * Every long option of a program is also a key of its config file
 * (`--config FILE`, INI syntax, keys at top level or in a [PROGRAM] section);
 * the command line wins over the file. Without --config, PROGRAM.conf in
 * TPD_SYSCONFDIR ($(PREFIX)/etc/tpdiag, /etc/tpdiag for PREFIX=/usr; the
 * environment's TPDIAG_CONFIG_DIR instead when set) is read when it exists.
 * --help, --version and --print-config (every option's effective value and
 * where it came from) are built in.
 */
#ifndef TPD_CLI_H
#define TPD_CLI_H

#include <stdbool.h>

#define TPD_VERSION "0.1.0"
#ifndef TPD_SYSCONFDIR
#define TPD_SYSCONFDIR "/usr/local/etc/tpdiag"
#endif

/* Where an option's value came from (--print-config). */
enum tpd_cli_source {
	TPD_CLI_SRC_DEFAULT = 0,
	TPD_CLI_SRC_CONFIG = 1,
	TPD_CLI_SRC_ARGV = 2,
};

enum tpd_cli_rc {
	TPD_CLI_RUN = 0,    /* options parsed: run */
	TPD_CLI_EXIT0 = 1,  /* --help or --version printed: exit 0 */
	TPD_CLI_USAGE = 2,  /* bad usage printed: exit 2 */
};

struct tpd_cli_opt {
	const char *name;       /* long option and config key */
	const char *arg;        /* placeholder for --help; NULL = a flag */
	const char *help;
	const char **value;     /* set for options with an argument */
	bool *flag;             /* set for flags */
};

#define TPD_CLI_MAX_OPTS 48

struct tpd_cli {
	const char *program;
	const char *synopsis;      /* one line after "usage: PROGRAM " */
	const char *description;   /* paragraph for --help */
	struct tpd_cli_opt *opts;  /* terminated by an entry with name NULL */
	bool stop_at_command;      /* options end at the first positional (the command
	                              parses its own); else they may follow it */
	char **owned;              /* strings read from the config file */
	int nowned;
	char config[1024];         /* the config file read, "" for none */
	unsigned char source[TPD_CLI_MAX_OPTS]; /* enum tpd_cli_source of opts[i] */
};

/*
 * Parses argv (and --config FILE) into the option table. Positional arguments
 * are left in argv[*optind_out..argc-1]. Messages go to stdout (help) or
 * stderr (errors, as "PROGRAM: bad usage: why"). Anything but TPD_CLI_RUN
 * leaves nothing new to free; after TPD_CLI_RUN, tpd_cli_free at the end.
 */
enum tpd_cli_rc tpd_cli_parse(struct tpd_cli *cli, int argc, char **argv, int *optind_out);

/* Frees strings read from the config file. */
void tpd_cli_free(struct tpd_cli *cli);

/* Sizes and durations with units: tpd/units.h. */
/* Parses a decimal number in [lo, hi]; false on any trailing garbage. */
bool tpd_cli_number(const char *s, double lo, double hi, double *out);

#endif
