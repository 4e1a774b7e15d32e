/*
 * cli.c - getopt_long over an option table, plus INI config files via libinih.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "tpd/cli.h"

#define CLI_MAX_OPTS TPD_CLI_MAX_OPTS

struct cli_ini_ctx {
	struct tpd_cli *cli;
	char bad[160];
};

static struct tpd_cli_opt *cli_find(struct tpd_cli *cli, const char *name)
{
	for (struct tpd_cli_opt *o = cli->opts; o->name; o++) {
		if (strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static bool cli_truthy(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = false;
	else
		return false;
	return true;
}

static int cli_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cli_ini_ctx *c = user;
	struct tpd_cli_opt *o;
	char **grown, *copy;

	if (section[0] && strcmp(section, c->cli->program) != 0)
		return 1; /* another program's section */
	o = cli_find(c->cli, name);
	if (!o || strcmp(name, "config") == 0) {
		snprintf(c->bad, sizeof(c->bad), "unknown key \"%.60s\"", name);
		return 0;
	}
	if (o - c->cli->opts < CLI_MAX_OPTS)
		c->cli->source[o - c->cli->opts] = TPD_CLI_SRC_CONFIG;
	if (o->flag) {
		if (!cli_truthy(value, o->flag)) {
			snprintf(c->bad, sizeof(c->bad), "%.60s: expected true or false", name);
			return 0;
		}
		return 1;
	}
	copy = strdup(value);
	grown = copy ? realloc(c->cli->owned, (size_t)(c->cli->nowned + 1) * sizeof(char *)) : NULL;
	if (!grown) {
		free(copy);
		snprintf(c->bad, sizeof(c->bad), "out of memory");
		return 0;
	}
	c->cli->owned = grown;
	c->cli->owned[c->cli->nowned++] = copy;
	*o->value = copy;
	return 1;
}

#define CLI_HELP_COL 28     /* where help text starts */
#define CLI_HELP_WIDTH 79   /* help lines are wrapped before this column */

/* One option's help: its name and argument in the left column (alone on
 * its line when wider than it), the text wrapped at word boundaries with
 * continuation lines indented to the column. */
static void cli_help_row(const char *left, const char *help)
{
	const char *p = help;
	int col;

	col = printf("  %s", left);
	if (col >= CLI_HELP_COL - 1) {
		printf("\n");
		col = 0;
	}
	printf("%*s", CLI_HELP_COL - col, "");
	col = CLI_HELP_COL;
	while (*p) {
		size_t word = strcspn(p, " ");

		if (col > CLI_HELP_COL && col + 1 + (int)word > CLI_HELP_WIDTH) {
			printf("\n%*s", CLI_HELP_COL, "");
			col = CLI_HELP_COL;
		} else if (col > CLI_HELP_COL) {
			putchar(' ');
			col++;
		}
		printf("%.*s", (int)word, p);
		col += (int)word;
		p += word;
		while (*p == ' ')
			p++;
	}
	putchar('\n');
}

static void cli_help(const struct tpd_cli *cli)
{
	printf("usage: %s %s\n\n%s\n\noptions:\n", cli->program, cli->synopsis, cli->description);
	for (const struct tpd_cli_opt *o = cli->opts; o->name; o++) {
		char left[96];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		cli_help_row(left, o->help);
	}
	cli_help_row("--config FILE", "read options from an INI file (command line wins; default "
		     TPD_SYSCONFDIR "/PROGRAM.conf when it exists)");
	cli_help_row("--print-config", "print every option's effective value and where it came "
		     "from, then exit");
	cli_help_row("--help", "show this help");
	cli_help_row("--version", "show the version");
}

static enum tpd_cli_rc cli_load_config(struct tpd_cli *cli, const char *path)
{
	struct cli_ini_ctx c = { .cli = cli };
	int rc = ini_parse(path, cli_ini_handler, &c);

	if (rc == -1) {
		fprintf(stderr, "%s: bad usage: cannot open config %s: %s\n", cli->program, path,
			strerror(errno));
		return TPD_CLI_USAGE;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: bad usage: config %s:%d: %s\n", cli->program, path, rc,
			c.bad[0] ? c.bad : "syntax error");
		return TPD_CLI_USAGE;
	}
	return TPD_CLI_RUN;
}

/* INI lines that could go into the config file, each with its source. */
static void cli_print_config(const struct tpd_cli *cli)
{
	static const char *const from[] = { "default", "config file", "command line" };

	printf("# %s: effective configuration; config file: %s\n[%s]\n", cli->program,
	       cli->config[0] ? cli->config : "none", cli->program);
	for (const struct tpd_cli_opt *o = cli->opts; o->name; o++) {
		char line[600];

		if (o->flag)
			snprintf(line, sizeof(line), "%s = %s", o->name, *o->flag ? "true" : "false");
		else if (*o->value && strcmp(o->name, "token") == 0)
			snprintf(line, sizeof(line), "# %s = (set, not shown)", o->name);
		else if (*o->value)
			snprintf(line, sizeof(line), "%s = %s", o->name, *o->value);
		else
			snprintf(line, sizeof(line), "# %s =", o->name);
		printf("%-50s # %s\n", line,
		       from[o - cli->opts < CLI_MAX_OPTS ? cli->source[o - cli->opts] : 0]);
	}
}

/* The default config file, when there is one: TPDIAG_CONFIG_DIR or
 * TPD_SYSCONFDIR, then PROGRAM.conf. */
static bool cli_default_config(const struct tpd_cli *cli, char *path, size_t len)
{
	const char *dir = getenv("TPDIAG_CONFIG_DIR");

	if (!dir)
		dir = TPD_SYSCONFDIR;
	if (!*dir)
		return false;
	snprintf(path, len, "%s/%s.conf", dir, cli->program);
	return access(path, F_OK) == 0;
}

static enum tpd_cli_rc cli_parse(struct tpd_cli *cli, int argc, char **argv, int *optind_out)
{
	struct option lopts[CLI_MAX_OPTS + 5];
	bool print = false;
	char dflt[sizeof(cli->config)];
	const char *config = NULL;
	/* ':' first: a missing value is ':' (with the option in argv), not '?' */
	const char *optstring = cli->stop_at_command ? "+:" : ":";
	int n = 0, c, idx;
	enum tpd_cli_rc rc;

	for (struct tpd_cli_opt *o = cli->opts; o->name && n < CLI_MAX_OPTS; o++, n++)
		lopts[n] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, 0 };
	lopts[n++] = (struct option){ "config", required_argument, NULL, 0 };
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	lopts[n++] = (struct option){ "print-config", no_argument, NULL, 'P' };
	lopts[n] = (struct option){ 0 };

	/* Pass 1 finds --config so the file can be applied first. */
	opterr = 0;
	optind = 0;  /* 0, not 1: glibc then re-initialises its permutation state */
	while ((c = getopt_long(argc, argv, optstring, lopts, &idx)) != -1) {
		if (c == 0 && strcmp(lopts[idx].name, "config") == 0)
			config = optarg;
		if (c == 'h') {
			cli_help(cli);
			return TPD_CLI_EXIT0;
		}
		if (c == 'V') {
			printf("%s %s\n", cli->program, TPD_VERSION);
			return TPD_CLI_EXIT0;
		}
		if (c == 'P')
			print = true;
		if (c == ':') {
			fprintf(stderr, "%s: bad usage: %s needs a value (see --help)\n",
				cli->program, argv[optind - 1]);
			return TPD_CLI_USAGE;
		}
		if (c == '?') {
			fprintf(stderr, "%s: bad usage: unknown option %s (see --help)\n",
				cli->program, argv[optind - 1]);
			return TPD_CLI_USAGE;
		}
	}
	cli->config[0] = '\0';
	if (!config && cli_default_config(cli, dflt, sizeof(dflt)))
		config = dflt;
	if (config) {
		snprintf(cli->config, sizeof(cli->config), "%s", config);
		rc = cli_load_config(cli, config);
		if (rc)
			return rc;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, lopts, &idx)) != -1) {
		struct tpd_cli_opt *o;

		if (c != 0 || strcmp(lopts[idx].name, "config") == 0)
			continue;
		o = cli_find(cli, lopts[idx].name);
		if (o - cli->opts < CLI_MAX_OPTS)
			cli->source[o - cli->opts] = TPD_CLI_SRC_ARGV;
		if (o->flag)
			*o->flag = true;
		else
			*o->value = optarg;
	}
	*optind_out = optind;
	if (print) {
		cli_print_config(cli);
		return TPD_CLI_EXIT0;
	}
	return TPD_CLI_RUN;
}

/* The programs return at once on anything but TPD_CLI_RUN (--help,
 * --print-config, bad usage), and a refused reload goes back to the values
 * it saved: what this parse read from the config file is freed here, and
 * only that (a reload's saved values point into the earlier parses'). */
enum tpd_cli_rc tpd_cli_parse(struct tpd_cli *cli, int argc, char **argv, int *optind_out)
{
	int before = cli->nowned;
	enum tpd_cli_rc rc = cli_parse(cli, argc, argv, optind_out);

	if (rc != TPD_CLI_RUN) {
		for (int i = before; i < cli->nowned; i++)
			free(cli->owned[i]);
		cli->nowned = before;
		if (before == 0) {
			free(cli->owned);
			cli->owned = NULL;
		}
	}
	return rc;
}

void tpd_cli_free(struct tpd_cli *cli)
{
	for (int i = 0; i < cli->nowned; i++)
		free(cli->owned[i]);
	free(cli->owned);
	cli->owned = NULL;
	cli->nowned = 0;
}

bool tpd_cli_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}
