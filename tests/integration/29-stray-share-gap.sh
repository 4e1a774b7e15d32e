#!/usr/bin/env bash
# 29: a stray persistent member of the shared subscription (a client that
# once subscribed to $share/tpcollect/... with a persistent session and is
# gone) still gets its share of the stream from mosquitto (upstream #1747).
# The live collector must notice the seqs it never received: a loss alarm
# per device within a minute (log line, /healthz, the seq_gaps counter),
# distinct from chain_broken; and what it stored plus what was queued for
# the stray adds up to what was published.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPT0001 archer-ax55 2025-06-01
stack_broker
stack_collector --client-id live
# The stray: subscribes with a persistent session, then leaves.
mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -c -i stray -q 1 \
	-t '$share/tpcollect/tp/v1/+/+' -W 1 > /dev/null 2>&1

"$STACK_BIN/tpdiagd" --trace tests/fixtures/traces/TPT0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TPT0001.key" 2>> "$CHECK_DIR/agent.log"
check_eq "agent exits 0" 0 $?
published=22   # as in 02: 15 telemetry + 2 faults + 2 status + 3 self-checks
start=$(date +%s)
for _ in $(seq 120); do
	[ "$(stack_stat seq_gaps)" -gt 0 ] 2>/dev/null && break
	sleep 0.5
done
took=$(( $(date +%s) - start ))
gaps=$(stack_stat seq_gaps)
check "a seq gap was alarmed ($gaps ranges)" test "${gaps:-0}" -gt 0
check "within a minute ($took s)" test "$took" -le 60
check "one loss alarm line names the device" grep -q "loss alarm: TPT0001: " "$CHECK_DIR/tpcollect.log"
health=$(curl -s "$STACK_API/healthz")
check "/healthz raises loss_alarm" grep -q '"loss_alarm":true' <<< "$health"
check "/healthz lists the missing range of TPT0001" grep -q '"missing":\[{"dev":"TPT0001"' <<< "$health"
missing=$(sed -n 's/.*"missing_reports":\([0-9]*\).*/\1/p' <<< "$health")
stored=$(db "select (select count(*) from reports) + (select count(*) from telemetry)")
queued=$(mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -c -i stray -q 1 -t 'it29/none' \
	-W 3 2>/dev/null | wc -l)
check "the stray took a share ($queued)" test "$queued" -gt 0
check_eq "stored + queued for the stray = published" "$published" $((stored + queued))
# Reports the stray took below the live collector's first or above its last
# report leave no gap it can see; every other one is counted.
check "missing reports counted ($missing), at most what the stray took" \
	test "${missing:-0}" -ge 1 -a "${missing:-0}" -le "$queued"
check_done
