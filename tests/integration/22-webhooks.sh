#!/usr/bin/env bash
# 22: helpdesk webhooks. A claim's whole life (opened, state changes, a note,
# the feedback request, feedback) reaches a loopback receiver that verifies
# every HMAC and refuses stale or forged requests; failed attempts are
# retried with the same event id; a dead target shows in /metrics and
# /healthz without holding up the live one or ingest; an event queued while
# the receiver is down survives a collector restart.
. "$(dirname "$0")/../lib/check.sh"
check_stack
SECRET=it22-0123456789abcdef
stack_register TP24A0001 archer-ax55 2025-06-01

receiver() {   # receiver [ARGS]: starts it, sets RECV_PID and RECV_PORT
	rm -f "$CHECK_DIR/recv.port"
	python3 tests/lib/webhook_receiver.py "$CHECK_DIR/recv.port" "$CHECK_DIR/recv.log" \
		"$SECRET" "$@" 2> "$CHECK_DIR/recv.err" &
	RECV_PID=$!
	STACK_PIDS+=("$RECV_PID")
	for _ in $(seq 50); do [ -s "$CHECK_DIR/recv.port" ] && break; sleep 0.1; done
	RECV_PORT=$(cat "$CHECK_DIR/recv.port")
}
events() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["verdict"] == "ok": print(r["event"], r["state"])' "$CHECK_DIR/recv.log"; }
# grep -c prints 0 and fails when nothing matches: one number either way
ok_count() { local n; n=$(grep -c '"verdict": "ok"' "$CHECK_DIR/recv.log" 2>/dev/null); echo "${n:-0}"; }
wait_ok() { for _ in $(seq 150); do [ "$(ok_count)" -ge "$1" ] && break; sleep 0.2; done; ok_count; }
metric() { curl -sf "$STACK_API/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }

receiver --fail-first 2
{
	echo "# helpdesks"
	echo "helpdesk http://127.0.0.1:$RECV_PORT/hook $SECRET"
	echo "dead http://127.0.0.1:1/hook $SECRET"
} > "$CHECK_DIR/webhooks"
chmod 600 "$CHECK_DIR/webhooks"
stack_broker
stack_collector --webhooks "$CHECK_DIR/webhooks" --webhook-retry-max 1

"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
check_eq "claim.opened delivered" 1 "$(wait_ok 1)"
check_eq "after two refused attempts" 2 "$(grep -c failed_on_purpose "$CHECK_DIR/recv.log")"
check_eq "every attempt carried the same event id" 1 \
	"$(python3 -c 'import json,sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1])}))' "$CHECK_DIR/recv.log")"
check "X-TP-Event names the event" grep -q '"header_event": "claim.opened"' "$CHECK_DIR/recv.log"

for to in in_review approved repair_scheduled; do
	stack_api POST /api/v1/claims/C-000001/transition "{\"to\":\"$to\"}" > /dev/null
done
stack_api POST /api/v1/claims/C-000001/notes '{"note":"part ordered"}' > /dev/null
stack_api POST /api/v1/claims/C-000001/transition '{"to":"resolved"}' > /dev/null
stack_api POST /api/v1/claims/C-000001/feedback '{"rating":5,"comment":"fast"}' > /dev/null
check_eq "every event delivered" 8 "$(wait_ok 8)"
check_eq "in order, each with the claim as it was" "claim.opened open
claim.state_changed in_review
claim.state_changed approved
claim.state_changed repair_scheduled
claim.note_added repair_scheduled
claim.state_changed resolved
claim.feedback_requested resolved
claim.feedback resolved" "$(events)"
check_eq "nothing the receiver could not verify" 0 "$(grep -c -E 'bad_signature|stale' "$CHECK_DIR/recv.log")"
check "helpdesks get the tracking link, not the bare token" bash -c "grep -q tracking_url '$CHECK_DIR/recv.log.bodies' && ! grep -q tracking_token '$CHECK_DIR/recv.log.bodies'"

# --- the receiver's checks can fail: a forged and a replayed request --------
body='{"event":"claim.opened","id":"x","at":"x","claim":{"id":"C-000001","state":"open"}}'
t=$(date +%s)
good=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/.*= //')
forged=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "wrong-secret-000000" | sed 's/.*= //')
old=$((t - 3600))
stale=$(printf '%s' "$old.$body" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/.*= //')
check_eq "a forged signature is refused" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "X-TP-Signature: t=$t,v1=$forged" --data-binary "$body" "http://127.0.0.1:$RECV_PORT/hook")"
check_eq "a replay an hour old is refused" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "X-TP-Signature: t=$old,v1=$stale" --data-binary "$body" "http://127.0.0.1:$RECV_PORT/hook")"
check_eq "a fresh, correctly signed one is taken" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "X-TP-Signature: t=$t,v1=$good" --data-binary "$body" "http://127.0.0.1:$RECV_PORT/hook")"

# --- the dead target shows, and holds up nothing --------------------------
check_eq "dead target: webhook_up 0" 0 "$(metric 'tpcollect_webhook_up{target="dead"}')"
check_eq "live target: webhook_up 1" 1 "$(metric 'tpcollect_webhook_up{target="helpdesk"}')"
check "dead target: failures counted" [ "$(metric 'tpcollect_webhook_failures_total{target="dead"}')" -ge 2 ]
# the depth of a target in backoff is counted once a second
for _ in $(seq 25); do
	[ "$(metric 'tpcollect_outbox_depth{queue="webhook:dead"}')" = 8 ] && break
	sleep 0.2
done
check_eq "dead target: its 8 events wait" 8 "$(metric 'tpcollect_outbox_depth{queue="webhook:dead"}')"
check_eq "live target: none wait" 0 "$(metric 'tpcollect_outbox_depth{queue="webhook:helpdesk"}')"
check_eq "live target: 8 delivered" 8 "$(metric 'tpcollect_webhook_deliveries_total{target="helpdesk"}')"
check "promtool check metrics passes with webhook series" bash -c \
	"curl -sf '$STACK_API/metrics' | promtool check metrics"
h=$(curl -s "$STACK_API/healthz")
check "healthz: degraded, names the dead target" grep -q '"status":"degraded: webhook dead failing' <<< "$h"
check_eq "healthz stays 200 (ingest goes on)" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/healthz")"
check "the failure is logged once, not per attempt" [ "$(grep -c 'webhook dead:' "$CHECK_DIR/tpcollect.log")" = 1 ]

# --- durable: queued while the receiver is down, delivered after a restart --
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null
stack_api POST /api/v1/claims/C-000001/notes '{"note":"while the helpdesk is down"}' > /dev/null
sleep 1
stack_stop_collector
receiver --port "$RECV_PORT"
stack_collector --webhooks "$CHECK_DIR/webhooks" --webhook-retry-max 1
# 8 events + the hand-made request above = 9 verified; the note is the 10th
check_eq "the queued note arrives after the restart" 10 "$(wait_ok 10)"
check "as claim.note_added" bash -c "tail -n 1 '$CHECK_DIR/recv.log' | grep -q claim.note_added"
sleep 1
check_eq "and only once" 1 "$(grep -c 'while the helpdesk' <<< "$(stack_api GET /api/v1/claims/C-000001)")"
check_eq "no event delivered twice after the restart" 10 "$(ok_count)"
check_done
