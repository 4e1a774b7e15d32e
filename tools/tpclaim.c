/*
 * tpclaim.c - support CLI for claims, over the collector's HTTP API.
 *
 *   tpclaim [--api URL] [--token T] list [--state S] [--device D] [--since T] [--json]
 *   tpclaim [--api URL] [--token T] show ID [--json]
 *
 * Layout: HTTP fetch (libcurl, bounded body), human rendering, commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "tpd/cli.h"

#define PROG "tpclaim"
#define BODY_MAX (8u << 20)

struct fetch_buf {
	char *data;
	size_t len;
	int toobig;
};

static size_t tpclaim_write(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct fetch_buf *b = user;
	size_t n = size * nmemb;
	char *grown;

	if (b->len + n > BODY_MAX) {
		b->toobig = 1;
		return 0;
	}
	grown = realloc(b->data, b->len + n + 1);
	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* GETs api+path; on success *out is the parsed JSON body (any status), and
 * *status the HTTP status. Prints one line and returns 1 on failure. */
static int tpclaim_get(const char *api, const char *token, const char *path, long *status,
		       cJSON **out)
{
	struct fetch_buf b = { 0 };
	struct curl_slist *hdr = NULL;
	char url[2048], auth[512];
	CURL *curl = curl_easy_init();
	CURLcode rc;

	*out = NULL;
	if (!curl)
		return fprintf(stderr, PROG ": curl: cannot initialise\n"), 1;
	snprintf(url, sizeof(url), "%s%s", api, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, tpclaim_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (token && *token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, PROG ": GET %s: %s\n", url,
			b.toobig ? "response larger than 8 MiB" : curl_easy_strerror(rc));
		free(b.data);
		return 1;
	}
	*out = b.data ? cJSON_Parse(b.data) : NULL;
	free(b.data);
	if (!*out) {
		fprintf(stderr, PROG ": GET %s: HTTP %ld with a body that is not JSON\n", url, *status);
		return 1;
	}
	return 0;
}

static const char *tpclaim_str(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(it) ? it->valuestring : "-";
}

static void tpclaim_codes(const cJSON *claim, char *buf, size_t len)
{
	const cJSON *it;
	size_t off = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(claim, "fault_codes")) {
		if (cJSON_IsString(it) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
						it->valuestring);
	}
}

static void tpclaim_print_list(const cJSON *claims)
{
	const cJSON *c;
	char codes[256];

	printf("%-10s %-16s %-14s %-12s %-8s %-20s %-34s %s\n", "ID", "STATE", "DEVICE", "MODEL",
	       "CLASS", "OPENED", "FAULTS", "TITLE");
	cJSON_ArrayForEach(c, claims) {
		tpclaim_codes(c, codes, sizeof(codes));
		printf("%-10s %-16s %-14s %-12s %-8s %-20s %-34s %.60s\n", tpclaim_str(c, "id"),
		       tpclaim_str(c, "state"), tpclaim_str(c, "device"), tpclaim_str(c, "model"),
		       tpclaim_str(c, "category"), tpclaim_str(c, "opened_at"), codes,
		       tpclaim_str(c, "title"));
	}
}

static void tpclaim_print_indented(const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		printf("  %.*s\n", n, p);
		p += n + (nl ? 1 : 0);
	}
}

static void tpclaim_print_claim(const cJSON *c)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(c, "warranty"), *it;
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(c, "detected_ts");
	char codes[256];

	tpclaim_codes(c, codes, sizeof(codes));
	printf("Claim %s  [%s]\n", tpclaim_str(c, "id"), tpclaim_str(c, "state"));
	printf("  %-12s %s\n", "Title", tpclaim_str(c, "title"));
	printf("  %-12s %s (%s)\n", "Device", tpclaim_str(c, "device"), tpclaim_str(c, "model"));
	printf("  %-12s %s, faults %s%s\n", "Category", tpclaim_str(c, "category"), codes,
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "predictive")) ? " (predictive)" : "");
	if (cJSON_IsNumber(det)) {
		time_t t = (time_t)det->valuedouble;
		struct tm tm;
		char iso[32];

		gmtime_r(&t, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("  %-12s %s (device clock)\n", "Detected", iso);
	}
	printf("  %-12s %s; review due %s\n", "Opened", tpclaim_str(c, "opened_at"),
	       tpclaim_str(c, "review_due"));
	printf("  %-12s %s; warranty %s (until %s, policy %s)\n", "Purchased",
	       tpclaim_str(c, "purchase_date"), tpclaim_str(w, "status"), tpclaim_str(w, "until"),
	       tpclaim_str(w, "policy"));
	printf("  %-12s %s\n", "Self-check", tpclaim_str(c, "selfcheck_verdict"));
	printf("  %-12s %s\n", "Suggested", tpclaim_str(c, "suggested_resolution"));
	printf("Description:\n");
	tpclaim_print_indented(tpclaim_str(c, "description"));
	it = cJSON_GetObjectItemCaseSensitive(c, "evidence");
	printf("Evidence (%d signed reports):\n", cJSON_GetArraySize(it));
	cJSON_ArrayForEach(it, it) {
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "seq");

		printf("  seq %-8.0f %-6s %-14s %-8s %s\n", cJSON_IsNumber(seq) ? seq->valuedouble : -1,
		       tpclaim_str(it, "kind"), tpclaim_str(it, "code"), tpclaim_str(it, "state"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "verified"))
		       ? "signature verified" : "NOT VERIFIED");
	}
	printf("Timeline:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "timeline")) {
		printf("  %s  %-12s by %s%s%s\n", tpclaim_str(it, "at"), tpclaim_str(it, "event"),
		       tpclaim_str(it, "by"), cJSON_GetObjectItemCaseSensitive(it, "note") ? ": " : "",
		       cJSON_GetObjectItemCaseSensitive(it, "note") ? tpclaim_str(it, "note") : "");
	}
}

static int tpclaim_api_error(const char *what, long status, const cJSON *body)
{
	fprintf(stderr, PROG ": %s: HTTP %ld: %s\n", what, status, tpclaim_str(body, "error"));
	return 1;
}

/* Appends "&key=value" (URL-escaped) to q. */
static void tpclaim_query(CURL *esc, char *q, size_t len, const char *key, const char *value)
{
	char *e;

	if (!value)
		return;
	e = curl_easy_escape(esc, value, 0);
	if (!e)
		return;
	snprintf(q + strlen(q), len - strlen(q), "%s%s=%s", strchr(q, '?') ? "&" : "?", key, e);
	curl_free(e);
}

static int tpclaim_usage(const char *why)
{
	fprintf(stderr, PROG ": bad usage: %s (see --help)\n", why);
	return 2;
}

int main(int argc, char **argv)
{
	const char *api = getenv("TPCLAIM_API"), *token = getenv("TPCLAIM_TOKEN");
	const char *state = NULL, *device = NULL, *since = NULL, *id = NULL;
	bool json = false;
	struct tpd_cli_opt opts[] = {
		{ "api", "URL", "collector API, e.g. http://127.0.0.1:8080 (or TPCLAIM_API)", &api, NULL },
		{ "token", "T", "bearer token (or TPCLAIM_TOKEN)", &token, NULL },
		{ "json", NULL, "print the API's JSON instead of a table", NULL, &json },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "[--api URL] [--token T] [--json] list [--state S] [--device ID] [--since DATE]\n"
			    "       tpclaim [--api URL] [--token T] [--json] show CLAIM-ID",
		.description = "Support CLI for warranty claims opened by the collector.",
		.opts = opts,
		.stop_at_command = true,
	};
	char path[1024], what[128];
	const char *cmd;
	cJSON *body = NULL;
	long status = 0;
	int optind_out, code = 0;
	CURL *esc;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	if (optind_out >= argc)
		return tpclaim_usage("a command is required: list or show");
	cmd = argv[optind_out];
	for (int i = optind_out + 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = !strcmp(a, "--state") ? &state : !strcmp(a, "--device") ? &device
				 : !strcmp(a, "--since") ? &since : NULL;

		if (!strcmp(a, "--json")) {
			json = true;
		} else if (dst && i + 1 < argc) {
			*dst = argv[++i];
		} else if (a[0] != '-' && !id && !strcmp(cmd, "show")) {
			id = a;
		} else {
			snprintf(what, sizeof(what), "unexpected argument \"%.60s\" to %s", a, cmd);
			return tpclaim_usage(what);
		}
	}
	if (!api || !*api)
		return tpclaim_usage("--api URL (or TPCLAIM_API) is required");
	if (strcmp(cmd, "list") && strcmp(cmd, "show"))
		return tpclaim_usage("unknown command (list, show)");
	if (!strcmp(cmd, "show") && !id)
		return tpclaim_usage("show needs a claim id");
	if (!strcmp(cmd, "list") && id)
		return tpclaim_usage("list takes no claim id");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	esc = curl_easy_init();
	if (!strcmp(cmd, "list")) {
		snprintf(path, sizeof(path), "/api/v1/claims");
		tpclaim_query(esc, path, sizeof(path), "state", state);
		tpclaim_query(esc, path, sizeof(path), "device", device);
		tpclaim_query(esc, path, sizeof(path), "since", since);
		snprintf(what, sizeof(what), "list");
	} else {
		char *e = curl_easy_escape(esc, id, 0);

		snprintf(path, sizeof(path), "/api/v1/claims/%s", e ? e : "");
		curl_free(e);
		snprintf(what, sizeof(what), "show %.60s", id);
	}
	code = tpclaim_get(api, token, path, &status, &body);
	if (!code && status != 200)
		code = tpclaim_api_error(what, status, body);
	if (!code) {
		if (json) {
			char *text = cJSON_Print(body);

			printf("%s\n", text ? text : "null");
			cJSON_free(text);
		} else if (!strcmp(cmd, "list")) {
			tpclaim_print_list(cJSON_GetObjectItemCaseSensitive(body, "claims"));
		} else {
			tpclaim_print_claim(body);
		}
	}
	cJSON_Delete(body);
	curl_easy_cleanup(esc);
	curl_global_cleanup();
	tpd_cli_free(&cli);
	return code;
}
