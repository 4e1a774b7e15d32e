/*
 * tpclaim.c - support CLI for claims and devices, over the collector's API.
 *
 *   tpclaim [--api URL] [--token T] [--json] COMMAND ...
 *     list [--state S] [--device ID] [--since DATE] [--limit N] [--after C-ID] [--all]
 *       [--warranty W] [--priority P] [--predictive B] [--model M] [--overdue]
 *       [--search TEXT] [--sort KEY] [--category CLASS]
 *     show ID | transition ID STATE [--note TEXT] | note ID TEXT
 *     new DEVICE DESCRIPTION [--model M] [--purchase-date D] [--contact C]
 *       [--channel CH] [--category CLASS]
 *     feedback ID RATING [--comment TEXT] | verify ID
 *     devices import FILE.csv | devices list [--limit N] [--after ID] [--all]
 *     devices show ID | devices update ID [--model M] [--purchase-date D|none]
 *       [--owner-contact C] [--channel C] [--public-key FILE|BASE64]
 *     devices telemetry ID [--since T] [--until T] [--limit N] [--after SEQ]
 *     token new NAME [--role support|viewer]
 *
 * Layout: HTTP (libcurl, bounded body), argument parsing per command, human
 * rendering, the commands, and the command table main() dispatches on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "tpd/cli.h"
#include "tpd/jsonfile.h"
#include "tpd/utf8.h"
#include "tpd/jws.h"
#include "claims.h"
#include "devices.h"
#include "registry.h"
#include "lifecycle.h"
#include "tokens.h"

#define PROG "tpclaim"
#define BODY_MAX (64u << 20)
#define MAX_POS 3
#define MAX_OPTS 6

/* What every command gets. */
struct tpclaim {
	const char *api, *token;
	bool json;
	CURL *curl;
};

/* HTTP ----------------------------------------------------------------------- */

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

/* A string field as a terminal may show it (tpd_json_printable). */
static const char *tpclaim_str(const cJSON *o, const char *key)
{
	return tpd_json_printable(o, key);
}

static int tpclaim_int(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(it) ? it->valueint : -1;
}

/*
 * method api+path with an optional JSON body. On a 2xx answer *out is the
 * parsed body (caller's). Any other outcome prints one line "tpclaim: WHAT:
 * why" and returns 1.
 */
static int tpclaim_call(struct tpclaim *t, const char *method, const char *path,
			const cJSON *body, const char *what, cJSON **out)
{
	struct fetch_buf b = { 0 };
	struct curl_slist *hdr = NULL;
	char url[2048], auth[512], *text = NULL;
	long status = 0;
	CURLcode rc;

	*out = NULL;
	snprintf(url, sizeof(url), "%s%s", t->api, path);
	curl_easy_reset(t->curl);
	curl_easy_setopt(t->curl, CURLOPT_URL, url);
	curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, tpclaim_write);
	curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (t->token && *t->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
		hdr = curl_slist_append(hdr, auth);
	}
	if (body) {
		text = cJSON_PrintUnformatted(body);
		if (!text)
			return fprintf(stderr, PROG ": %s: out of memory\n", what), 1;
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(t->curl);
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	cJSON_free(text);
	if (rc != CURLE_OK) {
		fprintf(stderr, PROG ": %s: %s: %s\n", what, url,
			b.toobig ? "response larger than 64 MiB" : curl_easy_strerror(rc));
		free(b.data);
		return 1;
	}
	*out = b.data ? cJSON_Parse(b.data) : NULL;
	free(b.data);
	if (status < 200 || status > 299) {
		fprintf(stderr, PROG ": %s: HTTP %ld: %s\n", what, status,
			*out ? tpclaim_str(*out, "error") : "(no JSON error body)");
		cJSON_Delete(*out);
		*out = NULL;
		return 1;
	}
	if (!*out) {
		fprintf(stderr, PROG ": %s: HTTP %ld with a body that is not JSON\n", what, status);
		return 1;
	}
	return 0;
}

/* Appends "?key=value" or "&key=value" (URL-escaped) to path. */
static void tpclaim_query(struct tpclaim *t, char *path, size_t len, const char *key,
			  const char *value)
{
	char *e;

	if (!value)
		return;
	e = curl_easy_escape(t->curl, value, 0);
	if (!e)
		return;
	snprintf(path + strlen(path), len - strlen(path), "%s%s=%s", strchr(path, '?') ? "&" : "?",
		 key, e);
	curl_free(e);
}

/* "/api/v1/claims/" + escaped id + suffix */
static void tpclaim_path(struct tpclaim *t, char *path, size_t len, const char *base,
			 const char *id, const char *suffix)
{
	char *e = curl_easy_escape(t->curl, id, 0);

	snprintf(path, len, "%s/%s%s", base, e ? e : "", suffix);
	curl_free(e);
}

static void tpclaim_print_json(const cJSON *o)
{
	char *text = cJSON_Print(o);

	printf("%s\n", text ? text : "null");
	cJSON_free(text);
}

/* Arguments ---------------------------------------------------------------- */

struct tpclaim_opt {
	const char *name;        /* "--state" */
	const char **value;      /* NULL: a flag, set through flag */
	bool *flag;
};

static int tpclaim_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": bad usage: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, " (see --help)\n");
	return 2;
}

/* Splits a command's arguments into exactly npos positionals and the options
 * it takes; --json is accepted anywhere. Returns 0 or 2 (usage printed). */
static int tpclaim_args(struct tpclaim *t, int argc, char **argv, const char *cmd, int npos,
			const char **pos, const struct tpclaim_opt *opts)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct tpclaim_opt *o = NULL;

		if (strcmp(a, "--json") == 0) {
			t->json = true;
			continue;
		}
		for (int j = 0; opts && opts[j].name; j++) {
			if (strcmp(a, opts[j].name) == 0)
				o = &opts[j];
		}
		if (o && o->flag) {
			*o->flag = true;
		} else if (o) {
			if (i + 1 >= argc)
				return tpclaim_usage("%s needs a value", a);
			*o->value = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			char what[128];

			snprintf(what, sizeof(what), "%.40s does not take %.40s", cmd, a);
			return tpclaim_usage("%s", what);
		} else if (n < npos) {
			pos[n++] = a;
		} else {
			char what[128];

			snprintf(what, sizeof(what), "unexpected argument \"%.40s\" to %.30s", a, cmd);
			return tpclaim_usage("%s", what);
		}
	}
	if (n < npos) {
		char what[128];

		snprintf(what, sizeof(what), "%.30s needs %d argument%s", cmd, npos, npos > 1 ? "s" : "");
		return tpclaim_usage("%s", what);
	}
	return 0;
}

/* Rendering ----------------------------------------------------------------- */

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

/* Display columns of one UTF-8 character starting with lead byte u (East
 * Asian wide ranges count 2; enough for titles in Chinese). */
static int tpclaim_cols(unsigned long cp)
{
	return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	       (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	       (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	       (cp >= 0xffe0 && cp <= 0xffe6) ? 2 : 1;
}

/* Prints s in at most width display columns, cut on a character boundary
 * with "..." when it does not fit. */
static void tpclaim_fit(const char *s, int width)
{
	const unsigned char *p = (const unsigned char *)s;
	int used = 0, total = 0;
	size_t n = strlen(s), i = 0, cut = 0;
	unsigned long cp;

	while (i < n) {
		size_t k = tpd_utf8_seq(p + i, n - i, &cp);

		if (!k)
			k = 1, cp = '?';
		total += tpclaim_cols(cp);
		if (total <= width - 3)
			cut = i + k, used = total;
		i += k;
	}
	if (total <= width) {
		fputs(s, stdout);
		return;
	}
	printf("%.*s...", (int)cut, s);
	(void)used;
}

/* One line per claim, 120 columns at most with ids of up to 12 characters:
 * the fault codes and the whole title are in `show`. */
static void tpclaim_print_list(const cJSON *claims)
{
	const cJSON *c;

	printf("%-8s %-16s %-6s %-12s %-7s %-11s %-16s %s\n", "ID", "STATE", "PRIO", "DEVICE",
	       "CLASS", "WARRANTY", "REVIEW DUE (UTC)", "TITLE");
	cJSON_ArrayForEach(c, claims) {
		const char *due = tpclaim_str(c, "review_due");

		printf("%-8s %-16s %-6s %-12s %-7s %-11s %-10.10s %-5.5s %s", tpclaim_str(c, "id"),
		       tpclaim_str(c, "state"), tpclaim_str(c, "priority"), tpclaim_str(c, "device"),
		       tpclaim_str(c, "category"),
		       tpclaim_str(cJSON_GetObjectItemCaseSensitive(c, "warranty"), "status"),
		       due, strlen(due) >= 16 ? due + 11 : "", cJSON_IsTrue(
			       cJSON_GetObjectItemCaseSensitive(c, "predictive")) ? "~" : "");
		/* the title: its model prefix is in the device's row already */
		tpclaim_fit(tpclaim_str(c, "title"), cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(c, "predictive")) ? 35 : 36);
		putchar('\n');
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

/* ", 5h 20m of working time left" / ", overdue by 1d 2h" (or "") */
static const char *tpclaim_review_left(const cJSON *c, char *buf, size_t len)
{
	const cJSON *left = cJSON_GetObjectItemCaseSensitive(c, "review_left_s");
	bool working = strcmp(tpclaim_str(c, "review_clock"), "working") == 0;
	double s;
	long d, h, m;

	if (!cJSON_IsNumber(left))
		return "";
	s = fabs(left->valuedouble);
	d = (long)(s / 86400);
	h = (long)(s - d * 86400.0) / 3600;
	m = (long)(s - d * 86400.0 - h * 3600.0) / 60;
	if (left->valuedouble < 0)
		snprintf(buf, len, ", overdue by %ldh %02ldm%s", d * 24 + h, m,
			 working ? " of working time" : "");
	else
		snprintf(buf, len, ", %ldh %02ldm%s left", d * 24 + h, m,
			 working ? " of working time" : "");
	return buf;
}

static void tpclaim_print_claim(const cJSON *c)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(c, "warranty"), *it;
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(c, "detected_ts");
	const cJSON *fb = cJSON_GetObjectItemCaseSensitive(c, "feedback"), *res;
	char codes[256], left[96];

	tpclaim_codes(c, codes, sizeof(codes));
	res = cJSON_GetObjectItemCaseSensitive(c, "resolution");
	printf("Claim %s  [%s]  priority %s\n", tpclaim_str(c, "id"), tpclaim_str(c, "state"),
	       tpclaim_str(c, "priority"));
	printf("  %-12s %s\n", "Title", tpclaim_str(c, "title"));
	printf("  %-12s %s (%s)\n", "Device", tpclaim_str(c, "device"), tpclaim_str(c, "model"));
	printf("  %-12s %s, faults %s%s\n", "Category", tpclaim_str(c, "category"), codes,
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "predictive")) ? " (predictive)" : "");
	if (cJSON_IsNumber(det)) {
		char iso[32];

		tpc_iso_time(det->valuedouble, iso, sizeof(iso));
		printf("  %-12s %s (device clock)\n", "Detected", iso);
	}
	printf("  %-12s %s; review due %s%s\n", "Opened", tpclaim_str(c, "opened_at"),
	       tpclaim_str(c, "review_due"), tpclaim_review_left(c, left, sizeof(left)));
	printf("  %-12s %s%s%s; text in %s\n", "Assignee",
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "assignee"))
	       ? tpclaim_str(c, "assignee") : "(nobody)",
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "region")) ? "; region " : "",
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "region"))
	       ? tpclaim_str(c, "region") : "", tpclaim_str(c, "locale"));
	printf("  %-12s %s; warranty %s (until %s, policy %s)\n", "Purchased",
	       tpclaim_str(c, "purchase_date"), tpclaim_str(w, "status"), tpclaim_str(w, "until"),
	       tpclaim_str(w, "policy"));
	if (cJSON_GetObjectItemCaseSensitive(w, "reason"))
		printf("  %-12s %s\n", "Excluded", tpclaim_str(w, "reason"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "origin")))
		printf("  %-12s %s%s%s\n", "Origin", tpclaim_str(c, "origin"),
		       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "channel")) ? " via " : "",
		       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "channel"))
		       ? tpclaim_str(c, "channel") : "");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "contact")))
		printf("  %-12s %s\n", "Contact", tpclaim_str(c, "contact"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "tracking_url")))
		printf("  %-12s %s\n", "Tracking", tpclaim_str(c, "tracking_url"));
	printf("  %-12s %s\n", "Self-check", tpclaim_str(c, "selfcheck_verdict"));
	printf("  %-12s %s\n", "Suggested", tpclaim_str(c, "suggested_resolution"));
	if (cJSON_IsObject(fb)) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(fb, "rating");

		printf("  %-12s %d/5 %s\n", "Feedback", cJSON_IsNumber(r) ? r->valueint : 0,
		       tpclaim_str(fb, "comment"));
	}
	if (cJSON_IsObject(res)) {
		char parts[512] = "";

		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(res, "parts"))
			if (cJSON_IsString(it))
				snprintf(parts + strlen(parts), sizeof(parts) - strlen(parts), "%s%s",
					 parts[0] ? ", " : "", it->valuestring);
		printf("  %-12s %s, by %s: %s%s%s\n", "Resolution", tpclaim_str(res, "at"),
		       tpclaim_str(res, "by"), tpclaim_str(res, "summary"), parts[0] ? "; parts: " : "",
		       parts);
	}
	printf("Description:\n");
	tpclaim_print_indented(tpclaim_str(c, "description"));
	it = cJSON_GetObjectItemCaseSensitive(c, "evidence");
	printf("Evidence (%d reports):\n", cJSON_GetArraySize(it));
	cJSON_ArrayForEach(it, it) {
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "seq");

		printf("  seq %-8.0f %-6s %-14s %-8s %s\n", cJSON_IsNumber(seq) ? seq->valuedouble : -1,
		       tpclaim_str(it, "kind"), tpclaim_str(it, "code"), tpclaim_str(it, "state"),
		       strcmp(tpclaim_str(it, "kind"), "telemetry") == 0 ? "unsigned (telemetry)"
		       : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "verified"))
		       ? "signature verified" : "NOT VERIFIED");
	}
	printf("Timeline:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "timeline")) {
		printf("  %s  %-16s by %s%s%s\n", tpclaim_str(it, "at"), tpclaim_str(it, "event"),
		       tpclaim_str(it, "by"), cJSON_GetObjectItemCaseSensitive(it, "note") ? ": " : "",
		       cJSON_GetObjectItemCaseSensitive(it, "note") ? tpclaim_str(it, "note") : "");
	}
}

static void tpclaim_print_device(const cJSON *d)
{
	static const char *const keys[] = { "id", "model", "purchase_date", "owner_contact",
					    "channel", "locale", "region", "registered_at", "fw", "state",
					    NULL };
	const cJSON *seen = cJSON_GetObjectItemCaseSensitive(d, "last_seen");
	const cJSON *open = cJSON_GetObjectItemCaseSensitive(d, "open_claims");

	for (int i = 0; keys[i]; i++)
		printf("%-14s %s\n", keys[i], tpclaim_str(d, keys[i]));
	if (cJSON_IsNumber(seen)) {
		char iso[32];

		tpc_iso_time(seen->valuedouble, iso, sizeof(iso));
		printf("%-14s %s (device clock)\n", "last_seen", iso);
	}
	printf("%-14s %s\n", "registered",
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "registered")) ? "yes (public key on "
	       "file)" : "no (its signed reports are rejected)");
	printf("%-14s %d\n", "open_claims", cJSON_IsNumber(open) ? open->valueint : 0);
}

/* Commands -------------------------------------------------------------------- */

/* Prints the JSON, or the one-claim view, of a claim answer. */
static int tpclaim_claim_out(struct tpclaim *t, cJSON *claim, const char *done)
{
	if (t->json)
		tpclaim_print_json(claim);
	else if (done)
		printf("%s %s%s%s\n", tpclaim_str(claim, "id"), done,
		       strcmp(done, "is now") == 0 ? " " : "",
		       strcmp(done, "is now") == 0 ? tpclaim_str(claim, "state") : "");
	else
		tpclaim_print_claim(claim);
	cJSON_Delete(claim);
	return 0;
}

/* Lists a paged collection; with all, follows "next" to the end. */
static int tpclaim_paged(struct tpclaim *t, const char *base, const char *key, const char *after,
			 bool all, void (*print)(const cJSON *), const char *what)
{
	cJSON *merged = cJSON_CreateArray(), *page, *items, *next, *out;
	char path[2048], cursor[128] = "";
	int total = -1;

	if (after)
		snprintf(cursor, sizeof(cursor), "%s", after);
	for (;;) {
		snprintf(path, sizeof(path), "%s", base);
		if (cursor[0])
			tpclaim_query(t, path, sizeof(path), "after", cursor);
		if (tpclaim_call(t, "GET", path, NULL, what, &page)) {
			cJSON_Delete(merged);
			return 1;
		}
		items = cJSON_DetachItemFromObjectCaseSensitive(page, key);
		next = cJSON_GetObjectItemCaseSensitive(page, "next");
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(page, "total")))
			total = cJSON_GetObjectItemCaseSensitive(page, "total")->valueint;
		cursor[0] = '\0';
		if (cJSON_IsString(next))
			snprintf(cursor, sizeof(cursor), "%s", next->valuestring);
		else if (cJSON_IsNumber(next))
			snprintf(cursor, sizeof(cursor), "%.0f", next->valuedouble);
		while (items && cJSON_GetArraySize(items) > 0)
			cJSON_AddItemToArray(merged, cJSON_DetachItemFromArray(items, 0));
		cJSON_Delete(items);
		cJSON_Delete(page);
		if (!all || !cursor[0])
			break;
	}
	if (t->json) {
		out = cJSON_CreateObject();
		cJSON_AddNumberToObject(out, "count", cJSON_GetArraySize(merged));
		cJSON_AddItemToObject(out, key, merged);
		if (cursor[0])
			cJSON_AddStringToObject(out, "next", cursor);
		else
			cJSON_AddNullToObject(out, "next");
		tpclaim_print_json(out);
		cJSON_Delete(out);
		return 0;
	}
	print(merged);
	printf("(%d %s", cJSON_GetArraySize(merged), key);
	if (total >= 0)
		printf(" of %d", total);
	if (cursor[0])
		printf("; more with --after %s or --all", cursor);
	printf(")\n");
	cJSON_Delete(merged);
	return 0;
}

static int cmd_list(struct tpclaim *t, int argc, char **argv)
{
	const char *state = NULL, *device = NULL, *since = NULL, *limit = NULL, *after = NULL;
	const char *warranty = NULL, *priority = NULL, *predictive = NULL, *model = NULL;
	const char *sort = NULL, *text = NULL, *category = NULL, *assignee = NULL;
	bool all = false, overdue = false;
	const struct tpclaim_opt opts[] = {
		{ "--state", &state, NULL }, { "--device", &device, NULL }, { "--since", &since, NULL },
		{ "--limit", &limit, NULL }, { "--after", &after, NULL }, { "--all", NULL, &all },
		{ "--warranty", &warranty, NULL }, { "--priority", &priority, NULL },
		{ "--predictive", &predictive, NULL }, { "--model", &model, NULL },
		{ "--overdue", NULL, &overdue }, { "--sort", &sort, NULL }, { "--search", &text, NULL },
		{ "--category", &category, NULL }, { "--assignee", &assignee, NULL },
		{ NULL, NULL, NULL },
	};
	char base[1024] = "/api/v1/claims";
	int rc = tpclaim_args(t, argc, argv, "list", 0, NULL, opts);

	if (rc)
		return rc;
	if (state && !tpc_claim_state_valid(state)) {
		char states[256] = "";

		for (const char *const *st = tpc_claim_states; *st; st++)
			snprintf(states + strlen(states), sizeof(states) - strlen(states), "%s%s",
				 st == tpc_claim_states ? "" : ", ", *st);
		fprintf(stderr, PROG ": bad usage: list: --state %s is not a claim state (one of: %s)\n",
			state, states);
		return 2;
	}
	tpclaim_query(t, base, sizeof(base), "state", state);
	tpclaim_query(t, base, sizeof(base), "device", device);
	tpclaim_query(t, base, sizeof(base), "since", since);
	tpclaim_query(t, base, sizeof(base), "limit", limit);
	tpclaim_query(t, base, sizeof(base), "warranty", warranty);
	tpclaim_query(t, base, sizeof(base), "priority", priority);
	tpclaim_query(t, base, sizeof(base), "predictive", predictive);
	tpclaim_query(t, base, sizeof(base), "model", model);
	tpclaim_query(t, base, sizeof(base), "overdue", overdue ? "true" : NULL);
	tpclaim_query(t, base, sizeof(base), "sort", sort);
	tpclaim_query(t, base, sizeof(base), "q", text);
	tpclaim_query(t, base, sizeof(base), "category", category);
	/* "none": the claims nobody works (the API's assigned=false) */
	if (assignee && strcmp(assignee, "none") == 0)
		tpclaim_query(t, base, sizeof(base), "assigned", "false");
	else
		tpclaim_query(t, base, sizeof(base), "assignee", assignee);
	return tpclaim_paged(t, base, "claims", after, all, tpclaim_print_list, "list");
}

/* GETs base/ID and prints it with out (which takes the object). */
static int tpclaim_show_one(struct tpclaim *t, int argc, char **argv, const char *cmd,
			    const char *base, int (*out)(struct tpclaim *t, cJSON *o))
{
	const char *pos[1];
	char path[512], what[128];
	cJSON *o;
	int rc = tpclaim_args(t, argc, argv, cmd, 1, pos, NULL);

	if (rc)
		return rc;
	tpclaim_path(t, path, sizeof(path), base, pos[0], "");
	snprintf(what, sizeof(what), "%s %.60s", cmd, pos[0]);
	if (tpclaim_call(t, "GET", path, NULL, what, &o))
		return 1;
	return out(t, o);
}

static int tpclaim_claim_show_out(struct tpclaim *t, cJSON *claim)
{
	return tpclaim_claim_out(t, claim, NULL);
}

static int cmd_show(struct tpclaim *t, int argc, char **argv)
{
	return tpclaim_show_one(t, argc, argv, "show", "/api/v1/claims", tpclaim_claim_show_out);
}

/* POSTs body (taken) to /api/v1/claims/ID/suffix and reports the claim. */
static int tpclaim_claim_post(struct tpclaim *t, const char *id, const char *suffix, cJSON *body,
			      const char *what, const char *done)
{
	char path[512];
	cJSON *claim;
	int rc;

	if (!body)
		return fprintf(stderr, PROG ": %s: out of memory\n", what), 1;
	tpclaim_path(t, path, sizeof(path), "/api/v1/claims", id, suffix);
	rc = tpclaim_call(t, "POST", path, body, what, &claim);
	cJSON_Delete(body);
	return rc ? 1 : tpclaim_claim_out(t, claim, done);
}

static int cmd_transition(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[2], *note = NULL;
	const struct tpclaim_opt opts[] = { { "--note", &note, NULL }, { NULL, NULL, NULL } };
	char what[160];
	cJSON *body;
	int rc = tpclaim_args(t, argc, argv, "transition", 2, pos, opts);

	if (rc)
		return rc;
	body = cJSON_CreateObject();
	if (body) {
		cJSON_AddStringToObject(body, "to", pos[1]);
		if (note)
			cJSON_AddStringToObject(body, "note", note);
	}
	snprintf(what, sizeof(what), "transition %.40s to %.40s", pos[0], pos[1]);
	return tpclaim_claim_post(t, pos[0], "/transition", body, what, "is now");
}

static int cmd_note(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[2];
	char what[128];
	cJSON *body;
	int rc = tpclaim_args(t, argc, argv, "note", 2, pos, NULL);

	if (rc)
		return rc;
	body = cJSON_CreateObject();
	if (body)
		cJSON_AddStringToObject(body, "note", pos[1]);
	snprintf(what, sizeof(what), "note on %.60s", pos[0]);
	return tpclaim_claim_post(t, pos[0], "/notes", body, what, "noted");
}

/* tpclaim assign C-ID NAME|none */
static int cmd_assign(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[2];
	char what[128];
	cJSON *body;
	int rc = tpclaim_args(t, argc, argv, "assign", 2, pos, NULL);

	if (rc)
		return rc;
	body = cJSON_CreateObject();
	if (body && strcmp(pos[1], "none") == 0)
		cJSON_AddNullToObject(body, "assignee");
	else if (body)
		cJSON_AddStringToObject(body, "assignee", pos[1]);
	snprintf(what, sizeof(what), "assign %.60s", pos[0]);
	return tpclaim_claim_post(t, pos[0], "/assign", body, what, "assigned");
}

/* tpclaim resolution C-ID SUMMARY [--parts "A,B"] [--at ISO] */
static int cmd_resolution(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[2], *parts = NULL, *at = NULL;
	const struct tpclaim_opt opts[] = { { "--parts", &parts, NULL }, { "--at", &at, NULL },
					    { NULL, NULL, NULL } };
	char what[128];
	cJSON *body, *arr;
	int rc = tpclaim_args(t, argc, argv, "resolution", 2, pos, opts);

	if (rc)
		return rc;
	body = cJSON_CreateObject();
	arr = body ? cJSON_AddArrayToObject(body, "parts") : NULL;
	if (!arr) {
		cJSON_Delete(body);
		return fprintf(stderr, PROG ": resolution: out of memory\n"), 1;
	}
	cJSON_AddStringToObject(body, "summary", pos[1]);
	for (const char *p = parts; p && *p;) {
		size_t n, skip = strspn(p, " ");
		char part[256];

		p += skip;
		n = strcspn(p, ",");
		snprintf(part, sizeof(part), "%.*s", (int)(n < sizeof(part) ? n : sizeof(part) - 1), p);
		for (size_t e = strlen(part); e > 0 && part[e - 1] == ' '; e--)
			part[e - 1] = '\0';   /* "A, B " -> "A", "B" */
		if (part[0])
			cJSON_AddItemToArray(arr, cJSON_CreateString(part));
		p += n + (p[n] == ',');
	}
	if (at)
		cJSON_AddStringToObject(body, "at", at);
	snprintf(what, sizeof(what), "resolution of %.60s", pos[0]);
	return tpclaim_claim_post(t, pos[0], "/resolution", body, what, "resolution recorded");
}

static int cmd_feedback(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[2], *comment = NULL;
	const struct tpclaim_opt opts[] = { { "--comment", &comment, NULL }, { NULL, NULL, NULL } };
	char what[128];
	double rating;
	cJSON *body;
	int rc = tpclaim_args(t, argc, argv, "feedback", 2, pos, opts);

	if (rc)
		return rc;
	if (!tpd_cli_number(pos[1], 1, 5, &rating) || rating != (int)rating)
		return tpclaim_usage("feedback RATING is a whole number 1..5, not \"%s\"", pos[1]);
	body = cJSON_CreateObject();
	if (body) {
		cJSON_AddNumberToObject(body, "rating", rating);
		if (comment)
			cJSON_AddStringToObject(body, "comment", comment);
	}
	snprintf(what, sizeof(what), "feedback on %.60s", pos[0]);
	return tpclaim_claim_post(t, pos[0], "/feedback", body, what, "feedback recorded");
}

/* tpclaim new DEVICE DESCRIPTION: a claim by hand (SPEC §7), as support. */
static int cmd_new(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[2], *model = NULL, *date = NULL, *contact = NULL, *channel = NULL;
	const char *category = NULL;
	const struct tpclaim_opt opts[] = {
		{ "--model", &model, NULL }, { "--purchase-date", &date, NULL },
		{ "--contact", &contact, NULL }, { "--channel", &channel, NULL },
		{ "--category", &category, NULL }, { NULL, NULL, NULL },
	};
	static const char *const keys[] = { "device", "description", "model", "purchase_date",
					    "contact", "channel", "category" };
	const char *vals[7];
	char what[128];
	cJSON *body, *claim;
	int rc = tpclaim_args(t, argc, argv, "new", 2, pos, opts);

	if (rc)
		return rc;
	vals[0] = pos[0];
	vals[1] = pos[1];
	vals[2] = model;
	vals[3] = date;
	vals[4] = contact;
	vals[5] = channel;
	vals[6] = category;
	body = cJSON_CreateObject();
	for (size_t i = 0; body && i < 7; i++) {
		const char *v = vals[i];

		if (v && !cJSON_AddStringToObject(body, keys[i], v)) {
			cJSON_Delete(body);
			body = NULL;
		}
	}
	if (!body)
		return fprintf(stderr, PROG ": new: out of memory\n"), 1;
	snprintf(what, sizeof(what), "new claim for %.60s", pos[0]);
	rc = tpclaim_call(t, "POST", "/api/v1/claims", body, what, &claim);
	cJSON_Delete(body);
	if (rc)
		return 1;
	if (t->json) {
		tpclaim_print_json(claim);
	} else {
		const char *url = tpclaim_str(claim, "tracking_url");

		printf("%s opened for %s: %s\n", tpclaim_str(claim, "id"), tpclaim_str(claim, "device"),
		       tpclaim_str(claim, "title"));
		if (*url)
			printf("tracking link for the customer: %s\n", url);
	}
	cJSON_Delete(claim);
	return 0;
}

/* Checks one evidence item's JWS with the device key; a one-line verdict. */
static bool tpclaim_verify_one(const cJSON *ev, const char *device, const struct tpd_key *key,
			       char *why, size_t whylen)
{
	const char *jws = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "jws"));
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "seq");
	struct tpd_jws d = { 0 };
	cJSON *payload;
	bool ok = false;

	if (!jws) {
		snprintf(why, whylen, "no signed text stored");
		return false;
	}
	if (tpd_jws_decode(jws, strlen(jws), &d)) {
		snprintf(why, whylen, "stored text is not a JWS");
		return false;
	}
	payload = cJSON_Parse(d.payload);
	if (strcmp(d.alg, "ES256") != 0)
		snprintf(why, whylen, "alg %s is not ES256", d.alg);
	else if (strcmp(d.kid, device) != 0)
		snprintf(why, whylen, "kid %s is not the claim's device", d.kid);
	else if (!key)
		snprintf(why, whylen, "no public key on file for %s", device);
	else if (tpd_jws_verify(&d, jws, key))
		snprintf(why, whylen, "signature does NOT verify");
	else if (!cJSON_IsNumber(seq) ||
		 !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(payload, "seq")) ||
		 cJSON_GetObjectItemCaseSensitive(payload, "seq")->valuedouble != seq->valuedouble)
		snprintf(why, whylen, "signed seq differs from the stored one");
	else if (strcmp(tpclaim_str(payload, "dev"), device) != 0)
		snprintf(why, whylen, "signed dev differs from the claim's device");
	else
		ok = true;
	if (ok)
		snprintf(why, whylen, "signature verifies (ES256, kid %s)", d.kid);
	cJSON_Delete(payload);
	tpd_jws_clear(&d);
	return ok;
}

static int cmd_verify(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[1], *keytext, *device;
	struct tpd_key *key = NULL;
	char path[512], what[128], why[128];
	const cJSON *ev;
	cJSON *o, *report;
	int good = 0, n = 0, rc = tpclaim_args(t, argc, argv, "verify", 1, pos, NULL);

	if (rc)
		return rc;
	tpclaim_path(t, path, sizeof(path), "/api/v1/claims", pos[0], "/evidence");
	snprintf(what, sizeof(what), "verify %.60s", pos[0]);
	if (tpclaim_call(t, "GET", path, NULL, what, &o))
		return 1;
	device = tpclaim_str(o, "device");
	keytext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "public_key"));
	if (keytext && tpd_key_parse_public(keytext, &key))
		key = NULL;
	report = cJSON_CreateArray();
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(o, "evidence")) {
		bool ok;
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "seq");
		cJSON *row;

		/* telemetry is plain (SPEC §2): attached to manual claims as
		 * context, it has no signature to check */
		if (strcmp(tpclaim_str(ev, "kind"), "telemetry") == 0)
			continue;
		ok = tpclaim_verify_one(ev, device, key, why, sizeof(why));
		row = cJSON_CreateObject();
		n++;
		good += ok;
		if (row) {
			cJSON_AddNumberToObject(row, "seq", cJSON_IsNumber(seq) ? seq->valuedouble : -1);
			cJSON_AddStringToObject(row, "code", tpclaim_str(ev, "code"));
			cJSON_AddBoolToObject(row, "verified", ok);
			cJSON_AddStringToObject(row, "detail", why);
			cJSON_AddItemToArray(report, row);
		}
		if (!t->json)
			printf("seq %-8.0f %-14s %-8s %s %s\n", cJSON_IsNumber(seq) ? seq->valuedouble : -1,
			       tpclaim_str(ev, "code"), tpclaim_str(ev, "state"), ok ? "OK  " : "FAIL",
			       why);
	}
	if (t->json) {
		cJSON *out = cJSON_CreateObject();

		cJSON_AddStringToObject(out, "claim", pos[0]);
		cJSON_AddNumberToObject(out, "verified", good);
		cJSON_AddNumberToObject(out, "total", n);
		cJSON_AddItemToObject(out, "evidence", report);
		report = NULL;
		tpclaim_print_json(out);
		cJSON_Delete(out);
	} else {
		printf("%s: %d of %d signed reports verify with %s's public key%s\n", pos[0], good, n,
		       device, key ? "" : " (none on file)");
	}
	cJSON_Delete(report);
	cJSON_Delete(o);
	tpd_key_free(key);
	if (n == 0)
		fprintf(stderr, PROG ": verify %s: the claim has no signed evidence\n", pos[0]);
	return good == n && n > 0 ? 0 : 1;
}

/* Devices ---------------------------------------------------------------------- */

static void tpclaim_print_devices(const cJSON *devs)
{
	const cJSON *d;

	printf("%-16s %-14s %-11s %-10s %-8s %-6s %s\n", "ID", "MODEL", "PURCHASED", "REGISTERED",
	       "STATE", "CLAIMS", "OWNER");
	cJSON_ArrayForEach(d, devs) {
		const cJSON *open = cJSON_GetObjectItemCaseSensitive(d, "open_claims");

		printf("%-16s %-14s %-11s %-10s %-8s %-6d %s\n", tpclaim_str(d, "id"),
		       tpclaim_str(d, "model"), tpclaim_str(d, "purchase_date"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "registered")) ? "yes" : "no",
		       tpclaim_str(d, "state"), cJSON_IsNumber(open) ? open->valueint : 0,
		       tpclaim_str(d, "owner_contact"));
	}
}

/* Reads the CSV here (key file paths are relative to it, so only this side
 * can resolve them) and sends rows with inline keys. */
static int cmd_devices_import(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[1];
	struct tpc_registry *reg;
	char err[512];
	cJSON *body, *rows, *res;
	int rc = tpclaim_args(t, argc, argv, "devices import", 1, pos, NULL);

	if (rc)
		return rc;
	if (tpc_registry_load(pos[0], &reg, err, sizeof(err))) {
		fprintf(stderr, PROG ": devices import: %s (nothing imported)\n", err);
		return 1;
	}
	body = cJSON_CreateObject();
	rows = tpc_devices_rows_json(reg);
	if (!body || !rows || !cJSON_AddItemToObject(body, "devices", rows)) {
		fprintf(stderr, PROG ": devices import: out of memory (nothing imported)\n");
		cJSON_Delete(rows);
		cJSON_Delete(body);
		tpc_registry_free(reg);
		return 1;
	}
	if (tpc_registry_count(reg) == 0) {
		fprintf(stderr, PROG ": devices import: %s has no device rows (nothing imported)\n",
			pos[0]);
		rc = 1;
	} else {
		rc = tpclaim_call(t, "POST", "/api/v1/devices/import", body, "devices import", &res);
	}
	tpc_registry_free(reg);
	cJSON_Delete(body);
	if (rc)
		return 1;
	if (t->json)
		tpclaim_print_json(res);
	else
		printf("imported %d devices from %s: %d created, %d updated, %d unchanged\n",
		       tpclaim_int(res, "imported"), pos[0], tpclaim_int(res, "created"),
		       tpclaim_int(res, "updated"), tpclaim_int(res, "unchanged"));
	cJSON_Delete(res);
	return 0;
}

static int cmd_devices_list(struct tpclaim *t, int argc, char **argv)
{
	const char *limit = NULL, *after = NULL;
	bool all = false;
	const struct tpclaim_opt opts[] = {
		{ "--limit", &limit, NULL }, { "--after", &after, NULL }, { "--all", NULL, &all },
		{ NULL, NULL, NULL },
	};
	char base[256] = "/api/v1/devices";
	int rc = tpclaim_args(t, argc, argv, "devices list", 0, NULL, opts);

	if (rc)
		return rc;
	tpclaim_query(t, base, sizeof(base), "limit", limit);
	return tpclaim_paged(t, base, "devices", after, all, tpclaim_print_devices, "devices list");
}

static int tpclaim_device_out(struct tpclaim *t, cJSON *d)
{
	if (t->json)
		tpclaim_print_json(d);
	else
		tpclaim_print_device(d);
	cJSON_Delete(d);
	return 0;
}

static int cmd_devices_show(struct tpclaim *t, int argc, char **argv)
{
	return tpclaim_show_one(t, argc, argv, "devices show", "/api/v1/devices", tpclaim_device_out);
}

static int cmd_devices_update(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[1], *model = NULL, *purchase = NULL, *contact = NULL, *channel = NULL;
	const char *pubkey = NULL, *locale = NULL, *region = NULL;
	const struct tpclaim_opt opts[] = {
		{ "--model", &model, NULL }, { "--purchase-date", &purchase, NULL },
		{ "--owner-contact", &contact, NULL }, { "--channel", &channel, NULL },
		{ "--public-key", &pubkey, NULL }, { "--locale", &locale, NULL },
		{ "--region", &region, NULL }, { NULL, NULL, NULL },
	};
	char path[512], what[128], b64[256];
	cJSON *body, *d;
	int rc = tpclaim_args(t, argc, argv, "devices update", 1, pos, opts);

	if (rc)
		return rc;
	if (!model && !purchase && !contact && !channel && !pubkey && !locale && !region)
		return tpclaim_usage("devices update needs at least one of --model, --purchase-date, "
				     "--owner-contact, --channel, --public-key, --locale, --region%s", "");
	body = cJSON_CreateObject();
	if (!body)
		return 1;
	if (model)
		cJSON_AddStringToObject(body, "model", model);
	if (purchase && strcmp(purchase, "none") == 0)
		cJSON_AddNullToObject(body, "purchase_date");
	else if (purchase)
		cJSON_AddStringToObject(body, "purchase_date", purchase);
	if (contact)
		cJSON_AddStringToObject(body, "owner_contact", contact);
	if (channel)
		cJSON_AddStringToObject(body, "channel", channel);
	if (locale)
		cJSON_AddStringToObject(body, "locale", locale);
	if (region)
		cJSON_AddStringToObject(body, "region", region);
	if (pubkey) {
		struct tpd_key *key;

		/* A file path is read here; base64 or PEM text goes as it is. */
		if (tpd_key_load_public(pubkey, &key) == TPD_OK) {
			rc = tpd_key_public_b64(key, b64, sizeof(b64));
			tpd_key_free(key);
			pubkey = rc ? pubkey : b64;
		}
		cJSON_AddStringToObject(body, "public_key", pubkey);
	}
	tpclaim_path(t, path, sizeof(path), "/api/v1/devices", pos[0], "");
	snprintf(what, sizeof(what), "devices update %.60s", pos[0]);
	rc = tpclaim_call(t, "PATCH", path, body, what, &d);
	cJSON_Delete(body);
	if (rc)
		return 1;
	return tpclaim_device_out(t, d);
}

static void tpclaim_print_telemetry(const cJSON *rows)
{
	const cJSON *r, *s;

	cJSON_ArrayForEach(r, rows) {
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(r, "ts");
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "seq");
		char iso[32];

		tpc_iso_time(cJSON_IsNumber(ts) ? ts->valuedouble : 0, iso, sizeof(iso));
		printf("%s seq %-8.0f", iso, cJSON_IsNumber(seq) ? seq->valuedouble : -1);
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(r, "sensors")) {
			const cJSON *avg = cJSON_GetObjectItemCaseSensitive(s, "avg");

			if (cJSON_IsNumber(avg))
				printf(" %s=%g", s->string, avg->valuedouble);
			else
				printf(" %s=-", s->string);
		}
		printf("\n");
	}
}

static int cmd_devices_telemetry(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[1], *since = NULL, *until = NULL, *limit = NULL, *after = NULL;
	bool all = false;
	const struct tpclaim_opt opts[] = {
		{ "--since", &since, NULL }, { "--until", &until, NULL }, { "--limit", &limit, NULL },
		{ "--after", &after, NULL }, { "--all", NULL, &all }, { NULL, NULL, NULL },
	};
	char base[1024];
	int rc = tpclaim_args(t, argc, argv, "devices telemetry", 1, pos, opts);

	if (rc)
		return rc;
	tpclaim_path(t, base, sizeof(base), "/api/v1/devices", pos[0], "/telemetry");
	tpclaim_query(t, base, sizeof(base), "since", since);
	tpclaim_query(t, base, sizeof(base), "until", until);
	tpclaim_query(t, base, sizeof(base), "limit", limit);
	return tpclaim_paged(t, base, "telemetry", after, all, tpclaim_print_telemetry,
			     "devices telemetry");
}

static int cmd_token_new(struct tpclaim *t, int argc, char **argv)
{
	const char *pos[1], *role_arg = NULL;
	const struct tpclaim_opt opts[] = { { "--role", &role_arg, NULL }, { NULL, NULL, NULL } };
	enum tpc_role role = TPC_ROLE_SUPPORT;
	struct tpd_rng *rng;
	char tok[64], line[160];
	int rc = tpclaim_args(t, argc, argv, "token new", 1, pos, opts);

	if (rc)
		return rc;
	if (!tpc_token_name_valid(pos[0]))
		return tpclaim_usage("token name \"%s\" must be 1-64 of [A-Za-z0-9_.@-]", pos[0]);
	if (role_arg && !tpc_role_parse(role_arg, &role))
		return tpclaim_usage("--role takes support or viewer, not \"%.40s\"", role_arg);
	if (tpd_rng_new(&rng) || tpc_token_new(rng, pos[0], role, tok, sizeof(tok), line, sizeof(line))) {
		fprintf(stderr, PROG ": token new: cannot make a random token\n");
		return 1;
	}
	tpd_rng_free(rng);
	if (t->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", pos[0]);
		cJSON_AddStringToObject(o, "role", tpc_role_name(role));
		cJSON_AddStringToObject(o, "token", tok);
		cJSON_AddStringToObject(o, "tokens_line", line);
		tpclaim_print_json(o);
		cJSON_Delete(o);
	} else {
		printf("token: %s\n", tok);
		printf("line:  %s\n", line);
		fprintf(stderr, "Give the token to %s (it is shown only now); append the line to the "
			"collector's --tokens file and restart it.\n", pos[0]);
	}
	return 0;
}

/* Dispatch ---------------------------------------------------------------------- */

static const struct tpclaim_cmd {
	const char *group, *name;   /* group NULL: a top-level command */
	int (*fn)(struct tpclaim *t, int argc, char **argv);
	bool needs_api;
} tpclaim_cmds[] = {
	{ NULL, "list", cmd_list, true },
	{ NULL, "show", cmd_show, true },
	{ NULL, "transition", cmd_transition, true },
	{ NULL, "note", cmd_note, true },
	{ NULL, "feedback", cmd_feedback, true },
	{ NULL, "assign", cmd_assign, true },
	{ NULL, "resolution", cmd_resolution, true },
	{ NULL, "new", cmd_new, true },
	{ NULL, "verify", cmd_verify, true },
	{ "devices", "import", cmd_devices_import, true },
	{ "devices", "list", cmd_devices_list, true },
	{ "devices", "show", cmd_devices_show, true },
	{ "devices", "update", cmd_devices_update, true },
	{ "devices", "telemetry", cmd_devices_telemetry, true },
	{ "token", "new", cmd_token_new, false },
};

int main(int argc, char **argv)
{
	struct tpclaim t = { .api = getenv("TPCLAIM_API"), .token = getenv("TPCLAIM_TOKEN") };
	struct tpd_cli_opt opts[] = {
		{ "api", "URL", "collector API, e.g. http://127.0.0.1:8080 (or TPCLAIM_API)", &t.api, NULL },
		{ "token", "T", "bearer token (or TPCLAIM_TOKEN); changes need one", &t.token, NULL },
		{ "json", NULL, "print JSON instead of tables (also accepted after the command)", NULL, &t.json },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "[--api URL] [--token T] [--json] COMMAND ...\n\n"
			"claims:\n"
			"  list [--state S] [--device ID] [--since DATE] [--limit N] [--after C-ID] [--all]\n"
			"       [--warranty in_warranty|expired|excluded|unknown] [--priority high|normal|low]\n"
			"       [--predictive true|false] [--model M] [--overdue] [--search TEXT]\n"
			"       [--category power|thermal|sensor|system] [--assignee NAME|none]\n"
			"       [--sort id|review_due|-opened_at|priority]   (~ before a title: a forecast)\n"
			"  show C-ID\n"
			"  new DEVICE DESCRIPTION [--model M] [--purchase-date YYYY-MM-DD] [--contact C]\n"
			"      [--channel web|phone|email|chat] [--category power|thermal|sensor|system]\n"
			"                                        open a claim by hand (the device's reports attached)\n"
			"  transition C-ID STATE [--note TEXT]   open > in_review > approved|rejected >\n"
			"                                          remote_guidance|repair_scheduled|replacement\n"
			"                                          > resolved > closed\n"
			"  note C-ID TEXT\n"
			"  assign C-ID NAME|none                 who works the claim\n"
			"  resolution C-ID SUMMARY [--parts \"P1,P2\"] [--at YYYY-MM-DDTHH:MM:SSZ]\n"
			"                                        what was done, with which parts, when\n"
			"  feedback C-ID RATING(1-5) [--comment TEXT]\n"
			"                                        on resolved or closed claims\n"
			"  verify C-ID                           re-verify the signed evidence here\n"
			"devices:\n"
			"  devices import FILE.csv               rows device_id,model,purchase_date,\n"
			"                                        public_key[,owner_contact,channel[,locale,region]]\n"
			"  devices list [--limit N] [--after ID] [--all]\n"
			"  devices show ID\n"
			"  devices update ID [--model M] [--purchase-date YYYY-MM-DD|none] [--owner-contact C]\n"
			"                    [--channel C] [--public-key FILE|BASE64] [--locale en|zh-CN]\n"
			"                    [--region CN|DE|...]\n"
			"  devices telemetry ID [--since T] [--until T] [--limit N] [--after SEQ] [--all]\n"
			"tokens:\n"
			"  token new NAME [--role support|viewer] make an API token and its --tokens line",
		.description = "Support CLI for warranty claims and the device registry, over the\n"
			       "collector's HTTP API. Exit 0 on success, 1 when the API refuses or\n"
			       "cannot be reached (the reason is printed), 2 on bad usage.",
		.opts = opts,
		.stop_at_command = true,
	};
	const struct tpclaim_cmd *cmd = NULL;
	int optind_out, first, code;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	if (optind_out >= argc) {
		tpd_cli_free(&cli);
		return tpclaim_usage("a command is required: list, show, new, transition, note, "
				     "feedback, verify, devices, token%s", "");
	}
	for (size_t i = 0; i < sizeof(tpclaim_cmds) / sizeof(tpclaim_cmds[0]); i++) {
		const struct tpclaim_cmd *c = &tpclaim_cmds[i];

		if (c->group ? (strcmp(argv[optind_out], c->group) == 0 && optind_out + 1 < argc &&
				strcmp(argv[optind_out + 1], c->name) == 0)
			     : strcmp(argv[optind_out], c->name) == 0)
			cmd = c;
	}
	if (!cmd) {
		const char *g = argv[optind_out];

		tpd_cli_free(&cli);
		if (strcmp(g, "devices") == 0)
			return tpclaim_usage("devices takes import, list, show, update or telemetry%s", "");
		if (strcmp(g, "token") == 0)
			return tpclaim_usage("token takes new NAME%s", "");
		return tpclaim_usage("unknown command \"%s\"", g);
	}
	if (cmd->needs_api && (!t.api || !*t.api)) {
		tpd_cli_free(&cli);
		return tpclaim_usage("--api URL (or TPCLAIM_API) is required%s", "");
	}
	first = optind_out + (cmd->group ? 2 : 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t.curl = curl_easy_init();
	code = t.curl ? cmd->fn(&t, argc - first, argv + first) : 1;
	curl_easy_cleanup(t.curl);
	curl_global_cleanup();
	tpd_cli_free(&cli);
	return code;
}
