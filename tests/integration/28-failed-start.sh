#!/usr/bin/env bash
# 28: a collector that cannot serve never joins the shared subscription.
# A second collector is started with its API port already taken: it must
# exit 1 before it connects to the broker, leave no persistent session
# behind (nothing queued for its client id), and the live collector must
# store every report published afterwards (stored = published). Before the
# fix it subscribed first and took half the stream with it (issue 20).
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPT0001 archer-ax55 2025-06-01
stack_broker
stack_collector --client-id live
port=${STACK_API##*:}

"$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "sqlite:$CHECK_DIR/other.db" \
	--listen "127.0.0.1:$port" --client-id other --policy cloud/warranty.json --no-predict \
	2> "$CHECK_DIR/other.log"
check_eq "the collector whose port is taken exits 1" 1 $?
check "it says why, on one line, and that it did not join" \
	grep -q "api: .*not connecting to the broker" "$CHECK_DIR/other.log"
check "it never connected (no MQTT client id line)" \
	bash -c "! grep -q 'MQTT client id' '$CHECK_DIR/other.log'"

"$STACK_BIN/tpdiagd" --trace tests/fixtures/traces/TPT0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TPT0001.key" 2>> "$CHECK_DIR/agent.log"
check_eq "agent exits 0" 0 $?
# 15 telemetry + 2 faults + 2 status + 3 self-checks (as in 02)
check_eq "the live collector stored every report published" 22 \
	"$(wait_db "select (select count(*) from reports) + (select count(*) from telemetry)" 22)"
# A session left by "other" would get its queued share now.
queued=$(mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -c -i other -q 1 -t 'it28/none' \
	-W 3 2>/dev/null | wc -l)
check_eq "nothing was queued for the failed collector's client id" 0 "$queued"
check_eq "no seq gap seen by the live collector" 0 "$(stack_stat seq_gaps)"
check_done
