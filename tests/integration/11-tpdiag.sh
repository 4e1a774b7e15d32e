#!/usr/bin/env bash
# 11: the technician's CLI against a running agent over its 0660 socket:
# status table, fault history, a self-check run on demand (EN and zh
# hints), counters, spool, claim progress; everything still answers with
# the broker gone; with no agent, tpdiag says so.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPT0001 archer-ax55 2025-06-01
stack_broker
stack_collector
dev="$CHECK_DIR/dev"
tpdiag() { "$STACK_BIN/tpdiag" --state-dir "$dev" "$@"; }

tpdiag status > /dev/null 2> "$CHECK_DIR/err"
check_eq "no agent: exit 1" 1 $?
check "no agent: says so" grep -q "tpdiag: no tpdiagd answers at $dev/tpdiag.sock" "$CHECK_DIR/err"

# The fan-stop fixture, replayed at 30x: the fan stops at t=300 s (10 s in).
"$STACK_BIN/tpdiagd" --trace tests/fixtures/traces/TPT0001.csv --speed 30 --epoch 1764000000 \
	--broker "$STACK_BROKER_URL" --state-dir "$dev" --key "$CHECK_DIR/keys/TPT0001.key" \
	2> "$CHECK_DIR/agent.log" &
STACK_PIDS+=("$!")
for _ in $(seq 100); do [ -S "$dev/tpdiag.sock" ] && break; sleep 0.1; done
check_eq "socket is 0660" 660 "$(stat -c %a "$dev/tpdiag.sock")"
check_eq "a claim opens" 1 "$(wait_db "select count(*) from claims" 1)"

out=$(tpdiag status)
check "status: a row per sensor with unit and limits" grep -q "^temp.cpu .* °C .*warn 85 crit 100" <<< "$out"
check "status: the stopped fan is FAIL" grep -q "^fan.main .* 0 .*rpm .*stall < 500 .*FAIL" <<< "$out"
check "status --json is the agent's JSON" bash -c "'$STACK_BIN/tpdiag' --state-dir '$dev' --json status | grep -qE '\"broker_connected\":[[:space:]]*true'"
check "faults: FAN_STALL raised" bash -c "'$STACK_BIN/tpdiag' --state-dir '$dev' faults | grep -q 'FAN_STALL .*raised .*fan.main'"
out=$(tpdiag selfcheck)
check "selfcheck: the fan step fails with its hint" grep -q "^\[fail\] fan.main" <<< "$out"
check "selfcheck: needs service" grep -q "verdict: needs_service" <<< "$out"
check "selfcheck: the steps come first, the verdict last" bash -c "tail -n 1 <<< '$out' | grep -q '^verdict:'"
check "selfcheck: every step of the product, in order" test "$(grep -o '^\[[a-z ]*\] *[a-z.]*' <<< "$out" | awk '{print $NF}' | tr '\n' ' ')" = \
	"$(sed -n 's/.*"id": "\([a-z.]*\)", "check".*/\1/p' boards/archer-ax55.json | tr '\n' ' ')"
check "selfcheck --json: the signed report's body" bash -c "'$STACK_BIN/tpdiag' --state-dir '$dev' --json selfcheck | grep -q '\"verdict\":'"
check "selfcheck --zh: the hint in Chinese" bash -c "'$STACK_BIN/tpdiag' --state-dir '$dev' --zh selfcheck | grep -q '需要送修'"
check_eq "all three technician self-checks are reported to the cloud" 3 \
	"$(wait_db "select count(*) from reports where kind='selfcheck' and body like '%\"trigger\":\"technician\"%'" 3)"
out=$(tpdiag counters)
check "counters since start" grep -q "^  faults raised  *[1-9]" <<< "$out"
check "lifetime counters say what they count" grep -Eq "^  powered on \(all runs\) +[0-9]+ d [0-9]{2}:[0-9]{2}:[0-9]{2}$" <<< "$out"
check "lifetime under-voltage and brownout counters" grep -q "^  of them after the input sagged  *0" <<< "$out"
check "starts are counted" grep -q "^  agent starts  *1$" <<< "$out"
check "no raw zero fields" bash -c "! grep -q 'last_low_vin\|_ts\|_s ' <<< '$out'"
"$STACK_BIN/tpclaim" --api "$STACK_API" transition C-000001 in_review > /dev/null
for _ in $(seq 100); do grep -q in_review "$dev/claims.json" 2>/dev/null && break; sleep 0.1; done
check "claim: progress from the cloud" bash -c "'$STACK_BIN/tpdiag' --state-dir '$dev' claim | grep -q 'C-000001 *in_review'"

# The broker goes away: the technician still gets answers.
stack_stop_broker
sleep 1
out=$(tpdiag status)
check "status without the broker" grep -q "broker UNREACHABLE" <<< "$out"
check "spool without the broker" bash -c "'$STACK_BIN/tpdiag' --state-dir '$dev' spool | grep -q '^  reports waiting for the broker'"
tpdiag frobnicate > /dev/null 2>&1
check_eq "unknown command: exit 2" 2 $?
check_done
