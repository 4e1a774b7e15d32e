/*
 * mqtt.c - libmosquitto client driven by the caller's loop, with reconnect.
 *
 * Design notes:
 * 1. No libmosquitto thread (mosquitto_loop_start): the agent is a single-
 *    threaded event loop, and tpsim runs many clients in one thread. The
 *    caller's tpd_mqtt_loop() is the only place I/O happens.
 * 2. Reconnect backoff is 1 s doubling to 60 s, with +-25 % jitter so a
 *    fleet that lost its broker does not come back in lockstep.
 * 3. A QoS 1 message is acknowledged only after on_message has returned.
 *    libmosquitto 2.0.x queues the PUBACK *before* it calls on_message
 *    (lib/handle_publish.c; upstream issue #2884) and, in a client it thinks
 *    unthreaded, writes it to the socket at once: a crash (kill -9, power)
 *    while the handler stores the message loses it, since the broker has
 *    already dropped it. Declaring the client "externally threaded"
 *    (mosquitto_threaded_set) makes packet__queue() only queue, so the
 *    PUBACK leaves in the write phase of the next mosquitto_loop(), after
 *    the handler committed. Handlers must therefore finish their durable
 *    work before returning, or in before_ack.
 * 4. Group commit (before_ack): committing each report alone costs a WAL
 *    write and a file lock per message and caps the collector far below
 *    what the broker delivers. With before_ack the loop is split into
 *    libmosquitto's read / write / misc steps (its API for external event
 *    loops): it reads every message already waiting (up to
 *    TPD_MQTT_BATCH_MAX), calls before_ack (one commit for all of them),
 *    and only then writes their PUBACKs. The guarantee of note 3 holds for
 *    the whole batch.
 * 5. A batch before_ack refuses (its commit failed: disk full, I/O error) is
 *    never acknowledged. Its PUBACKs already sit in libmosquitto's output
 *    queue, and libmosquitto has no call to take them back (a DISCONNECT
 *    would be queued behind them), so the client object is destroyed
 *    unwritten - the socket closes without another byte - and a fresh one
 *    connects later. The broker keeps the unacknowledged messages in flight
 *    for the persistent session and delivers them again. The wait before
 *    that reconnect doubles with each refused batch in a row (a full disk
 *    does not empty itself in a second) and starts over after a batch is
 *    acknowledged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "tpd/log.h"
#include "tpd/mqtt.h"

#define MQTT_KEEPALIVE_S 30
#define MQTT_BACKOFF_MIN_MS 1000
#define MQTT_BACKOFF_MAX_MS 60000
#define MQTT_REFUSED_MAX_MS 30000

struct tpd_mqtt {
	struct mosquitto *mosq;
	struct tpd_mqtt_cfg cfg;
	char **subs;               /* owned copy of cfg.subscribe */
	char host[256];
	int port;
	bool tls;
	bool connected;
	bool fresh;                /* mosq was remade (note 5): connect, not reconnect */
	unsigned batch_read;       /* messages read in this loop (batched mode) */
	unsigned refused_ms;       /* wait after the next refused batch (note 5) */
	unsigned refused_max_ms;
	unsigned subs_pending;     /* SUBACKs still awaited on this connection */
	bool ever_connected;
	size_t unacked;
	unsigned backoff_ms;
	unsigned backoff_max_ms;
	double next_attempt;       /* monotonic seconds */
	unsigned jitter_seed;
};

static double mqtt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The broker URL, SPEC §1: mqtt://HOST:PORT or mqtts://HOST:PORT, an
 * optional trailing "/", HOST a name, an IPv4 address or an IPv6 one in
 * brackets (checked by inet_pton). Parsed here rather than with libcurl's
 * curl_url, which the collector links: the agent runs on routers, where
 * libcurl would pull TLS, LDAP, Kerberos and SSH libraries in for one
 * string, and Debian cannot even install it for mipsel beside the host's.
 * Anything else — user info, a path, a query, a fragment, no port — is
 * refused rather than guessed at. */
enum tpd_err tpd_mqtt_parse_url(const char *url, char *host, size_t hostlen, int *port,
				bool *tls)
{
	const char *h, *hend, *p;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 1];
	size_t n;
	long v = 0;

	if (strncasecmp(url, "mqtt://", 7) == 0) {
		*tls = false;
		h = url + 7;
	} else if (strncasecmp(url, "mqtts://", 8) == 0) {
		*tls = true;
		h = url + 8;
	} else {
		return TPD_ERR_INVAL;
	}
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend || hend[1] != ':')
			return TPD_ERR_INVAL;
		n = (size_t)(hend - h - 1);
		if (n == 0 || n >= sizeof(buf))
			return TPD_ERR_INVAL;
		memcpy(buf, h + 1, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return TPD_ERR_INVAL;
		h++;
		p = hend + 2;
	} else {
		hend = h + strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
		if (*hend != ':')
			return TPD_ERR_INVAL;
		n = (size_t)(hend - h);
		p = hend + 1;
	}
	if (n == 0 || n >= hostlen)
		return TPD_ERR_INVAL;
	/* the port: 1 to 5 digits, 1..65535, then nothing or "/" */
	for (int i = 0; i < 5 && *p >= '0' && *p <= '9'; i++)
		v = v * 10 + (*p++ - '0');
	if ((*p != '\0' && strcmp(p, "/") != 0) || v < 1 || v > 65535 || p[-1] == ':')
		return TPD_ERR_INVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (int)v;
	return TPD_OK;
}

static void mqtt_schedule_retry(struct tpd_mqtt *m)
{
	double jitter = 0.75 + (rand_r(&m->jitter_seed) % 501) / 1000.0;

	m->next_attempt = mqtt_now() + m->backoff_ms * jitter / 1000.0;
	m->backoff_ms = m->backoff_ms * 2 > m->backoff_max_ms ? m->backoff_max_ms
								: m->backoff_ms * 2;
}

static void mqtt_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct tpd_mqtt *m = obj;

	(void)mosq;
	if (rc != 0) {
		tpd_log_as(m->cfg.program, TPD_LOG_ERR, "mqtt", "broker %s:%d refused the connection: %s",
			m->host, m->port, mosquitto_connack_string(rc));
		return;
	}
	if (m->ever_connected && !m->fresh)
		tpd_log_as(m->cfg.program, TPD_LOG_INFO, "mqtt", "reconnected to %s:%d", m->host, m->port);
	m->connected = true;
	m->ever_connected = true;
	m->fresh = false;
	m->backoff_ms = MQTT_BACKOFF_MIN_MS;
	m->subs_pending = 0;
	for (char **s = m->subs; s && *s; s++) {
		if (mosquitto_subscribe(m->mosq, NULL, *s, 1) == MOSQ_ERR_SUCCESS)
			m->subs_pending++;
	}
	if (m->cfg.on_connect)
		m->cfg.on_connect(m->cfg.ctx);
}

static void mqtt_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct tpd_mqtt *m = obj;

	(void)mosq;
	if (m->connected && rc != 0)
		tpd_log_as(m->cfg.program, TPD_LOG_WARN, "mqtt", "lost connection to %s:%d: %s; reconnecting",
			m->host, m->port, mosquitto_strerror(rc));
	m->connected = false;
	mqtt_schedule_retry(m);
}

static void mqtt_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct tpd_mqtt *m = obj;

	(void)mosq;
	if (m->unacked > 0)
		m->unacked--;
	if (m->cfg.on_acked)
		m->cfg.on_acked(m->cfg.ctx, mid);
}

static void mqtt_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			      const int *granted_qos)
{
	struct tpd_mqtt *m = obj;

	(void)mosq;
	(void)mid;
	for (int i = 0; i < qos_count; i++) {
		if (granted_qos[i] > 2)
			tpd_log_as(m->cfg.program, TPD_LOG_ERR, "mqtt", "broker refused a subscription");
	}
	if (m->subs_pending > 0)
		m->subs_pending--;
}

static void mqtt_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct tpd_mqtt *m = obj;

	(void)mosq;
	m->batch_read++;
	if (m->cfg.on_message)
		m->cfg.on_message(m->cfg.ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static void mqtt_free_subs(char **subs)
{
	for (char **s = subs; s && *s; s++)
		free(*s);
	free(subs);
}

static char **mqtt_copy_subs(const char *const *subs)
{
	size_t n = 0;
	char **out;

	while (subs && subs[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(subs[i]);
		if (!out[i]) {
			mqtt_free_subs(out);
			return NULL;
		}
	}
	return out;
}

/* Makes m->mosq with every setting of m->cfg; on failure writes one line to
 * err and leaves m->mosq NULL (or to be destroyed by the caller). */
static enum tpd_err mqtt_make_client(struct tpd_mqtt *m, char *err, size_t errlen)
{
	const struct tpd_mqtt_cfg *cfg = &m->cfg;
	int rc;

	m->mosq = mosquitto_new(cfg->client_id, cfg->clean_session, m);
	if (!m->mosq) {
		snprintf(err, errlen, "cannot create MQTT client: %s",
			 errno == EINVAL ? "invalid client id" : "out of memory");
		return TPD_ERR_NOMEM;
	}
	mosquitto_threaded_set(m->mosq, true);   /* design note 3 */
	mosquitto_connect_callback_set(m->mosq, mqtt_on_connect);
	mosquitto_disconnect_callback_set(m->mosq, mqtt_on_disconnect);
	mosquitto_publish_callback_set(m->mosq, mqtt_on_publish);
	mosquitto_message_callback_set(m->mosq, mqtt_on_message);
	mosquitto_subscribe_callback_set(m->mosq, mqtt_on_subscribe);
	if (cfg->max_inflight)
		mosquitto_max_inflight_messages_set(m->mosq, cfg->max_inflight);
	if (!m->tls && (cfg->tls_ca || cfg->tls_cert)) {
		snprintf(err, errlen, "TLS files given but %s is not an mqtts:// URL", cfg->url);
		return TPD_ERR_INVAL;
	}
	if (m->tls && (!cfg->tls_cert != !cfg->tls_key)) {
		snprintf(err, errlen, "a TLS client certificate needs its key, and a key its certificate");
		return TPD_ERR_INVAL;
	}
	if (m->tls) {
		rc = mosquitto_tls_set(m->mosq, cfg->tls_ca, cfg->tls_ca ? NULL : "/etc/ssl/certs",
				       cfg->tls_cert, cfg->tls_key, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "TLS set-up for %s: %s (CA %s, certificate %s)", cfg->url,
				 mosquitto_strerror(rc), cfg->tls_ca ? cfg->tls_ca : "system",
				 cfg->tls_cert ? cfg->tls_cert : "none");
			return TPD_ERR_INVAL;
		}
	}
	if (cfg->will_topic &&
	    mosquitto_will_set(m->mosq, cfg->will_topic, (int)cfg->will_len, cfg->will_payload,
			       1, true) != 0) {
		snprintf(err, errlen, "cannot set the Last Will on %s", cfg->will_topic);
		return TPD_ERR_MQTT;
	}
	return TPD_OK;
}

/* Starts a connection attempt; schedules a retry when it cannot start. */
static void mqtt_connect_now(struct tpd_mqtt *m)
{
	int rc = mosquitto_connect(m->mosq, m->host, m->port, MQTT_KEEPALIVE_S);

	if (rc != MOSQ_ERR_SUCCESS) {
		if (!m->fresh)
			tpd_log_as(m->cfg.program, TPD_LOG_WARN, "mqtt", "cannot connect to %s:%d: %s; retrying",
				m->host, m->port,
				rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		mqtt_schedule_retry(m);
	}
}

enum tpd_err tpd_mqtt_new(const struct tpd_mqtt_cfg *cfg, struct tpd_mqtt **out,
			  char *err, size_t errlen)
{
	struct tpd_mqtt *m;
	enum tpd_err rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return TPD_ERR_NOMEM;
	m->cfg = *cfg;
	if (!m->cfg.program)
		m->cfg.program = "tpdiag";
	m->backoff_ms = MQTT_BACKOFF_MIN_MS;
	m->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : MQTT_BACKOFF_MAX_MS;
	m->refused_ms = MQTT_BACKOFF_MIN_MS;
	m->refused_max_ms = cfg->refused_max_ms ? cfg->refused_max_ms : MQTT_REFUSED_MAX_MS;
	m->jitter_seed = (unsigned)getpid() ^ (unsigned)(mqtt_now() * 1000.0);
	if (tpd_mqtt_parse_url(cfg->url, m->host, sizeof(m->host), &m->port, &m->tls)) {
		snprintf(err, errlen, "broker URL \"%.200s\" is not mqtt://HOST:PORT or mqtts://HOST:PORT",
			 cfg->url);
		free(m);
		return TPD_ERR_INVAL;
	}
	m->subs = mqtt_copy_subs(cfg->subscribe);
	if (!m->subs) {
		snprintf(err, errlen, "cannot create MQTT client: out of memory");
		tpd_mqtt_free(m);
		return TPD_ERR_NOMEM;
	}
	rc = mqtt_make_client(m, err, errlen);
	if (rc) {
		tpd_mqtt_free(m);
		return rc;
	}
	mqtt_connect_now(m);
	*out = m;
	return TPD_OK;
}

/*
 * Drops the connection without writing what is queued on it (design note
 * 5): the client object goes, unflushed, and a new one with the same
 * settings connects after the refusal backoff. Returns a MOSQ_ERR_*: the
 * loop's caller sees a lost connection either way.
 */
static int mqtt_drop_unacked(struct tpd_mqtt *m)
{
	char err[256];
	double jitter = 0.75 + (rand_r(&m->jitter_seed) % 501) / 1000.0;

	mosquitto_destroy(m->mosq);
	m->mosq = NULL;
	m->connected = false;
	m->subs_pending = 0;
	m->fresh = true;
	m->next_attempt = mqtt_now() + m->refused_ms * jitter / 1000.0;
	m->refused_ms = m->refused_ms * 2 > m->refused_max_ms ? m->refused_max_ms
							      : m->refused_ms * 2;
	if (mqtt_make_client(m, err, sizeof(err))) {
		/* Only memory can fail here (the settings worked before); the next
		 * loop tries again. */
		if (m->mosq)
			mosquitto_destroy(m->mosq);
		m->mosq = NULL;
		tpd_log_as(m->cfg.program, TPD_LOG_ERR, "mqtt", "%s", err);
	}
	return MOSQ_ERR_NO_CONN;
}

void tpd_mqtt_free(struct tpd_mqtt *m)
{
	if (!m)
		return;
	if (m->mosq) {
		if (m->connected) {
			mosquitto_disconnect(m->mosq);
			mosquitto_loop(m->mosq, 100, 1);
		}
		mosquitto_destroy(m->mosq);
	}
	mqtt_free_subs(m->subs);
	free(m);
}

/* One loop in libmosquitto's steps (design note 4). Returns a MOSQ_ERR_*. */
static int mqtt_loop_batched(struct tpd_mqtt *m, int timeout_ms)
{
	struct pollfd p = { .fd = mosquitto_socket(m->mosq) };
	int rc = MOSQ_ERR_SUCCESS;

	m->batch_read = 0;
	if (p.fd < 0)
		return MOSQ_ERR_NO_CONN;
	p.events = POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0);
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return MOSQ_ERR_ERRNO;
	if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
		for (int k = 0; k < TPD_MQTT_BATCH_MAX; k++) {
			unsigned before = m->batch_read;

			rc = mosquitto_loop_read(m->mosq, 1);
			if (rc != MOSQ_ERR_SUCCESS)
				break;
			/* A message came: the socket is non-blocking, so the next
			 * read costs one recv() when nothing waits - cheaper than
			 * a poll() per message (a quarter of the collector's
			 * syscalls). Anything else (an ack, a partial packet):
			 * ask poll() whether more is there. */
			if (m->batch_read > before)
				continue;
			p.fd = mosquitto_socket(m->mosq);
			p.events = POLLIN;
			if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
				break;
		}
	}
	if (m->cfg.before_ack(m->cfg.ctx) != TPD_OK)
		return mqtt_drop_unacked(m);
	if (m->batch_read > 0)
		m->refused_ms = MQTT_BACKOFF_MIN_MS;
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(m->mosq))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_loop_misc(m->mosq);
	return rc;
}

enum tpd_err tpd_mqtt_loop(struct tpd_mqtt *m, int timeout_ms)
{
	int rc;

	if (!m->connected && m->next_attempt > 0) {
		double now = mqtt_now();

		if (now < m->next_attempt) {
			double wait_ms = (m->next_attempt - now) * 1000.0;

			if (wait_ms > timeout_ms)
				wait_ms = timeout_ms;
			if (wait_ms > 0)
				usleep((useconds_t)(wait_ms * 1000.0));
			return TPD_OK;
		}
		m->next_attempt = 0;
		if (!m->mosq) {
			char err[256];

			if (mqtt_make_client(m, err, sizeof(err))) {
				if (m->mosq)
					mosquitto_destroy(m->mosq);
				m->mosq = NULL;
				mqtt_schedule_retry(m);
				return TPD_OK;
			}
		}
		if (m->fresh) {
			mqtt_connect_now(m);
			if (m->next_attempt > 0)
				return TPD_OK;
		} else {
			rc = mosquitto_reconnect(m->mosq);
			if (rc != MOSQ_ERR_SUCCESS) {
				mqtt_schedule_retry(m);
				return TPD_OK;
			}
		}
	}
	if (!m->mosq)
		return TPD_OK;
	rc = m->cfg.before_ack ? mqtt_loop_batched(m, timeout_ms)
			       : mosquitto_loop(m->mosq, timeout_ms, 1);
	if (rc != MOSQ_ERR_SUCCESS && m->next_attempt == 0) {
		/* The socket died without a disconnect callback (e.g. refused). */
		m->connected = false;
		mqtt_schedule_retry(m);
		if (timeout_ms > 0)
			usleep((useconds_t)timeout_ms * 1000u);
	}
	return TPD_OK;
}

enum tpd_err tpd_mqtt_publish(struct tpd_mqtt *m, const char *topic, const void *payload,
			      size_t len, int qos, bool retain, int *mid)
{
	int rc;

	if (!m->mosq)
		return TPD_ERR_MQTT;
	rc = mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos, retain);

	if (rc == MOSQ_ERR_NO_CONN && qos > 0) {
		/* libmosquitto has queued it for the next connection. */
		m->unacked++;
		return TPD_OK;
	}
	if (rc != MOSQ_ERR_SUCCESS)
		return rc == MOSQ_ERR_NOMEM ? TPD_ERR_NOMEM : TPD_ERR_MQTT;
	m->unacked++;
	return TPD_OK;
}

bool tpd_mqtt_connected(const struct tpd_mqtt *m)
{
	return m->connected;
}

bool tpd_mqtt_subscribed(const struct tpd_mqtt *m)
{
	return m->connected && m->subs_pending == 0;
}

size_t tpd_mqtt_unacked(const struct tpd_mqtt *m)
{
	return m->unacked;
}

enum tpd_err tpd_mqtt_drain(struct tpd_mqtt *m, int timeout_ms)
{
	double deadline = mqtt_now() + timeout_ms / 1000.0;

	while (m->unacked > 0) {
		if (mqtt_now() >= deadline)
			return TPD_ERR_IO;
		tpd_mqtt_loop(m, 50);
	}
	return TPD_OK;
}
