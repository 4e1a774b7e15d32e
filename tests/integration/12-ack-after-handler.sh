#!/usr/bin/env bash
# 12: a QoS 1 message is acknowledged to the broker only after the handler
# returned. A persistent subscriber (tests/crash_sub.c, on src/mqtt.c like the
# collector) is killed inside its handler for message m2; the broker must
# deliver m2 again to its next run. With libmosquitto's own order (PUBACK,
# then the callback) m2 would be gone: this is the collector's kill -9 window.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_broker
sub="$STACK_BIN/tests/crash_sub"
topic=it12/reports

wait_line() {   # FILE PATTERN: up to 10 s
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

"$sub" "$STACK_BROKER_URL" it12-collector "$topic" m2 > "$CHECK_DIR/run1.out" 2> "$CHECK_DIR/run1.log" &
pid=$!
STACK_PIDS+=("$pid")
check "first run subscribed" wait_line "$CHECK_DIR/run1.log" subscribed
for m in m1 m2 m3; do
	mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t "$topic" -m "$m"
done
wait "$pid"
check_eq "first run killed in the handler of m2" 137 $?
check_eq "first run saw m1 then m2" "m1 m2" "$(tr '\n' ' ' < "$CHECK_DIR/run1.out" | sed 's/ $//')"

"$sub" "$STACK_BROKER_URL" it12-collector "$topic" > "$CHECK_DIR/run2.out" 2> "$CHECK_DIR/run2.log" &
pid=$!
STACK_PIDS+=("$pid")
check "second run got m3" wait_line "$CHECK_DIR/run2.out" m3
check "m2 delivered again after the crash" grep -qx m2 "$CHECK_DIR/run2.out"
# m1 may come again too (its PUBACK may still have been queued): at least
# once is the contract, and the collector drops a repeated (dev, seq).
check_done
