#!/usr/bin/env bash
# 19: telemetry storage through the real path (tpsim agents -> mosquitto ->
# tpcollect, issue 15): compact rows served as the reports the devices sent,
# hourly and daily rollups of the closed hours with the same shape, the API
# choosing raw or rollup by the range, and --raw-days deleting raw rows
# only once they are rolled up.
. "$(dirname "$0")/../lib/check.sh"
check_stack
fleet=$CHECK_DIR/fleet
now=$(date +%s)
days=3
epoch=$((now - days * 86400))

"$STACK_BIN/tpsim" --generate "$fleet" --devices 2 --days "$days" --period 60 --seed 19 2> /dev/null
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --registry-out "$STACK_DIR/registry.csv" \
	2> /dev/null
api_body() { stack_api GET "$1" | sed '$d'; }
api_code() { stack_api GET "$1" | tail -n 1; }
dev=$(basename "$(ls "$fleet"/*.csv | head -n 1)" .csv)
stack_broker
stack_collector --subscribe exclusive --no-predict --raw-days 30
mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -t "tp/v1/$dev/telemetry" -C 1 \
	> "$CHECK_DIR/first.json" &
STACK_PIDS+=("$!")
sleep 0.3
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --broker "$STACK_BROKER_URL" \
	--epoch "$epoch" 2> "$CHECK_DIR/tpsim.log"
check_eq "tpsim replays and exits 0" 0 $?
stack_wait_idle
telem=$(db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = '$dev'")
check "telemetry of $dev stored as compact rows ($telem)" test "$telem" -gt 4000
check_eq "none of it as JSON text in reports" 0 "$(db "select count(*) from reports where kind = 'telemetry'")"

# raw: the first report comes back as the object the device sent
first_seq=$(jq -r .seq "$CHECK_DIR/first.json")
got=$(api_body "/api/v1/devices/$dev/telemetry?limit=1&after=$((first_seq - 1))")
check_eq "no since: resolution raw" raw "$(jq -r .resolution <<< "$got")"
check_eq "the stored report is the one published" "$(jq -cS . "$CHECK_DIR/first.json")" \
	"$(jq -cS '.telemetry[0]' <<< "$got")"
got=$(api_body "/api/v1/devices/$dev/telemetry?since=$((now - 3600))")
check_eq "the last hour: raw" raw "$(jq -r .resolution <<< "$got")"
check "  with reports in it" test "$(jq '.count' <<< "$got")" -ge 1

# rollups: the collector makes them between batches; the closed hours
for _ in $(seq 300); do
	hours=$(db "select count(*) from telemetry_hour h join names n on n.id = h.dev_id where n.name = '$dev'")
	[ "$hours" -ge $((days * 24 - 1)) ] && break
	sleep 0.1
done
check "hourly rollups of the closed hours ($hours)" test "$hours" -ge $((days * 24 - 1))
got=$(api_body "/api/v1/devices/$dev/telemetry?since=$epoch&limit=1000")
check_eq "three days: resolution hour" hour "$(jq -r .resolution <<< "$got")"
check_eq "  one item per hour" "$hours" "$(jq '.count' <<< "$got")"
check_eq "  each with the report's keys and reports" \
	'["dev","events","fw","load","model","period_s","reports","sensors","ts"]' \
	"$(jq -c '.telemetry[1] | keys' <<< "$got")"
rolled=$(jq '[.telemetry[].reports] | add' <<< "$got")
unrolled=$(db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = '$dev' and t.ts >= $((now / 3600 * 3600))")
check_eq "  every report in a rollup or in the open hour" "$telem" "$((rolled + unrolled))"
got=$(api_body "/api/v1/devices/$dev/telemetry?since=$epoch&resolution=day")
check_eq "resolution=day asked: day" day "$(jq -r .resolution <<< "$got")"
check_eq "  the days add up to the hours" "$rolled" "$(jq '[.telemetry[].reports] | add' <<< "$got")"
check_eq "a bad resolution is a 400" 400 "$(api_code "/api/v1/devices/$dev/telemetry?resolution=week")"

# retention: a collector keeping 1 day of raw telemetry prunes what is rolled up
stack_stop_collector
stack_collector --subscribe exclusive --no-predict --raw-days 1
for _ in $(seq 300); do
	old=$(db "select count(*) from telemetry where ts < $((now - 86400 - 60))")
	[ "$old" = 0 ] && break
	sleep 0.1
done
check_eq "raw rows older than --raw-days deleted" 0 "$old"
left=$(db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = '$dev'")
check "  the last day kept raw ($left of $telem)" test "$left" -gt 1000 -a "$left" -lt "$telem"
got=$(api_body "/api/v1/devices/$dev/telemetry?since=$epoch&limit=1000")
check_eq "  the rollups still hold every report" "$rolled" "$(jq '[.telemetry[].reports] | add' <<< "$got")"
check_done
