#!/usr/bin/env bash
# 13: tpsim's labelled fleet (README "The evaluation fleet": wear curves
# drawn from families, confounders on every device) through the real path
# (tpsim agents -> mosquitto -> tpcollect). First the generator's own
# contract: deterministic in its seed, the mixes differ, labels in their
# columns, each failure time a row of its trace that is over the limit. Then
# the replay: every report published is stored once, and the detection
# quality, asserted loosely (see QUALITY below) while the detectors are
# being rewritten.
. "$(dirname "$0")/../lib/check.sh"
check_stack
fleet=$CHECK_DIR/fleet
epoch=1764000000
gen=(--devices 10 --days 21 --period 300 --mix test --seed 7)

# QUALITY: thresholds to tighten as the detectors improve (issue 13 targets:
# predictive recall 95 %, before the first warning 80 %). Today's floor: no
# claim on a healthy device, every failing device claimed with its class
# before it fails; the forecast shares are only printed.
MAX_HEALTHY_CLAIMS=0
MIN_RECALL_PCT=100
MIN_PREDICTIVE_PCT=0
MIN_BEFORE_WARN_PCT=0

"$STACK_BIN/tpsim" --generate "$fleet" "${gen[@]}" 2> "$CHECK_DIR/gen.log"
check_eq "tpsim --generate exits 0" 0 $?
tail -n 1 "$CHECK_DIR/gen.log"
check_eq "a trace per device" 10 "$(ls "$fleet"/TPS*.csv | wc -l)"
check_eq "a label per device" 10 "$(($(wc -l < "$fleet/labels.csv") - 1))"
check_eq "labels: the 7 columns eval.sh reads, then the new 4" \
	"device,model,scenario,fails,class,code,fail_t_s,status,family,onset_t_s,first_warn_t_s" \
	"$(head -n 1 "$fleet/labels.csv")"
mesh=$(awk -F, '$2 == "deco-x50" { print $1; exit }' "$fleet/labels.csv")
check "traces name their model (a deco-x50 among them)" grep -q '^# model: deco-x50' "$fleet/$mesh.csv"
check "the fanless product's traces have no fan column" bash -c "! grep -q 'fan\\.' '$fleet/$mesh.csv'"
"$STACK_BIN/tpsim" --generate "$CHECK_DIR/again" "${gen[@]}" 2> /dev/null
check "the same seed writes the same fleet" bash -c "cd '$fleet' && for f in *.csv; do cmp -s \$f '$CHECK_DIR/again/'\$f || exit 1; done"
"$STACK_BIN/tpsim" --generate "$CHECK_DIR/tune" --devices 10 --days 21 --period 300 --mix tune --seed 7 2> /dev/null
check "another mix, same seed: another fleet" bash -c "! cmp -s '$fleet/labels.csv' '$CHECK_DIR/tune/labels.csv'"
"$STACK_BIN/tpsim" --generate "$CHECK_DIR/nomix" --mix bogus 2> /dev/null
check_eq "an unknown --mix is bad usage" 2 $?
check "fails is 0/1, status one of three, failing iff fails" bash -c "awk -F, 'NR > 1 && !((\$4 == 1 && \$8 == \"failing\") || (\$4 == 0 && (\$8 == \"healthy\" || \$8 == \"degrading\"))) { bad = 1 } END { exit bad }' '$fleet/labels.csv'"
check "wear devices name their curve family and onset" bash -c "awk -F, 'NR > 1 && \$8 != \"healthy\" && (\$9 !~ /^(linear|power|exponential|step_ramp)\$/ || \$10 == \"\") { bad = 1 } END { exit bad }' '$fleet/labels.csv'"
# each failure time is a row of its trace, over the limit the code names
# (archer-ax55 and deco-x50: temp.cpu crit 100 / 110, fan stall 500 rpm, vin min 11.4)
check "each fail_t_s is a trace row over its limit, after onset and first warning" bash -c "
while IFS=, read -r dev model sc fails cls code ft st fam on fw; do
	[ \"\$st\" = failing ] || continue
	crit=100; [ \"\$model\" = deco-x50 ] && crit=110
	awk -F, -v t=\"\$ft\" -v code=\"\$code\" -v crit=\$crit -v on=\"\$on\" -v fw=\"\$fw\" '
		/^t_s/ { for (i = 1; i <= NF; i++) col[\$i] = i; next }
		/^#/ { next }
		\$1 == t { found = 1
			cpu = \$col[\"temp.cpu\"]; v = \$col[\"volt.vin\"]; rpm = (\"fan.main\" in col) ? \$col[\"fan.main\"] : 9999
			ok = code == \"PWR_UNDERVOLT\" ? v < 11.4 : (cpu >= crit || (code == \"FAN_STALL\" && rpm < 500)) }
		END { exit !(found && ok && on + 0 < t + 0 && fw + 0 <= t + 0) }' '$fleet/'\$dev.csv || { echo \"  \$dev: \$code at \$ft?\"; exit 1; }
done < <(tail -n +2 '$fleet/labels.csv')"

# Bad input: a trace without a model, a device id that is not one.
mkdir -p "$CHECK_DIR/bad"
printf 't_s,temp.cpu\n0,50\n' > "$CHECK_DIR/bad/TPX1.csv"
out=$("$STACK_BIN/tpsim" --traces "$CHECK_DIR/bad" --registry-out "$CHECK_DIR/bad.csv" 2>&1)
check_eq "a trace without '# model:' is refused" 1 $?
check "... in one line naming the file" bash -c "[ \$(wc -l <<< '$out') = 1 ] && grep -q 'TPX1.csv' <<< '$out'"
"$STACK_BIN/tpsim" --traces "$CHECK_DIR/bad" 2> /dev/null
check_eq "--traces without --broker or --registry-out is bad usage" 2 $?

# The whole system (edge and fleet forecasts): what ships.
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --registry-out "$STACK_DIR/registry.csv" 2> /dev/null
check_eq "registry rows for the fleet" 10 "$(($(wc -l < "$STACK_DIR/registry.csv") - 1))"
stack_broker
stack_collector --subscribe exclusive
"$STACK_BIN/tpsim" --traces "$fleet" --keys "$CHECK_DIR/keys" --broker "$STACK_BROKER_URL" \
	--epoch "$epoch" 2> "$CHECK_DIR/tpsim.log"
check_eq "tpsim replays the fleet and exits 0" 0 $?
tail -n 1 "$CHECK_DIR/tpsim.log"
published=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$CHECK_DIR/tpsim.log")
check_eq "every published report stored once" "$published" "$(wait_db "select (select count(*) from reports) + (select count(*) from telemetry)" "$published")"
check_eq "nothing rejected" 0 "$(stack_stat rejected)"

sqlite3 -csv "$STACK_DIR/tpcollect.db" ".import '$fleet/labels.csv' labels"
failing=$(db "select count(*) from labels where status = 'failing'")
check "the fleet has failing devices of at least two kinds" [ "$(db "select count(distinct scenario) from labels where status = 'failing'")" -ge 2 ]
check "... and healthy ones" [ "$(db "select count(*) from labels where status = 'healthy'")" -ge 3 ]
healthy_claims=$(db "select count(*) from claims c join labels l on l.device = c.device where l.status = 'healthy'")
claimed=$(db "select count(*) from labels l where l.status = 'failing' and exists (select 1 from claims c where c.device = l.device and c.category = l.class and c.detected_ts < $epoch + l.fail_t_s)")
predicted=$(db "select count(*) from labels l where l.status = 'failing' and exists (select 1 from claims c join claim_faults cf on cf.claim_id = c.id where c.device = l.device and c.category = l.class and cf.code in ('TEMP_RISING', 'FAN_DEGRADED', 'PWR_DEGRADING') and cf.first_ts < $epoch + l.fail_t_s)")
before_warn=$(db "select count(*) from labels l where l.status = 'failing' and exists (select 1 from claims c join claim_faults cf on cf.claim_id = c.id where c.device = l.device and c.category = l.class and cf.code in ('TEMP_RISING', 'FAN_DEGRADED', 'PWR_DEGRADING') and cf.first_ts < $epoch + coalesce(nullif(l.first_warn_t_s, ''), l.fail_t_s))")
echo "  quality: $claimed of $failing failing devices claimed in time, $predicted by a forecast, $before_warn before the first warning; $healthy_claims claims on healthy devices"
# QUALITY assertions: loose on purpose, see the thresholds at the top.
check "claims on healthy devices <= $MAX_HEALTHY_CLAIMS" [ "$healthy_claims" -le "$MAX_HEALTHY_CLAIMS" ]
check "failing devices claimed with their class before failure >= $MIN_RECALL_PCT %" \
	[ $((100 * claimed)) -ge $((MIN_RECALL_PCT * failing)) ]
check "... by a forecast fault >= $MIN_PREDICTIVE_PCT %" [ $((100 * predicted)) -ge $((MIN_PREDICTIVE_PCT * failing)) ]
check "... before the first warning >= $MIN_BEFORE_WARN_PCT %" [ $((100 * before_warn)) -ge $((MIN_BEFORE_WARN_PCT * failing)) ]
check "a forecast claim gives its ETA and the fleet's numbers" bash -c \
	"'$STACK_BIN/tpclaim' --api '$STACK_API' list --json | grep -q 'forecasts'"
check_done
