#!/usr/bin/env bash
# 47: several collectors on one broker and one PostgreSQL give the answers
# one collector gives (issue 16 item 2 and its fault tests). Three
# tpcollect instances share $share/tpcollect/... and a database on this
# scenario's own PostgreSQL server (tests/lib/pg.sh): a tpsim fleet is
# stored once each (stored = published, no (dev, seq) twice), each instance
# takes part of the stream, no device has two open claims of one class
# (the partial unique index decides a race), and every instance's API lists
# the same claims, and they are the claims one collector alone opens from
# the same stream (a single SQLite collector on an exclusive subscription
# beside them); a fourth collector, --role forecast, runs the predictive
# engine on every device's telemetry. Then the faults: kill -9 one collector under load (the
# others go on; restarted with its session, it drains what the broker kept
# for it: stored = published), and PostgreSQL restarted mid-stream (the
# collectors reconnect; nothing acknowledged before its commit is lost).
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/pg.sh"
check_stack
PY=/usr/bin/python3
# (its own folder: the server runs as postgres, which cannot enter CHECK_DIR)
PG_TMP=$(mktemp -d /tmp/tpdiag-pg.XXXXXX)
# (on a failure check_finish shows tpcollect.log: the collectors' warnings go there)
trap 'rc=$?; grep -h -v " info " "$CHECK_DIR"/c[0-9].log 2> /dev/null | tail -n 30 \
	> "$CHECK_DIR/tpcollect.log"; pg_stop; rm -rf "$PG_TMP"; (exit $rc); check_finish' EXIT
pg_start "$PG_TMP" > "$CHECK_DIR/pg.log" 2>&1 || { cat "$CHECK_DIR/pg.log"; echo "no PostgreSQL server"; exit 1; }
STACK_DB_URL=$PG_URL
db_pg() { psql -X -q -tA -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"; }

fleet=$CHECK_DIR/fleet
"$STACK_BIN/tpsim" --generate "$fleet" --devices 12 --days 4 --period 300 --mix test --seed 11 \
	2> "$CHECK_DIR/gen.log"
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" \
	--registry-out "$STACK_DIR/registry.csv" 2> /dev/null
check_eq "registry rows for the fleet" 12 "$(($(wc -l < "$STACK_DIR/registry.csv") - 1))"
stack_broker

# Three collectors: one database, one shared subscription, own sessions.
declare -A API PID
start_collector() {
	local n=$1 log="$CHECK_DIR/c$1.log" role=ingest db=$PG_URL sub=shared
	[ "$n" = 4 ] && role=forecast
	[ "$n" = 0 ] && { role=all; db="sqlite:$CHECK_DIR/one.db"; sub=exclusive; }
	"$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "$db" --listen 127.0.0.1:0 \
		--registry "$STACK_DIR/registry.csv" --policy "$STACK_POLICY" --tokens "$STACK_DIR/tokens" \
		--client-id "tpcollect-c$n" --raw-days 0 --role $role --subscribe $sub \
		--gap-grace 6 >> "$log" 2>&1 &
	PID[$n]=$!
	STACK_PIDS+=("${PID[$n]}")
	for _ in $(seq 150); do
		grep -q "listening on" "$log" && break
		sleep 0.1
	done
	API[$n]="http://$(sed -n 's/.*listening on \(.*\)$/\1/p' "$log" | tail -n 1)"
}
stat_of() { curl -sf -H "Authorization: Bearer $STACK_TOKEN" "${API[$1]}/api/v1/stats" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
for n in 0 1 2 3 4; do start_collector $n; done
check "three ingest collectors, a forecast one and the lone one listening" \
	test -n "${API[0]}" -a -n "${API[1]}" -a -n "${API[2]}" -a -n "${API[3]}" -a -n "${API[4]}"
stored_all() { db_pg "select (select count(*) from reports) + (select count(*) from telemetry)"; }
wait_stored() {
	local want=$1 got last=-1 still=0
	while :; do
		got=$(stored_all 2> /dev/null)
		[ "${got:-0}" -ge "$want" ] && break
		if [ "$got" = "$last" ]; then still=$((still + 1)); [ $still -ge 120 ] && break; else still=0; fi
		last=$got
		sleep 0.5
	done
	echo "$got"
}

# --- the fleet through three collectors ------------------------------------------
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --broker "$STACK_BROKER_URL" \
	--epoch 1764000000 2> "$CHECK_DIR/tpsim.log"
check_eq "tpsim replays the fleet" 0 $?
published=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$CHECK_DIR/tpsim.log")
check_eq "every published report stored once" "$published" "$(wait_stored "$published")"
all_stored_at=$(date +%s)
check_eq "no (dev, seq) twice" 0 "$(db_pg "select count(*) from (select dev, seq from reports group by dev, seq having count(*) > 1) d")"
for n in 1 2 3; do
	s=$(stat_of $n stored)
	check "collector $n stored part of the stream ($s)" test "${s:-0}" -gt 0
done
check_eq "no device with two open claims of one class" 0 \
	"$(db_pg "select count(*) from (select device, category from claims where state not in ('resolved','closed','rejected') group by device, category having count(*) > 1) d")"
claims=$(db_pg "select count(*) from claims")
check "the fleet's faults opened claims ($claims)" test "$claims" -gt 0
list() { curl -s -H "Authorization: Bearer $STACK_TOKEN" "${API[$1]}/api/v1/claims?limit=1000" |
	$PY -c 'import json,sys; print(json.dumps([(c["id"], c["state"], c["device"], c["title"], c["fault_codes"], len(c["evidence"])) for c in json.load(sys.stdin)["claims"]]))'; }
check_eq "collector 2's API answers as collector 1's" "$(list 1)" "$(list 2)"
check_eq "collector 3's API answers as collector 1's" "$(list 1)" "$(list 3)"
check_eq "the forecast collector's API too" "$(list 1)" "$(list 4)"
for _ in $(seq 240); do   # the lone collector has drained the same stream
	[ "$(sqlite3 "$CHECK_DIR/one.db" "select (select count(*) from reports) + (select count(*) from telemetry)")" = "$published" ] && break
	sleep 0.5
done
check_eq "the lone collector stored the same stream" "$published" \
	"$(sqlite3 "$CHECK_DIR/one.db" "select (select count(*) from reports) + (select count(*) from telemetry)")"
sleep 2   # the forecasts of the last hours
# each ingest collector got a third of every device's seqs: the others'
# are in the database, no loss (collector.c, collector_gaps_ask); the
# grace is 6 s, so by now every range was due, asked and decided
while [ $(($(date +%s) - all_stored_at)) -lt 10 ]; do sleep 0.5; done
for n in 1 2 3; do
	check_eq "collector $n: no loss alarm for the others' shares" 0 "$(stat_of $n seq_gaps)"
done
check_eq "no loss alarm line before the faults" 0 "$(cat "$CHECK_DIR"/c[1-3].log | grep -c 'loss alarm: ')"
what() { $PY -c 'import json,sys; print(sorted((c["device"], c["category"], c["predictive"], tuple(sorted(c["fault_codes"]))) for c in json.load(sys.stdin)["claims"]))'; }
one=$(curl -s -H "Authorization: Bearer $STACK_TOKEN" "${API[0]}/api/v1/claims?limit=1000" | what)
many=$(curl -s -H "Authorization: Bearer $STACK_TOKEN" "${API[1]}/api/v1/claims?limit=1000" | what)
check_eq "the claims are those one collector alone opens (device, class, predictive, codes)" "$one" "$many"
check "the forecast collector forecast" grep -q 'forecast .* raised for' "$CHECK_DIR/c4.log"
check "the ingest collectors did not (their engine is off)" bash -c "! grep -q 'forecast .* raised for' '$CHECK_DIR/c1.log' '$CHECK_DIR/c2.log' '$CHECK_DIR/c3.log'"

# --- kill -9 one collector under load; its session drains when it is back ---------
fleet2=$CHECK_DIR/fleet2
"$STACK_BIN/tpsim" --generate "$fleet2" --devices 12 --days 6 --period 120 --mix test --seed 12 \
	2> /dev/null
# tpsim names every fleet's devices TPS00001...: these are others
for f in "$fleet2"/TPS*.csv; do mv "$f" "${f/\/TPS/\/TPK}"; done
"$STACK_BIN/tpsim" --traces "$fleet2" --keys "$CHECK_DIR/keys2" \
	--registry-out "$CHECK_DIR/reg2.csv" 2> /dev/null
tail -n +2 "$CHECK_DIR/reg2.csv" >> "$STACK_DIR/registry.csv"
kill "${PID[0]}"   # the lone collector's part is done
for n in 1 2 3 4; do kill -HUP "${PID[$n]}"; done
sleep 1
before=$(stored_all)
"$STACK_BIN/tpsim" --traces "$fleet2" --keys "$CHECK_DIR/keys2" --broker "$STACK_BROKER_URL" \
	--epoch 1764000000 2> "$CHECK_DIR/tpsim2.log" &
sim=$!
sleep 2
kill -9 "${PID[2]}"
wait "$sim"
check_eq "tpsim replays the second fleet while a collector dies" 0 $?
published2=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$CHECK_DIR/tpsim2.log")
# the two go on (a batch refused on a database error would come back
# after the reconnect pause, 1 s doubling to 16 s: wait that long)
for _ in $(seq 240); do
	mid=$(stored_all)
	[ "${mid:-0}" -gt "$before" ] && break
	sleep 0.25
done
check "the other two took the stream ($((mid - before)) of $published2 stored)" test $((mid - before)) -gt 0
start_collector 2
check_eq "restarted with its session: stored = published" "$((before + published2))" "$(wait_stored $((before + published2)))"
check_eq "still no (dev, seq) twice" 0 "$(db_pg "select count(*) from (select dev, seq from reports group by dev, seq having count(*) > 1) d")"
check_eq "still no claim twice" 0 \
	"$(db_pg "select count(*) from (select device, category from claims where state not in ('resolved','closed','rejected') group by device, category having count(*) > 1) d")"

# --- PostgreSQL restarted mid-stream ------------------------------------------------
fleet3=$CHECK_DIR/fleet3
"$STACK_BIN/tpsim" --generate "$fleet3" --devices 8 --days 6 --period 120 --mix test --seed 13 2> /dev/null
for f in "$fleet3"/TPS*.csv; do mv "$f" "${f/\/TPS/\/TPL}"; done
"$STACK_BIN/tpsim" --traces "$fleet3" --keys "$CHECK_DIR/keys3" --registry-out "$CHECK_DIR/reg3.csv" 2> /dev/null
tail -n +2 "$CHECK_DIR/reg3.csv" >> "$STACK_DIR/registry.csv"
for n in 1 2 3 4; do kill -HUP "${PID[$n]}"; done
sleep 1
before=$(stored_all)
"$STACK_BIN/tpsim" --traces "$fleet3" --keys "$CHECK_DIR/keys3" --broker "$STACK_BROKER_URL" \
	--epoch 1764000000 2> "$CHECK_DIR/tpsim3.log" &
sim=$!
sleep 1
pg_stop
sleep 2
pg_launch >> "$CHECK_DIR/pg.log" 2>&1
wait "$sim"
published3=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$CHECK_DIR/tpsim3.log")
check_eq "after the restart: stored = published" "$((before + published3))" "$(wait_stored $((before + published3)))"
check "the collectors said the database failed and came back" grep -q -i 'store' "$CHECK_DIR/c1.log"
for n in 1 3; do
	check "collector $n is still up" kill -0 "${PID[$n]}"
done
# collectors must not wait on each other in a cycle: new names are added
# outside the batches (store_pg.c note 10), claim counts are deltas
# (note 5), so no line of any collector says deadlock; a claim insert
# chosen as a victim anyway is made again (claims.c), and says so here.
check_eq "no deadlock between collectors" 0 \
	"$(cat "$CHECK_DIR"/c[1-4].log | grep -c 'deadlock detected')"
check_done
