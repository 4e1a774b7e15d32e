/*
 * tpkey.c - device identity: key pairs and registry rows.
 *
 *   tpkey gen ID [--out DIR] [--model M] [--purchase-date YYYY-MM-DD]
 *       writes DIR/ID.key (PEM, mode 0600, never overwritten) and
 *       DIR/ID.pub.pem, and prints the registry row (SPEC §6) on stdout.
 *   tpkey pub KEYFILE
 *       prints the public key of a private key, as PEM.
 *   tpkey csr ID --key KEYFILE
 *       prints a certificate signing request (CN=ID) for the device's TLS
 *       client certificate; any CA signs it (tests use openssl).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tpd/cli.h"
#include "tpd/jws.h"
#include "tpd/wire.h"

#define PROG "tpkey"

static int tpkey_fail(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	return 1;
}

static int tpkey_gen(const char *id, const char *dir, const char *model, const char *date)
{
	char keypath[4096], pubpath[4096], pem[512];
	struct tpd_rng *rng = NULL;
	struct tpd_key *key = NULL;
	enum tpd_err rc;
	FILE *fp;
	int code = 1;

	snprintf(keypath, sizeof(keypath), "%s/%s.key", dir, id);
	snprintf(pubpath, sizeof(pubpath), "%s/%s.pub.pem", dir, id);
	if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0)
		return tpkey_fail(dir, "cannot create or write the folder");
	if (tpd_rng_new(&rng) || tpd_key_generate(rng, &key)) {
		tpkey_fail("key", "cannot generate a P-256 key");
		goto out;
	}
	rc = tpd_key_save_private(key, keypath, 0);
	if (rc) {
		tpkey_fail(keypath, access(keypath, F_OK) == 0
			   ? "exists already (a device identity is never overwritten)"
			   : "cannot write");
		goto out;
	}
	if (tpd_key_public_pem(key, pem, sizeof(pem)) != TPD_OK || !(fp = fopen(pubpath, "w"))) {
		tpkey_fail(pubpath, "cannot write");
		goto out;
	}
	fputs(pem, fp);
	if (fclose(fp) != 0) {
		tpkey_fail(pubpath, "cannot write");
		goto out;
	}
	printf("%s,%s,%s,%s\n", id, model ? model : "", date ? date : "", pubpath);
	code = 0;
out:
	tpd_key_free(key);
	tpd_rng_free(rng);
	return code;
}

static int tpkey_csr(const char *id, const char *keyfile)
{
	struct tpd_rng *rng = NULL;
	struct tpd_key *key = NULL;
	char pem[4096];
	int code = 1;

	if (!tpd_id_valid(id) || !keyfile) {
		fprintf(stderr, PROG ": bad usage: csr takes an id (1-64 of [A-Za-z0-9_-]) and --key "
			"KEYFILE\n");
		return 2;
	}
	if (tpd_key_load_private(keyfile, &key))
		return tpkey_fail(keyfile, "not a readable PEM EC P-256 private key");
	if (tpd_rng_new(&rng) || tpd_key_csr_pem(key, rng, id, pem, sizeof(pem)))
		tpkey_fail("csr", "cannot build the request");
	else
		code = (fputs(pem, stdout), 0);
	tpd_key_free(key);
	tpd_rng_free(rng);
	return code;
}

int main(int argc, char **argv)
{
	const char *out = ".", *model = NULL, *date = NULL, *keyfile = NULL;
	struct tpd_cli_opt opts[] = {
		{ "out", "DIR", "gen: folder for ID.key and ID.pub.pem (default .)", &out, NULL },
		{ "model", "M", "gen: model for the registry row", &model, NULL },
		{ "purchase-date", "YYYY-MM-DD", "gen: purchase date for the registry row", &date, NULL },
		{ "key", "FILE", "csr: the device's private key", &keyfile, NULL },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "gen ID [--out DIR] [--model M] [--purchase-date D] | pub KEYFILE |\n"
			    "       tpkey csr ID --key KEYFILE",
		.description = "Device identity: ECDSA P-256 key pairs (PEM) and device registry rows.",
		.opts = opts,
	};
	int optind_out, code;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	if (argc - optind_out == 2 && !strcmp(argv[optind_out], "gen")) {
		const char *id = argv[optind_out + 1];

		if (!tpd_id_valid(id))
			code = (fprintf(stderr, PROG ": bad usage: id must be 1-64 of [A-Za-z0-9_-]\n"), 2);
		else if (model && !tpd_id_valid(model))
			code = (fprintf(stderr, PROG ": bad usage: --model must be 1-64 of [A-Za-z0-9_-]\n"), 2);
		else
			code = tpkey_gen(id, out, model, date);
	} else if (argc - optind_out == 2 && !strcmp(argv[optind_out], "pub")) {
		struct tpd_key *key;
		char pem[512];

		/* a missing file is not a bad format: say which */
		if (access(argv[optind_out + 1], R_OK) != 0)
			code = tpkey_fail(argv[optind_out + 1], strerror(errno));
		else
			code = tpd_key_load_private(argv[optind_out + 1], &key)
			       ? tpkey_fail(argv[optind_out + 1], "not a PEM EC P-256 private key") : 0;
		if (!code) {
			code = tpd_key_public_pem(key, pem, sizeof(pem)) ? 1 : (fputs(pem, stdout), 0);
			tpd_key_free(key);
		}
	} else if (argc - optind_out == 2 && !strcmp(argv[optind_out], "csr")) {
		code = tpkey_csr(argv[optind_out + 1], keyfile);
	} else {
		fprintf(stderr, PROG ": bad usage: expected gen ID, pub KEYFILE or csr ID --key KEYFILE "
			"(see --help)\n");
		code = 2;
	}
	tpd_cli_free(&cli);
	return code;
}
