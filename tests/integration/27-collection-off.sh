#!/usr/bin/env bash
# 27: consent. With `collection = off` in its config file tpdiagd publishes
# nothing, not even its status or Last Will: a subscriber to tp/v1/# on the
# broker sees no message while the technician's tpdiag works as usual.
# The owner agrees: the file says `collection = on`, SIGHUP, and the agent
# connects and reports (reports made before that were never kept to send).
# Meanwhile the technician's screens are captured through tmux (a real
# terminal, 100x30, UTF-8) and compared with tests/fixtures/screens/: the
# columns line up by display width (°C, Chinese), every value has its unit
# and limits, `watch` says when it refreshed and how to leave, and q leaves.
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

stack_register TPC0001 deco-x50 2025-06-01
stack_broker
mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -t 'tp/v1/#' -v > "$CHECK_DIR/sub.log" 2>&1 &
STACK_PIDS+=("$!")
sleep 0.5
cfg="$CHECK_DIR/tpdiagd.conf"
cat > "$cfg" <<CONF
[tpdiagd]
id = TPC0001
product = deco-x50
board = linux
sysfs-root = $fx/sys
broker = $STACK_BROKER_URL
state-dir = $CHECK_DIR/dev
key = $CHECK_DIR/keys/TPC0001.key
collection = off
CONF
"$STACK_BIN/tpdiagd" --config "$cfg" 2> "$CHECK_DIR/agent.log" &
pid=$!
STACK_PIDS+=("$pid")
sleep 3
out=$("$STACK_BIN/tpdiag" --state-dir "$CHECK_DIR/dev" status 2>&1)
check_eq "tpdiag status works with collection off" 0 $?
check "and shows the readings" grep -q "temp.cpu" <<< "$out"
coll=$("$STACK_BIN/tpdiag" --state-dir "$CHECK_DIR/dev" status --json | python3 -c '
import json, sys; print(json.load(sys.stdin)["collection"])')
check_eq "status says collection is off" False "$coll"
"$STACK_BIN/tpdiag" --state-dir "$CHECK_DIR/dev" selfcheck > "$CHECK_DIR/sc.txt" 2>&1
check_eq "tpdiag selfcheck works with collection off" 0 $?
check "the agent said collection is off" grep -q "collection off: nothing is published" "$CHECK_DIR/agent.log"

tm() { tmux -u -S "$CHECK_DIR/tmux.sock" "$@"; }
# capture NAME COMMAND: runs it in a fresh 100x30 pane, keeps the screen
# (trailing blanks cut, the refresh time masked) in $CHECK_DIR/NAME.screen
capture() {
	local name=$1
	shift
	tm new-session -d -s "$name" -x 100 -y 30 "env LANG=C.UTF-8 LC_ALL= $*; echo '[exited]'; sleep 60"
	for _ in $(seq 40); do
		tm capture-pane -p -t "$name" | grep -q "[^[:space:]]" && break
		sleep 0.1
	done
	sleep 0.5
	tm capture-pane -p -t "$name" | sed -e 's/[[:space:]]*$//' \
		-e 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:]\{8\} UTC/<time> UTC/' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' \
		> "$CHECK_DIR/$name.screen"
}
same_screen() {   # NAME: the capture equals the reviewed screen
	grep -v '^\[exited\]$' "$CHECK_DIR/$1.screen" | diff -u "tests/fixtures/screens/$1.txt" - > "$CHECK_DIR/$1.diff"
}
td="$STACK_BIN/tpdiag --state-dir $CHECK_DIR/dev"
capture status "$td status"
check "screen: status (units, limits, display-width columns)" same_screen status
capture status-zh "$td --zh status"
check "screen: status --zh" same_screen status-zh
capture status-lang "LANG=zh_CN.UTF-8 $td status"
check "screen: the locale picks Chinese too" diff -q "$CHECK_DIR/status-zh.screen" "$CHECK_DIR/status-lang.screen"
capture watch "$td watch --interval 1"
check "screen: watch (refresh time, active faults, q to quit)" same_screen watch
tm send-keys -t watch q
sleep 1
check "watch: q quits" bash -c "tmux -S '$CHECK_DIR/tmux.sock' capture-pane -p -t watch | grep -q '^\[exited\]'"
capture selfcheck-zh "$td --zh selfcheck"
check "screen: self-check in Chinese (results, verdict)" grep -q "^结论: 正常" "$CHECK_DIR/selfcheck-zh.screen"
check "screen: self-check steps' results in Chinese" grep -q "^\[通过\] power.input" "$CHECK_DIR/selfcheck-zh.screen"
for f in "$CHECK_DIR"/*.diff; do [ -s "$f" ] && cat "$f"; done
tm kill-server

sleep 1
check_eq "the broker saw no message from the agent" 0 "$(wc -l < "$CHECK_DIR/sub.log")"

# The OpenWrt init script's UCI -> INI mapping (openwrt/tpdiag/files): the
# shipped /etc/config/tpdiag, read with a stand-in for OpenWrt's
# config_get, gives a file every key of which tpdiagd takes.
uci="$CHECK_DIR/uci"
sed "s|'/etc/tpdiag/state'|'$CHECK_DIR/owrt-state'|" openwrt/tpdiag/files/tpdiag.config > "$uci"
ini=$(TPDIAG_CONF_DIR="$CHECK_DIR/etc" TPDIAG_RUN="$CHECK_DIR/run" UCI="$uci" bash -c '
	config_load() { :; }
	config_get() {   # VAR SECTION OPTION [DEFAULT]
		_cv=$(sed -n "s/^[[:space:]]*option $3 '"'"'\(.*\)'"'"'$/\1/p" "$UCI")
		eval "$1=\${_cv:-\${4-}}"
	}
	config_get_bool() { config_get "$@"; }
	. openwrt/tpdiag/files/tpdiagd.init
	tpdiag_write_conf && cat "$CONF"')
check "OpenWrt: the init script writes the agent's config" grep -q "^collection = off$" <<< "$ini"
check "OpenWrt: the spool on tmpfs, the state on flash" \
	bash -c "grep -q '^spool-dir = $CHECK_DIR/run/spool$' <<< '$ini' && grep -q '^state-dir = $CHECK_DIR/owrt-state$' <<< '$ini'"
check "OpenWrt: counters saved hourly" grep -q "^counters-save-s = 3600$" <<< "$ini"
"$STACK_BIN/tpdiagd" --config "$CHECK_DIR/etc/tpdiagd.conf" --probe --sysfs-root "$fx/sys" > /dev/null 2> "$CHECK_DIR/owrt.err"
check_eq "OpenWrt: tpdiagd takes every key of it" 0 $?

sed -i 's/^collection = off/collection = on/' "$cfg"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "tp/v1/TPC0001/status" "$CHECK_DIR/sub.log" && break; sleep 0.1; done
check "after consent and SIGHUP: the status is published" grep -q 'tp/v1/TPC0001/status .*"online"' "$CHECK_DIR/sub.log"
check "the same process" kill -0 "$pid"
kill -TERM "$pid"
wait "$pid"
check_eq "clean stop" 0 $?
for _ in $(seq 50); do grep -q "tp/v1/TPC0001/telemetry" "$CHECK_DIR/sub.log" && break; sleep 0.1; done
check "then telemetry is published" grep -q "tp/v1/TPC0001/telemetry" "$CHECK_DIR/sub.log"
check "what was withheld is counted" grep -Eq "collection off: [0-9]+ reports not published" "$CHECK_DIR/agent.log"
check_done
