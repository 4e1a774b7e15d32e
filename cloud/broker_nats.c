/*
 * broker_nats.c - the JetStream transport of the collector (issue 17).
 *
 * Layout: the handle and its connection callbacks; the stream and the
 * consumers (ensured idempotently, so any number of collectors may start
 * at once); a partition's batch (fetch, hand over, commit, ack); the round
 * (tpc_nats_poll); the outbox's publish.
 *
 * Facts this rests on, checked with real processes against nats-server
 * 2.9.10 (Debian bookworm) and its MQTT listener, 3 nodes (tests/lib/nats.sh):
 * F1. An MQTT publish to tp/v1/DEV/KIND is the NATS subject tp.v1.DEV.KIND;
 *     a QoS 1 publish lands in core NATS, and a stream whose subjects cover
 *     it stores it (no clash with the server's own $MQTT_* streams, whose
 *     subjects are under $MQTT.).
 * F2. Retained messages and the Last Will work through the cluster: a
 *     retained status published on one node's MQTT port is seen by a late
 *     subscriber on another node's; a client killed -9 has its Will
 *     (retained) published.
 * F3. Subject mapping with partition(N, wildcard) DOES apply to MQTT
 *     publishes in 2.9.10: with "tp.v1.*.telemetry" ->
 *     "tpp.{{partition(8,1)}}.{{wildcard(1)}}.telemetry" an MQTT publish
 *     to tp/v1/DEV1/telemetry is stored as tpp.7.DEV1.telemetry, as a core
 *     publish of tp.v1.DEV1.telemetry is. But a mapped retained message is
 *     no longer found by an MQTT subscriber of the original topic (a late
 *     subscriber of tp/v1/DEV1/status got nothing): status must stay
 *     unmapped, or SPEC §2's retained status breaks. cmd must stay unmapped
 *     too, or the collector's notices would never reach tp/v1/DEV/cmd.
 * F4. A core publish of tp.v1.DEV.cmd reaches an MQTT subscriber of
 *     tp/v1/DEV/cmd on any node (the outbox's way to devices).
 * F5. libnats 3.4.1: a NoWait fetch of an empty consumer does not return at
 *     once but after its Expires (1 s asked, 0.99 s measured); a fetch with
 *     a short Expires (10 ms) returns after it, or at once with a full
 *     batch. So each round fetches with 10 ms, not NoWait.
 *
 * Design notes:
 * 1. Partitions by the server's mapping (F3): telemetry, fault and
 *    selfcheck of a device all hash on its id to one partition K, subject
 *    tpp.K.DEV.KIND. One durable pull consumer per partition
 *    (tpcollect-pK, filter tpp.K.>) is pulled by one collector at a time,
 *    the one holding lease "partition-K" (tpc_store_leads; SQLite: one
 *    collector holds them all), so a device's reports reach one collector,
 *    in the order the stream has them. Hashing in the collector instead
 *    would need every collector to read every message; a filter subject
 *    cannot hash. Status (unmapped, F3) has a consumer of its own
 *    (tpcollect-status, lease "partition-status"): its order per device
 *    is kept, and a status does not depend on the device's seq order.
 * 2. Nothing is acknowledged before its commit: a fetched batch goes to
 *    tpc_collector_batch_begin/handle/batch_end, and only when batch_end
 *    says durable is every message of it acked. A failed batch is NAKed
 *    with a delay (1 s doubling to 16 s). max_ack_pending equals the
 *    fetch size, so a NAKed batch holds its partition back until it is
 *    stored: later reports of its devices cannot overtake it. A collector
 *    that dies with a batch in hand has it redelivered to the next holder
 *    of the lease after ack_wait (30 s).
 * 3. A lost lease (its PostgreSQL session gone, another collector took it)
 *    stops fetching that partition at the next round; the consumer stays
 *    (bound, never created by the subscription: destroying the
 *    subscription does not delete it). During the lease's hand-over both
 *    may fetch a batch: a duplicate (dev, seq) is a duplicate (SPEC §2).
 * 4. The stream keeps messages by age (7 days), not as a work queue: a
 *    work queue would refuse a second consumer over the same subjects, and
 *    a forecast collector reading every device's telemetry needs one.
 * 5. libnats reconnects by itself (to any node of the URL list and those
 *    the cluster announces); the callbacks log once per outage. Pull
 *    subscriptions survive a reconnect; a fetch during the outage fails
 *    and is tried again on the next round.
 * 6. Spreading the partitions: each collector announces a random id on
 *    NATS_MEMBER_SUBJECT every second and hears the others; of the live
 *    ids sorted, partition K is preferred by the (K mod count)-th. A
 *    collector asks only for the leases it prefers, after
 *    NATS_MEMBER_GRACE_S of listening (collectors started together split
 *    3/3/3 at once). When the membership has stood still that long, a
 *    partition held but not preferred is handed over between two batches:
 *    its acks flushed, its lease let go (tpc_store_unlead), and its
 *    preferrer takes it within TPC_STORE_LEAD_S; nothing is in hand then,
 *    and the batches before were committed, so the order holds. Every
 *    partition always has a live preferrer: a dead collector's partitions
 *    are taken once its id is gone (4 s) and PostgreSQL has ended its
 *    session; a collector that joins later gets its share the same way.
 *    Two collectors whose views differ for a moment may both not prefer a
 *    partition: it waits until the views agree (seconds), nothing is lost.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tpd/clock.h"
#include "tpd/log.h"
#include "broker_nats.h"
#include "collector.h"
#include "store.h"

#ifdef TPD_HAVE_NATS
#include <nats/nats.h>

#define NATS_STREAM "TPDIAG"
#define NATS_FETCH 256                  /* messages per batch (one commit) */
#define NATS_ACK_WAIT_NS 30000000000LL  /* note 2 */
#define NATS_MAX_AGE_NS (7LL * 86400 * 1000000000LL)  /* note 4 */
#define NATS_SHORT_WAIT_MS 10            /* a busy round's fetch (F5) */
#define NATS_NAK_MIN_MS 1000
#define NATS_NAK_MAX_MS 16000
#define NATS_RETRY_S 2.0                /* stream or consumer setup failed */
#define NATS_URLS_MAX 16
/* note 6: membership */
#define NATS_MEMBER_SUBJECT "tpcollect.member"
#define NATS_MEMBER_EVERY_S 1.0
#define NATS_MEMBER_GONE_S 4.0
#define NATS_MEMBER_GRACE_S 3.0
#define NATS_MEMBERS_MAX 64
/* the partitions, then status (note 1) */
#define NATS_SLOTS (TPC_NATS_PARTITIONS + 1)

struct tpc_nats_part {
	char lease[32];          /* "partition-K", "partition-status" */
	char durable[32];        /* "tpcollect-pK", "tpcollect-status" */
	char filter[32];         /* "tpp.K.>", "tp.v1.*.status" */
	natsSubscription *sub;   /* non-NULL while this collector owns it */
	bool lead;               /* the lease's last answer, kept until lead_until */
	double lead_until;
	double retry_at;         /* mono s: binding failed, not before */
	int nak_ms;              /* the next failed batch's NAK delay */
};

struct tpc_nats {
	struct tpc_collector *col;   /* borrowed */
	struct tpc_store *store;     /* borrowed */
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	atomic_bool connected;
	atomic_bool down_logged;     /* note 5: one line per outage */
	bool stream_ok;
	bool leases_seen;
	double stream_retry_at;
	unsigned next_wait;          /* which owned partition an idle round waits on */
	struct tpc_nats_part part[NATS_SLOTS];
	/* note 6: the live collectors, by the ids they announce */
	uint64_t self;
	natsSubscription *member_sub;
	pthread_mutex_t member_lock;      /* members[] is written on libnats' thread */
	struct { uint64_t id; double seen; } members[NATS_MEMBERS_MAX];
	double member_next, member_since;
	unsigned member_count;       /* live ids at the last round */
	double member_steady;        /* mono s since member_count last changed */
};

static void tpc_nats_on_disconnected(natsConnection *nc, void *closure)
{
	struct tpc_nats *n = closure;

	atomic_store(&n->connected, false);
	if (!atomic_exchange(&n->down_logged, true))
		tpd_log(TPD_LOG_WARN, "nats", "nats: connection lost; reconnecting (libnats)");
}

static void tpc_nats_on_reconnected(natsConnection *nc, void *closure)
{
	struct tpc_nats *n = closure;
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	atomic_store(&n->connected, true);
	atomic_store(&n->down_logged, false);
	tpd_log(TPD_LOG_INFO, "nats", "nats: connected to %s", url);
}

/* The first connection of RetryOnFailedConnect (it may come later). */
static void tpc_nats_on_connected(natsConnection *nc, void *closure)
{
	tpc_nats_on_reconnected(nc, closure);
}

/* libnats' thread: another collector (or this one) is alive. */
static void tpc_nats_on_member(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
			       void *closure)
{
	struct tpc_nats *n = closure;
	char buf[24];
	int len = natsMsg_GetDataLength(msg);
	uint64_t id;
	char *end;
	double now = tpd_clock_mono();
	int free_slot = -1, i;

	if (len <= 0 || len >= (int)sizeof(buf)) {
		natsMsg_Destroy(msg);
		return;
	}
	memcpy(buf, natsMsg_GetData(msg), (size_t)len);
	buf[len] = '\0';
	natsMsg_Destroy(msg);
	id = strtoull(buf, &end, 16);
	if (*end != '\0' || id == 0)
		return;
	pthread_mutex_lock(&n->member_lock);
	for (i = 0; i < NATS_MEMBERS_MAX; i++) {
		if (n->members[i].id == id)
			break;
		if (free_slot < 0 && (n->members[i].id == 0 ||
				      now - n->members[i].seen > NATS_MEMBER_GONE_S))
			free_slot = i;
	}
	if (i == NATS_MEMBERS_MAX && free_slot >= 0) {
		i = free_slot;
		n->members[i].id = id;
	}
	if (i < NATS_MEMBERS_MAX)
		n->members[i].seen = now;
	pthread_mutex_unlock(&n->member_lock);
}

/* How many collectors are alive and this one's rank among them (note 6). */
static unsigned tpc_nats_members(struct tpc_nats *n, double now, unsigned *rank_out)
{
	unsigned count = 0, rank = 0;

	pthread_mutex_lock(&n->member_lock);
	for (int i = 0; i < NATS_MEMBERS_MAX; i++) {
		if (n->members[i].id == 0 || now - n->members[i].seen > NATS_MEMBER_GONE_S)
			continue;
		count++;
		if (n->members[i].id < n->self)
			rank++;
	}
	pthread_mutex_unlock(&n->member_lock);
	*rank_out = rank;
	return count;
}

/* Whether this collector prefers slot k among the live members (note 6). */
static bool tpc_nats_prefers(struct tpc_nats *n, unsigned k, double now)
{
	unsigned rank, count = tpc_nats_members(n, now, &rank);

	if (count == 0)   /* not even its own id heard back yet */
		return false;
	return k % count == rank;
}

/* A random id for this collector (note 6), never 0. */
static uint64_t tpc_nats_random_id(void)
{
	uint64_t id = 0;
	FILE *f = fopen("/dev/urandom", "rb");

	if (f) {
		if (fread(&id, sizeof(id), 1, f) != 1)
			id = 0;
		fclose(f);
	}
	if (id == 0)
		id = ((uint64_t)getpid() << 32) ^ (uint64_t)(tpd_clock_wall() * 1e6);
	return id ? id : 1;
}

/* "nats://a:1,b:2" or "nats://a:1,nats://b:2" -> servers, each a malloc'd
 * "nats://H:P" (the caller frees them). Returns how many, 0 on bad input. */
static int tpc_nats_split(const char *urls, char **out, int max)
{
	const char *p = urls;
	int count = 0;

	if (strncmp(p, "nats://", 7) != 0)
		return 0;
	while (*p && count < max) {
		size_t len = strcspn(p, ",");
		const char *host = strncmp(p, "nats://", 7) == 0 ? p + 7 : p;
		size_t hlen = len - (size_t)(host - p);
		char *s;

		if (hlen == 0 || hlen > 255 || !memchr(host, ':', hlen))
			goto bad;
		s = malloc(hlen + 8);
		if (!s)
			goto bad;
		snprintf(s, hlen + 8, "nats://%.*s", (int)hlen, host);
		out[count++] = s;
		p += len;
		if (*p == ',')
			p++;
	}
	if (*p == '\0' && count > 0)
		return count;
bad:
	while (count > 0)
		free(out[--count]);
	return 0;
}

enum tpd_err tpc_nats_new(const char *urls, struct tpc_collector *collector,
			  struct tpc_store *store, struct tpc_nats **out, char *err, size_t errlen)
{
	char *servers[NATS_URLS_MAX];
	int count = tpc_nats_split(urls, servers, NATS_URLS_MAX);
	struct tpc_nats *n;
	natsStatus s;

	*out = NULL;
	if (count == 0) {
		snprintf(err, errlen, "%s: expected nats://HOST:PORT[,HOST:PORT...] (at most %d)",
			 urls, NATS_URLS_MAX);
		return TPD_ERR_INVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		while (count > 0)
			free(servers[--count]);
		snprintf(err, errlen, "out of memory");
		return TPD_ERR_NOMEM;
	}
	n->col = collector;
	n->store = store;
	n->self = tpc_nats_random_id();
	pthread_mutex_init(&n->member_lock, NULL);
	for (unsigned k = 0; k < NATS_SLOTS; k++) {
		struct tpc_nats_part *p = &n->part[k];

		p->nak_ms = NATS_NAK_MIN_MS;
		if (k < TPC_NATS_PARTITIONS) {
			snprintf(p->lease, sizeof(p->lease), "partition-%u", k);
			snprintf(p->durable, sizeof(p->durable), "tpcollect-p%u", k);
			snprintf(p->filter, sizeof(p->filter), "tpp.%u.>", k);
		} else {
			snprintf(p->lease, sizeof(p->lease), "partition-status");
			snprintf(p->durable, sizeof(p->durable), "tpcollect-status");
			snprintf(p->filter, sizeof(p->filter), "tp.v1.*.status");
		}
	}
	/* Reconnect for ever, quickly (a handful of collectors, not a fleet);
	 * the first connection too, so the collector serves its API while
	 * the cluster comes up (tpcollect's note 2). */
	s = natsOptions_Create(&n->opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(n->opts, (const char **)servers, count);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(n->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(n->opts, 250);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(n->opts, tpc_nats_on_disconnected, n);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(n->opts, tpc_nats_on_reconnected, n);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(n->opts, true, tpc_nats_on_connected, n);
	if (s == NATS_OK)
		s = natsOptions_SetName(n->opts, "tpcollect");
	while (count > 0)
		free(servers[--count]);
	if (s == NATS_OK) {
		s = natsConnection_Connect(&n->nc, n->opts);
		/* NATS_NOT_YET_CONNECTED: retrying in the background */
		if (s == NATS_OK && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED)
			tpc_nats_on_connected(n->nc, n);
		else if (s == NATS_NOT_YET_CONNECTED)
			s = NATS_OK;
	}
	if (s == NATS_OK)
		s = natsConnection_JetStream(&n->js, n->nc, NULL);
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&n->member_sub, n->nc, NATS_MEMBER_SUBJECT,
					     tpc_nats_on_member, n);
	if (s != NATS_OK) {
		snprintf(err, errlen, "nats: %s", natsStatus_GetText(s));
		tpc_nats_free(n);
		return TPD_ERR_IO;
	}
	*out = n;
	return TPD_OK;
}

void tpc_nats_free(struct tpc_nats *n)
{
	if (!n)
		return;
	for (unsigned k = 0; k < NATS_SLOTS; k++)
		natsSubscription_Destroy(n->part[k].sub);   /* consumers stay (note 3) */
	natsSubscription_Destroy(n->member_sub);
	jsCtx_Destroy(n->js);
	if (n->nc) {
		natsConnection_Close(n->nc);
		natsConnection_Destroy(n->nc);
	}
	natsOptions_Destroy(n->opts);
	pthread_mutex_destroy(&n->member_lock);
	free(n);
}

bool tpc_nats_connected(struct tpc_nats *n)
{
	return atomic_load(&n->connected);
}

bool tpc_nats_ready(struct tpc_nats *n)
{
	return atomic_load(&n->connected) && n->stream_ok && n->leases_seen;
}

unsigned tpc_nats_owned(struct tpc_nats *n)
{
	unsigned owned = 0;

	for (unsigned k = 0; k < NATS_SLOTS; k++)
		owned += n->part[k].sub != NULL;
	return owned;
}

/* The stream of every device report (note 4); created by whichever
 * collector comes first, found by the others. Replicated 3 times when the
 * cluster has 3 nodes, else once. */
static bool tpc_nats_stream(struct tpc_nats *n)
{
	const char *subjects[] = { "tpp.>", "tp.v1.*.status" };
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode je = 0;
	natsStatus s;

	s = js_GetStreamInfo(&si, n->js, NATS_STREAM, NULL, &je);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return true;
	}
	jsStreamConfig_Init(&sc);
	sc.Name = NATS_STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 2;
	sc.Retention = js_LimitsPolicy;
	sc.Storage = js_FileStorage;
	sc.MaxAge = NATS_MAX_AGE_NS;
	sc.Replicas = 3;
	s = js_AddStream(&si, n->js, &sc, NULL, &je);
	if (s != NATS_OK && je != JSStreamNameExistErr) {
		sc.Replicas = 1;   /* fewer than 3 nodes */
		s = js_AddStream(&si, n->js, &sc, NULL, &je);
	}
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK || je == JSStreamNameExistErr) {
		tpd_log(TPD_LOG_INFO, "nats", "nats: stream %s (tpp.> and tp.v1.*.status), "
			"%d partitions", NATS_STREAM, TPC_NATS_PARTITIONS);
		return true;
	}
	tpd_log(TPD_LOG_WARN, "nats", "nats: cannot create stream %s: %s (JetStream error %d); "
		"trying again", NATS_STREAM, natsStatus_GetText(s), (int)je);
	return false;
}

/* Creates partition p's durable consumer if missing (the same config from
 * every collector: the server accepts it again), then binds to it. */
static bool tpc_nats_bind(struct tpc_nats *n, struct tpc_nats_part *p)
{
	jsConsumerConfig cc;
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	jsErrCode je = 0;
	natsStatus s;

	jsConsumerConfig_Init(&cc);
	cc.Durable = p->durable;
	cc.FilterSubject = p->filter;
	cc.AckPolicy = js_AckExplicit;
	cc.AckWait = NATS_ACK_WAIT_NS;
	cc.MaxAckPending = NATS_FETCH;   /* note 2 */
	cc.DeliverPolicy = js_DeliverAll;
	cc.MaxDeliver = -1;
	s = js_AddConsumer(&ci, n->js, NATS_STREAM, &cc, NULL, &je);
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK && je != JSConsumerNameExistErr && je != JSConsumerExistingActiveErr)
		tpd_log(TPD_LOG_WARN, "nats", "nats: consumer %s: %s (JetStream error %d); binding "
			"to it as it is", p->durable, natsStatus_GetText(s), (int)je);
	jsSubOptions_Init(&so);
	so.Stream = NATS_STREAM;
	so.Consumer = p->durable;
	s = js_PullSubscribe(&p->sub, n->js, p->filter, p->durable, NULL, &so, &je);
	if (s != NATS_OK) {
		tpd_log(TPD_LOG_WARN, "nats", "nats: cannot pull from %s: %s (JetStream error %d)",
			p->durable, natsStatus_GetText(s), (int)je);
		p->sub = NULL;
		return false;
	}
	tpd_log(TPD_LOG_INFO, "nats", "nats: pulling %s (%s)", p->filter, p->lease);
	return true;
}

/* tpp.K.DEV.KIND or tp.v1.DEV.KIND -> tp/v1/DEV/KIND; false if neither. */
static bool tpc_nats_topic(const char *subject, char *out, size_t len)
{
	const char *rest;
	int w;

	if (strncmp(subject, "tpp.", 4) == 0) {
		rest = strchr(subject + 4, '.');
		if (!rest)
			return false;
		rest++;
	} else if (strncmp(subject, "tp.v1.", 6) == 0) {
		rest = subject + 6;
	} else {
		return false;
	}
	w = snprintf(out, len, "tp/v1/%s", rest);
	if (w < 0 || (size_t)w >= len)
		return false;
	for (char *c = out + 6; *c; c++) {
		if (*c == '.')
			*c = '/';
	}
	return true;
}

/* One batch of partition p (note 2). Returns how many messages it got. */
static int tpc_nats_batch(struct tpc_nats *n, struct tpc_nats_part *p, int wait_ms)
{
	natsMsgList list = { 0 };
	jsFetchRequest fr;
	natsStatus s;
	enum tpd_err rc = TPD_OK;
	int got;

	/* not NoWait: F5 */
	jsFetchRequest_Init(&fr);
	fr.Batch = NATS_FETCH;
	fr.Expires = (int64_t)(wait_ms > 0 ? wait_ms : NATS_SHORT_WAIT_MS) * 1000000;
	s = natsSubscription_FetchRequest(&list, p->sub, &fr);
	if (s != NATS_OK || list.Count == 0) {
		natsMsgList_Destroy(&list);
		return 0;
	}
	tpc_collector_batch_begin(n->col);
	for (int i = 0; i < list.Count; i++) {
		natsMsg *m = list.Msgs[i];
		char topic[160];
		double now = tpd_clock_wall();

		if (!tpc_nats_topic(natsMsg_GetSubject(m), topic, sizeof(topic)))
			continue;   /* not a device report: acked with the batch */
		if (tpc_collector_handle(n->col, topic, natsMsg_GetData(m),
					 (size_t)natsMsg_GetDataLength(m), now))
			rc = TPD_ERR_DB;
	}
	if (tpc_collector_batch_end(n->col))
		rc = TPD_ERR_DB;
	for (int i = 0; i < list.Count; i++) {
		if (rc == TPD_OK)
			natsMsg_Ack(list.Msgs[i], NULL);
		else
			natsMsg_NakWithDelay(list.Msgs[i], p->nak_ms, NULL);
	}
	if (rc == TPD_OK) {
		p->nak_ms = NATS_NAK_MIN_MS;
	} else {
		tpd_log(TPD_LOG_WARN, "nats", "nats: batch of %d from %s not stored; redelivered in "
			"%d ms", list.Count, p->durable, p->nak_ms);
		p->nak_ms = p->nak_ms * 2 > NATS_NAK_MAX_MS ? NATS_NAK_MAX_MS : p->nak_ms * 2;
	}
	got = list.Count;
	natsMsgList_Destroy(&list);
	return got;
}

void tpc_nats_poll(struct tpc_nats *n, int timeout_ms)
{
	double now = tpd_clock_mono();
	int got = 0;
	unsigned owned = 0;

	if (!atomic_load(&n->connected)) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)timeout_ms * 1000000L };

		nanosleep(&ts, NULL);
		return;
	}
	if (!n->stream_ok) {
		if (now < n->stream_retry_at)
			return;
		n->stream_ok = tpc_nats_stream(n);
		if (!n->stream_ok) {
			n->stream_retry_at = now + NATS_RETRY_S;
			return;
		}
	}
	if (now >= n->member_next) {   /* note 6 */
		char id[24];

		snprintf(id, sizeof(id), "%llx", (unsigned long long)n->self);
		natsConnection_PublishString(n->nc, NATS_MEMBER_SUBJECT, id);
		n->member_next = now + NATS_MEMBER_EVERY_S;
		if (n->member_since == 0)
			n->member_since = now;
	}
	if (now - n->member_since < NATS_MEMBER_GRACE_S) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)timeout_ms * 1000000L };

		nanosleep(&ts, NULL);
		return;
	}
	{
		unsigned rank, count = tpc_nats_members(n, now, &rank);

		if (count != n->member_count) {
			n->member_count = count;
			n->member_steady = now;
		}
	}
	for (unsigned k = 0; k < NATS_SLOTS; k++) {
		struct tpc_nats_part *p = &n->part[k];
		bool lead;

		/* note 6: hand a partition over between two batches */
		if (p->sub && now - n->member_steady >= NATS_MEMBER_GRACE_S &&
		    !tpc_nats_prefers(n, k, now)) {
			natsConnection_FlushTimeout(n->nc, 2000);   /* the last batch's acks */
			natsSubscription_Destroy(p->sub);
			p->sub = NULL;
			tpc_store_unlead(n->store, p->lease);
			p->lead = false;
			p->lead_until = now + TPC_STORE_LEAD_S;
			tpd_log(TPD_LOG_INFO, "nats", "nats: %s handed over (%u collectors)",
				p->lease, n->member_count);
			continue;
		}

		/* asked at most every TPC_STORE_LEAD_S (store.c keeps only a
		 * few jobs' answers; these are 9 more) */
		if (now >= p->lead_until) {
			p->lead = (p->sub || tpc_nats_prefers(n, k, now)) &&
				  tpc_store_leads(n->store, p->lease);
			p->lead_until = now + TPC_STORE_LEAD_S;
		}
		lead = p->lead;
		if (!lead && p->sub) {   /* note 3 */
			tpd_log(TPD_LOG_INFO, "nats", "nats: lease %s lost; no longer pulling %s",
				p->lease, p->filter);
			natsSubscription_Destroy(p->sub);
			p->sub = NULL;
		} else if (lead && !p->sub && now >= p->retry_at && !tpc_nats_bind(n, p)) {
			p->retry_at = now + NATS_RETRY_S;
		}
		if (p->sub) {
			owned++;
			got += tpc_nats_batch(n, p, 0);
		}
	}
	n->leases_seen = true;
	if (got == 0 && owned > 0) {
		/* idle: wait on one owned partition, a different one each time */
		for (unsigned i = 0; i < NATS_SLOTS; i++) {
			struct tpc_nats_part *p = &n->part[(n->next_wait + i) % NATS_SLOTS];

			if (p->sub) {
				n->next_wait = (n->next_wait + i + 1) % NATS_SLOTS;
				tpc_nats_batch(n, p, timeout_ms);
				break;
			}
		}
	} else if (owned == 0) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)timeout_ms * 1000000L };

		nanosleep(&ts, NULL);
	}
}

enum tpd_err tpc_nats_publish(struct tpc_nats *n, const char *topic, const char *payload)
{
	char subject[160];
	size_t len = strlen(topic);
	natsStatus s;

	if (len >= sizeof(subject))
		return TPD_ERR_INVAL;
	for (size_t i = 0; i <= len; i++)
		subject[i] = topic[i] == '/' ? '.' : topic[i];
	s = natsConnection_Publish(n->nc, subject, payload, (int)strlen(payload));
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(n->nc, 2000);
	return s == NATS_OK ? TPD_OK : TPD_ERR_IO;
}

#else /* built without libnats (make found no libnats.pc): --broker nats:// says so */

enum tpd_err tpc_nats_new(const char *urls, struct tpc_collector *collector,
			  struct tpc_store *store, struct tpc_nats **out, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "%s: this tpcollect was built without libnats (install libnats-dev "
		 "and rebuild)", urls);
	return TPD_ERR_UNSUPPORTED;
}

void tpc_nats_free(struct tpc_nats *n) { (void)n; }
void tpc_nats_poll(struct tpc_nats *n, int timeout_ms) { (void)n; (void)timeout_ms; }
bool tpc_nats_ready(struct tpc_nats *n) { return false; }
bool tpc_nats_connected(struct tpc_nats *n) { return false; }
unsigned tpc_nats_owned(struct tpc_nats *n) { return 0; }

enum tpd_err tpc_nats_publish(struct tpc_nats *n, const char *topic, const char *payload)
{
	return TPD_ERR_UNSUPPORTED;
}

#endif
