#!/usr/bin/env bash
# 30: SIGHUP under load loses nothing. 40,000 QoS 1 telemetry reports
# stream in while the collector gets SIGHUP every 10 ms: it stays up,
# stores every one (stored = published, no seq gap), and each SIGHUP
# reloads what it says: a token added to --tokens is accepted, a device
# added to --registry is known, a --policy that does not load keeps the old
# one, the --log file is reopened after a rotation. SIGTERM then exits 0
# with everything committed. An online backup (VACUUM INTO, .backup) holds
# every report and restores.
. "$(dirname "$0")/../lib/check.sh"
check_stack
N=40000
stack_broker
cp cloud/warranty.json "$CHECK_DIR/warranty.json"
stack_collector --no-predict --policy "$CHECK_DIR/warranty.json" --log "$CHECK_DIR/tpcollect.log"
pid=$STACK_COLLECTOR_PID
check "log lines carry ISO time, level and component" \
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z info  api +tpcollect: listening on ' "$CHECK_DIR/tpcollect.log"

lines="$CHECK_DIR/reports.txt"
t0=$(( $(date +%s) - 3600 ))
awk -v n="$N" -v t0="$t0" 'BEGIN { for (k = 1; k <= n; k++)
	printf "{\"v\":1,\"dev\":\"TPHUP001\",\"model\":\"archer-ax55\",\"fw\":\"1.0.4\",\"seq\":%d,\"ts\":%.2f,\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":52.1,\"max\":55.0,\"avg\":53.1,\"n\":60}},\"events\":{\"undervoltage\":0,\"reboot\":0},\"load\":{\"cpu\":0.35}}\n", k, t0 + k * 0.1 }' > "$lines"
mosquitto_pub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -i it30-device \
	-t tp/v1/TPHUP001/telemetry -l < "$lines" 2> "$CHECK_DIR/pub.log" &
pub=$!
STACK_PIDS+=("$pub")

# While it streams: a new token, a new device, a policy that does not
# load, a rotated log, and SIGHUP after SIGHUP.
new=$("$STACK_BIN/tpclaim" token new it30-second 2>/dev/null)
new_token=$(sed -n 's/^token: //p' <<< "$new")
check_eq "the new token is refused before the reload" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new_token" "$STACK_API/api/v1/stats")"
sed -n 's/^line: *//p' <<< "$new" >> "$CHECK_DIR/tokens"
stack_register TPHUP002 archer-ax55 2025-06-01
echo '{"policies": [' > "$CHECK_DIR/warranty.json"   # broken on purpose
mv "$CHECK_DIR/tpcollect.log" "$CHECK_DIR/tpcollect.log.1"
# Until the collector has stored them all (it trails the publisher).
hups=0
while [ "$(stack_stat stored)" != "$N" ] && [ "$hups" -lt 300 ]; do
	kill -HUP "$pid"
	hups=$((hups + 1))
	sleep 0.01
done
wait "$pub"
check_eq "mosquitto_pub published all $N" 0 $?
check "SIGHUP was sent under load ($hups times)" test "$hups" -ge 10
check "the collector is still running" kill -0 "$pid"
reloads=$(grep -c "reloaded on SIGHUP" "$CHECK_DIR/tpcollect.log")
check "it reloaded under load ($reloads times)" test "$reloads" -ge 10
check_eq "stored = published" "$N" "$(wait_db "select (select count(*) from reports where dev='TPHUP001') + (select count(*) from telemetry where dev_id = (select id from names where name = 'TPHUP001'))" "$N")"
check_eq "no seq gap" 0 "$(stack_stat seq_gaps)"
check_eq "the new token is accepted after the reload" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new_token" "$STACK_API/api/v1/stats")"
check_eq "the device added to --registry is known" 200 "$(stack_api GET /api/v1/devices/TPHUP002 | tail -n 1)"
check "a policy that does not load is logged and the old one kept" \
	grep -q "reload .*policy: .*(the previous policy stays)" "$CHECK_DIR/tpcollect.log"
check "the rotated log file was reopened (reload lines in the new file)" \
	grep -q "reloaded on SIGHUP" "$CHECK_DIR/tpcollect.log"
check "lines before the rotation stayed in the old file" \
	grep -q "listening on" "$CHECK_DIR/tpcollect.log.1"

# Online backup (README "Backup") while the collector runs: both ways give
# a consistent copy with every report.
sqlite3 "$CHECK_DIR/tpcollect.db" "VACUUM INTO '$CHECK_DIR/vacuum.db'"
check_eq "VACUUM INTO while it runs" 0 $?
sqlite3 "$CHECK_DIR/tpcollect.db" ".backup '$CHECK_DIR/backup.db'"
check_eq ".backup while it runs" 0 $?
for b in vacuum backup; do
	check_eq "$b.db holds every report" "$N" \
		"$(sqlite3 "$CHECK_DIR/$b.db" "select (select count(*) from reports where dev='TPHUP001') + (select count(*) from telemetry where dev_id = (select id from names where name = 'TPHUP001'))")"
	check_eq "$b.db passes integrity_check" ok "$(sqlite3 "$CHECK_DIR/$b.db" "pragma integrity_check")"
done

kill -TERM "$pid"
wait "$pid"
check_eq "SIGTERM exits 0" 0 $?
check "a stop line with the counts" grep -q "stopping: .* $N stored" "$CHECK_DIR/tpcollect.log"
check_eq "all committed" "$N" "$(db "select (select count(*) from reports where dev='TPHUP001') + (select count(*) from telemetry where dev_id = (select id from names where name = 'TPHUP001'))")"

# Restore: the collector stopped, the copy in place, started again.
sqlite3 "$CHECK_DIR/tpcollect.db" "delete from reports where seq > 100; delete from telemetry where seq > 100"
rm -f "$CHECK_DIR/tpcollect.db-wal" "$CHECK_DIR/tpcollect.db-shm"
cp "$CHECK_DIR/vacuum.db" "$CHECK_DIR/tpcollect.db"
cp cloud/warranty.json "$CHECK_DIR/warranty.json"
stack_collector --no-predict --policy "$CHECK_DIR/warranty.json"
check_eq "the restored database has every report" "$N" \
	"$(db "select (select count(*) from reports where dev='TPHUP001') + (select count(*) from telemetry where dev_id = (select id from names where name = 'TPHUP001'))")"
check_eq "the restored collector serves it" 200 "$(stack_api GET /api/v1/devices/TPHUP002 | tail -n 1)"
check_done
