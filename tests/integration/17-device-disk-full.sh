#!/usr/bin/env bash
# 17: a full disk on the product does not silence its fault reports (issue
# 14, finding 2). The state directory sits on a 200 KB tmpfs; the broker is
# down for a whole 48 h replay. The spool shrinks its budget to what the
# disk holds and evicts telemetry, so every fault and self-check report is
# kept on disk; with the broker back, a restart delivers all 8 faults, seqs
# stay unique, and the agent's log said what happened.
. "$(dirname "$0")/../lib/check.sh"
if [ "$(id -u)" != 0 ]; then
	echo "skip: mounting a 200 KB tmpfs needs root"
	exit 0
fi
check_stack
full="$CHECK_DIR/full"
mkdir -p "$full"
if ! mount -t tmpfs -o size=200k tmpfs "$full"; then
	echo "skip: cannot mount a tmpfs here"
	exit 0
fi
trap 'umount "$full" 2>/dev/null; check_finish' EXIT
stack_register TPD0001 archer-ax55 2025-06-01
stack_broker
stack_collector --subscribe exclusive

agent() {   # agent LOG TRACE [tpdiagd options...]
	local log=$1 trace=$2
	shift 2
	"$STACK_BIN/tpdiagd" --id TPD0001 --product archer-ax55 --epoch 1764000000 \
		--trace "$trace" --speed max --exit-at-end --broker "$STACK_BROKER_URL" \
		--state-dir "$full/TPD0001" --key "$CHECK_DIR/keys/TPD0001.key" "$@" \
		2>> "$CHECK_DIR/$log"
}

stack_stop_broker
agent a.log boards/traces/TP24A0001.csv
check_eq "the agent exits 0 on a full disk without a broker" 0 $?
check "the disk filled up" test "$(df -k --output=avail "$full" | tail -n 1)" -lt 64
check "a log line said the disk is full and what goes first" \
	grep -q "spool: the disk is full at .* oldest telemetry evicted first" "$CHECK_DIR/a.log"
check "telemetry was evicted, no fault report" \
	grep -q "evicted [1-9][0-9]* telemetry and 0 fault" "$CHECK_DIR/a.log"
check "all 14 fault and self-check reports stay on disk" \
	grep -q "(14 fault or self-check) stay in the spool" "$CHECK_DIR/a.log"
check "nothing dropped silently" bash -c "! grep -q 'telemetry dropped' '$CHECK_DIR/a.log' || grep -q ' 0 telemetry dropped' '$CHECK_DIR/a.log'"
check "the seq file kept its fixed width" test "$(stat -c %s "$full/TPD0001/seq")" = 21

stack_start_broker_again
printf '# model: archer-ax55\nt_s,temp.cpu,temp.board,volt.vin,curr.vin,fan.main,load.cpu,event.undervoltage\n0,52,36,12,0.9,4000,0.4,0\n10,52,36,12,0.9,4000,0.4,0\n' \
	> "$CHECK_DIR/calm.csv"
agent b.log "$CHECK_DIR/calm.csv"
check_eq "the restarted agent exits 0" 0 $?
check "it sent the spool first" grep -q "from before this start go out first" "$CHECK_DIR/b.log"
for _ in $(seq 300); do [ "$(db "select count(*) from reports where dev='TPD0001' and kind='fault'")" = 8 ] && break; sleep 0.1; done
check_eq "all 8 fault reports delivered" 8 "$(db "select count(*) from reports where dev='TPD0001' and kind='fault'")"
check_eq "all 6 self-checks delivered (+ the restart's boot one)" 7 \
	"$(db "select count(*) from reports where dev='TPD0001' and kind='selfcheck'")"
check_eq "no seq stored twice" 0 \
	"$(db "select count(*) from (select seq from reports where dev='TPD0001' group by seq having count(*) > 1) d")"
check_eq "no seq repeated between the runs" 0 \
	"$(db "select count(*) from reports a join reports b on a.dev = b.dev and a.seq = b.seq and a.id != b.id where a.dev = 'TPD0001'")"
check_eq "the claim opened from the surviving faults" 1 \
	"$(wait_db "select count(*) from claims where device='TPD0001'" 1)"
check_eq "the evidence chain is whole" 0 "$(stack_stat chain_broken)"
check_done
