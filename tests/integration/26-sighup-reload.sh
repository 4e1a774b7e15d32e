#!/usr/bin/env bash
# 26: SIGHUP reloads the product description without a restart: the agent
# reads a healthy SoC at 61.5 °C; its warning limit is lowered below that in
# the description and tpdiagd is sent SIGHUP: TEMP_HIGH is raised by the
# same process, the seq goes on (no new boot status), and a description
# that does not parse or changes the sensors is refused with one line and
# changes nothing. SIGTERM then says why it stops and what the spool holds.
. "$(dirname "$0")/../lib/check.sh"
check_stack
fx="$CHECK_DIR/fx"
put() { mkdir -p "$(dirname "$fx/$1")"; printf '%s\n' "$2" > "$fx/$1"; }
put sys/class/thermal/thermal_zone0/type cpu-thermal
put sys/class/thermal/thermal_zone0/temp 61500
put sys/class/hwmon/hwmon2/name tmp102
put sys/class/hwmon/hwmon2/temp1_input 47250
put sys/class/power_supply/dc-in/voltage_now 11980000
put sys/devices/platform/soc/soc:firmware/get_throttled 0x0
put proc/stat "cpu 300 0 100 1600 0 0 0 0"
prod="$CHECK_DIR/product.json"
cp boards/deco-x50.json "$prod"

stack_register TPH0001 deco-x50 2025-06-01
stack_broker
stack_collector
"$STACK_BIN/tpdiagd" --id TPH0001 --product "$prod" --board linux --sysfs-root "$fx/sys" \
	--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TPH0001.key" 2> "$CHECK_DIR/agent.log" &
pid=$!
STACK_PIDS+=("$pid")
check_eq "online" 1 "$(wait_db "select count(*) from reports where dev='TPH0001' and kind='status'" 1)"
sleep 2
check_eq "no fault at 61.5 °C under the shipped limits" 0 \
	"$(db "select count(*) from reports where dev='TPH0001' and kind='fault' and body like '%TEMP_HIGH%'")"

# a broken description, then one with another sensor list: both refused
echo '{"model":' > "$prod"
kill -HUP "$pid"
sleep 1
check "a description that does not parse is refused" grep -q "reload refused: the product description" "$CHECK_DIR/agent.log"
python3 - boards/deco-x50.json "$prod" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); p["sensors"][1]["source"] = "hwmon:tmp75/temp1"
json.dump(p, open(sys.argv[2], "w"))
PY
kill -HUP "$pid"
sleep 1
check "a changed sensor list waits for a restart" grep -q "not taken: the sensors or their sources changed" "$CHECK_DIR/agent.log"

# the limit lowered to 60 °C (debounce 15 s -> 1 s), then SIGHUP
python3 - boards/deco-x50.json "$prod" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for s in p["sensors"]:
    if s["id"] == "temp.cpu":
        s["warn"] = 60; s["debounce_s"] = 1
json.dump(p, open(sys.argv[2], "w"))
PY
kill -HUP "$pid"
check_eq "TEMP_HIGH raised by the new limit" 1 \
	"$(wait_db "select count(*) from reports where dev='TPH0001' and kind='fault' and body like '%TEMP_HIGH%raised%'" 1)"
fault=$(db "select body from reports where dev='TPH0001' and kind='fault' and body like '%TEMP_HIGH%' limit 1")
check "with the new limit" grep -q '"limit":60' <<< "$fault"
check "the same process (no restart)" kill -0 "$pid"
check "the reload said so" grep -q "TPH0001: reloaded: product deco-x50, collection on" "$CHECK_DIR/agent.log"
check_eq "one boot status only (state kept)" 1 \
	"$(db "select count(*) from reports where dev='TPH0001' and kind='status' and body like '%\"online\"%'")"
warn=$("$STACK_BIN/tpdiag" --state-dir "$CHECK_DIR/dev" status --json | python3 -c '
import json, sys
o = json.load(sys.stdin)
print([s for s in o["sensors"] if s["id"] == "temp.cpu"][0]["warn"])')
check_eq "tpdiag sees the new limit" 60 "$warn"

# the technician's watch screen (tmux, UTF-8) lists it with its unit and limit
tm() { tmux -u -S "$CHECK_DIR/tmux.sock" "$@"; }
tm new-session -d -s w -x 110 -y 30 "env LANG=C.UTF-8 LC_ALL= $STACK_BIN/tpdiag --state-dir $CHECK_DIR/dev watch --interval 1; sleep 60"
sleep 2
tm capture-pane -p -t w > "$CHECK_DIR/watch.screen"
tm kill-server
check "watch: the active fault with unit and limit" grep -Eq "^[0-9-]+ [0-9:]+ +TEMP_HIGH +raised +temp.cpu +61.5 °C 60 °C$" "$CHECK_DIR/watch.screen"
check "watch: the row says WARN" grep -Eq "^temp.cpu +61.5 °C +warn 60 crit 110 °C +WARN$" "$CHECK_DIR/watch.screen"
out=$("$STACK_BIN/tpdiag" --state-dir "$CHECK_DIR/dev" faults)
check "faults: value and limit with units" grep -Eq "TEMP_HIGH +raised +temp.cpu +61.5 °C 60 °C$" <<< "$out"

kill -TERM "$pid"
wait "$pid"
check_eq "SIGTERM: clean exit" 0 $?
check "SIGTERM is logged" grep -q "TPH0001: stopping on SIGTERM" "$CHECK_DIR/agent.log"
check "and what is left in the spool" grep -Eq "TPH0001: ([0-9]+ reports \([0-9]+ fault or self-check\) stay in the spool|the spool is empty)" "$CHECK_DIR/agent.log"
seqs=$(db "select count(*) - count(distinct seq) from reports where dev='TPH0001'")
check_eq "no seq repeated" 0 "$seqs"
check_done
