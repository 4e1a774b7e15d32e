/*
 * webhook.c - the webhook targets file, the signature, and the delivery
 * worker (webhook.h).
 *
 * Design notes:
 * 1. One worker thread for all targets, one attempt at a time: a helpdesk
 *    takes a few events an hour, and a dead one costs at most its timeout
 *    (WEBHOOK_TIMEOUT_S) per backoff step. The worker reads the store with
 *    short self-locking queries only, so ingest never waits on the network.
 * 2. Order per target: event N+1 is sent only after N was acknowledged
 *    (a helpdesk must not see "resolved" before "opened").
 * 3. The backoff (1 s doubling to retry_max_s, +0..25 % jitter so several
 *    collectors do not retry in step) is kept in memory: after a restart
 *    every target is tried at once.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "tpd/clock.h"
#include "store.h"
#include "tpd/jws.h"
#include "webhook.h"

#define WEBHOOK_FILE_MAX (64 * 1024)
#define WEBHOOK_URL_MAX 1024
#define WEBHOOK_SECRET_MIN 16
#define WEBHOOK_SECRET_MAX 256
#define WEBHOOK_TIMEOUT_S 10L
#define WEBHOOK_CONNECT_TIMEOUT_S 5L
#define WEBHOOK_IDLE_S 0.5       /* poll for new events this often */

struct webhook_target {
	bool mail;               /* smtp:// target: feedback requests to the customer */
	char name[TPC_WEBHOOK_NAME_MAX + 1];
	char url[WEBHOOK_URL_MAX + 1];
	char secret[WEBHOOK_SECRET_MAX + 1];
	int64_t cursor;          /* last acknowledged event; -1: not read from the store yet */
	double next_try;         /* monotonic s */
	double pending_next;     /* monotonic s: the next count of its queue while it waits */
	struct tpc_webhook_status st;   /* under the webhook's lock */
};

struct tpc_webhook {
	struct webhook_target t[TPC_WEBHOOK_TARGETS_MAX];
	size_t n;
	struct tpc_store *store;
	double retry_max_s;
	char public_url[300];    /* tracking links start with it */
	pthread_mutex_t lock;    /* guards every st and stopping */
	pthread_cond_t wake;
	bool stopping, started;
	pthread_t worker;
};

/* The targets file ---------------------------------------------------------- */

static bool webhook_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > TPC_WEBHOOK_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* The next whitespace-separated word of line[*pos..end); its length. */
static size_t webhook_word(const char *line, size_t end, size_t *pos, const char **w)
{
	size_t i = *pos, start;

	while (i < end && (line[i] == ' ' || line[i] == '\t'))
		i++;
	start = i;
	while (i < end && line[i] != ' ' && line[i] != '\t')
		i++;
	*w = line + start;
	*pos = i;
	return i - start;
}

__attribute__((format(printf, 5, 6)))
static enum tpd_err webhook_bad(char *err, size_t errlen, const char *path, unsigned line,
				const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%u: %s", path, line, msg);
	return TPD_ERR_INVAL;
}

static enum tpd_err webhook_line(struct tpc_webhook *wh, const char *line, size_t end,
				 const char *path, unsigned lineno, char *err, size_t errlen)
{
	const char *name, *url, *secret, *extra;
	size_t pos = 0, nl, ul, sl;
	struct webhook_target *t;

	nl = webhook_word(line, end, &pos, &name);
	if (nl == 0 || name[0] == '#')
		return TPD_OK;
	ul = webhook_word(line, end, &pos, &url);
	sl = webhook_word(line, end, &pos, &secret);
	if (webhook_word(line, end, &pos, &extra))
		return webhook_bad(err, errlen, path, lineno, "more than NAME URL SECRET");
	if (!webhook_name_valid(name, nl))
		return webhook_bad(err, errlen, path, lineno,
				   "name: 1-%d of A-Z a-z 0-9 _ . -", TPC_WEBHOOK_NAME_MAX);
	bool mail = (ul > 7 && strncmp(url, "smtp://", 7) == 0) ||
		    (ul > 8 && strncmp(url, "smtps://", 8) == 0);

	if (ul == 0 || ul > WEBHOOK_URL_MAX ||
	    !((ul > 7 && strncmp(url, "http://", 7) == 0) ||
	      (ul > 8 && strncmp(url, "https://", 8) == 0) || mail))
		return webhook_bad(err, errlen, path, lineno, "URL: http://, https://, smtp:// or "
				   "smtps://..., at most %d characters", WEBHOOK_URL_MAX);
	if (mail && (sl < 3 || sl > WEBHOOK_SECRET_MAX || !memchr(secret, '@', sl) ||
		     memchr(secret, '<', sl) || memchr(secret, '>', sl)))
		return webhook_bad(err, errlen, path, lineno, "smtp: the third field is the sender's "
				   "address (user@host)");
	if (!mail && (sl < WEBHOOK_SECRET_MIN || sl > WEBHOOK_SECRET_MAX))
		return webhook_bad(err, errlen, path, lineno, "secret: %d to %d characters",
				   WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
	for (size_t i = 0; i < ul + sl; i++) {
		unsigned char ch = (unsigned char)(i < ul ? url[i] : secret[i - ul]);

		if (ch < 0x21 || ch > 0x7e)
			return webhook_bad(err, errlen, path, lineno,
					   "URL and secret: printable ASCII only");
	}
	for (size_t i = 0; i < wh->n; i++)
		if (strlen(wh->t[i].name) == nl && memcmp(wh->t[i].name, name, nl) == 0)
			return webhook_bad(err, errlen, path, lineno, "name %.*s given twice",
					   (int)nl, name);
	if (wh->n == TPC_WEBHOOK_TARGETS_MAX)
		return webhook_bad(err, errlen, path, lineno, "more than %d targets",
				   TPC_WEBHOOK_TARGETS_MAX);
	t = &wh->t[wh->n++];
	t->mail = mail;
	memcpy(t->name, name, nl);
	memcpy(t->st.name, name, nl);
	memcpy(t->url, url, ul);
	memcpy(t->secret, secret, sl);
	t->cursor = -1;
	return TPD_OK;
}

enum tpd_err tpc_webhook_parse(const char *text, size_t len, const char *path,
			       struct tpc_webhook **out, char *err, size_t errlen)
{
	struct tpc_webhook *wh = calloc(1, sizeof(*wh));
	unsigned lineno = 0;
	size_t at = 0;
	enum tpd_err rc = TPD_OK;

	*out = NULL;
	if (!wh)
		return TPD_ERR_NOMEM;
	pthread_mutex_init(&wh->lock, NULL);
	pthread_cond_init(&wh->wake, NULL);
	if (memchr(text, '\0', len)) {
		rc = webhook_bad(err, errlen, path, 1, "a NUL byte: not a text file");
		goto out;
	}
	while (at < len) {
		const char *nlp = memchr(text + at, '\n', len - at);
		size_t end = nlp ? (size_t)(nlp - text) - at : len - at;

		lineno++;
		if (end && text[at + end - 1] == '\r')
			end--;
		rc = webhook_line(wh, text + at, end, path, lineno, err, errlen);
		if (rc)
			goto out;
		at += (nlp ? (size_t)(nlp - text) - at + 1 : len - at);
	}
	if (wh->n == 0)
		rc = webhook_bad(err, errlen, path, lineno, "no targets (lines: NAME URL SECRET)");
out:
	if (rc) {
		tpc_webhook_free(wh);
		return rc;
	}
	*out = wh;
	return TPD_OK;
}

enum tpd_err tpc_webhook_load(const char *path, struct tpc_webhook **out, char *err,
			      size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	struct stat sb;
	enum tpd_err rc;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TPD_ERR_IO;
	}
	buf = malloc(WEBHOOK_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return TPD_ERR_NOMEM;
	}
	n = fread(buf, 1, WEBHOOK_FILE_MAX + 1, f);
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
		fprintf(stderr, "tpcollect: webhooks: %s holds secrets and is readable by others "
			"(chmod 600 it)\n", path);
	fclose(f);
	if (n > WEBHOOK_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "%s: larger than %d bytes", path, WEBHOOK_FILE_MAX);
		return TPD_ERR_INVAL;
	}
	rc = tpc_webhook_parse(buf, n, path, out, err, errlen);
	free(buf);
	return rc;
}

/* Signing ---------------------------------------------------------------- */

enum tpd_err tpc_webhook_sign(const char *secret, long long t, const char *body, size_t len,
			      char *out, size_t outlen)
{
	unsigned char mac[32];
	char ts[24];
	int n, used;

	if (outlen < 96)
		return TPD_ERR_INVAL;
	n = snprintf(ts, sizeof(ts), "%lld.", t);
	if (tpd_hmac_sha256_two(secret, strlen(secret), ts, (size_t)n, body, len, mac))
		return TPD_ERR_CRYPTO;
	used = snprintf(out, outlen, "t=%lld,v1=", t);
	for (size_t i = 0; i < sizeof(mac) && used > 0 && (size_t)used + 3 <= outlen; i++)
		used += snprintf(out + used, outlen - (size_t)used, "%02x", mac[i]);
	return TPD_OK;
}

/* Delivery ---------------------------------------------------------------- */

static size_t webhook_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;   /* the answer's body is not read: only its status counts */
}

/* One POST; TPD_OK on a 2xx, else why holds one line. */
static enum tpd_err webhook_post(CURL *curl, const struct webhook_target *t, const char *body,
				 char *why, size_t whylen)
{
	char sig[128], hdr_sig[160], hdr_event[96];
	const char *ev_start = strstr(body, "\"event\":\"");
	struct curl_slist *h = NULL, *h2;
	long status = 0;
	CURLcode cc;

	if (tpc_webhook_sign(t->secret, (long long)time(NULL), body, strlen(body), sig,
			     sizeof(sig))) {
		snprintf(why, whylen, "cannot sign");
		return TPD_ERR_CRYPTO;
	}
	snprintf(hdr_sig, sizeof(hdr_sig), "X-TP-Signature: %s", sig);
	if (ev_start) {
		ev_start += 9;
		snprintf(hdr_event, sizeof(hdr_event), "X-TP-Event: %.*s",
			 (int)strcspn(ev_start, "\""), ev_start);
	} else {
		snprintf(hdr_event, sizeof(hdr_event), "X-TP-Event: unknown");
	}
	h = curl_slist_append(NULL, "Content-Type: application/json");
	h2 = h ? curl_slist_append(h, hdr_sig) : NULL;
	h2 = h2 ? curl_slist_append(h2, hdr_event) : NULL;
	h2 = h2 ? curl_slist_append(h2, "Expect:") : NULL;
	if (!h2) {
		curl_slist_free_all(h);
		snprintf(why, whylen, "out of memory");
		return TPD_ERR_NOMEM;
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, t->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, WEBHOOK_CONNECT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, webhook_discard);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "tpcollect-webhook/1");
	cc = curl_easy_perform(curl);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(cc));
		return TPD_ERR_IO;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(why, whylen, "HTTP %ld", status);
		return TPD_ERR_IO;
	}
	return TPD_OK;
}

/* The event as a helpdesk gets it: the claim's tracking token becomes its
 * tracking link (a token holder's view, api.c). Deterministic, so every
 * retry sends the same bytes. NULL when out of memory or not JSON. */
static char *webhook_body(const struct tpc_webhook *wh, const char *stored, cJSON **event)
{
	cJSON *o = cJSON_Parse(stored), *cl = cJSON_GetObjectItemCaseSensitive(o, "claim");
	const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "tracking_token"));
	char *text;

	if (cl && token) {
		char url[400];

		snprintf(url, sizeof(url), "%s/track/%s", wh->public_url, token);
		cJSON_AddStringToObject(cl, "tracking_url", url);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(cl, "tracking_token");
	text = o ? cJSON_PrintUnformatted(o) : NULL;
	*event = o;
	return text;
}

/* The message being uploaded to the SMTP relay. */
struct webhook_upload {
	const char *p;
	size_t left;
};

static size_t webhook_read(char *buf, size_t size, size_t n, void *arg)
{
	struct webhook_upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

/* A customer address fit for an envelope: one user@host, no spaces or
 * angle brackets (a contact field may be a phone number or a postal
 * address: those get no mail). */
static bool webhook_address(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;

	return at && at != s && at[1] && !strchr(at + 1, '@') && strlen(s) < 200 &&
	       strcspn(s, " \t\r\n<>,;\"()[]\\") == strlen(s);
}

/*
 * The feedback request to the customer of a resolved claim, in English and
 * Simplified Chinese, with the tracking link (where the rating is given).
 * Other events, and claims without an e-mail contact, need no mail: TPD_OK.
 */
static enum tpd_err webhook_mail(CURL *curl, const struct tpc_webhook *wh,
				 const struct webhook_target *t, const cJSON *event,
				 char *why, size_t whylen)
{
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(event, "claim");
	const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(event, "event"));
	const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "contact"));
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "id"));
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "tracking_url"));
	const char *eid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(event, "id"));
	char msg[4096], from[300], rcpt[300], date[64];
	struct curl_slist *rcpts;
	struct webhook_upload up;
	time_t now = time(NULL);
	struct tm tm;
	CURLcode cc;
	int n;

	if (!ev || strcmp(ev, "claim.feedback_requested") != 0 || !webhook_address(to) || !id ||
	    !url || !eid)
		return TPD_OK;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* RFC 5322 with an RFC 2047 subject (UTF-8, base64 not needed: the
	 * subject is ASCII; the bilingual text is in the 8bit body) */
	n = snprintf(msg, sizeof(msg),
		     "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nMessage-ID: <%s@tpcollect>\r\n"
		     "Subject: How did we do? Your claim %s is done\r\nMIME-Version: 1.0\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
		     "\r\nYour repair claim %s is done. Please tell us how it went (a rating from 1 "
		     "to 5 and, if you like, a comment):\r\n%s\r\n\r\n"
		     "\xe6\x82\xa8\xe7\x9a\x84\xe6\x8a\xa5\xe4\xbf\xae\xe7\x94\xb3\xe8\xaf\xb7 %s "
		     "\xe5\xb7\xb2\xe5\xa4\x84\xe7\x90\x86\xe5\xae\x8c\xe6\x88\x90\xe3\x80\x82"
		     "\xe6\xac\xa2\xe8\xbf\x8e\xe8\xaf\x84\xe4\xbb\xb7\xe6\x88\x91\xe4\xbb\xac"
		     "\xe7\x9a\x84\xe6\x9c\x8d\xe5\x8a\xa1\xef\xbc\x9a\r\n%s\r\n",
		     date, t->secret, to, eid, id, id, url, id, url);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		snprintf(why, whylen, "message too long");
		return TPD_ERR_TOOBIG;
	}
	snprintf(from, sizeof(from), "<%s>", t->secret);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	rcpts = curl_slist_append(NULL, rcpt);
	if (!rcpts) {
		snprintf(why, whylen, "out of memory");
		return TPD_ERR_NOMEM;
	}
	up.p = msg;
	up.left = (size_t)n;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, t->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, webhook_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, WEBHOOK_CONNECT_TIMEOUT_S);
	cc = curl_easy_perform(curl);
	curl_slist_free_all(rcpts);
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(cc));
		return TPD_ERR_IO;
	}
	return TPD_OK;
}

static double webhook_backoff(const struct tpc_webhook *wh, unsigned attempts)
{
	double d = 1;
	unsigned short r = 0;

	for (unsigned i = 1; i < attempts && d < wh->retry_max_s; i++)
		d *= 2;
	if (d > wh->retry_max_s)
		d = wh->retry_max_s;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = 0;
	return d * (1 + 0.25 * r / 65535.0);
}

/* How many events wait for t (its status, for metrics and health). */
static void webhook_count_pending(struct tpc_webhook *wh, struct webhook_target *t)
{
	int64_t pending = 0;

	if (tpc_store_event_pending(wh->store, t->cursor, &pending) == TPD_OK) {
		pthread_mutex_lock(&wh->lock);
		t->st.pending = pending;
		pthread_mutex_unlock(&wh->lock);
	}
}

/* One step for target t: sends its next event if one is due. True when it
 * did something (the worker then comes back without a pause). */
static bool webhook_step(struct tpc_webhook *wh, struct webhook_target *t, CURL *curl)
{
	char why[200];
	int64_t id;
	char *body = NULL;
	enum tpd_err rc;
	bool sent = false;

	if (tpd_clock_mono() < t->next_try) {
		/* a target in backoff still shows how much waits for it (metrics,
		 * health), once a second, not only when it is tried again */
		if (t->cursor >= 0 && tpd_clock_mono() >= t->pending_next) {
			t->pending_next = tpd_clock_mono() + 1;
			webhook_count_pending(wh, t);
		}
		return false;
	}
	if (t->cursor < 0 && tpc_store_webhook_cursor(wh->store, t->name, &t->cursor)) {
		t->cursor = -1;
		t->next_try = tpd_clock_mono() + 1;
		return false;
	}
	rc = tpc_store_event_next(wh->store, t->cursor, &id, &body);
	if (rc == TPD_OK) {
		cJSON *event = NULL;
		char *out = webhook_body(wh, body, &event);

		if (!out)
			snprintf(why, sizeof(why), "out of memory");
		rc = !out ? TPD_ERR_NOMEM
		     : t->mail ? webhook_mail(curl, wh, t, event, why, sizeof(why))
		     : webhook_post(curl, t, out, why, sizeof(why));
		cJSON_free(out);
		cJSON_Delete(event);
		free(body);
		pthread_mutex_lock(&wh->lock);
		if (rc == TPD_OK) {
			t->st.delivered++;
			if (t->st.failing_since != 0)
				fprintf(stderr, "tpcollect: webhook %s: delivering again after %u failed "
					"attempts\n", t->name, t->st.attempts);
			t->st.attempts = 0;
			t->st.failing_since = 0;
			t->next_try = 0;
		} else {
			t->st.failures++;
			if (t->st.attempts++ == 0) {
				t->st.failing_since = tpd_clock_wall();
				fprintf(stderr, "tpcollect: webhook %s: %s: %s (retrying with backoff)\n",
					t->name, t->url, why);
			}
			snprintf(t->st.last_error, sizeof(t->st.last_error), "%s", why);
			t->next_try = tpd_clock_mono() + webhook_backoff(wh, t->st.attempts);
		}
		pthread_mutex_unlock(&wh->lock);
		/* the cursor moves only after the 2xx: a crash in between sends
		 * the event again (at least once, same id) */
		if (rc == TPD_OK) {
			if (tpc_store_webhook_cursor_set(wh->store, t->name, id) == TPD_OK)
				t->cursor = id;
			else
				t->next_try = tpd_clock_mono() + 1;
			sent = true;
		}
	}
	webhook_count_pending(wh, t);
	return sent;
}

static void *webhook_worker(void *arg)
{
	struct tpc_webhook *wh = arg;
	CURL *curl = curl_easy_init();

	pthread_mutex_lock(&wh->lock);
	while (!wh->stopping) {
		bool busy = false;
		struct timespec until;

		pthread_mutex_unlock(&wh->lock);
		/* of several collectors on one database, one delivers (store.h):
		 * the targets' cursors are shared, so each event goes out once */
		for (size_t i = 0; curl && i < wh->n && tpc_store_leads(wh->store, "webhooks"); i++)
			busy |= webhook_step(wh, &wh->t[i], curl);
		pthread_mutex_lock(&wh->lock);
		if (busy)
			continue;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(WEBHOOK_IDLE_S * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!wh->stopping)
			pthread_cond_timedwait(&wh->wake, &wh->lock, &until);
	}
	pthread_mutex_unlock(&wh->lock);
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

enum tpd_err tpc_webhook_start(struct tpc_webhook *wh, struct tpc_store *store,
			       double retry_max_s, const char *public_url)
{
	wh->store = store;
	snprintf(wh->public_url, sizeof(wh->public_url), "%s", public_url ? public_url : "");
	wh->retry_max_s = retry_max_s >= 1 ? retry_max_s : 1;
	/* every target's cursor now, before any claim event can be made: a new
	 * target starts after the events already there, not after whatever
	 * came before the worker first reached it (a dead target's backoff);
	 * one that fails here is fetched by the worker as before */
	for (size_t i = 0; i < wh->n; i++)
		if (tpc_store_webhook_cursor(store, wh->t[i].name, &wh->t[i].cursor))
			wh->t[i].cursor = -1;
	if (pthread_create(&wh->worker, NULL, webhook_worker, wh) != 0)
		return TPD_ERR_NOMEM;
	wh->started = true;
	return TPD_OK;
}

void tpc_webhook_free(struct tpc_webhook *wh)
{
	if (!wh)
		return;
	if (wh->started) {
		pthread_mutex_lock(&wh->lock);
		wh->stopping = true;
		pthread_cond_signal(&wh->wake);
		pthread_mutex_unlock(&wh->lock);
		pthread_join(wh->worker, NULL);
	}
	pthread_cond_destroy(&wh->wake);
	pthread_mutex_destroy(&wh->lock);
	/* the secrets do not outlive the handle in freed memory */
	for (size_t i = 0; i < wh->n; i++)
		memset(wh->t[i].secret, 0, sizeof(wh->t[i].secret));
	free(wh);
}

size_t tpc_webhook_count(const struct tpc_webhook *wh)
{
	return wh ? wh->n : 0;
}

void tpc_webhook_status(struct tpc_webhook *wh, size_t i, struct tpc_webhook_status *out)
{
	memset(out, 0, sizeof(*out));
	if (!wh || i >= wh->n)
		return;
	pthread_mutex_lock(&wh->lock);
	*out = wh->t[i].st;
	pthread_mutex_unlock(&wh->lock);
}
