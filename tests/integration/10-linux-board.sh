#!/usr/bin/env bash
# 10: tpdiagd on the linux board, reading a sysfs fixture tree laid out like
# the kernel's (thermal zone, hwmon chip, power supply, firmware flags,
# /proc/stat) for the shipped fanless mesh node: --probe lists it, and the
# readings reach the collector in SPEC units. Then brownout forensics: the
# rail sags, the product loses power (kill -9, new boot id); the next start
# reports a PWR_BROWNOUT with the sag's reading and a claim is opened, while
# an agent-only crash (same boot id) is not taken for one.
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
put proc/sys/kernel/random/boot_id 6f1c1d4e-0000-4000-8000-00000000000a

"$STACK_BIN/tpdiagd" --probe --sysfs-root "$fx/sys" > "$CHECK_DIR/probe.txt"
check_eq "--probe exits 0" 0 $?
check "--probe lists the thermal zone" grep -q "thermal:cpu-thermal .* 61.5" "$CHECK_DIR/probe.txt"
check "--probe lists the hwmon chip with its limit" grep -q "hwmon:tmp102/temp1 .* 47.25 .*max=75" "$CHECK_DIR/probe.txt"
check "--probe suggests a snippet" grep -q '"source":"hwmon:tmp102/temp1"' "$CHECK_DIR/probe.txt"

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
# One period, or two when the 3 s run spanned a minute boundary.
n_telem=$(wait_db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPL0001'" 1)
check "telemetry flushed at exit (1 or 2 periods: $n_telem)" test "$n_telem" -ge 1 -a "$n_telem" -le 2
body=$(stack_api GET "/api/v1/devices/TPL0001/telemetry?limit=1")
check "telemetry arrived" test -n "$body"
check "CPU temperature in °C" grep -q '"temp.cpu":{"min":61.5,"max":61.5,"avg":61.5' <<< "$body"
check "board temperature by chip name" grep -q '"temp.board":{"min":47.25' <<< "$body"
check "input voltage in V from µV" grep -q '"volt.vin":{"min":11.98' <<< "$body"
check "load from /proc/stat" grep -q '"load":{"cpu":0.2' <<< "$body"
check_eq "no fault from healthy readings" 0 "$(db "select count(*) from reports where dev='TPL0001' and kind='fault'")"

start_agent() {
	"$STACK_BIN/tpdiagd" --id TPL0001 --product deco-x50 --board linux --sysfs-root "$fx/sys" \
		--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
		--key "$CHECK_DIR/keys/TPL0001.key" 2>> "$CHECK_DIR/agent.log" &
	pid=$!
	STACK_PIDS+=("$pid")
}
status_with() {   # boot_reason -> count of such status reports (waits up to 30 s)
	wait_db "select count(*) from reports where dev='TPL0001' and kind='status' and body like '%\"boot_reason\":\"$1\"%'" 1
}
start_agent
check_eq "clean restart said so" 1 "$(status_with clean_restart)"
put sys/class/power_supply/dc-in/voltage_now 10870000   # the adapter sags to 10.87 V...
for _ in $(seq 100); do    # (the start of a sag is saved at once)
	grep -q '"last_low_vin_v":10.87' "$CHECK_DIR/dev/counters.json" 2> /dev/null && break
	sleep 0.1
done
check "the sag is on flash before the power goes" grep -q '"last_low_vin_v":10.87' "$CHECK_DIR/dev/counters.json"
kill -9 "$pid"                                           # ...and the power goes
wait "$pid" 2> /dev/null
put sys/class/power_supply/dc-in/voltage_now 11980000
put proc/sys/kernel/random/boot_id 6f1c1d4e-0000-4000-8000-00000000000b
start_agent
check_eq "the next boot is known to be a brownout" 1 "$(status_with brownout)"
check_eq "PWR_BROWNOUT reported as evidence" 1 \
	"$(wait_db "select count(*) from reports where dev='TPL0001' and kind='fault' and body like '%PWR_BROWNOUT%raised%'" 1)"
fault=$(db "select body from reports where dev='TPL0001' and kind='fault' and body like '%PWR_BROWNOUT%' limit 1")
check "with the sag's reading and the rail's limit" grep -q '"sensor":"volt.vin","value":10.87,"limit":11.4' <<< "$fault"
check "with the self-check attached" grep -q '"selfcheck":{"trigger":"fault"' <<< "$fault"
check_eq "a power claim is opened" 1 \
	"$(wait_db "select count(*) from claims where device='TPL0001' and category='power'" 1)"
kill -9 "$pid"                                           # the agent alone crashes
wait "$pid" 2> /dev/null
start_agent
check_eq "same boot id: an agent restart, not a brownout" 1 "$(status_with unclean_restart)"
sleep 1
check_eq "still one PWR_BROWNOUT" 1 \
	"$(db "select count(*) from reports where dev='TPL0001' and kind='fault' and body like '%PWR_BROWNOUT%raised%'")"
out=$("$STACK_BIN/tpdiag" --state-dir "$CHECK_DIR/dev" counters 2>&1)
check "tpdiag counters: one brownout restart" grep -q "^  of them after the input sagged  *1" <<< "$out"
check "tpdiag counters: two unclean restarts" grep -q "^  of them unclean (crash or power loss)  *2" <<< "$out"
check_done
