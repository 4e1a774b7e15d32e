#!/usr/bin/env bash
# 45: the fleet engine's memory is bounded and its forecasts outlive a
# restart (issue 15): a device idle for --forecast-idle has its forecast
# state saved in the database and let go; it is read back when the device
# reports again; a clean stop saves every device in memory, and a
# collector with another decision threshold does not read them back (it
# learns again rather than misread).
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TP24A0001 archer-ax55 2025-06-01
stack_broker
stack_collector --forecast-idle 2s
log=$STACK_DIR/tpcollect.log

"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
stack_wait_idle
check "the trace was stored" [ "$(stack_stat stored)" -gt 100 ]
for i in $(seq 50); do
	[ "$(stack_stat forecast_states_saved)" = 1 ] && break
	sleep 0.2
done
check_eq "idle for 2 s: the device's forecast saved" 1 "$(stack_stat forecast_states_saved)"
check_eq "...and out of memory" 0 "$(stack_stat forecast_devices_in_memory)"
check_eq "one row in forecast_state" 1 "$(db "select count(*) from forecast_state where dev='TP24A0001'")"
check "its state is the forecast's bytes (a router: over 4 KB)" \
	[ "$(db "select length(state) from forecast_state")" -gt 4000 ]

# the device reports again: its forecast is read back, not learned anew
stack_api GET "/api/v1/devices/TP24A0001/telemetry?limit=1" | sed '$d' |
	jq -c '.telemetry[0] | .seq += 100000 | .ts += 60' > "$CHECK_DIR/next.json"
mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t tp/v1/TP24A0001/telemetry \
	-f "$CHECK_DIR/next.json"
stack_wait_idle
check_eq "the report was stored" 0 "$(stack_stat duplicates)"
check_eq "read back from the database" 1 "$(stack_stat forecast_states_read_back)"

# a clean stop saves what is in memory
before=$(db "select saved_at from forecast_state")
stack_stop_collector
check "the stop line says it saved the device" grep -q "forecast state of 1 devices saved" "$log"
check "saved again at the stop" [ "$(db "select case when saved_at > $before then 1 else 0 end from forecast_state")" = 1 ]

# another threshold: the saved state is not read back (the device learns again)
stack_collector --predict-threshold 7
jq -c '.seq += 1 | .ts += 60' "$CHECK_DIR/next.json" > "$CHECK_DIR/next2.json"
mosquitto_pub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t tp/v1/TP24A0001/telemetry \
	-f "$CHECK_DIR/next2.json"
stack_wait_idle
check_eq "stored after the restart" 1 "$(stack_stat stored)"
check_eq "not read back under another threshold" 0 "$(stack_stat forecast_states_read_back)"
check_eq "in memory, learning again" 1 "$(stack_stat forecast_devices_in_memory)"

# bad values are refused with one line and exit 2
out=$("$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "sqlite:$CHECK_DIR/x.db" \
	--forecast-idle soon 2>&1); rc=$?
check_eq "--forecast-idle soon: exit 2" 2 "$rc"
check "...with a line that says what it takes" grep -q "forecast-idle soon: .*30m, 6h" <<< "$out"
out=$("$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "sqlite:$CHECK_DIR/x.db" \
	--forecast-max -1 2>&1); rc=$?
check_eq "--forecast-max -1: exit 2" 2 "$rc"
check "nothing created for a refused start" [ ! -e "$CHECK_DIR/x.db" ]
check_done
