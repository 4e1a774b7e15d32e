#!/usr/bin/env bash
# 05: the retained status and the Last Will. A running agent is "online"
# (retained, so a late subscriber sees it); after kill -9 the broker publishes
# the Will and the collector records the device "offline"; the restarted
# agent says why it (re)started.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPW0001 archer-ax55 2025-06-01
stack_broker
stack_collector

start_agent() {
	"$STACK_BIN/tpdiagd" --id TPW0001 --trace tests/fixtures/traces/TPT0001.csv --speed 1 \
		--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
		--key "$CHECK_DIR/keys/TPW0001.key" 2>> "$CHECK_DIR/agent.log" &
	AGENT_PID=$!
	STACK_PIDS+=("$AGENT_PID")
}
start_agent
check_eq "device online" online "$(wait_db "select state from devices where id='TPW0001'" online)"
retained=$(timeout 5 mosquitto_sub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -C 1 -t tp/v1/TPW0001/status)
check "status is retained for late subscribers" grep -q '"state":"online"' <<< "$retained"
check "first start is reported" grep -q '"boot_reason":"first_start"' <<< "$retained"

kill -9 "$AGENT_PID"
# keepalive is 30 s; the broker notices the dead socket at once on loopback
check_eq "Last Will marks it offline" offline "$(wait_db "select state from devices where id='TPW0001'" offline)"

start_agent
check_eq "back online" online "$(wait_db "select state from devices where id='TPW0001'" online)"
check_eq "the restart is known to be unclean" 1 \
	"$(wait_db "select count(*) from reports where kind='status' and body like '%unclean_restart%'" 1)"
kill "$AGENT_PID"
wait "$AGENT_PID"
check_eq "SIGTERM: clean exit" 0 $?
check_eq "clean shutdown says offline" offline "$(wait_db "select state from devices where id='TPW0001'" offline)"
check_done
