#!/usr/bin/env bash
# 10: tpdiagd on the linux board, reading a sysfs fixture tree laid out like
# the kernel's (thermal zone, hwmon chip, power supply, firmware flags,
# /proc/stat) for the shipped fanless mesh node: --probe lists it, and the
# readings reach the collector in SPEC units.
. "$(dirname "$0")/../lib/check.sh"
check_stack
fx="$CHECK_DIR/fx"
put() { mkdir -p "$(dirname "$fx/$1")"; printf '%s\n' "$2" > "$fx/$1"; }
put sys/class/thermal/thermal_zone0/type cpu-thermal
put sys/class/thermal/thermal_zone0/temp 61500
put sys/class/hwmon/hwmon2/name tmp102
put sys/class/hwmon/hwmon2/temp1_input 47250
put sys/class/hwmon/hwmon2/temp1_max 75000
put sys/class/power_supply/dc-in/voltage_now 11980000
put sys/devices/platform/soc/soc:firmware/get_throttled 0x0
put proc/stat "cpu 300 0 100 1600 0 0 0 0"

"$STACK_BIN/tpdiagd" --probe --sysfs-root "$fx/sys" > "$CHECK_DIR/probe.txt"
check_eq "--probe exits 0" 0 $?
check "--probe lists the thermal zone" grep -q "thermal:cpu-thermal .* 61.5" "$CHECK_DIR/probe.txt"
check "--probe lists the hwmon chip with its limit" grep -q "hwmon:tmp102/temp1 .* 47.25 .*max=75" "$CHECK_DIR/probe.txt"
check "--probe suggests a snippet" grep -q '"source": "hwmon:tmp102/temp1"' "$CHECK_DIR/probe.txt"

stack_register TPL0001 deco-x50 2025-06-01
stack_broker
stack_collector
"$STACK_BIN/tpdiagd" --id TPL0001 --product deco-x50 --board linux --sysfs-root "$fx/sys" \
	--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TPL0001.key" 2> "$CHECK_DIR/agent.log" &
pid=$!
STACK_PIDS+=("$pid")
sleep 3
kill "$pid"
wait "$pid"
check_eq "tpdiagd on the linux board stops cleanly" 0 $?
check_eq "one telemetry report (the period flushed at exit)" 1 \
	"$(wait_db "select count(*) from reports where dev='TPL0001' and kind='telemetry'" 1)"
body=$(db "select body from reports where dev='TPL0001' and kind='telemetry' limit 1")
check "telemetry arrived" test -n "$body"
check "CPU temperature in °C" grep -q '"temp.cpu":{"min":61.5,"max":61.5,"avg":61.5' <<< "$body"
check "board temperature by chip name" grep -q '"temp.board":{"min":47.25' <<< "$body"
check "input voltage in V from µV" grep -q '"volt.vin":{"min":11.98' <<< "$body"
check "load from /proc/stat" grep -q '"load":{"cpu":0.2' <<< "$body"
check_eq "no fault from healthy readings" 0 "$(db "select count(*) from reports where dev='TPL0001' and kind='fault'")"
check_done
