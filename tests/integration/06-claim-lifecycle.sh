#!/usr/bin/env bash
# 06: a claim's whole life through the HTTP API and tpclaim, on a real broker
# and collector: devices imported at run time (idempotent, all-or-nothing),
# warranty from the shipped policy and recomputed when the purchase date is
# corrected, every legal transition with who and when, every kind of refusal
# with the right status and nothing changed, feedback, state notices reaching
# the device, evidence re-verified by tpclaim, pagination.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_broker
stack_collector
tpc() { "$STACK_BIN/tpclaim" --api "$STACK_API" "$@"; }
status() { tail -n 1 <<< "$1"; }
body() { sed '$d' <<< "$1"; }

# --- registry at run time -------------------------------------------------
keys="$CHECK_DIR/import"
mkdir -p "$keys"
{
	echo "device_id,model,purchase_date,public_key,owner_contact,channel"
	"$STACK_BIN/tpkey" gen TPT0001 --out "$keys" --model archer-ax55 --purchase-date 2025-06-01 |
		sed 's/$/,"Ann O'"'"'Neil, 5 Main St",retail/'
	"$STACK_BIN/tpkey" gen TPT0002 --out "$keys" --model cpe-1 --purchase-date 2020-01-15 |
		sed 's/$/,,online/'
} > "$keys/devices.csv"
out=$(tpc devices import "$keys/devices.csv")
check "import creates both devices" grep -q "imported 2 devices .*: 2 created, 0 updated, 0 unchanged" <<< "$out"
out=$(tpc devices import "$keys/devices.csv")
check "re-import is idempotent" grep -q ": 0 created, 0 updated, 2 unchanged" <<< "$out"
{ head -n 2 "$keys/devices.csv"; echo "TPT0003,cpe-1,2025-02-30,$(sed -n 2p "$keys/devices.csv" | cut -d, -f4)"; } \
	> "$keys/bad.csv"
tpc devices import "$keys/bad.csv" > /dev/null 2> "$CHECK_DIR/err"
check_eq "a bad row refuses the file" 1 $?
check "the refusal names the line" grep -q "bad.csv:3: purchase_date \"2025-02-30\"" "$CHECK_DIR/err"
check_eq "nothing imported from it" 0 "$(db "select count(*) from devices where id='TPT0003'")"
check "quoted owner contact kept" grep -q "Ann O'Neil, 5 Main St" <<< "$(tpc devices show TPT0001)"

# --- the device develops a fault; it stays online to hear the claim -------
# A persistent session, like the device's own: it must not miss a notice
# across the broker outage below.
mosquitto_sub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -c -i it06-watch -t 'tp/v1/TPT0001/cmd' \
	> "$CHECK_DIR/cmd.out" 2>/dev/null &
STACK_PIDS+=("$!")
"$STACK_BIN/tpdiagd" --trace tests/fixtures/traces/TPT0001.csv --speed max --epoch 1764000000 \
	--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$keys/TPT0001.key" 2> "$CHECK_DIR/agent.log" &
agent=$!
STACK_PIDS+=("$agent")
check_eq "a claim opens" 1 "$(wait_db "select count(*) from claims where device='TPT0001'" 1)"
json=$(tpc show C-000001 --json)
check "warranty from the shipped policy (router-24m)" grep -q '"status":[[:space:]]*"in_warranty"' <<< "$json"
check "warranty until purchase + 24 months" grep -q '"until":[[:space:]]*"2027-06-01"' <<< "$json"
check "priority set" grep -q '"priority":[[:space:]]*"high"' <<< "$json"
opened=$(db "select opened_at from claims where id=1")
due=$(db "select review_due from claims where id=1")
check "review_due is after opened_at" [ "$due" \> "$opened" ]

# --- purchase date corrected: the open claim's warranty follows ----------
tpc devices update TPT0001 --purchase-date 2021-03-01 > /dev/null
check_eq "warranty recomputed to expired" expired "$(db "select warranty_status from claims where id=1")"
check_eq "the change is in the timeline" 1 "$(db "select count(*) from claim_timeline where claim_id=1 and event='warranty'")"
tpc devices update TPT0001 --purchase-date 2025-06-01 > /dev/null
check_eq "and back" in_warranty "$(db "select warranty_status from claims where id=1")"

# --- refusals: right status, JSON error, nothing changed -----------------
before=$(db "select count(*) from claim_timeline")
r=$(curl -s -w '\n%{http_code}\n' -X POST -d '{"to":"in_review"}' "$STACK_API/api/v1/claims/C-000001/transition")
check_eq "no token -> 401" 401 "$(status "$r")"
check "401 names the header" grep -q 'Authorization: Bearer' <<< "$(body "$r")"
r=$(curl -s -w '\n%{http_code}\n' -H 'Authorization: Bearer wrong' "$STACK_API/api/v1/claims")
check_eq "wrong token -> 401 (reads too)" 401 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/transition '{"to":"approved"}')
check_eq "illegal transition -> 409" 409 "$(status "$r")"
check "409 names the allowed states" grep -q 'allowed from open: in_review' <<< "$(body "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/transition '{"to":"done"}')
check_eq "unknown state -> 400" 400 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/transition '{"to":5}')
check_eq "wrong type -> 400" 400 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/transition '{"to":"in_review","by":"mallory"}')
check_eq "unknown field -> 400" 400 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/transition '{"to":')
check_eq "invalid JSON -> 400" 400 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/notes "{\"note\":\"$(head -c 70000 /dev/zero | tr '\0' x)\"}")
check_eq "huge body -> 413" 413 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000999/transition '{"to":"in_review"}')
check_eq "unknown claim -> 404" 404 "$(status "$r")"
r=$(stack_api POST /api/v1/claims/C-000001/feedback '{"rating":5}')
check_eq "feedback before resolution -> 409" 409 "$(status "$r")"
r=$(stack_api PATCH /api/v1/devices/TPT0001 '{"purchase_date":"2025-13-01"}')
check_eq "bad purchase date -> 400" 400 "$(status "$r")"
r=$(stack_api PATCH /api/v1/devices/NOPE '{"channel":"x"}')
check_eq "unknown device -> 404" 404 "$(status "$r")"
r=$(stack_api DELETE /api/v1/claims/C-000001)
check_eq "DELETE -> 405" 405 "$(status "$r")"
tpc transition C-000001 resolved 2> "$CHECK_DIR/err"
check_eq "tpclaim reports an illegal transition with exit 1" 1 $?
check "tpclaim says why" grep -q "HTTP 409: cannot go from open to resolved" "$CHECK_DIR/err"
check_eq "state unchanged by all of that" open "$(db "select state from claims where id=1")"
check_eq "timeline unchanged by all of that" "$before" "$(db "select count(*) from claim_timeline")"

# --- the whole life -----------------------------------------------------
note="Customer says: it's \"loud\"; '; DROP TABLE claims;--"
check "note with SQL metacharacters" tpc note C-000001 "$note"
for s in in_review approved; do
	check "transition to $s" tpc transition C-000001 "$s" --note "step $s"
done
# The broker goes away: support keeps working, the notice waits in the outbox.
check_eq "notices so far acknowledged" 0 "$(wait_db "select count(*) from outbox where sent_at is null" 0)"
stack_stop_broker
check "transition while the broker is down" tpc transition C-000001 repair_scheduled --note "step repair_scheduled"
check_eq "its notice waits in the outbox" 1 "$(db "select count(*) from outbox where sent_at is null")"
stack_start_broker_again
check_eq "and is sent once the broker is back" 0 "$(wait_db "select count(*) from outbox where sent_at is null" 0)"
check "transition to resolved" tpc transition C-000001 resolved --note "step resolved"
check "feedback on the resolved claim" tpc feedback C-000001 4 --comment "fixed in two days"
check "feedback can be revised" tpc feedback C-000001 4 --comment "fixed in two days; '); DELETE FROM claims;--"
check "close it" tpc transition C-000001 closed
json=$(tpc show C-000001 --json)
check "final state closed" grep -q '"state":[[:space:]]*"closed"' <<< "$json"
check "feedback kept" grep -q '"rating":[[:space:]]*4' <<< "$json"
check_eq "note stored verbatim" "$note" "$(db "select note from claim_timeline where event='note'")"
check_eq "each change by the token's holder" 7 "$(db "select count(*) from claim_timeline where by='support' and event in ('in_review','approved','repair_scheduled','resolved','closed','feedback')")"
check_eq "claims table intact" 1 "$(db "select count(*) from claims")"
r=$(stack_api POST /api/v1/devices/import '{"devices":[{"device_id":"TPT0009","model":"cpe-1","purchase_date":"","public_key":"'"$(db "select public_key from devices where id='TPT0002'")"'","owner_contact":"x\u0027); DROP TABLE devices;--","channel":"\"; --"}]}')
check_eq "import with SQL metacharacters in every text field" 200 "$(status "$r")"
check_eq "stored verbatim" "x'); DROP TABLE devices;--|\"; --" "$(db "select owner_contact || '|' || channel from devices where id='TPT0009'")"
r=$(stack_api GET "/api/v1/claims/C-000001'%20OR%201=1--")
check_eq "SQL in a path id -> 404" 404 "$(status "$r")"
r=$(stack_api POST /api/v1/devices/import '{"devices":[{"device_id":"TPT0010","public_key":"not-a-key"}]}')
check_eq "import with a bad key -> 400" 400 "$(status "$r")"
check "and it names the row" grep -q 'devices\[0\] (TPT0010): public_key' <<< "$(body "$r")"
check_eq "nothing stored from it" 0 "$(db "select count(*) from devices where id='TPT0010'")"
r=$(stack_api POST /api/v1/claims/C-000001/transition '{"to":"in_review"}')
check "closed is final" grep -q 'closed is final' <<< "$(body "$r")"

# --- the device heard every state, in order --------------------------------
want="open in_review approved repair_scheduled resolved closed"
for _ in $(seq 200); do
	got=$(sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p' "$CHECK_DIR/cmd.out" | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] && break
	sleep 0.1
done
check_eq "cmd notices on the device's topic" "$want" "$got"
for _ in $(seq 100); do grep -q '"closed"' "$CHECK_DIR/dev/claims.json" 2>/dev/null && break; sleep 0.1; done
check "tpdiagd keeps the claim's progress for the technician" grep -q '"state":[[:space:]]*"closed"' "$CHECK_DIR/dev/claims.json"
check "tpdiagd logged it" grep -q "claim C-000001: closed" "$CHECK_DIR/agent.log"
check_eq "outbox fully acknowledged" 0 "$(db "select count(*) from outbox where sent_at is null")"

# --- evidence re-verified outside the collector ----------------------------
check "tpclaim verify: every signature verifies" bash -c "'$STACK_BIN/tpclaim' --api '$STACK_API' verify C-000001 | grep -q ' [1-9][0-9]* of \([1-9][0-9]*\) signed reports verify'"
db "update reports set jws = substr(jws, 1, length(jws) - 3) || 'AAA' where id = (select report_id from claim_evidence where claim_id = 1 limit 1)"
tpc verify C-000001 > "$CHECK_DIR/verify.out"
check_eq "a tampered record fails verify (exit 1)" 1 $?
check "and is named" grep -q "FAIL signature does NOT verify" "$CHECK_DIR/verify.out"

# --- reading: pagination, telemetry ---------------------------------------
r=$(stack_api GET '/api/v1/devices?limit=1')
check "devices page of 1 has a next cursor" grep -q '"next":"TPT0001"' <<< "$(body "$r")"
check_eq "devices list --all follows the pages" 3 "$(tpc devices list --limit 1 --all --json | grep -c '"id":')"
r=$(stack_api GET '/api/v1/devices/TPT0001/telemetry?limit=3')
check "telemetry page" grep -q '"count":3' <<< "$(body "$r")"
r=$(stack_api GET '/api/v1/devices/TPT0001/telemetry?since=2030-01-01')
check "telemetry since a later date is empty" grep -q '"count":0' <<< "$(body "$r")"
r=$(stack_api GET '/api/v1/devices/TPT0001/telemetry?since=yesterday')
check_eq "bad since -> 400" 400 "$(status "$r")"
check "health needs no token" curl -sf "$STACK_API/healthz"
check_done
