#!/usr/bin/env bash
# bench.sh - `make bench`: how fast and how small, each figure beside a
# reference measured in the same run (the machine is shared and noisy, so
# only ratios of one run mean much). Each figure with a target is judged
# (ok / MISS); the script exits 1 when any target is missed, after printing
# every section. A benchmark, not part of `make test`.
#
#   tools/bench/bench.sh [BUILD]
#
#   BENCH_SECTIONS  which parts, in order (default "footprint latency ingest api scale broker")
#   BENCH_REPS      repeated runs per figure, the median is printed (default 3)
#   BENCH_SECONDS   footprint: measuring window per run (default 20)
#
# footprint  tpdiagd (linux board, sysfs fixture of an archer-ax55, 60 s
#            telemetry) beside collectd 5.12 (table plugin on the same files,
#            threshold, mqtt to the same broker) and the same-work floor
#            (tools/bench/floor.c: reads the files, aggregates, encodes JSON,
#            publishes every 60 s like the agent),
#            at 1 s and 10 Hz sampling: CPU seconds per hour (schedstat),
#            Pss and anonymous memory (smaps_rollup), stripped size.
# latency    bench_latency: sample crossing a limit -> claim readable in the
#            API, p50/p99 over many devices.
# ingest     a backlog of tpsim telemetry queued by the broker for an offline
#            persistent session, drained by tpcollect vs by mosquitto_sub -q 1
#            (each alone, order alternated, medians); stored = published;
#            signed fault reports vs mbedTLS's raw ECDSA P-256 verify rate.
# api        API latency on a database built with SQL (BENCH_API_DEVICES x
#            BENCH_API_ROWS telemetry rows, default 10k x 1000 = 10M, and
#            BENCH_API_CLAIMS claims, default 100k): telemetry?since= the
#            last hour and claims?device=, p50/p99 of BENCH_API_REQS each.
# scale      tpcollect's resident memory with 1k/10k/100k devices; database
#            bytes per device-day of telemetry, raw and after rollup.
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
# VALUE OP LIMIT ("<=" or ">="): "ok" or "MISS"; a miss is noted in
# $work/misses (judge runs in $(...), so a variable would not survive).
judge() {
	if awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v == "" || v == "-" || v == "nan") exit 1;
		exit !((op == "<=") ? v + 0 <= l + 0 : v + 0 >= l + 0) }'; then
		echo ok
	else
		echo "$*" >> "$work/misses"
		echo MISS
	fi
}
# row with a target: LABEL VALUE REFERENCE RATIO OP LIMIT [NOTE]; the judged
# figure is RATIO when there is one, else VALUE.
trow() {
	local fig=$4 v
	[ -n "$fig" ] && [ "$fig" != "-" ] || fig=$2
	v=$(judge "$fig" "$5" "$6")
	row "$1" "$2" "$3" "$4" "$5 $6 $v${7:+ $7}"
}

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
	"$BB/floor" --broker "127.0.0.1:$STACK_BROKER_PORT" --period "$s" --publish 60 "${FX_FILES[@]}" &
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
			trow "CPU s/hour, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 1)" "$(fp_med "$ref" "$s" 1)" \
				"$(ratio "$(fp_med tpdiagd "$s" 1)" "$(fp_med "$ref" "$s" 1)")" \
				"<=" "$([ "$ref" = collectd ] && echo 0.33 || echo 1.2)"
			row "Pss KiB, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 2)" "$(fp_med "$ref" "$s" 2)" \
				"$(ratio "$(fp_med tpdiagd "$s" 2)" "$(fp_med "$ref" "$s" 2)")" ""
			if [ "$ref" = floor ]; then
				trow "anonymous KiB, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 3)" "$(fp_med "$ref" "$s" 3)" \
					"$(ratio "$(fp_med tpdiagd "$s" 3)" "$(fp_med "$ref" "$s" 3)")" "<=" 1.5
			else
				row "anonymous KiB, $lbl, vs $ref" "$(fp_med tpdiagd "$s" 3)" "$(fp_med "$ref" "$s" 3)" \
					"$(ratio "$(fp_med tpdiagd "$s" 3)" "$(fp_med "$ref" "$s" 3)")" ""
			fi
		done
	done
	trow "stripped KiB (agent) vs floor" "$(stripped_kb "$STACK_BIN/tpdiagd")" "$(stripped_kb "$BB/floor")" \
		"" "<=" 150
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
		"$(kv faults "$work/lat.1")" \
		"p99 <= 100 $(judge "$(for f in "$work"/lat.*; do kv latency_p99_ms "$f"; done | median)" "<=" 100)"
}

# ---------------------------------------------------------------- ingest
# Backlog drain: N reports published while the subscriber's persistent
# session is offline (the broker queues them, tools/lib/stack.sh settings),
# then the subscriber comes back and drains them alone. The rate is from the
# first to the last message it took: tpcollect's stored counter, or
# mosquitto_sub -q 1's receive times.
bench_backlog() {   # publish the tpsim fleet once; prints the reports sent
	"$STACK_BIN/tpsim" --traces "$work/fleet" --keys "$work/simkeys" --broker "$STACK_BROKER_URL" \
		--epoch 1764000000 2> "$work/tpsim.log"
	sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$work/tpsim.log"
}

# tpcollect's drain time: from its start until every report is stored,
# less its start-up time with nothing queued (measured right after, with the
# same database and session), as its stored counter can only be read once
# its API is up - and by then it has been draining a while.
drain_collector() {   # -> "rate stored published"
	local n t0 t1 t2 t3 s i
	rm -f "$STACK_DIR"/tpcollect.db*
	stack_collector --subscribe exclusive --no-predict --client-id benchcol || return 1
	stack_stop_collector
	n=$(bench_backlog)
	t0=$(date +%s.%N)
	stack_collector --subscribe exclusive --no-predict --client-id benchcol || return 1
	for i in $(seq 2400); do
		[ "$(stack_stat stored)" -ge "$n" ] && break
		sleep 0.02
	done
	t1=$(date +%s.%N)
	s=$(stack_stat stored)
	stack_stop_collector
	t2=$(date +%s.%N)
	stack_collector --subscribe exclusive --no-predict --client-id benchcol || return 1
	stack_stat stored > /dev/null
	t3=$(date +%s.%N)
	stack_stop_collector
	awk -v n="$s" -v p="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
		'BEGIN { t = (b - a) - (d - c); printf "%.0f %d %d\n", (t > 0 ? n / t : 0), n, p }'
}

drain_sub() {   # -> "rate received published"
	local n
	timeout 5 mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -c -i benchsub -t 'tp/v1/+/+' \
		-W 1 > /dev/null 2>&1
	n=$(bench_backlog)
	timeout 120 mosquitto_sub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -c -i benchsub -t 'tp/v1/+/+' \
		-C "$n" -F '%U' > "$work/sub.out" 2> /dev/null
	awk -v p="$n" 'NR == 1 { a = $1 } { b = $1; k++ } END { printf "%.0f %d %d\n", (b > a ? (k - 1) / (b - a) : 0), k, p }' \
		"$work/sub.out"
}

# The tpsim fleet the ingest and size figures replay (generated once).
bench_fleet() {
	[ -d "$work/fleet" ] && return 0
	"$STACK_BIN/tpsim" --generate "$work/fleet" --devices "${BENCH_INGEST_DEVICES:-20}" \
		--days "${BENCH_INGEST_DAYS:-5}" --period 60 2> /dev/null || return 1
	"$STACK_BIN/tpsim" --traces "$work/fleet" --keys "$work/simkeys" \
		--registry-out "$STACK_DIR/registry.csv" 2> /dev/null
}

section_ingest() {
	local i sub_med col_med
	echo
	echo "== collector ingest: backlog drain, each alone, order alternated, $REPS runs, medians =="
	bench_fleet || return 1
	: > "$work/drain.col"
	: > "$work/drain.sub"
	for i in $(seq "$REPS"); do
		if [ $((i % 2)) = 1 ]; then
			drain_collector >> "$work/drain.col"
			drain_sub >> "$work/drain.sub"
		else
			drain_sub >> "$work/drain.sub"
			drain_collector >> "$work/drain.col"
		fi
	done
	col_med=$(awk '{ print $1 }' "$work/drain.col" | median)
	sub_med=$(awk '{ print $1 }' "$work/drain.sub" | median)
	row "" "tpcollect" "reference" "ratio" "target"
	trow "backlog msg/s drained vs mosquitto_sub -q 1" "$col_med" "$sub_med" "$(ratio "$col_med" "$sub_med")" ">=" 0.80
	trow "  stored = published, worst run (lost)" \
		"$(awk '{ l = $3 - $2; if (l > m) m = l } END { print m + 0 }' "$work/drain.col")" "" "" "<=" 0 \
		"($(awk 'END { print $2 " of " $3 }' "$work/drain.col") last run)"

	stack_collector --subscribe exclusive || return 1
	"$BB/bench_load" signed --devices 10 --reports "${BENCH_SIGNED:-3000}" --broker "$STACK_BROKER_URL" \
		--api "$STACK_API" --token "$STACK_TOKEN" > "$work/signed" || { echo "bench: signed run failed"; return 0; }
	trow "signed reports/s verified+stored vs raw verify/s" "$(kv ingest_signed_per_s "$work/signed")" \
		"$(kv raw_verify_per_s "$work/signed")" \
		"$(ratio "$(kv ingest_signed_per_s "$work/signed")" "$(kv raw_verify_per_s "$work/signed")")" ">=" 0.90 "per core"
	stack_stop_collector
}

# ---------------------------------------------------------------- api
# p50 and p99 in ms of curl's time_total over a list of URLs (one
# connection, so the HTTP handshake is not what is timed).
api_times() {
	local args=() u
	for u in "$@"; do args+=(-o /dev/null "$u"); done
	curl -s -H "Authorization: Bearer $STACK_TOKEN" -w '%{time_total}\n' "${args[@]}" |
		awk '{ print $1 * 1000 }' | sort -g |
		awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.5); if (i < 1) i = 1; printf "%.2f %.2f\n", a[int((NR + 1) / 2)], a[i] }'
}

section_api() {
	local devs=${BENCH_API_DEVICES:-10000} per=${BENCH_API_ROWS:-1000} claims=${BENCH_API_CLAIMS:-100000}
	local reqs=${BENCH_API_REQS:-300} now db=$STACK_DIR/tpcollect.db t0 t1 urls=() i d lat
	echo
	echo "== API latency: $devs devices x $per telemetry rows ($((devs * per)) rows), $claims claims =="
	now=$(date +%s)
	rm -f "$db"*
	# one real report gives the template row (layout and values) the SQL copies
	stack_collector --subscribe exclusive --no-predict --client-id benchapi || return 1
	"$BB/bench_load" scale --devices 1 --per-device 1 --broker "$STACK_BROKER_URL" > /dev/null
	bench_wait_stored 1
	stack_stop_collector
	t0=$(date +%s.%N)
	sqlite3 "$db" > /dev/null <<-SQL || { echo "bench: building the database failed"; return 0; }
		PRAGMA synchronous = OFF;
		BEGIN;
		CREATE TEMP TABLE tpl AS SELECT layout, data FROM telemetry LIMIT 1;
		WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < $devs)
		  INSERT INTO names (name) SELECT printf('TPX%06d', i) FROM d;
		INSERT INTO devices (id, model, last_seen) SELECT name, 'archer-ax55', $now FROM names
		  WHERE name LIKE 'TPX%';
		WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $per)
		  INSERT INTO telemetry (dev_id, seq, ts, layout, data)
		  SELECT n.id, s.i, $now - ($per - s.i) * 60, tpl.layout, tpl.data
		  FROM names n, s, tpl WHERE n.name LIKE 'TPX%' ORDER BY n.id, s.i;
		WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $claims - 1)
		  INSERT INTO claims (device, model, category, state, opened_at, title, description)
		  SELECT printf('TPX%06d', i % $devs + 1), 'archer-ax55',
		    CASE WHEN i / $devs % 2 THEN 'power' ELSE 'thermal' END,
		    CASE WHEN i < $devs THEN 'open' ELSE 'closed' END,
		    strftime('%Y-%m-%dT%H:%M:%SZ', $now - ($claims - i) * 30, 'unixepoch'), 'bench', 'bench'
		  FROM c;
		COMMIT;
		ANALYZE;
	SQL
	t1=$(date +%s.%N)
	echo "(built in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s with SQL;" \
		"$(sqlite3 "$db" 'select count(*) from telemetry') telemetry rows," \
		"$(sqlite3 "$db" 'select count(*) from claims') claims)"
	stack_collector --subscribe exclusive --no-predict --client-id benchapi || return 1
	for i in $(seq "$reqs"); do
		d=$(printf 'TPX%06d' $(( (i * 7919) % devs + 1 )))
		urls+=("$STACK_API/api/v1/devices/$d/telemetry?since=$((now - 3600))")
	done
	row "" "p50 ms" "p99 ms" "" "target"
	lat=$(api_times "${urls[@]}")
	row "telemetry?since=last hour, $((devs * per / 1000000))M rows" "${lat% *}" "${lat#* }" "" \
		"p99 <= 20 $(judge "${lat#* }" "<=" 20)"
	urls=()
	for i in $(seq "$reqs"); do
		d=$(printf 'TPX%06d' $(( (i * 7919) % devs + 1 )))
		urls+=("$STACK_API/api/v1/claims?device=$d")
	done
	lat=$(api_times "${urls[@]}")
	row "claims?device=, $claims claims" "${lat% *}" "${lat#* }" "" \
		"p99 <= 20 $(judge "${lat#* }" "<=" 20)"
	lat=$(api_times $(for i in $(seq 50); do echo "$STACK_API/api/v1/claims?state=closed&limit=100"; done))
	row "claims?state=closed&limit=100 (with total)" "${lat% *}" "${lat#* }" "" ""
	stack_stop_collector
	rm -f "$db"*
}

# ---------------------------------------------------------------- scale
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

per_device() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }'; }

# Resident memory per device while the devices report and once they have
# gone quiet: the fleet engine keeps a reporting device's forecast in
# memory (about 5 KB) and moves an idle one's to the database
# (--forecast-idle, here 2 s; the default is 1 h), which is what a large
# fleet, mostly quiet at any hour, needs of it.
section_scale() {
	local n base active idle first_n="" first_idle="" last_n="" last_idle=""
	echo
	echo "== collector scale: resident memory by devices (telemetry from each, one connection) =="
	row "" "RSS MiB" "B/device" "" "target"
	for n in ${BENCH_SCALE:-1000 10000 100000}; do
		rm -f "$work"/tpcollect.db*
		stack_collector --subscribe exclusive --forecast-idle 2s || return 1
		sleep 0.5
		base=$(rss_kb "$STACK_COLLECTOR_PID")
		"$BB/bench_load" scale --devices "$n" --per-device 2 --broker "$STACK_BROKER_URL" > /dev/null \
			|| { echo "bench: scale $n failed"; continue; }
		bench_wait_stored $((2 * n))
		active=$(rss_kb "$STACK_COLLECTOR_PID")
		row "$n devices reporting" "$(awk -v a="$active" 'BEGIN { printf "%.1f", a / 1024 }')" \
			"$(per_device "$active" "$base" "$n")" "" ""
		# idle after 2 s; evicted 1024 a tick (200 ms)
		sleep "$(awk -v n="$n" 'BEGIN { printf "%.1f", 3 + n / 5000 }')"
		idle=$(rss_kb "$STACK_COLLECTOR_PID")
		row "$n devices idle" "$(awk -v a="$idle" 'BEGIN { printf "%.1f", a / 1024 }')" \
			"$(per_device "$idle" "$base" "$n")" "" ""
		[ -n "$first_n" ] || { first_n=$n; first_idle=$idle; }
		last_n=$n last_idle=$idle
		stack_stop_collector
	done
	# what one more idle device costs, beside the fixed part (SQLite's page
	# cache, about 2 MiB, is most of the 1k figure)
	if [ -n "$first_n" ] && [ "$last_n" != "$first_n" ]; then
		local marginal
		marginal=$(awk -v a="$last_idle" -v b="$first_idle" -v n="$last_n" -v m="$first_n" \
			'BEGIN { printf "%.0f", (a - b) * 1024 / (n - m) }')
		row "each idle device, $first_n -> $last_n" "" "$marginal" "" \
			"<= 1024 $(judge "$marginal" "<=" 1024)"
	fi
	bench_db_size
}

# Bytes per device-day of 60 s telemetry: raw rows (table and index pages,
# dbstat) and the rollups made of them. bench_load's reports are of now, so
# the rollups are made here by a collector run at a clock two hours on.
bench_db_size() {
	local db=$STACK_DIR/tpcollect.db
	bench_fleet || return 1
	rm -f "$db"*
	stack_collector --subscribe exclusive --no-predict --client-id benchdb || return 1
	"$STACK_BIN/tpsim" --traces "$work/fleet" --keys "$work/simkeys" --broker "$STACK_BROKER_URL" \
		--epoch 1764000000 2> /dev/null
	stack_wait_idle
	stack_stop_collector
	local raw rows days hour
	rows=$(sqlite3 "$db" "select count(*) from telemetry")
	raw=$(sqlite3 "$db" "select sum(pgsize) from dbstat where name in ('telemetry', 'telemetry_ts')")
	# the rollups: a collector whose retention deletes all raw rows of 2025
	stack_collector --subscribe exclusive --no-predict --client-id benchdb --raw-days 30 || return 1
	for _ in $(seq 600); do
		[ "$(sqlite3 "$db" "select count(*) from telemetry")" = 0 ] && break
		sleep 0.2
	done
	stack_stop_collector
	days=$(awk -v r="$rows" 'BEGIN { printf "%.4f", r / 1440 }')
	hour=$(sqlite3 "$db" "select sum(pgsize) from dbstat where name in ('telemetry_hour', 'telemetry_day', 'rollup_mark')")
	local raw_dd roll_dd
	raw_dd=$(awk -v b="$raw" -v d="$days" 'BEGIN { printf "%.1f", b / d / 1024 }')
	roll_dd=$(awk -v b="$hour" -v d="$days" 'BEGIN { printf "%.2f", b / d / 1024 }')
	row "KB per device-day, 60 s telemetry" "raw" "rollups" "" ""
	trow "  raw rows + rollups (30 d raw)" "$(awk -v a="$raw_dd" -v b="$roll_dd" 'BEGIN { printf "%.1f", a + b }')" "" "" "<=" 100 "($rows rows)"
	trow "  after rollup (hourly + daily)" "$roll_dd" "" "" "<=" 5
}

# ---------------------------------------------------------------- scale-out
# Several collectors on one PostgreSQL database (issue 16), on a private
# server (tests/lib/pg.sh). For k = 1, 2, 3 ingest collectors: a fresh
# database, their sessions made, the tpsim fleet published while they are
# offline (the shared subscription deals it out among them as it comes),
# then all k start at once and drain it; the rate is from their start until
# every report is stored. PostgreSQL's CPU is its processes' user + system
# time over the drain, per second of it. Then fault -> claim latency with 3
# collectors (bench_load asks the first one's API). On this machine the
# collectors, the server, the broker and the load share 2 cores.
pg_cpu_s() {   # user + system seconds of the server and its backends
	local p s=0 t
	for p in "$PG_PID" $(pgrep -P "$PG_PID"); do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		s=$((s + ${t:-0}))
	done
	awk -v t="$s" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", t / hz }'
}
procs_cpu_s() {   # PID...: their user + system seconds
	local p s=0 t
	for p in "$@"; do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		s=$((s + ${t:-0}))
	done
	awk -v t="$s" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", t / hz }'
}
machine_busy_s() {   # seconds of all cores not idle (nor waiting on I/O)
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}
# Client ids benchpg-1..N, the same in every run: a session of an earlier
# run left offline would keep its share of the next backlog (a stranded
# share, README "Deployment notes").
scale_start() {   # N DBURL TAG: N ingest collectors -> pids in scale_pids
	local i log
	scale_pids=()
	for i in $(seq "$1"); do
		log="$work/scale.$3.$i.log"
		"$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "$2" --listen 127.0.0.1:0 \
			--registry "$STACK_DIR/registry.csv" --policy "$STACK_POLICY" --tokens "$STACK_DIR/tokens" \
			--client-id "benchpg-$i" --role ingest --raw-days 0 > "$log" 2>&1 &
		scale_pids+=($!)
	done
	for i in $(seq "$1"); do
		for _ in $(seq 300); do grep -q "listening on" "$work/scale.$3.$i.log" && break; sleep 0.05; done
	done
}
scale_stop() { local p; for p in "${scale_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
section_pgscale() {
	local k n url t0 t1 c0 c1 m0 m1 b0 b1 w got rate one=0 lat
	echo
	echo "== several collectors on PostgreSQL: backlog drain by k ingest collectors =="
	bench_fleet || return 1
	. tests/lib/pg.sh
	pg_tmp=$(mktemp -d /tmp/tpdiag-pg.XXXXXX)
	pg_start "$pg_tmp" > "$work/pg.log" 2>&1 || { echo "bench: no PostgreSQL server"; cat "$work/pg.log"; return 1; }
	row "collectors" "msg/s" "vs 1" "PG cores" "stored / published; cores busy: collectors, broker, machine"
	for k in 1 2 3; do
		createdb -h "$PG_SOCK" -p "$PG_PORT" -U tpdiag "bench$k"
		url="postgresql://tpdiag@127.0.0.1:$PG_PORT/bench$k"
		scale_start "$k" "$url" "$k"
		scale_stop
		n=$(bench_backlog)
		c0=$(pg_cpu_s)
		m0=$(machine_busy_s)
		b0=$(procs_cpu_s "$STACK_BROKER_PID")
		t0=$(date +%s.%N)
		scale_start "$k" "$url" "$k"
		for _ in $(seq 6000); do
			got=$(psql -X -tAq "$url" -c "select (select count(*) from reports) + (select count(*) from telemetry)")
			[ "${got:-0}" -ge "$n" ] && break
			sleep 0.1
		done
		t1=$(date +%s.%N)
		c1=$(pg_cpu_s)
		m1=$(machine_busy_s)
		b1=$(procs_cpu_s "$STACK_BROKER_PID")
		w=$(procs_cpu_s "${scale_pids[@]}")   # their whole life: the drain and start-up
		scale_stop
		rate=$(awk -v n="$got" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
		[ "$k" = 1 ] && one=$rate
		row "  $k" "$rate" "$(ratio "$rate" "$one")" \
			"$(awk -v a="$c0" -v b="$c1" -v x="$t0" -v y="$t1" 'BEGIN { printf "%.2f", (b - a) / (y - x) }')" \
			"$got / $n; $(awk -v w="$w" -v b0="$b0" -v b1="$b1" -v m0="$m0" -v m1="$m1" \
				-v x="$t0" -v y="$t1" -v n="$(nproc)" 'BEGIN { d = y - x;
				printf "%.2f, %.2f, %.2f of %d", w / d, (b1 - b0) / d, (m1 - m0) / d, n }')"
		[ "$got" = "$n" ] || echo "section scale: $k collectors stored $got of $n" >> "$work/misses"
	done
	trow "3 collectors' drain vs 1's" "$rate" "$one" "$(ratio "$rate" "$one")" ">=" 2.00 \
		"(2 cores shared with the server, broker and tpsim)"
	createdb -h "$PG_SOCK" -p "$PG_PORT" -U tpdiag benchlat
	url="postgresql://tpdiag@127.0.0.1:$PG_PORT/benchlat"
	scale_start 3 "$url" lat
	lat=$(sed -n 's/.*listening on \(.*\)$/\1/p' "$work/scale.lat.1.log" | tail -n 1)
	"$BB/bench_load" latency --devices "${BENCH_LAT_DEVICES:-200}" --broker "$STACK_BROKER_URL" \
		--api "http://$lat" --token "$STACK_TOKEN" > "$work/lat.pg" || echo "bench: latency run on PostgreSQL failed"
	scale_stop
	row "" "p50 ms" "p99 ms" "faults" "target"
	row "fault -> claim in the API, 3 collectors" "$(kv latency_p50_ms "$work/lat.pg")" \
		"$(kv latency_p99_ms "$work/lat.pg")" "$(kv faults "$work/lat.pg")" \
		"p99 <= 100 $(judge "$(kv latency_p99_ms "$work/lat.pg")" "<=" 100)"
	pg_stop
	rm -rf "$pg_tmp"
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
for section in ${BENCH_SECTIONS:-footprint latency ingest api scale broker pgscale}; do
	if declare -F "section_$section" > /dev/null; then
		"section_$section"
	else
		echo "bench: no section $section (footprint, latency, ingest, api, scale, broker, pgscale)" >&2
		echo "section $section" >> "$work/misses"
	fi
done
echo
if [ -s "$work/misses" ]; then
	echo "bench: $(wc -l < "$work/misses") target(s) missed ($(date -u +%Y-%m-%d))"
	exit 1
fi
echo "bench: every target met ($(date -u +%Y-%m-%d))"
exit 0
