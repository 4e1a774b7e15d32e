/*
 * tpd/mqtt.h - one MQTT connection over libmosquitto, driven by the caller's
 * loop (no threads): the agent daemon, tpsim and the collector share it.
 *
 * It reconnects by itself with exponential backoff and jitter (1 s doubling
 * to 60 s), resubscribes on every connect, and counts QoS 1 messages not yet
 * acknowledged so a caller can wait for them before exit.
 * mosquitto_lib_init() must have been called once, in main().
 */
#ifndef TPD_MQTT_H
#define TPD_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

struct tpd_mqtt;

#define TPD_MQTT_BATCH_MAX 256

/* A QoS 1 message is acknowledged to the broker only after this returns, so
 * whatever the handler made durable before returning survives a crash, and
 * whatever it did not is delivered again to a persistent session. */
typedef void (*tpd_mqtt_message_fn)(void *ctx, const char *topic, const void *payload,
				    size_t len);
/* Called after each successful connect (first and re-connects). */
typedef void (*tpd_mqtt_connect_fn)(void *ctx);
/* Called when the broker has acknowledged the QoS 1 message with this mid
 * (PUBACK): from then on it is the broker's, not ours, to lose. */
typedef void (*tpd_mqtt_acked_fn)(void *ctx, int mid);
/* Called once a loop, after every message read in it was handled and before
 * their PUBACKs are written: a subscriber that batches its durable work
 * (the collector's group commit) makes it durable here. TPD_OK lets the
 * PUBACKs go. Anything else refuses the whole batch: none of its messages is
 * acknowledged, the connection is dropped unflushed, and the link reconnects
 * after a wait that doubles with each refusal in a row (1 s up to
 * refused_max_ms), so a persistent session gets them all again. */
typedef enum tpd_err (*tpd_mqtt_before_ack_fn)(void *ctx);

struct tpd_mqtt_cfg {
	const char *url;           /* mqtt://HOST:PORT or mqtts://HOST:PORT */
	const char *client_id;
	bool clean_session;        /* false: persistent session (collector) */
	const char *will_topic;    /* optional Last Will, QoS 1, retained */
	const char *will_payload;
	size_t will_len;
	const char *const *subscribe; /* NULL-terminated topic filters, QoS 1 */
	tpd_mqtt_message_fn on_message;
	tpd_mqtt_connect_fn on_connect;
	tpd_mqtt_acked_fn on_acked;   /* optional */
	/* optional; with it a loop reads up to TPD_MQTT_BATCH_MAX messages that
	 * are already waiting before it calls this and acknowledges them */
	tpd_mqtt_before_ack_fn before_ack;
	void *ctx;
	unsigned max_inflight;     /* 0: libmosquitto's default (20) */
	unsigned backoff_max_ms;   /* reconnect backoff cap; 0: 60 s (a fleet must not storm) */
	unsigned refused_max_ms;   /* cap of the wait after a refused batch; 0: 30 s */
	/* mqtts:// only: CA file to trust (NULL: the system's), and the client
	 * certificate and its private key (PEM) that prove who this is. */
	const char *tls_ca, *tls_cert, *tls_key;
	const char *program;       /* for log lines */
};

/* Parses mqtt[s]://HOST:PORT. */
enum tpd_err tpd_mqtt_parse_url(const char *url, char *host, size_t hostlen, int *port,
				bool *tls);

/* Creates the client and starts connecting (non-blocking). On failure writes
 * one line to err. */
enum tpd_err tpd_mqtt_new(const struct tpd_mqtt_cfg *cfg, struct tpd_mqtt **out,
			  char *err, size_t errlen);
/* Disconnects cleanly (the Will is not sent) and frees. */
void tpd_mqtt_free(struct tpd_mqtt *m);

/* Runs network I/O for up to timeout_ms, reconnecting when due. */
enum tpd_err tpd_mqtt_loop(struct tpd_mqtt *m, int timeout_ms);

/* Queues a message. QoS 1 messages are kept by libmosquitto across a
 * reconnect until acknowledged. *mid (may be NULL) receives the message id
 * that on_acked will report. */
enum tpd_err tpd_mqtt_publish(struct tpd_mqtt *m, const char *topic, const void *payload,
			      size_t len, int qos, bool retain, int *mid);

bool tpd_mqtt_connected(const struct tpd_mqtt *m);
/* True once the broker has acknowledged every subscription of this connection. */
bool tpd_mqtt_subscribed(const struct tpd_mqtt *m);
/* QoS 1 messages published and not yet acknowledged by the broker. */
size_t tpd_mqtt_unacked(const struct tpd_mqtt *m);
/* Runs the loop until every QoS 1 message is acknowledged or timeout_ms
 * passes; TPD_ERR_IO on timeout. */
enum tpd_err tpd_mqtt_drain(struct tpd_mqtt *m, int timeout_ms);

#endif
