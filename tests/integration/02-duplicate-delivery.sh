#!/usr/bin/env bash
# 02: at-least-once delivery. Reports captured off the broker are published
# again (same (dev, seq)); the collector counts them as duplicates and stores
# nothing new. A restarted agent continues its seq instead of repeating it.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPT0001 archer-ax55 2025-06-01
stack_broker
stack_collector
mosquitto_sub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t 'tp/v1/TPT0001/+' -F '%t %p' \
	> "$CHECK_DIR/sub.out" 2>/dev/null &
STACK_PIDS+=("$!")
sleep 0.3

run_agent() {
	"$STACK_BIN/tpdiagd" --trace tests/fixtures/traces/TPT0001.csv --speed max --exit-at-end \
		--epoch "$1" --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
		--key "$CHECK_DIR/keys/TPT0001.key" 2>> "$CHECK_DIR/agent.log"
}
run_agent 1764000000
check_eq "first run exits 0" 0 $?
# 15 telemetry + TEMP_HIGH + FAN_STALL + 2 status + 3 self-checks (boot, each fault)
total=$(wait_db "select (select count(*) from reports) + (select count(*) from telemetry)" 22)
check_eq "first run stored" 22 "$total"

fault=$(grep -m1 '^tp/v1/TPT0001/fault ' "$CHECK_DIR/sub.out" | cut -d' ' -f2)
telem=$(grep -m1 '^tp/v1/TPT0001/telemetry ' "$CHECK_DIR/sub.out" | cut -d' ' -f2)
check "captured a fault and a telemetry report" test -n "$fault" -a -n "$telem"
for _ in 1 2; do
	mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t tp/v1/TPT0001/fault -m "$fault"
	mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t tp/v1/TPT0001/telemetry -m "$telem"
done
for _ in $(seq 100); do [ "$(stack_stat duplicates)" = 4 ] && break; sleep 0.1; done
check_eq "4 redeliveries counted as duplicates" 4 "$(stack_stat duplicates)"
check_eq "nothing new stored" 22 "$(db "select (select count(*) from reports) + (select count(*) from telemetry)")"
check_eq "still one claim" 1 "$(db "select count(*) from claims")"
check_eq "no extra evidence" 2 "$(db "select count(*) from claim_evidence")"

max1=$(db "select max(m) from (select max(seq) m from reports where dev='TPT0001' union all select max(t.seq) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPT0001') d")
run_agent 1764001200
check_eq "second run exits 0" 0 $?
total=$(wait_db "select (select count(*) from reports) + (select count(*) from telemetry)" 44)
check_eq "second run stored all its reports (none taken for duplicates)" 44 "$total"
check "second run's seqs are all above the first run's" \
	test "$(db "select min(m) from (select min(seq) m from reports where ts >= 1764001200 and kind != 'status' union all select min(seq) from telemetry where ts >= 1764001200) d")" -gt "$max1"
check_eq "the open claim took the new faults as evidence" 1 "$(db "select count(*) from claims")"
check_eq "boot reason after a clean exit" 1 \
	"$(db "select count(*) from reports where kind='status' and body like '%clean_restart%' and body like '%online%'")"
check_done
