#!/usr/bin/env bash
# eval.sh - how early and how accurately the whole system calls failures
# (make eval). A labelled fleet is replayed through the real path: tpsim
# (the agent core per device) -> mosquitto -> tpcollect (ingest, claims, the
# fleet engine) -> SQLite; then the claims are scored against the labels.
#
#   tools/eval.sh [BUILD] [FLEET_DIR]
#
# Tuning and testing are kept apart. Without FLEET_DIR two fleets are
# generated (README "The evaluation fleet"):
#   the tuning set  seeds EVAL_TUNE_SEEDS ("1 2"), --mix tune: what detectors
#                   may be tuned on; scored once, totals only
#   the test set    seeds EVAL_TEST_SEEDS ("101 102"), --mix test: other
#                   proportions of wear curves, confounders, products and
#                   periods, not only other seeds; the figures that count
# each set EVAL_DEVICES (24) devices (split over its seeds) x EVAL_DAYS (30) days, row periods
# drawn per device but not below EVAL_PERIOD_MIN (30 s, for replay time).
# With FLEET_DIR that folder is the test set and there is no tuning set: any
# folder of SPEC §5 traces (ID.csv, "# model: NAME") with a labels.csv
# "device,model,scenario,fails,class,code,fail_t_s" (fails 0/1; class the
# claim category a failure belongs to; fail_t_s seconds after the trace
# start) and optionally "status,family,onset_t_s,first_warn_t_s" after it.
#
# On the test set, per mode of EVAL_MODES ("system collector": the whole
# system, then the collector's fleet engine alone with the agents raising
# limit faults only), a table per scenario at the default threshold; then a
# curve over the forecasts' decision threshold, whole system: one line per H
# of EVAL_THRESHOLDS ("3 4 6 8 12"), tpsim and tpcollect both run with
# --predict-threshold H. EVAL_THRESHOLDS="" skips the curve.
#
# Scores (failing = the device fails within its trace):
#   recall           failing devices with a claim of the right class before failure
#   predictive       ... whose claim carries TEMP_RISING, FAN_DEGRADED or PWR_DEGRADING
#                    (that fault's first time before the failure)
#   before warn      ... predictive, and before the first warning limit was crossed
#   false claims     any claim on a healthy device, or of another class on a
#                    failing or degrading one; per 100 healthy device-months
#   early calls      claims of the right class on degrading devices (wear began,
#                    no failure within the trace): not false, counted apart
#   lead             failure time minus the first right-class claim, days
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
FLEET=${2:-}
. tools/lib/stack.sh
work=$(mktemp -d /tmp/tpdiag-eval.XXXXXX)
# EVAL_KEEP=1 keeps the work folder (each replay's tpcollect.db, logs,
# scored.txt) for a look at which claim was counted how.
if [ -n "${EVAL_KEEP:-}" ]; then
	trap 'stack_cleanup; echo "eval: work folder kept: $work"' EXIT
else
	trap 'stack_cleanup; rm -rf "$work"' EXIT
fi
epoch=1764000000
devices=${EVAL_DEVICES:-24}
days=${EVAL_DAYS:-30}
thresholds=${EVAL_THRESHOLDS-3 4 6 8 12}
[ -x "$BUILD/tpsim" ] || { echo "eval: $BUILD/tpsim is missing (make first)" >&2; exit 1; }
t0=$(date +%s)
mkdir -p "$work/keys"

# eval_gen NAME MIX SEEDS: one folder of the seeds' fleets, device ids
# prefixed with the seed so the fleets do not collide.
eval_gen() {
	local dir=$work/$1 mix=$2 seed f id per
	shift 2
	per=$(( (devices + $# - 1) / $# ))
	mkdir -p "$dir"
	printf 'device,model,scenario,fails,class,code,fail_t_s,status,family,onset_t_s,first_warn_t_s\n' \
		> "$dir/labels.csv"
	for seed in "$@"; do
		"$BUILD/tpsim" --generate "$dir/g$seed" --devices "$per" --days "$days" \
			--seed "$seed" --mix "$mix" --period-min "${EVAL_PERIOD_MIN:-30}" 2> "$dir/gen-$seed.log" ||
			{ cat "$dir/gen-$seed.log" >&2; return 1; }
		tail -n 1 "$dir/gen-$seed.log" | sed 's/^/eval: /'
		for f in "$dir/g$seed"/TPS*.csv; do
			id=$(basename "$f" .csv)
			mv "$f" "$dir/S$seed-$id.csv"
		done
		tail -n +2 "$dir/g$seed/labels.csv" | sed "s/^/S$seed-/" >> "$dir/labels.csv"
		rm -rf "$dir/g$seed"
	done
}

# eval_replay FLEET OUT [TPSIM_ARGS] [-- TPCOLLECT_ARGS]: a fresh broker,
# collector and database, the replay; leaves OUT/scored.txt, one line per
# device (see eval_score).
eval_replay() {
	local fleet=$1 dir=$2 start db sargs=() cargs=() cols pub
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	cargs=("$@")
	stack_cleanup
	stack_init "$dir"
	"$STACK_BIN/tpsim" --traces "$fleet" --keys "$work/keys/$(basename "$fleet")" --registry-out "$dir/registry.csv" \
		2> /dev/null || return 1
	stack_broker || return 1
	stack_collector --subscribe exclusive ${cargs[@]+"${cargs[@]}"} || return 1
	start=$(date +%s)
	"$STACK_BIN/tpsim" --traces "$fleet" --keys "$work/keys/$(basename "$fleet")" --broker "$STACK_BROKER_URL" \
		--epoch "$epoch" ${sargs[@]+"${sargs[@]}"} 2> "$dir/tpsim.log" ||
		{ tail -n 5 "$dir/tpsim.log"; return 1; }
	pub=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$dir/tpsim.log")
	stack_wait_stored "${pub:-0}" || stack_wait_idle
	echo "eval: replay and ingest $(( $(date +%s) - start )) s: $pub reports published, $(stack_stat stored) stored, $(stack_stat claims_opened) claims ($(stack_stat predicted_claims) opened by the fleet forecast)"
	# every report the agents made must be stored: a gap is a bug (a
	# rejection or a loss), and the scores below would be of the rest
	if [ "$pub" != "$(stack_stat stored)" ]; then
		echo "eval: WARNING: $(( pub - $(stack_stat stored) )) reports not stored ($(stack_stat rejected) rejected, $(stack_stat duplicates) duplicates); first lines of tpcollect.log:" >&2
		grep -m 3 -E 'rejected|cannot' "$dir/tpcollect.log" >&2
	fi
	stack_cleanup
	db="$dir/tpcollect.db"
	sqlite3 "$db" "DROP TABLE IF EXISTS labels;" || return 1
	sqlite3 -csv "$db" ".import '$fleet/labels.csv' labels" || return 1
	# the old 7-column labels: status from fails, fail_t_s and class (a class
	# without a failure in the trace is wear that outlasts it), no warning times
	cols=$(sqlite3 "$db" "SELECT group_concat(name, ' ') FROM pragma_table_info('labels')")
	case " $cols " in
	*" status "*) ;;
	*) sqlite3 "$db" "ALTER TABLE labels ADD COLUMN status TEXT;
ALTER TABLE labels ADD COLUMN first_warn_t_s TEXT DEFAULT '';
UPDATE labels SET status = CASE WHEN fails = '1' AND fail_t_s != '' THEN 'failing'
  WHEN fails = '1' OR class != '' THEN 'degrading' ELSE 'healthy' END;" || return 1 ;;
	esac
	sqlite3 -separator ' ' "$db" "
WITH pred AS (SELECT c.device, c.category, min(cf.first_ts) AS ts FROM claims c
              JOIN claim_faults cf ON cf.claim_id = c.id
              WHERE cf.code IN ('TEMP_RISING', 'FAN_DEGRADED', 'PWR_DEGRADING')
              GROUP BY c.device, c.category)
SELECT l.device, l.scenario, l.status, coalesce(nullif(l.fail_t_s, ''), '-'),
  coalesce(nullif(l.first_warn_t_s, ''), nullif(l.fail_t_s, ''), '-'),
  coalesce((SELECT min(c.detected_ts) FROM claims c WHERE c.device = l.device
            AND c.category = l.class AND l.status = 'failing'
            AND c.detected_ts < $epoch + l.fail_t_s), '-'),
  coalesce((SELECT p.ts FROM pred p WHERE p.device = l.device AND p.category = l.class
            AND l.status = 'failing' AND p.ts < $epoch + l.fail_t_s), '-'),
  (SELECT count(*) FROM claims c WHERE c.device = l.device
            AND (l.status NOT IN ('failing', 'degrading') OR c.category != l.class)),
  (SELECT count(*) FROM claims c WHERE c.device = l.device
            AND l.status = 'degrading' AND c.category = l.class),
  coalesce((SELECT group_concat(code, '+') FROM (SELECT DISTINCT cf.code FROM claims c
            JOIN claim_faults cf ON cf.claim_id = c.id WHERE c.device = l.device)), '-')
FROM labels l ORDER BY l.device;" > "$dir/scored.txt" || return 1
	[ -n "${EVAL_VERBOSE:-}" ] && cat "$dir/scored.txt"
	return 0
}

# eval_score SCORED DAYS table|totals|curve [LABEL]: the scores of one
# replay. Exit 3 when below target.
eval_score() {
	awk -v epoch="$epoch" -v days="$2" -v mode="$3" -v label="${4:-}" '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0) return 0
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function pct(a, b) { return b ? 100 * a / b : 0 }
# $1 device $2 scenario $3 status $4 fail_t $5 warn_t $6 first claim $7 first predictive
# $8 false claims $9 early calls $10 codes
{
	sc = $2; if (!(sc in dev)) names[++nsc] = sc
	dev[sc]++; falsec[sc] += $8; all_false += $8
	if ($3 == "failing") {
		failing[sc]++; all_failing++
		if ($6 != "-") {
			hit[sc]++; all_hit++
			lead = (epoch + $4 - $6) / 86400
			leads[sc] = leads[sc] " " lead; all_leads = all_leads " " lead
			if (!(sc in mn) || lead < mn[sc]) mn[sc] = lead
		}
		if ($7 != "-") {
			pred[sc]++; all_pred++
			plead = plead " " (epoch + $4 - $7) / 86400
			if ($7 < epoch + $5) { warn[sc]++; all_warn++ }
		}
	} else if ($3 == "degrading") {
		deg[sc]++; all_deg++
		if ($9 > 0) { early[sc]++; all_early++ }
	} else {
		healthy++
	}
}
END {
	recall = pct(all_hit, all_failing); precall = pct(all_pred, all_failing); wrecall = pct(all_warn, all_failing)
	months = healthy * days / 30
	fp = months ? 100 * all_false / months : 0
	med = median(all_leads); pmed = median(plead)
	ok = precall >= 95 && wrecall >= 80 && med >= 5 && fp <= 1
	if (mode == "curve") {
		printf "%-6s %6.1f%% %10.1f%% %11.1f%% %8.2f %8.1fd %8.1fd %6s\n", label, recall, precall, wrecall, fp, med, pmed, all_early "/" all_deg
		exit ok ? 0 : 3
	}
	if (mode == "table") {
		printf "\n%-16s %4s %4s %7s %7s %7s %5s %8s %8s %4s %5s\n", "scenario", "devs", "fail", "claimed", "predict", "<warn", "false", "lead min", "lead med", "degr", "early"
		for (k = 1; k <= nsc; k++) {
			sc = names[k]
			if (failing[sc])
				printf "%-16s %4d %4d %6d%% %6d%% %6d%% %5d %7.1fd %7.1fd", sc, dev[sc], failing[sc], pct(hit[sc], failing[sc]), pct(pred[sc], failing[sc]), pct(warn[sc], failing[sc]), falsec[sc], hit[sc] ? mn[sc] : 0, median(leads[sc])
			else
				printf "%-16s %4d %4s %7s %7s %7s %5d %8s %8s", sc, dev[sc], "-", "-", "-", "-", falsec[sc], "-", "-"
			if (deg[sc]) printf " %4d %5d\n", deg[sc], early[sc]; else printf " %4s %5s\n", "-", "-"
		}
		print ""
	}
	printf "recall %.1f%% (%d of %d failing devices claimed with the right class before failure)\n", recall, all_hit, all_failing
	printf "predictive recall %.1f%% (%d with a forecast fault before failure; target >= 95%%)\n", precall, all_pred
	printf "predictive before the first warning %.1f%% (%d; target >= 80%%)\n", wrecall, all_warn
	printf "false claims %.2f per 100 healthy device-months (%d claims, %.1f device-months; target <= 1)\n", fp, all_false, months
	printf "lead time median %.1f days, of forecast faults %.1f days (target >= 5)\n", med, pmed
	printf "early calls on degrading devices: %d of %d (not false; not scored)\n", all_early + 0, all_deg + 0
	exit ok ? 0 : 3
}' "$1"
}

# The fleets' length in days: a trace's last t_s, for FLEET=DIR.
eval_days() {
	local id
	id=$(awk -F, 'NR == 2 { print $1 }' "$1/labels.csv")
	tail -n 1 "$1/$id.csv" | awk -F, '{ printf "%.2f", ($1 + 0) / 86400 }'
}

if [ -z "$FLEET" ]; then
	echo "== generating: tuning set (seeds ${EVAL_TUNE_SEEDS:-1 2}, mix tune) and test set (seeds ${EVAL_TEST_SEEDS:-101 102}, mix test), $devices devices x $days days per set =="
	# shellcheck disable=SC2086
	eval_gen tune tune ${EVAL_TUNE_SEEDS:-1 2} || exit 1
	# shellcheck disable=SC2086
	eval_gen test test ${EVAL_TEST_SEEDS:-101 102} || exit 1
	TEST=$work/test
	TUNE=$work/tune
	fleet_days=$days
else
	[ -f "$FLEET/labels.csv" ] || { echo "eval: $FLEET/labels.csv is missing" >&2; exit 1; }
	TEST=$FLEET
	TUNE=
	fleet_days=$(eval_days "$FLEET")
fi

below=0
if [ -n "$TUNE" ]; then
	echo
	echo "== TUNING SET (seeds ${EVAL_TUNE_SEEDS:-1 2}, mix tune): whole system, default threshold; tune on this, do not report it =="
	eval_replay "$TUNE" "$work/r-tune" || exit 1
	eval_score "$work/r-tune/scored.txt" "$fleet_days" totals
else
	echo "== no tuning set: FLEET=$FLEET is scored as the test set =="
fi

for mode in ${EVAL_MODES:-system collector}; do
	echo
	case $mode in
	system)
		echo "== TEST SET ($([ -n "$TUNE" ] && echo "seeds ${EVAL_TEST_SEEDS:-101 102}, mix test" || echo "$FLEET")): whole system (edge + fleet forecasts), default threshold =="
		eval_replay "$TEST" "$work/r-test-system" || exit 1 ;;
	collector)
		echo "== TEST SET: collector fleet engine alone (agents: limits only), default threshold =="
		eval_replay "$TEST" "$work/r-test-collector" --no-edge-predict || exit 1 ;;
	*) echo "eval: unknown mode $mode (system, collector)" >&2; exit 2 ;;
	esac
	eval_score "$work/r-test-$mode/scored.txt" "$fleet_days" table || below=1
done

if [ -n "$thresholds" ]; then
	echo
	echo "== TEST SET: whole system over the forecast decision threshold (tpsim and tpcollect --predict-threshold H; lower = more sensitive) =="
	curve=$work/curve.txt
	: > "$curve"
	for h in $thresholds; do
		eval_replay "$TEST" "$work/r-h$h" --predict-threshold "$h" -- --predict-threshold "$h" || exit 1
		eval_score "$work/r-h$h/scored.txt" "$fleet_days" curve "H=$h" >> "$curve"
	done
	printf '\n%-6s %7s %11s %12s %8s %9s %9s %6s\n' "H" "recall" "predictive" "before warn" "false" "lead med" "pred med" "early"
	cat "$curve"
	printf '%-6s %7s %11s %12s %8s %9s %9s\n' "target" "" ">= 95%" ">= 80%" "<= 1" ">= 5d" ""
	echo "(false: claims per 100 healthy device-months; early: degrading devices called / degrading devices)"
fi
echo
echo "eval: $(( $(date +%s) - t0 )) s in all"
[ "$below" = 1 ] && echo "eval: below target (a benchmark: printed, not a test failure)"
exit 0
