#!/usr/bin/env bash
# 13: tpsim's labelled fleet through the real path (tpsim agents -> mosquitto
# -> tpcollect's fleet engine). The agents raise no predictive faults of
# their own (--no-edge-predict), so every early claim is the collector's:
# each failing device is claimed with the right class before it fails, no
# healthy device (daily rhythm, heat wave, heavy week, grid dip, glitches)
# gets any claim, and every report published is stored once.
. "$(dirname "$0")/../lib/check.sh"
check_stack
fleet=$CHECK_DIR/fleet
epoch=1764000000

"$STACK_BIN/tpsim" --generate "$fleet" --devices 10 --days 30 --seed 7 2> "$CHECK_DIR/gen.log"
check_eq "tpsim --generate exits 0" 0 $?
check_eq "a trace per device" 10 "$(ls "$fleet"/TPS*.csv | wc -l)"
check_eq "a label per device" 10 "$(($(wc -l < "$fleet/labels.csv") - 1))"
check "traces name their model" grep -q '^# model: deco-x50' "$fleet/TPS00003.csv"
"$STACK_BIN/tpsim" --generate "$CHECK_DIR/again" --devices 10 --days 30 --seed 7 2> /dev/null
check "the same seed writes the same fleet" cmp -s "$fleet/TPS00004.csv" "$CHECK_DIR/again/TPS00004.csv"

# Bad input: a trace without a model, a device id that is not one.
mkdir -p "$CHECK_DIR/bad"
printf 't_s,temp.cpu\n0,50\n' > "$CHECK_DIR/bad/TPX1.csv"
out=$("$STACK_BIN/tpsim" --traces "$CHECK_DIR/bad" --registry-out "$CHECK_DIR/bad.csv" 2>&1)
check_eq "a trace without '# model:' is refused" 1 $?
check "... in one line naming the file" bash -c "[ \$(wc -l <<< '$out') = 1 ] && grep -q 'TPX1.csv' <<< '$out'"
"$STACK_BIN/tpsim" --traces "$CHECK_DIR/bad" 2> /dev/null
check_eq "--traces without --broker or --registry-out is bad usage" 2 $?

"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --registry-out "$STACK_DIR/registry.csv" 2> /dev/null
check_eq "registry rows for the fleet" 10 "$(($(wc -l < "$STACK_DIR/registry.csv") - 1))"
stack_broker
stack_collector --subscribe exclusive
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --broker "$STACK_BROKER_URL" \
	--epoch "$epoch" --no-edge-predict 2> "$CHECK_DIR/tpsim.log"
check_eq "tpsim replays the fleet and exits 0" 0 $?
tail -n 1 "$CHECK_DIR/tpsim.log"
published=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$CHECK_DIR/tpsim.log")
check_eq "every published report stored once" "$published" "$(wait_db "select count(*) from reports" "$published")"
check_eq "nothing rejected" 0 "$(stack_stat rejected)"
check_eq "no predictive fault came from a device" 0 \
	"$(db "select count(*) from reports where kind='fault' and body like '%\"predictive\":true%'")"

sqlite3 -csv "$STACK_DIR/tpcollect.db" ".import '$fleet/labels.csv' labels"
check_eq "no claim on a healthy device" 0 "$(db "select count(*) from claims c join labels l on l.device = c.device where l.fails = '0'")"
failing=$(db "select count(*) from labels where fails = '1' and fail_t_s != ''")
check "the fleet has failing devices of each kind" [ "$(db "select count(distinct scenario) from labels where fails = '1' and fail_t_s != ''")" = 3 ]
check_eq "each failing device claimed with its class before it failed" "$failing" \
	"$(db "select count(*) from labels l where l.fails = '1' and l.fail_t_s != '' and exists (select 1 from claims c where c.device = l.device and c.category = l.class and c.detected_ts < $epoch + l.fail_t_s)")"
check_eq "each failing device's claim carries the collector's forecast" "$failing" \
	"$(db "select count(distinct c.device) from claims c join claim_faults cf on cf.claim_id = c.id join labels l on l.device = c.device where l.fails = '1' and cf.code in ('TEMP_RISING', 'FAN_DEGRADED', 'PWR_DEGRADING')")"
check "most of them opened by the forecast" [ "$(stack_stat predicted_claims)" -ge 3 ]
check "a forecast claim gives its ETA and the fleet's numbers" bash -c \
	"'$STACK_BIN/tpclaim' --api '$STACK_API' list --json | grep -q 'forecasts'"
check_done
