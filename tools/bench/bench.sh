#!/usr/bin/env bash
# bench.sh - `make bench`: how fast and how small, each figure beside a
# reference measured in the same run (the machine is shared and noisy, so
# only ratios of one run mean much). A benchmark: it prints a table and exits
# 0 whatever the figures; it is not part of `make test`.
#
#   tools/bench/bench.sh [BUILD]
#
#   BENCH_SECTIONS  which parts, in order (default "footprint latency ingest scale broker")
#   BENCH_REPS      repeated runs per figure, the median is printed (default 3)
#   BENCH_SECONDS   footprint: measuring window per run (default 20)
#
# footprint  tpdiagd (linux board, sysfs fixture of an archer-ax55, 60 s
#            telemetry) beside collectd 5.12 (table plugin on the same files,
#            threshold, mqtt to the same broker) and the floor
#            (tools/bench/floor.c: reads the files, publishes once a second),
#            at 1 s and 10 Hz sampling: CPU seconds per hour (schedstat),
#            Pss and anonymous memory (smaps_rollup), stripped size.
# latency    bench_latency: sample crossing a limit -> claim readable in the
#            API, p50/p99 over many devices.
# ingest     tpsim telemetry at QoS 1 as fast as the broker takes it, stored
#            by tpcollect vs received by mosquitto_sub in the same run; signed
#            fault reports vs mbedTLS's raw ECDSA P-256 verify rate.
# scale      tpcollect's resident memory with 1k/10k/100k devices; database
#            bytes per device-day of telemetry.
# broker     reports lost by mosquitto's defaults vs the settings we
#            document, while the collector's persistent session is offline.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
REPS=${BENCH_REPS:-3}
SECONDS_WIN=${BENCH_SECONDS:-20}
. tools/lib/stack.sh
work=$(mktemp -d /tmp/tpdiag-bench.XXXXXX)
trap 'stack_cleanup; rm -rf "$work"' EXIT
stack_init "$work"
BB=$STACK_BIN/bench

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %12s %12s %8s  %s\n' "$@"; }

# CPU time of a process in ns: the first field of each of its threads'
# schedstat (the process's own file counts its main thread only, and
# collectd reads and writes in worker threads).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# Pss or Anonymous of a process, KiB.
mem_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- footprint
fx=$work/fx
fx_put() { mkdir -p "$(dirname "$fx/$1")"; printf '%s\n' "$2" > "$fx/$1"; }
fx_tree() {
	# archer-ax55's sources (boards/archer-ax55.json), laid out as the kernel does
	fx_put sys/class/thermal/thermal_zone0/type cpu-thermal
	fx_put sys/class/thermal/thermal_zone0/temp 55200
	fx_put sys/class/hwmon/hwmon0/name tmp75
	fx_put sys/class/hwmon/hwmon0/temp1_input 42125
	fx_put sys/class/hwmon/hwmon1/name ina219
	fx_put sys/class/hwmon/hwmon1/in1_input 12010
	fx_put sys/class/hwmon/hwmon1/curr1_input 820
	fx_put sys/class/hwmon/hwmon1/in1_lcrit_alarm 0
	fx_put sys/class/hwmon/hwmon2/name pwmfan
	fx_put sys/class/hwmon/hwmon2/fan1_input 4100
	fx_put proc/stat "cpu 300 0 100 1600 0 0 0 0"
	FX_FILES=("$fx/sys/class/thermal/thermal_zone0/temp" "$fx/sys/class/hwmon/hwmon0/temp1_input"
		"$fx/sys/class/hwmon/hwmon1/in1_input" "$fx/sys/class/hwmon/hwmon1/curr1_input"
		"$fx/sys/class/hwmon/hwmon2/fan1_input" "$fx/sys/class/hwmon/hwmon1/in1_lcrit_alarm"
		"$fx/proc/stat")
}

# collectd.conf for period S: the table plugin reads the same files (its
# thermal and sensors plugins cannot be pointed at a fixture tree), the
# threshold plugin holds archer-ax55's limits, mqtt publishes to our broker.
collectd_conf() {
	local s=$1 f i=0 types=(temperature temperature voltage current fanspeed gauge gauge)
	{
		printf 'Hostname "bench"\nFQDNLookup false\nInterval %s\nBaseDir "%s"\nPIDFile "%s"\n' \
			"$s" "$work/collectd" "$work/collectd.pid"
		printf 'TypesDB "/usr/share/collectd/types.db"\n'
		printf 'LoadPlugin logfile\n<Plugin logfile>\n  LogLevel warning\n  File "%s"\n</Plugin>\n' "$work/collectd.log"
		printf 'LoadPlugin table\nLoadPlugin threshold\nLoadPlugin mqtt\n<Plugin table>\n'
		for f in "${FX_FILES[@]:0:6}"; do
			printf '  <Table "%s">\n    Instance "s%d"\n    Separator " \\n"\n' "$f" "$i"
			printf '    <Result>\n      Type "%s"\n      ValuesFrom 0\n    </Result>\n  </Table>\n' "${types[$i]}"
			i=$((i + 1))
		done
		# /proc/stat's cpu line: user, nice, system, idle
		printf '  <Table "%s">\n    Instance "cpu"\n    Separator " "\n' "$fx/proc/stat"
		printf '    <Result>\n      Type "cpu"\n      InstancesFrom 0\n      ValuesFrom 1\n    </Result>\n  </Table>\n'
		printf '</Plugin>\n<Plugin threshold>\n  <Plugin "table">\n'
		printf '    <Type "temperature">\n      WarningMax 85000\n      FailureMax 100000\n    </Type>\n'
		printf '    <Type "voltage">\n      FailureMin 11400\n      FailureMax 13200\n    </Type>\n'
		printf '    <Type "current">\n      FailureMax 2500\n    </Type>\n'
		printf '    <Type "fanspeed">\n      FailureMin 500\n    </Type>\n'
		printf '  </Plugin>\n</Plugin>\n'
		printf '<Plugin mqtt>\n  <Publish "bench">\n    Host "127.0.0.1"\n    Port "%s"\n' "$STACK_BROKER_PORT"
		printf '    ClientId "collectd-bench"\n    QoS 1\n    Prefix "collectd"\n  </Publish>\n</Plugin>\n'
	} > "$work/collectd.conf"
}

# One run at sampling period S: the three side by side, a warm-up, then a
# window. Appends "cpu_s_per_h pss_kb anon_kb" per program to $work/fp.NAME.S.
footprint_run() {
	local s=$1 pids=() names=(tpdiagd floor) p n c0=() c1 i
	sed "s/\"sample_period_s\": 1,/\"sample_period_s\": $s,/" boards/archer-ax55.json > "$work/product.json"
	rm -rf "$work/dev"
	"$STACK_BIN/tpdiagd" --id TPB0001 --product "$work/product.json" --board linux \
		--sysfs-root "$fx/sys" --broker "$STACK_BROKER_URL" --state-dir "$work/dev" \
		2> "$work/tpdiagd.log" &
	pids+=("$!")
	"$BB/floor" --broker "127.0.0.1:$STACK_BROKER_PORT" --period "$s" --publish 1 "${FX_FILES[@]}" &
	pids+=("$!")
	if [ -n "$COLLECTD" ]; then
		collectd_conf "$s"
		mkdir -p "$work/collectd"
		"$COLLECTD" -f -C "$work/collectd.conf" > /dev/null 2>&1 &
		pids+=("$!")
		names+=(collectd)
	fi
	STACK_PIDS+=("${pids[@]}")
	sleep 3
	for p in "${pids[@]}"; do c0+=("$(cpu_ns "$p")"); done
	sleep "$SECONDS_WIN"
	for i in "${!pids[@]}"; do
		p=${pids[$i]}
		n=${names[$i]}
		c1=$(cpu_ns "$p")
		if ! kill -0 "$p" 2>/dev/null; then
			echo "bench: $n died during the run" >&2
			continue
		fi
		awk -v a="${c0[$i]}" -v b="$c1" -v w="$SECONDS_WIN" -v pss="$(mem_kb "$p" Pss)" \
			-v anon="$(mem_kb "$p" Anonymous)" \
			'BEGIN { printf "%.4f %d %d\n", (b - a) / 1e9 * 3600 / w, pss, anon }' >> "$work/fp.$n.$s"
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

# Until the collector's stored counter reaches N (at most 60 s).
bench_wait_stored() {
	local i
	for i in $(seq 600); do
		[ "$(stack_stat stored)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

fp_med() { awk -v c="$3" '{ print $c }' "$work/fp.$1.$2" 2>/dev/null | median; }

stripped_kb() {
	local f out=0
	for f in "$@"; do
		cp "$f" "$work/strip.tmp" && strip "$work/strip.tmp" 2>/dev/null
		out=$((out + $(stat -c %s "$work/strip.tmp")))
	done
	awk -v b="$out" 'BEGIN { printf "%.1f", b / 1024 }'
}

section_footprint() {
	local s lbl ref
	COLLECTD=$(command -v collectd || echo /usr/sbin/collectd)
	[ -x "$COLLECTD" ] || COLLECTD=""
	[ -n "$COLLECTD" ] || echo "bench: collectd not installed (apt-get install collectd-core); its column is left out"
	fx_tree
	echo
	echo "== footprint: $REPS runs of ${SECONDS_WIN} s each, medians =="
	for s in 1 0.1; do
		for _ in $(seq "$REPS"); do footprint_run "$s"; done
	done
	row "" "tpdiagd" "reference" "ratio" "target"
	for s in 1 0.1; do
		lbl=$([ "$s" = 1 ] && echo "1 s" || echo "10 Hz")
		for ref in collectd floor; do
			[ -f "$work/fp.$ref.$s" ] || continue
			row "CPU s/hour, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 1)" "$(fp_med "$ref" "$s" 1)" \
				"$(ratio "$(fp_med tpdiagd "$s" 1)" "$(fp_med "$ref" "$s" 1)")" \
				"$([ "$ref" = collectd ] && echo '<= 0.33' || echo '<= 1.5')"
			row "Pss KiB, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 2)" "$(fp_med "$ref" "$s" 2)" \
				"$(ratio "$(fp_med tpdiagd "$s" 2)" "$(fp_med "$ref" "$s" 2)")" ""
			row "anonymous KiB, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 3)" "$(fp_med "$ref" "$s" 3)" \
				"$(ratio "$(fp_med tpdiagd "$s" 3)" "$(fp_med "$ref" "$s" 3)")" \
				"$([ "$ref" = floor ] && echo '<= 1.5' || echo '')"
		done
	done
	row "stripped KiB vs floor" "$(stripped_kb "$STACK_BIN/tpdiagd")" "$(stripped_kb "$BB/floor")" \
		"$(ratio "$(stripped_kb "$STACK_BIN/tpdiagd")" "$(stripped_kb "$BB/floor")")" "agent <= 150"
	if [ -n "$COLLECTD" ]; then
		local cd_files=("$COLLECTD" /usr/lib/collectd/table.so /usr/lib/collectd/threshold.so
			/usr/lib/collectd/mqtt.so /usr/lib/collectd/logfile.so)
		row "stripped KiB vs collectd (+4 plugins)" "$(stripped_kb "$STACK_BIN/tpdiagd")" \
			"$(stripped_kb "${cd_files[@]}")" \
			"$(ratio "$(stripped_kb "$STACK_BIN/tpdiagd")" "$(stripped_kb "${cd_files[@]}")")" ""
	fi
	echo "(shared libraries not counted on either side: libmosquitto, libcjson, mbedTLS for tpdiagd)"
}

# ---------------------------------------------------------------- latency
kv() { sed -n "s/^$1 //p" "$2"; }

section_latency() {
	local i f
	echo
	echo "== fault -> claim readable in the API: ${BENCH_LAT_DEVICES:-200} devices, $REPS runs, medians =="
	for i in $(seq "$REPS"); do
		stack_collector --subscribe exclusive || return 1
		"$BB/bench_load" latency --devices "${BENCH_LAT_DEVICES:-200}" --broker "$STACK_BROKER_URL" \
			--api "$STACK_API" --token "$STACK_TOKEN" > "$work/lat.$i" || echo "bench: latency run $i failed"
		stack_stop_collector
		rm -f "$work"/tpcollect.db*
	done
	row "" "p50 ms" "p99 ms" "faults" "target"
	row "sample over the limit -> claim in the API" \
		"$(for f in "$work"/lat.*; do kv latency_p50_ms "$f"; done | median)" \
		"$(for f in "$work"/lat.*; do kv latency_p99_ms "$f"; done | median)" \
		"$(kv faults "$work/lat.1")" "p99 <= 100"
}

# ---------------------------------------------------------------- ingest
# Messages a second between the first and the last of N, as seen by a
# plain mosquitto_sub on the same broker, and as stored by the collector.
section_ingest() {
	local i n t0 t1 sub_pid stored0 fleet=$work/fleet sub_rate col_rate
	echo
	echo "== collector ingest: $REPS runs, medians =="
	"$STACK_BIN/tpsim" --generate "$fleet" --devices "${BENCH_INGEST_DEVICES:-20}" --days "${BENCH_INGEST_DAYS:-5}" \
		--period 60 2> /dev/null || return 1
	"$STACK_BIN/tpsim" --traces "$fleet" --keys "$work/simkeys" --registry-out "$STACK_DIR/registry.csv" 2> /dev/null
	for i in $(seq "$REPS"); do
		rm -f "$work"/tpcollect.db*
		stack_collector --subscribe exclusive || return 1
		stored0=$(stack_stat stored)
		# the reference subscriber counts and timestamps what the broker delivers
		mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -t 'tp/v1/+/telemetry' -F '%U' \
			> "$work/sub.$i" 2> /dev/null &
		sub_pid=$!
		STACK_PIDS+=("$sub_pid")
		sleep 0.3
		t0=$(date +%s.%N)
		"$STACK_BIN/tpsim" --traces "$fleet" --keys "$work/simkeys" --broker "$STACK_BROKER_URL" \
			--epoch 1764000000 2> "$work/tpsim.$i"
		n=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$work/tpsim.$i")
		bench_wait_stored $((stored0 + n))
		t1=$(date +%s.%N)
		kill "$sub_pid"; wait "$sub_pid" 2>/dev/null
		sub_rate=$(awk 'NR == 1 { a = $1 } { b = $1; n++ } END { if (b > a) printf "%.0f", (n - 1) / (b - a); else print 0 }' "$work/sub.$i")
		col_rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
		echo "$sub_rate $col_rate $n $(( $(stack_stat stored) - stored0 )) $(stack_stat duplicates)" >> "$work/ingest"
		stack_stop_collector
	done
	local sub_med col_med
	sub_med=$(awk '{ print $1 }' "$work/ingest" | median)
	col_med=$(awk '{ print $2 }' "$work/ingest" | median)
	row "" "tpcollect" "reference" "ratio" "target"
	row "telemetry msg/s stored vs mosquitto_sub" "$col_med" "$sub_med" "$(ratio "$col_med" "$sub_med")" ">= 0.80"
	row "  published / stored / lost (last run)" "$(awk 'END { print $3 " / " $4 " / " $3 - $4 }' "$work/ingest")" "" "" "0 lost"

	stack_collector --subscribe exclusive || return 1
	"$BB/bench_load" signed --devices 10 --reports "${BENCH_SIGNED:-3000}" --broker "$STACK_BROKER_URL" \
		--api "$STACK_API" --token "$STACK_TOKEN" > "$work/signed" || { echo "bench: signed run failed"; return 0; }
	row "signed reports/s verified+stored vs raw verify/s" "$(kv ingest_signed_per_s "$work/signed")" \
		"$(kv raw_verify_per_s "$work/signed")" \
		"$(ratio "$(kv ingest_signed_per_s "$work/signed")" "$(kv raw_verify_per_s "$work/signed")")" ">= 0.90 per core"
	stack_stop_collector
}

# ---------------------------------------------------------------- scale
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

section_scale() {
	local n base after db_bytes rows
	echo
	echo "== collector scale: resident memory by devices (telemetry from each, one connection) =="
	row "" "RSS MiB" "B/device" "" "target"
	for n in ${BENCH_SCALE:-1000 10000 100000}; do
		rm -f "$work"/tpcollect.db*
		stack_collector --subscribe exclusive || return 1
		sleep 0.5
		base=$(rss_kb "$STACK_COLLECTOR_PID")
		"$BB/bench_load" scale --devices "$n" --per-device 2 --broker "$STACK_BROKER_URL" > /dev/null \
			|| { echo "bench: scale $n failed"; continue; }
		bench_wait_stored $((2 * n))
		after=$(rss_kb "$STACK_COLLECTOR_PID")
		row "$n devices" "$(awk -v a="$after" 'BEGIN { printf "%.1f", a / 1024 }')" \
			"$(awk -v a="$after" -v b="$base" -v n="$n" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')" "" "<= 2048"
		stack_stop_collector
	done
	db_bytes=$(du -cb "$work"/tpcollect.db* | tail -n 1 | cut -f1)
	rows=$(sqlite3 "$work/tpcollect.db" "select count(*) from reports where kind='telemetry'")
	row "database bytes per device-day (60 s telemetry)" \
		"$(awk -v b="$db_bytes" -v r="$rows" 'BEGIN { printf "%.0f", b / r * 1440 }')" "" "" ""
}

# ---------------------------------------------------------------- broker
# What mosquitto's defaults lose: the collector's persistent session is
# offline while N telemetry reports are published, then it comes back. With
# the defaults (max_queued_messages 1000) the broker drops the rest; with
# the settings of tools/lib/stack.sh (no queue limit) all N arrive.
section_broker() {
	local n=${BENCH_BROKER_MSGS:-5000} mode got
	echo
	echo "== broker settings: $n reports published while the collector is offline =="
	row "" "stored" "published" "lost" ""
	for mode in defaults tpdiag; do
		stack_cleanup
		rm -f "$work"/tpcollect.db* "$work"/mosquitto.db
		stack_broker || return 1
		if [ "$mode" = defaults ]; then
			sed -i '/^max_queued_messages/d; /^max_inflight_messages/d' "$STACK_DIR/mosquitto.conf"
			stack_stop_broker
			stack_start_broker_again || return 1
		fi
		stack_collector --subscribe exclusive || return 1
		stack_stop_collector
		"$BB/bench_load" scale --devices "$n" --per-device 1 --broker "$STACK_BROKER_URL" > /dev/null
		stack_collector --subscribe exclusive || return 1
		stack_wait_idle
		got=$(stack_stat stored)
		row "mosquitto $mode" "$got" "$n" "$((n - got))" \
			"$([ "$mode" = defaults ] && echo 'max_queued_messages 1000' || echo 'max_queued_messages 0, persistence')"
		stack_stop_collector
	done
}

# ---------------------------------------------------------------- main
stack_broker || exit 1
for section in ${BENCH_SECTIONS:-footprint latency ingest scale broker}; do
	if declare -F "section_$section" > /dev/null; then
		"section_$section"
	else
		echo "bench: no section $section (footprint, latency, ingest, scale, broker)" >&2
	fi
done
exit 0
