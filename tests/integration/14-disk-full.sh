#!/usr/bin/env bash
# 14: a full disk on the collector loses nothing that was acknowledged
# (issue 14, finding 1). The collector's database sits on a 3 MB tmpfs;
# 30,000 QoS 1 telemetry reports arrive, far more than fit (their values
# vary as real readings do: the compact rows of identical reports are so
# small that 12,000 of them fitted once a slow build checkpointed often). A batch that
# cannot be committed must not be acknowledged: the collector drops the
# connection, backs off, counts and reports the error; the broker keeps the
# reports. Once the filesystem is enlarged every report is stored exactly
# once, the stats never claimed more than the database held, and a restart
# of the collector finds nothing left at the broker.
. "$(dirname "$0")/../lib/check.sh"
if [ "$(id -u)" != 0 ]; then
	echo "skip: mounting a small tmpfs needs root (this case only)"
	exit 0
fi
check_stack
N=30000
MNT="$CHECK_DIR/disk"
mkdir -p "$MNT"
mount -t tmpfs -o size=3m tpdiag-it14 "$MNT" || { echo "FAIL cannot mount a tmpfs"; exit 1; }
# Processes first (their files are on the tmpfs), then the mount, then the
# usual tally and cleanup.
trap 'it14_rc=$?; stack_cleanup; umount "$MNT" 2>/dev/null || umount -l "$MNT"; (exit $it14_rc); check_finish' EXIT

DB="$MNT/tpcollect.db"
q() { sqlite3 -cmd '.timeout 3000' "$DB" "$1" 2>/dev/null; }
stat_of() {   # KEY from /api/v1/stats (numbers and booleans)
	curl -sf -m 5 -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/stats" |
		sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p"
}

stack_broker
stack_collector --subscribe exclusive --no-predict --db "sqlite:$DB"

# One device's telemetry, seq 1..N, one JSON object per line.
lines="$CHECK_DIR/reports.txt"
t0=$(( $(date +%s) - 3600 ))
awk -v n="$N" -v t0="$t0" 'BEGIN { for (k = 1; k <= n; k++)
	printf "{\"v\":1,\"dev\":\"TPDF0001\",\"model\":\"archer-ax55\",\"fw\":\"1.0.4\",\"seq\":%d,\"ts\":%.2f,\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":%.1f,\"max\":%.1f,\"avg\":%.2f,\"n\":60},\"temp.board\":{\"min\":%.1f,\"max\":%.1f,\"avg\":%.2f,\"n\":60},\"volt.vin\":{\"min\":%.3f,\"max\":%.3f,\"avg\":%.3f,\"n\":60},\"fan.main\":{\"min\":%d,\"max\":%d,\"avg\":%.1f,\"n\":60}},\"events\":{\"undervoltage\":0,\"reboot\":0},\"load\":{\"cpu\":%.3f}}\n", k, t0 + k * 0.25, 50 + (k * 7) % 90 / 10, 55 + (k * 13) % 90 / 10, 52 + (k * 29) % 900 / 100, 40 + (k * 3) % 70 / 10, 42 + (k * 11) % 70 / 10, 41 + (k * 17) % 700 / 100, 11.9 + (k * 7) % 50 / 1000, 12.0 + (k * 3) % 60 / 1000, 11.95 + (k * 19) % 80 / 1000, 4000 + (k * 37) % 200, 4150 + (k * 41) % 200, 4100 + (k * 43) % 1000 / 10, (k * 53) % 1000 / 1000 }' > "$lines"

start=$(date +%s)
mosquitto_pub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -i it14-device \
	-t tp/v1/TPDF0001/telemetry -l < "$lines" 2> "$CHECK_DIR/pub.log" &
pub=$!
STACK_PIDS+=("$pub")

# While it runs (and while the disk is full): the stats must never claim
# more than the database holds. Stats first, then the database, which only
# grows: a report counted before it was committed shows as stats > db.
over=0 samples=0 errors=0
for _ in $(seq 120); do
	s=$(stat_of stored); d=$(q "select count(*) from telemetry")
	if [ -n "$s" ] && [ -n "$d" ]; then
		samples=$((samples + 1))
		[ "$s" -gt "$d" ] && { over=$((over + 1)); echo "  stats said $s stored, database held $d"; }
	fi
	errors=$(stat_of store_errors)
	if ! kill -0 "$pub" 2>/dev/null && [ "${errors:-0}" -gt 0 ]; then break; fi
	sleep 0.25
done
wait "$pub"
check_eq "the broker took all $N reports (mosquitto_pub exit status)" 0 $?
for _ in $(seq 40); do
	errors=$(stat_of store_errors)
	[ "${errors:-0}" -gt 0 ] && break
	sleep 0.25
done
# Stay full a while: the collector retries with growing pauses meanwhile.
for _ in $(seq 24); do
	s=$(stat_of stored); d=$(q "select count(*) from telemetry")
	if [ -n "$s" ] && [ -n "$d" ]; then
		samples=$((samples + 1))
		[ "$s" -gt "$d" ] && { over=$((over + 1)); echo "  stats said $s stored, database held $d"; }
	fi
	sleep 0.25
done
errors=$(stat_of store_errors)
full_stored=$(q "select count(*) from telemetry")
echo "  disk full: $full_stored of $N stored after $(( $(date +%s) - start )) s, store_errors $errors"
check "store errors are counted (store_errors $errors)" [ "${errors:-0}" -gt 0 ]
check "the 3 MB disk holds only part of them ($full_stored)" [ "$full_stored" -lt "$N" ]
check_eq "stats never claimed more stored than the database held ($samples samples)" 0 "$over"
check_eq "stats: the store is failing" true "$(stat_of store_failing)"
check_eq "/healthz says so (503)" 503 "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$STACK_API/healthz")"
s=$(stat_of stored); d=$(q "select count(*) from telemetry")
check "stats stored ($s) <= database ($d) while full" [ "$s" -le "$d" ]

# Free space: the refused reports come back from the broker.
mount -o remount,size=64m "$MNT"
got=$(q "select count(*) from telemetry")
for _ in $(seq 200); do
	got=$(q "select count(*) from telemetry")
	[ "$got" = "$N" ] && break
	sleep 0.25
done
echo "  after remount: $got stored, $(( $(date +%s) - start )) s since the first publish"
check_eq "every report stored once the disk has room" "$N" "$got"
check_eq "no report stored twice" "$N" "$(q "select count(distinct t.seq) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPDF0001'")"
check_eq "seq 1..$N all there" "1 $N" "$(q "select min(seq) || ' ' || max(seq) from telemetry")"
for _ in $(seq 40); do [ "$(stat_of stored)" = "$N" ] && break; sleep 0.25; done
check_eq "stats stored" "$N" "$(stat_of stored)"
check_eq "stats: storing again" false "$(stat_of store_failing)"
check_eq "/healthz ok again" 200 "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$STACK_API/healthz")"
loglines=$(grep -c -E 'tpcollect: (cannot store|sqlite:)' "$CHECK_DIR/tpcollect.log")
check "store errors logged at most once a minute each ($loglines lines)" [ "$loglines" -le 4 ]

# A restart finds nothing left unacknowledged at the broker.
stack_stop_collector
cp "$CHECK_DIR/tpcollect.log" "$CHECK_DIR/first-run.txt"
stack_collector --subscribe exclusive --no-predict --db "sqlite:$DB"
sleep 3
check_eq "after a restart: nothing delivered again" 0 "$(stat_of received)"
check_eq "after a restart: still $N" "$N" "$(q "select count(*) from telemetry")"
check_done
