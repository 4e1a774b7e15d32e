#!/usr/bin/env bash
# 03: hostile and broken messages on a live broker. Each is refused with one
# log line and a counter, nothing is stored for it, and the collector keeps
# running and keeps taking good reports.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPB0001 archer-ax55 2025-06-01
"$STACK_BIN/tpkey" gen TPEVIL --out "$CHECK_DIR/evil" > /dev/null   # not registered
stack_broker
stack_collector

pub() { mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t "$1" -m "$2"; }
hdr='"v":1,"dev":"TPB0001","model":"archer-ax55","fw":"1","ts":1764000000'

pub tp/v1/TPB0001/telemetry '{not json'
pub tp/v1/TPB0001/telemetry '{'"$hdr"',"seq":"1","period_s":60,"sensors":{}}'
pub tp/v1/TPB0001/telemetry '{'"$hdr"',"seq":2,"period_s":60,"sensors":{},"surprise":true}'
pub tp/v1/TPX0002/telemetry '{'"$hdr"',"seq":3,"period_s":60,"sensors":{}}'
pub 'tp/v1/TPB0001/telemetry' "$(head -c 70000 /dev/zero | tr '\0' ' ')"
pub tp/v1/TPB0001/fault '{'"$hdr"',"seq":4}'
pub "tp/v1/TPB0001/fault" "eyJhbGciOiJub25lIiwia2lkIjoiVFBCMDAwMSJ9.e30."
pub tp/v1/TPB0001/bogus '{}'

# A fault signed by a key the registry does not hold, published under our id,
# and the same under its own unregistered id.
forge() {
	"$STACK_BIN/tpdiagd" --id "$1" --trace tests/fixtures/traces/TPT0001.csv --speed max \
		--exit-at-end --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/$1" \
		--key "$CHECK_DIR/evil/TPEVIL.key" 2>> "$CHECK_DIR/forge.log"
}
forge TPB0001
forge TPEVIL

# Each forged run signs its fault reports and its self-checks (boot, each fault).
for _ in $(seq 100); do [ "$(stack_stat bad_signature)" -ge 5 ] && [ "$(stack_stat unknown_kid)" -ge 5 ] 2>/dev/null && break; sleep 0.1; done
rej() { stack_stat "$1"; }
check_eq "malformed JSON refused" 1 "$(rej bad_json)"
check_eq "wrong types and unknown fields refused" 2 "$(rej bad_schema)"
check_eq "topic/dev mismatch refused" 1 "$(rej dev_mismatch)"
check_eq "oversized payload refused" 1 "$(rej too_big)"
check_eq "plain-JSON fault refused" 1 "$(rej bad_jws)"
check_eq "alg none refused" 1 "$(rej bad_alg)"
check_eq "bad topic refused" 1 "$(rej bad_topic)"
check_eq "forged signatures refused (fault + self-checks)" 5 "$(rej bad_signature)"
check_eq "unregistered device refused (fault + self-checks)" 5 "$(rej unknown_kid)"
check_eq "no fault stored" 0 "$(db "select count(*) from reports where kind='fault'")"
check_eq "no claim opened by forgeries" 0 "$(db "select count(*) from claims")"
check "each refusal logged on one line" grep -q "rejected message on tp/v1/TPB0001/fault: bad_signature" "$CHECK_DIR/tpcollect.log"
check "collector still alive" kill -0 "$STACK_COLLECTOR_PID"
check "API still answers" curl -sf "$STACK_API/healthz"

# ...and it still takes good reports.
pub tp/v1/TPB0001/telemetry '{'"$hdr"',"seq":99,"period_s":60,"sensors":{"temp.cpu":{"min":1,"max":2,"avg":1.5,"n":3}}}'
check_eq "a good report after all that is stored" 1 "$(wait_db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPB0001' and t.seq = 99" 1)"

# The API refuses bad queries with a JSON error.
auth=(-H "Authorization: Bearer $STACK_TOKEN")
code=$(curl -s "${auth[@]}" -o "$CHECK_DIR/body" -w '%{http_code}' "$STACK_API/api/v1/claims?state=bogus")
check_eq "bad state filter -> 400" 400 "$code"
check "400 body is a JSON error" grep -q '"error":' "$CHECK_DIR/body"
code=$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' "$STACK_API/api/v1/claims?device=x%27%3B--")
check_eq "SQL-ish device filter -> 400" 400 "$code"
code=$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' "$STACK_API/api/v1/claims/C-999999")
check_eq "unknown claim -> 404" 404 "$code"
code=$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' -X PUT -d '{}' "$STACK_API/api/v1/claims")
check_eq "PUT -> 405" 405 "$code"
# POST opens a claim by hand (SPEC §7): an empty one is refused
code=$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' -X POST -d '{}' "$STACK_API/api/v1/claims")
check_eq "POST without a device -> 400" 400 "$code"
check_done
