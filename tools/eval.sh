#!/usr/bin/env bash
# eval.sh - how early and how accurately the whole system calls failures
# (make eval). A labelled fleet is replayed through the real path: tpsim
# (the agent core per device) -> mosquitto -> tpcollect (ingest, claims, the
# fleet engine) -> SQLite; then the claims are scored against the labels.
#
#   tools/eval.sh [BUILD] [FLEET_DIR]
#
# FLEET_DIR: any folder of SPEC §5 traces (ID.csv, "# model: NAME") with a
# labels.csv "device,model,scenario,fails,class,code,fail_t_s" (fails 0/1;
# class the claim category a failure belongs to; fail_t_s seconds after the
# trace start). Without it a fleet is generated: EVAL_DEVICES (40) x
# EVAL_DAYS (30), EVAL_SEED (1).
#
# It runs twice: the whole system (edge and fleet forecasts), then the
# collector's fleet engine alone (tpsim --no-edge-predict: the agents raise
# only limit faults, so every early claim is the collector's). EVAL_MODES
# ("system collector") picks them.
#
# Per scenario it prints: devices, failing devices claimed with the right
# class before they failed (recall), false claims (any claim on a healthy
# device, or of another class on a failing one) and the lead time before the
# failure (min / median, days); then the totals against the targets.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
FLEET=${2:-}
. tools/lib/stack.sh
work=$(mktemp -d /tmp/tpdiag-eval.XXXXXX)
trap 'stack_cleanup; rm -rf "$work"' EXIT
epoch=1764000000
[ -x "$BUILD/tpsim" ] || { echo "eval: $BUILD/tpsim is missing (make first)" >&2; exit 1; }

if [ -z "$FLEET" ]; then
	FLEET=$work/fleet
	"$BUILD/tpsim" --generate "$FLEET" --devices "${EVAL_DEVICES:-40}" \
		--days "${EVAL_DAYS:-30}" --seed "${EVAL_SEED:-1}" || exit 1
fi
[ -f "$FLEET/labels.csv" ] || { echo "eval: $FLEET/labels.csv is missing" >&2; exit 1; }

# eval_run MODE TITLE [TPSIM_ARGS]: a fresh broker, collector and database,
# the replay, and the scores.
eval_run() {
	local name=$2 dir=$work/$1 start db days rc
	shift 2
	stack_cleanup
	stack_init "$dir"
	echo
	echo "== $name =="
	"$STACK_BIN/tpsim" --traces "$FLEET" --keys "$work/keys" --registry-out "$dir/registry.csv" \
		2> /dev/null || return 1
	stack_broker || return 1
	stack_collector --subscribe exclusive || return 1
	start=$(date +%s)
	"$STACK_BIN/tpsim" --traces "$FLEET" --keys "$work/keys" --broker "$STACK_BROKER_URL" \
		--epoch "$epoch" "$@" 2> "$dir/tpsim.log" || { tail -n 5 "$dir/tpsim.log"; return 1; }
	tail -n 1 "$dir/tpsim.log"
	stack_wait_idle
	echo "eval: replay and ingest took $(( $(date +%s) - start )) s; collector: $(stack_stat stored) reports stored, $(stack_stat claims_opened) claims ($(stack_stat predicted_claims) opened by its fleet forecast)"
	db="$dir/tpcollect.db"
	sqlite3 "$db" "DROP TABLE IF EXISTS labels;" || return 1
	sqlite3 -csv "$db" ".import '$FLEET/labels.csv' labels" || return 1
	# the fleet's length: the first device's last t_s
	days=$(awk -F, 'NR == 2 { print $1 }' "$FLEET/labels.csv" | while read -r id; do
		tail -n 1 "$FLEET/$id.csv" | cut -d, -f1; done)
	days=$(awk -v s="${days:-0}" 'BEGIN { printf "%.2f", s / 86400 }')
	sqlite3 -separator ' ' "$db" "
SELECT l.device, l.scenario, l.fails, coalesce(nullif(l.fail_t_s, ''), '-'),
  coalesce((SELECT min(c.detected_ts) FROM claims c WHERE c.device = l.device
            AND c.category = l.class AND l.fails = '1' AND l.fail_t_s != ''
            AND c.detected_ts < $epoch + l.fail_t_s), '-'),
  (SELECT count(*) FROM claims c WHERE c.device = l.device
            AND (l.fails != '1' OR c.category != l.class)),
  coalesce((SELECT group_concat(code, '+') FROM (SELECT DISTINCT cf.code FROM claims c
            JOIN claim_faults cf ON cf.claim_id = c.id WHERE c.device = l.device)), '-')
FROM labels l ORDER BY l.device;" > "$dir/scored.txt" || return 1
	[ -n "${EVAL_VERBOSE:-}" ] && cat "$dir/scored.txt"

awk -v epoch="$epoch" -v days="$days" '
function median(list, n,   a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	sc = $2; dev[sc]++; order[sc] = order[sc] ? order[sc] : ++nsc; names[order[sc]] = sc
	falsec[sc] += $6; all_false += $6
	if ($3 == "1") {
		failing[sc]++; all_failing++
		if ($5 != "-") {
			hit[sc]++; all_hit++
			lead = (epoch + $4 - $5) / 86400
			leads[sc] = leads[sc] " " lead; all_leads = all_leads " " lead
			if (!(sc in mn) || lead < mn[sc]) mn[sc] = lead
		}
	} else {
		healthy++
	}
}
END {
	printf "\n%-16s %7s %8s %8s %7s %9s %9s\n", "scenario", "devices", "failing", "claimed", "false", "lead min", "lead med"
	for (k = 1; k <= nsc; k++) {
		sc = names[k]
		if (failing[sc]) {
			printf "%-16s %7d %8d %7d%% %7d %8.1fd %8.1fd\n", sc, dev[sc], failing[sc], 100 * hit[sc] / failing[sc], falsec[sc], hit[sc] ? mn[sc] : 0, hit[sc] ? median(leads[sc]) : 0
		} else {
			printf "%-16s %7d %8s %8s %7d %9s %9s\n", sc, dev[sc], "-", "-", falsec[sc], "-", "-"
		}
	}
	recall = all_failing ? 100 * all_hit / all_failing : 0
	months = healthy * days / 30
	fp = months ? 100 * all_false / months : 0
	med = all_hit ? median(all_leads) : 0
	printf "\nrecall %.1f%% (%d of %d failing devices claimed with the right class before failure; target >= 95%%)\n", recall, all_hit, all_failing
	printf "false claims %.2f per 100 healthy device-months (%d claims, %.1f device-months; target <= 1)\n", fp, all_false, months
	printf "lead time median %.1f days (target >= 3)\n", med
	exit (recall >= 95 && fp <= 1 && med >= 3) ? 0 : 3
}' "$dir/scored.txt"
	rc=$?
	[ "$rc" = 3 ] && echo "eval: $name below target (a benchmark: printed, not a test failure)"
	return 0
}

for mode in ${EVAL_MODES:-system collector}; do
	case $mode in
	system) eval_run system "whole system (edge + fleet forecasts)" || exit 1 ;;
	collector) eval_run collector "collector fleet engine alone (agents: limits only)" --no-edge-predict || exit 1 ;;
	*) echo "eval: unknown mode $mode (system, collector)" >&2; exit 2 ;;
	esac
done
exit 0
