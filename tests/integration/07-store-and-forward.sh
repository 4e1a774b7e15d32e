#!/usr/bin/env bash
# 07: nothing lost, with real processes and exact counts (issue 4).
#  A. the broker is stopped for 20 s while a device produces faults and
#     telemetry: every report reaches the database exactly once, in order;
#  B. kill -9 of the collector under load: its persistent session delivers
#     the rest; stored == published;
#  C. kill -9 of the agent mid-burst: everything it spooled arrives, the
#     spool reopens cleanly, seq never repeats;
#  D. a long outage with a small spool: telemetry is evicted, every fault
#     report survives and arrives later.
. "$(dirname "$0")/../lib/check.sh"
check_stack
for id in TPA0001 TPB0001 TPC0001 TPD0001; do
	stack_register "$id" archer-ax55 2025-06-01
done
stack_broker
# One collector: an exclusive subscription. mosquitto 2.0 forgets a shared
# subscription's queue across its own restart (README, deployment notes).
stack_collector --subscribe exclusive
trace=boards/traces/TP24A0001.csv

agent() {   # agent ID LOG [tpdiagd options...]; exec: in the background $! is tpdiagd
	local id=$1 log=$2
	shift 2
	exec "$STACK_BIN/tpdiagd" --id "$id" --product archer-ax55 --epoch 1764000000 \
		--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/$id" \
		--key "$CHECK_DIR/keys/$id.key" "$@" 2>> "$CHECK_DIR/$log"
}
# After a broker restart the collector reconnects with backoff (up to a
# minute): wait for the counts to settle on what is expected.
settle() {  # until a device's report count has not moved for 2 s
	local last=-1 now i
	for i in $(seq 300); do
		now=$(db "select count(*) from reports where dev='$1'")
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 2
	done
}
wait_stored() {  # ID "T F" -> prints the last stored counts
	local got i
	for i in $(seq 900); do
		got=$(stored "$1")
		[ "$got" = "$2" ] && break
		sleep 0.1
	done
	echo "$got"
}
# "N telemetry, R faults raised, C cleared" from an agent log: telemetry and faults
produced() {
	local t=0 f=0 line
	while read -r line; do
		t=$((t + $(sed -n 's/.* \([0-9]*\) telemetry.*/\1/p' <<< "$line")))
		f=$((f + $(sed -n 's/.* \([0-9]*\) faults raised, \([0-9]*\) cleared.*/\1 + \2/p' <<< "$line")))
	done < <(grep 'end of trace' "$CHECK_DIR/$1")
	echo "$t $f"
}
stored() {  # telemetry and fault reports of a device in the database
	echo "$(db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = '$1'") $(db "select count(*) from reports where dev='$1' and kind='fault'")"
}
in_order() {  # reports stored in seq order (status goes outside the spool)
	db "select count(*) from reports a join reports b on a.dev = b.dev and a.id < b.id and a.seq > b.seq where a.dev = '$1' and a.kind != 'status' and b.kind != 'status'"
}

echo "# A: broker outage of 20 s during a 60 s replay"
(agent TPA0001 a.log --trace "$trace" --speed 2880 --exit-at-end) &
pid=$!
STACK_PIDS+=("$pid")
sleep 10
stack_stop_broker
down_at=$(date +%s)
sleep 20
stack_start_broker_again
wait "$pid"
check_eq "A: agent exits 0" 0 $?
read -r t f < <(produced a.log)
check "A: faults were produced while the broker was down" [ "$f" -ge 8 ]
check_eq "A: every report stored exactly once" "$t $f" "$(wait_stored TPA0001 "$t $f")"
check_eq "A: in seq order" 0 "$(in_order TPA0001)"
check_eq "A: nothing stored twice" 0 "$(db "select count(*) from (select seq from reports where dev='TPA0001' group by seq having count(*) > 1) d")"
check "A: outage took 20 s" [ $(( $(date +%s) - down_at )) -ge 20 ]

echo "# B: kill -9 of the collector under load"
(agent TPB0001 b.log --trace "$trace" --speed max --exit-at-end) &
pid=$!
STACK_PIDS+=("$pid")
sleep 0.7
before=$(db "select count(*) from reports where dev='TPB0001'")
kill -9 "$STACK_COLLECTOR_PID"
wait "$STACK_COLLECTOR_PID" 2>/dev/null
sleep 1
stack_collector --subscribe exclusive
wait "$pid"
check_eq "B: agent exits 0" 0 $?
check "B: the collector died mid-stream" [ "$before" -gt 0 ] && [ "$before" -lt 2800 ]
read -r t f < <(produced b.log)
check_eq "B: stored == published after the restart" "$t $f" "$(wait_stored TPB0001 "$t $f")"
check_eq "B: in seq order per device" 0 "$(in_order TPB0001)"

echo "# C: kill -9 of the agent mid-burst"
(agent TPC0001 c.log --trace "$trace" --speed max) &
pid=$!
STACK_PIDS+=("$pid")
for _ in $(seq 100); do [ "$(db "select count(*) from reports where dev='TPC0001'")" -gt 200 ] && break; sleep 0.05; done
kill -9 "$pid"
wait "$pid" 2>/dev/null
check "C: the spool is on disk" test -d "$CHECK_DIR/TPC0001/spool"
(agent TPC0001 c.log --trace tests/fixtures/traces/TPT0001.csv --speed max --exit-at-end)
check_eq "C: the restart exits 0" 0 $?
settle TPC0001
check "C: the spool reopened without error" bash -c "! grep -q 'spool.*cannot' '$CHECK_DIR/c.log'"
check_eq "C: nothing garbled reached the collector" 0 "$(stack_stat bad_json)"
first2=$(db "select min(seq) from reports where dev='TPC0001' and body like '%unclean_restart%'")
k=$(db "select max(seq) from reports where dev='TPC0001' and seq < $first2")
check_eq "C: every report of the first run arrived (no hole in 1..$k)" "$k" \
	"$(db "select count(distinct seq) from reports where dev='TPC0001' and seq <= $k")"
check "C: the second run's seqs are all new" [ "$first2" -gt "$k" ]
check_eq "C: no seq stored twice" 0 "$(db "select count(*) from (select seq from reports where dev='TPC0001' group by seq having count(*) > 1) d")"

echo "# D: a long outage and a 64 KiB spool"
stack_stop_broker
(agent TPD0001 d.log --trace "$trace" --speed max --exit-at-end --spool-max 65536)
check_eq "D: agent exits 0 without a broker" 0 $?
check "D: telemetry was evicted" grep -q "evicted [1-9][0-9]* telemetry and 0 fault" "$CHECK_DIR/d.log"
# 8 fault reports and 6 self-checks (boot, each raised fault)
check "D: the 14 fault and self-check reports stay in the spool" grep -q "(14 fault or self-check) stay in the spool" "$CHECK_DIR/d.log"
check "D: the spool kept to its budget" [ "$(du -sb "$CHECK_DIR/TPD0001/spool" | cut -f1)" -le $((65536 + 8192)) ]
stack_start_broker_again
printf '# model: archer-ax55\nt_s,temp.cpu,temp.board,volt.vin,curr.vin,fan.main,load.cpu,event.undervoltage\n0,52,36,12,0.9,4000,0.4,0\n10,52,36,12,0.9,4000,0.4,0\n' \
	> "$CHECK_DIR/calm.csv"
(agent TPD0001 d2.log --trace "$CHECK_DIR/calm.csv" --speed max --exit-at-end)
check_eq "D: the restarted agent exits 0" 0 $?
check "D: it sent the spool first" grep -q "from before this start go out first" "$CHECK_DIR/d2.log"
for _ in $(seq 900); do [ "$(db "select count(*) from reports where dev='TPD0001' and kind='fault'")" = 8 ] && break; sleep 0.1; done
check_eq "D: all 8 fault reports arrived" 8 "$(db "select count(*) from reports where dev='TPD0001' and kind='fault'")"
check "D: some telemetry arrived, not all" [ "$(db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPD0001'")" -lt 2881 ]
check_eq "D: all 6 self-checks arrived (+ the restart's boot one)" 7 "$(db "select count(*) from reports where dev='TPD0001' and kind='selfcheck'")"
check_eq "D: the claim was opened from the surviving faults" 1 "$(wait_db "select count(*) from claims where device='TPD0001'" 1)"
check_done
