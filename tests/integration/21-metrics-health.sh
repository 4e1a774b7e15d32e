#!/usr/bin/env bash
# 21: /metrics in the Prometheus text format (checked by Debian's promtool)
# whose counters move as reports arrive and match what the database holds;
# /healthz and /readyz say why the collector is not ready (broker gone).
. "$(dirname "$0")/../lib/check.sh"
command -v promtool > /dev/null || { echo "promtool missing: apt-get install prometheus (make deps)"; exit 1; }
check_stack
stack_register TP24A0001 archer-ax55 2025-06-01
stack_broker
stack_collector

scrape() { curl -sf "$STACK_API/metrics" > "$CHECK_DIR/metrics.$1"; }
# metric{labels} value from a scrape (exact series name and labels).
metric() { awk -v k="$2" '$1 == k { print $2 }' "$CHECK_DIR/metrics.$1"; }

scrape 0
check "the page is served without a token" [ -s "$CHECK_DIR/metrics.0" ]
check "promtool check metrics passes (empty collector)" promtool check metrics < "$CHECK_DIR/metrics.0"
check_eq "text format content type" "text/plain; version=0.0.4; charset=utf-8" \
	"$(curl -s -o /dev/null -w '%{content_type}' "$STACK_API/metrics")"
check_eq "nothing received yet" 0 "$(metric 0 tpcollect_messages_received_total)"
check "every name is prefixed tpcollect_" bash -c "! grep -v '^#' '$CHECK_DIR/metrics.0' | grep -qv '^tpcollect_'"

"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
stack_wait_idle
# a rejected message and a redelivered report
mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t tp/v1/TP24A0001/telemetry -m 'not json'
# telemetry is stored as compact rows (issue 15): the first report as the API gives it back
stack_api GET "/api/v1/devices/TP24A0001/telemetry?limit=1" | sed '$d' | jq -c '.telemetry[0]' > "$CHECK_DIR/dup.json"
mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t tp/v1/TP24A0001/telemetry -f "$CHECK_DIR/dup.json"
stack_wait_idle
scrape 1
check "promtool check metrics passes (after a trace)" promtool check metrics < "$CHECK_DIR/metrics.1"
received=$(stack_stat received)
check "the trace was received" [ "$received" -gt 100 ]
check_eq "received matches /api/v1/stats" "$received" "$(metric 1 tpcollect_messages_received_total)"
check_eq "stored matches the database" "$(db "select (select count(*) from reports) + (select count(*) from telemetry)")" "$(metric 1 tpcollect_reports_stored_total)"
check_eq "the redelivery counted as a duplicate" 1 "$(metric 1 tpcollect_reports_duplicate_total)"
check_eq "the bad message counted under its reason" 1 "$(metric 1 'tpcollect_messages_rejected_total{reason="bad_json"}')"
check_eq "no other rejection reason moved" 1 "$(awk '$1 ~ /^tpcollect_messages_rejected_total/ { s += $2 } END { print s }' "$CHECK_DIR/metrics.1")"
opened=$(db "select count(*) from claims where category='thermal' and predictive=0")
check "a thermal claim was opened" [ "$opened" -ge 1 ]
check_eq "claims opened by class" "$opened" "$(metric 1 'tpcollect_claims_opened_total{class="thermal",predictive="false"}')"
check_eq "claims by state match the database" "$(db "select count(*) from claims where state='open'")" \
	"$(metric 1 'tpcollect_claims{state="open"}')"
check_eq "no claim overdue yet" 0 "$(metric 1 tpcollect_claims_review_overdue)"
check_eq "device notices all sent" 0 "$(metric 1 'tpcollect_outbox_depth{queue="device_notices"}')"
check "the ingest histogram counts every message" \
	[ "$(metric 1 tpcollect_ingest_duration_seconds_count)" -ge "$received" ]
check_eq "its +Inf bucket equals its count" "$(metric 1 tpcollect_ingest_duration_seconds_count)" \
	"$(metric 1 'tpcollect_ingest_duration_seconds_bucket{le="+Inf"}')"
check "API requests are timed" [ "$(metric 1 tpcollect_api_request_duration_seconds_count)" -gt \
	"$(metric 0 tpcollect_api_request_duration_seconds_count)" ]
check_eq "no database errors" 0 "$(metric 1 tpcollect_db_errors_total)"

# overdue: a claim whose review is past due shows at once
db "update claims set review_due='2020-01-01T00:00:00Z' where id=1"
scrape 2
check_eq "an overdue review shows" 1 "$(metric 2 tpcollect_claims_review_overdue)"

# --- health and readiness ------------------------------------------------
r=$(curl -s -w '\n%{http_code}' "$STACK_API/healthz")
check_eq "healthz 200" 200 "$(tail -n 1 <<< "$r")"
check "healthz ok" grep -q '"status":"ok"' <<< "$r"
r=$(curl -s -w '\n%{http_code}' "$STACK_API/readyz")
check_eq "readyz 200 while connected" 200 "$(tail -n 1 <<< "$r")"
check "readyz says ready" grep -q '"ready":true' <<< "$r"
stack_stop_broker
for _ in $(seq 50); do
	r=$(curl -s -w '\n%{http_code}' "$STACK_API/readyz")
	[ "$(tail -n 1 <<< "$r")" = 503 ] && break
	sleep 0.2
done
check_eq "readyz 503 without the broker" 503 "$(tail -n 1 <<< "$r")"
check "readyz says why" grep -q 'not connected to the MQTT broker' <<< "$r"
# /healthz is 503 too while the broker is unreachable (issue 20: reports do not arrive)
check_eq "healthz 503 without the broker" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/healthz")"
stack_start_broker_again
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/readyz")" = 200 ] && break
	sleep 0.2
done
check_eq "ready again once the broker is back" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/readyz")"
check_done
