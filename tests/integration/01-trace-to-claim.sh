#!/usr/bin/env bash
# 01: the shipped fan-wear trace -> tpdiagd -> real mosquitto -> tpcollect.
# Every report the agent sent is stored exactly once; exactly one thermal
# claim is opened, with FAN_STALL first and every SPEC §6 field present.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TP24A0001 archer-ax55 2025-06-01
stack_broker
stack_collector

# Watch the broker independently of the collector.
mosquitto_sub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -v -t 'tp/v1/TP24A0001/#' \
	> "$CHECK_DIR/sub.out" 2>/dev/null &
STACK_PIDS+=("$!")
sleep 0.3

"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
check_eq "tpdiagd exits 0 at the end of the trace" 0 $?
cat "$CHECK_DIR/agent.log"
telem=$(sed -n 's/.* \([0-9]*\) telemetry.*/\1/p' "$CHECK_DIR/agent.log")
raised=$(sed -n 's/.* \([0-9]*\) faults raised.*/\1/p' "$CHECK_DIR/agent.log")
cleared=$(sed -n 's/.* \([0-9]*\) cleared.*/\1/p' "$CHECK_DIR/agent.log")
faults=$((raised + cleared))

check_eq "telemetry reports stored" "$telem" "$(wait_db "select count(*) from telemetry" "$telem")"
check_eq "fault reports stored" "$faults" "$(wait_db "select count(*) from reports where kind='fault'" "$faults")"
check_eq "no (dev, seq) stored twice" 0 "$(db "select count(*) from (select dev, seq from reports group by 1, 2 having count(*) > 1) d")"
check_eq "all fault reports verified" "$faults" "$(db "select count(*) from reports where kind='fault' and verified=1")"
check_eq "status online and offline arrived" 2 "$(wait_db "select count(*) from reports where kind='status'" 2)"
check_eq "device marked offline at the end" offline "$(db "select state from devices where id='TP24A0001'")"
sent=$(grep -c '^tp/v1/TP24A0001/\(telemetry\|fault\|status\|selfcheck\)' "$CHECK_DIR/sub.out")
check_eq "collector stored what the broker carried" "$sent" "$(db "select (select count(*) from reports) + (select count(*) from telemetry)")"
check_eq "nothing rejected" 0 "$(stack_stat rejected)"
check_eq "seqs strictly increase in time order" 0 "$(db "select count(*) from reports a join reports b on a.dev=b.dev and a.seq<b.seq and a.kind!='status' and b.kind!='status' and a.ts>b.ts")"

check_eq "boot and per-fault self-checks stored, signed and verified" 6 \
	"$(db "select count(*) from reports where kind='selfcheck' and verified=1")"
check "the claim says what the self-check found" bash -c "'$STACK_BIN/tpclaim' --api '$STACK_API' show C-000001 | grep -q 'On-device self-check: verdict needs_service. Failed fan.main'"
check_eq "exactly one claim" 1 "$(db "select count(*) from claims")"
json=$("$STACK_BIN/tpclaim" --api "$STACK_API" show C-000001 --json)
for field in id state device model category fault_codes predictive detected_ts opened_at \
	purchase_date warranty title description evidence selfcheck_verdict \
	suggested_resolution review_due timeline; do
	check "claim JSON has \"$field\"" grep -q "\"$field\":" <<< "$json"
done
first=$(db "select code from claim_faults where claim_id=1 order by first_ts limit 1")
check_eq "first fault code on the claim" FAN_STALL "$first"
check "claim shows purchase date from the registry" grep -q '"purchase_date":[[:space:]]*"2025-06-01"' <<< "$json"
check_eq "every fault report is evidence" "$faults" "$(db "select count(*) from claim_evidence where claim_id=1")"
"$STACK_BIN/tpclaim" --api "$STACK_API" list > "$CHECK_DIR/list.txt"
check "tpclaim list shows the claim" grep -q "C-000001 .*TP24A0001.*thermal" "$CHECK_DIR/list.txt"
check "tpclaim show reads like a claim" bash -c "'$STACK_BIN/tpclaim' --api '$STACK_API' show C-000001 | grep -q 'Suggested *repair'"
check_done
