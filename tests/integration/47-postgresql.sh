#!/usr/bin/env bash
# 47: the collector on PostgreSQL (issue 16). A private cluster (tests/lib/pg.sh);
# the fan-wear trace through two collectors sharing the subscription and the
# database: every report stored once, exactly one thermal claim (the partial
# unique index holds across collectors), its API answer the SPEC §6 shape.
# A restart of the server is survived: the collectors reconnect and store on.
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/pg.sh"
check_stack
PG_TMP=$(mktemp -d /tmp/tpdiag-pg.XXXXXX)
trap 'rc=$?; pg_stop; rm -rf "$PG_TMP"; (exit $rc); check_finish' EXIT
pg_start "$PG_TMP" || { echo "no PostgreSQL server"; exit 1; }
export STACK_DB=$PG_URL

stack_register TP24A0001 archer-ax55 2025-06-01
stack_broker
stack_collector --client-id tpcollect-a
first=$STACK_COLLECTOR_PID
api_a=$STACK_API
mv "$CHECK_DIR/tpcollect.log" "$CHECK_DIR/tpcollect-a.log"
stack_collector --client-id tpcollect-b
check "two collectors on one database" kill -0 "$first"
check_eq "one schema version, the latest" 2 "$(db "select max(version) from schema_version")"
check_eq "migrated once" 1 "$(db "select count(*) from schema_version")"

"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
check_eq "tpdiagd exits 0 at the end of the trace" 0 $?
telem=$(sed -n 's/.* \([0-9]*\) telemetry.*/\1/p' "$CHECK_DIR/agent.log")
raised=$(sed -n 's/.* \([0-9]*\) faults raised.*/\1/p' "$CHECK_DIR/agent.log")
cleared=$(sed -n 's/.* \([0-9]*\) cleared.*/\1/p' "$CHECK_DIR/agent.log")
faults=$((raised + cleared))
check_eq "telemetry reports stored" "$telem" "$(wait_db "select count(*) from telemetry" "$telem")"
check_eq "fault reports stored" "$faults" "$(wait_db "select count(*) from reports where kind='fault'" "$faults")"
check_eq "no (dev, seq) stored twice" 0 \
	"$(db "select count(*) from (select dev, seq from reports group by 1, 2 having count(*) > 1) d")"
shares=0
for api in "$api_a" "$STACK_API"; do
	got=$(STACK_API=$api stack_stat stored)
	[ "${got:-0}" -gt 0 ] && shares=$((shares + 1))
done
check_eq "both collectors stored a share" 2 "$shares"
check_eq "exactly one thermal claim" 1 "$(db "select count(*) from claims where category='thermal'")"
check_eq "claim counts kept by the trigger" "$(db "select count(*) from claims")" \
	"$(db "select coalesce(sum(n), 0) from claim_counts")"
json=$("$STACK_BIN/tpclaim" --api "$STACK_API" show C-000001 --json)
for field in id state device model category fault_codes predictive detected_ts opened_at \
	purchase_date warranty title description evidence selfcheck_verdict \
	suggested_resolution review_due timeline; do
	check "claim JSON has \"$field\"" grep -q "\"$field\":" <<< "$json"
done
check "claim shows purchase date from the registry" grep -q '"purchase_date":[[:space:]]*"2025-06-01"' <<< "$json"
check "the other collector answers the same claim" bash -c \
	"'$STACK_BIN/tpclaim' --api '$api_a' show C-000001 --json | grep -q '\"device\":[[:space:]]*\"TP24A0001\"'"

# the server restarts under the collectors: they reconnect and go on
pg_restart
before=$(db "select count(*) from reports where kind='status'")
"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1765000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2>> "$CHECK_DIR/agent.log"
check "status stored after the server's restart" bash -c \
	"for i in \$(seq 300); do n=\$(psql -XAtq '$PG_URL' -c \"select count(*) from reports where kind='status'\" 2>/dev/null); [ \"\${n:-0}\" -gt $before ] && exit 0; sleep 0.1; done; exit 1"
check "collectors still up" kill -0 "$first" "$STACK_COLLECTOR_PID"
check_done
