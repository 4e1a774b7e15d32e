#!/usr/bin/env bash
# 23: the customer side. Manual claims by the customer (no token) and by
# support (tpclaim new) arrive pre-filled from the registry and with the
# device's last telemetry, faults and self-check attached; out of warranty is
# a low-priority quote; a tracking link shows progress in plain language and
# takes the feedback once; resolving the claim mails the customer a feedback
# request through an SMTP relay (Debian's python3-aiosmtpd as the sink).
. "$(dirname "$0")/../lib/check.sh"
check_stack
PY=/usr/bin/python3   # Debian's, which has aiosmtpd (python3-aiosmtpd)
$PY -c 'import aiosmtpd' 2> /dev/null || { echo "python3-aiosmtpd missing (make deps)"; exit 1; }
stack_register TP24A0001 archer-ax55 2025-06-01
stack_register TP24B0002 archer-ax55 2020-01-15

# the SMTP sink, on a free loopback port
mkdir -p "$CHECK_DIR/mail"
for _ in $(seq 20); do
	SMTP_PORT=$(stack_random_port)
	$PY -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox \
		"$CHECK_DIR/mail/box" 2> "$CHECK_DIR/smtp.log" &
	SMTP_PID=$!
	STACK_PIDS+=("$SMTP_PID")
	for _ in $(seq 30); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break 2; sleep 0.1; done
	kill "$SMTP_PID" 2>/dev/null
done
echo "mail smtp://127.0.0.1:$SMTP_PORT support@tp.example" > "$CHECK_DIR/webhooks"
chmod 600 "$CHECK_DIR/webhooks"
stack_broker
stack_collector --webhooks "$CHECK_DIR/webhooks" --webhook-retry-max 1 \
	--public-url https://support.tp.example/
"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
stack_wait_idle
check_eq "the device opened its thermal claim" thermal "$(db "select category from claims where id=1")"
cust() { curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary "$1" "$STACK_API/api/v1/claims"; }
status() { tail -n 1 <<< "$1"; }
body() { sed '$d' <<< "$1"; }

# --- the customer, without a token -------------------------------------------
r=$(cust '{"device":"TP24A0001","description":"the fan is loud and it gets hot","contact":"ann@example.test"}')
check_eq "a report on the open class joins the device's claim" 200 "$(status "$r")"
check "and says so, without that claim's link" bash -c "grep -q 'added to the open claim' <<< '$(body "$r")' && ! grep -q tracking <<< '$(body "$r")'"
check_eq "as a customer report in its timeline" 1 "$(db "select count(*) from claim_timeline where claim_id=1 and event='customer_report'")"

r=$(cust '{"device":"TP24A0001","description":"it will not start","category":"power","contact":"ann@example.test","purchase_date":"2025-07-01"}')
check_eq "customer claim -> 201" 201 "$(status "$r")"
cid=$(body "$r" | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
url=$(body "$r" | $PY -c 'import json,sys; print(json.load(sys.stdin)["tracking_url"])')
check_eq "a new claim" C-000002 "$cid"
check "the tracking link starts with --public-url" grep -qE '^https://support\.tp\.example/track/[A-Za-z0-9_-]{43}$' <<< "$url"
check "the customer gets no claim internals" bash -c "! grep -qE 'description|contact|evidence' <<< '$(body "$r")'"
token=${url##*/}
check_eq "origin customer, channel web" "customer|web" "$(db "select origin||'|'||channel from claims where id=2")"
check_eq "model from the registry" archer-ax55 "$(db "select model from claims where id=2")"
check_eq "the registry's purchase date wins" 2025-06-01 "$(db "select purchase_date from claims where id=2")"
check "the stated date is noted" grep -q 'Purchase date given as 2025-07-01; the registry says 2025-06-01' <<< "$(db "select description from claims where id=2")"
# telemetry is stored as compact rows (issue 15), not as reports: it is the
# description's context, not evidence
check_eq "telemetry is context, not evidence" 0 "$(db "select count(*) from claim_evidence where claim_id=2 and kind='telemetry'")"
check_eq "last self-check attached" 1 "$(db "select count(*) from claim_evidence where claim_id=2 and kind='selfcheck'")"
check "recent faults attached" [ "$(db "select count(*) from claim_evidence where claim_id=2 and kind='fault'")" -ge 1 ]
desc=$(db "select description from claims where id=2")
check "the description sums up the telemetry with units" grep -qE 'Last telemetry \(seq [0-9]+\):.* temp\.cpu [0-9.]+ °C' <<< "$desc"
check "and the faults" grep -qE 'Faults in the last 30 days \(newest first\): [A-Z_]+ (raised|cleared), .*FAN_STALL raised\.' <<< "$desc"
check "and the self-check" grep -q 'Last self-check: needs_service' <<< "$desc"
check_eq "needs_service -> a repair is suggested" repair "$(db "select suggested_resolution from claims where id=2")"
check_eq "review due set" 1 "$(db "select count(*) from claims where id=2 and review_due > opened_at")"

r=$(cust '{"device":"TP24B0002","description":"no lights","contact":"+49 30 1234567","channel":"phone"}')
check_eq "out of warranty claim -> 201" 201 "$(status "$r")"
check_eq "expired, low priority, a quote" "expired|low|quote" "$(db "select warranty_status||'|'||priority||'|'||suggested_resolution from claims where id=3")"
check "the customer is asked before any work" grep -q 'quoted to the customer before any work' <<< "$(db "select note from claim_timeline where claim_id=3 and event='opened'")"

before=$(db "select count(*) from claims")
r=$(cust '{"device":"NOSUCH1","description":"x"}')
check_eq "unknown serial -> 404" 404 "$(status "$r")"
check "with what to do" grep -q 'check the label' <<< "$r"
r=$(cust '{"device":"TP24A0001","description":"x","channel":"fax"}')
check_eq "bad channel -> 400" 400 "$(status "$r")"
r=$(cust '{"device":"TP24A0001","description":"x","state":"approved"}')
check_eq "unknown field -> 400" 400 "$(status "$r")"
r=$(cust '{"device":"TP24A0001"}')
check_eq "no description -> 400" 400 "$(status "$r")"
check_eq "nothing opened by the refusals" "$before" "$(db "select count(*) from claims")"

# --- support, with tpclaim new -----------------------------------------------
tpc() { "$STACK_BIN/tpclaim" --api "$STACK_API" "$@"; }
tpc new TPX0009 "dead on arrival" > /dev/null 2> "$CHECK_DIR/err"
check_eq "an unknown device without its model is refused" 1 $?
check "saying so" grep -q 'give its model' "$CHECK_DIR/err"
out=$(tpc new TPX0009 "dead on arrival" --model archer-ax55 --channel phone --contact "bob@example.test")
check "tpclaim new opens it" grep -q '^C-000004 opened for TPX0009' <<< "$out"
check "and prints the tracking link" grep -q 'tracking link for the customer: https://support.tp.example/track/' <<< "$out"
json=$(tpc show C-000004 --json)
check "origin support, unknown warranty" bash -c "grep -q '\"origin\":[[:space:]]*\"support\"' <<< '$json' && grep -q '\"status\":[[:space:]]*\"unknown\"' <<< '$json'"
check "support sees the contact and the link" bash -c "grep -q bob@example.test <<< '$json' && grep -q tracking_url <<< '$json' && ! grep -q tracking_token <<< '$json'"

show=$(tpc show C-000004)
check "tpclaim show prints origin, contact and link" bash -c "grep -q 'Origin *support via phone' <<< '$show' && grep -q 'Contact *bob@example.test' <<< '$show' && grep -q 'Tracking *https://support.tp.example/track/' <<< '$show'"
check "the customer claim's signed evidence verifies (its telemetry is context)" tpc verify C-000002

# --- the tracking page ---------------------------------------------------------
check_eq "the page is HTML" "text/html; charset=utf-8" "$(curl -s -o /dev/null -w '%{content_type}' "$STACK_API/track/$token")"
check "it loads its script from here" grep -q 'src="/web/track.js"' <<< "$(curl -s "$STACK_API/track/$token")"
check_eq "and the script is served" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/web/track.js")"
check_eq "nothing outside the web folder" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/web/..%2Ftpcollect.db")"
t=$(curl -s "$STACK_API/api/v1/track/$token")
check "the view: state open" grep -q '"state":"open"' <<< "$t"
check "its steps" grep -q '"timeline":\[{"at":"[^"]*","event":"opened"}\]' <<< "$t"
check "no notes, names, contact or device data" bash -c "! grep -qE 'note|\"by\"|contact|description|evidence|telemetry' <<< '$t'"
check_eq "a wrong token -> 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/api/v1/track/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")"
check_eq "a malformed one -> 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/api/v1/track/x%27%20or%201")"
fb() { curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary "$1" "$STACK_API/api/v1/track/$token/feedback"; }
check_eq "no feedback before it is done -> 409" 409 "$(status "$(fb '{"rating":5}')")"

for to in in_review approved repair_scheduled resolved; do
	stack_api POST "/api/v1/claims/$cid/transition" "{\"to\":\"$to\"}" > /dev/null
done
t=$(curl -s "$STACK_API/api/v1/track/$token")
check "progress shows" grep -q '"state":"resolved"' <<< "$t"
check_eq "every step, in order" "opened in_review approved repair_scheduled resolved" \
	"$($PY -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)["timeline"]))' <<< "$t")"
check "feedback is open" grep -q '"feedback_open":true' <<< "$t"

# the feedback request by mail
for _ in $(seq 100); do [ -n "$(ls "$CHECK_DIR/mail/box/new" 2>/dev/null)" ] && break; sleep 0.2; done
mailf=$(ls "$CHECK_DIR/mail/box/new"/* 2>/dev/null | head -n 1)
check "the relay got the feedback request" [ -n "$mailf" ]
check "to the customer" grep -q '^To: <ann@example.test>' "$mailf"
check "from the configured sender" grep -q '^From: <support@tp.example>' "$mailf"
check "with the tracking link" grep -qF "$url" "$mailf"
check "in Simplified Chinese too" grep -q '已处理完成' "$mailf"
check_eq "one mail only (the phone-only customers get none)" 1 "$(ls "$CHECK_DIR/mail/box/new" | wc -l)"

r=$(fb '{"rating":4,"comment":"quick, thanks"}')
check_eq "feedback from the tracking link" 200 "$(status "$r")"
check "the page then thanks, and takes no more" grep -q '"feedback_open":false,"feedback_given":true' <<< "$r"
check_eq "stored as the customer's" "4|quick, thanks|customer" "$(db "select feedback_rating||'|'||feedback_comment||'|'||(select by from claim_timeline where claim_id=2 and event='feedback') from claims where id=2")"
r=$(fb '{"rating":1}')
check_eq "a second time -> 409" 409 "$(status "$r")"
check "saying it was given" grep -q 'given already' <<< "$r"
check_eq "the first one kept" 4 "$(db "select feedback_rating from claims where id=2")"
check_eq "bad rating -> 400" 400 "$(status "$(fb '{"rating":9}')")"
check_done
