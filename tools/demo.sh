#!/usr/bin/env bash
# demo.sh - the local end-to-end demo (`make demo`).
#
# A simulated archer-ax55 (serial TP24A0002) replays 30 days in which its fan
# bearing wears out (boards/traces/TP24A0002.csv, drawn by tpsim --generate):
# days before the fan drops below its stall limit, the forecast sees it turn
# slower than in its early life at the same temperature and a predictive
# claim opens with its ETA; the limit faults that follow (FAN_STALL,
# TEMP_HIGH) arrive as evidence on that same claim. tpdiagd reports over a
# local mosquitto, the collector verifies and stores the reports, and
# tpclaim prints the claim as support would read it, then works it a few
# steps through its lifecycle with the API token the demo made. Everything started here is
# stopped again; the work folder is removed unless KEEP=1.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
. tools/lib/stack.sh

work=$(mktemp -d /tmp/tpdiag-demo.XXXXXX)
finish() {
	stack_cleanup
	if [ "${KEEP:-0}" = 1 ]; then echo "demo: files kept in $work"; else rm -rf "$work"; fi
}
trap finish EXIT
stack_init "$work"
start=$(date +%s)

echo "== 1. device identity and registry"
stack_register TP24A0002 archer-ax55 2025-06-01
echo "   $(tail -n 1 "$work/registry.csv")"

echo "== 2. mosquitto on 127.0.0.1 and the collector (SQLite)"
stack_broker
stack_collector
echo "   broker $STACK_BROKER_URL, collector API $STACK_API"

echo "== 3. tpdiagd replays boards/traces/TP24A0002.csv (30 days, fan wearing out) at --speed max"
# The trace ends "now": its 30 days are the last thirty.
epoch=$(( $(date +%s) - 30 * 86400 ))
"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0002.csv --product archer-ax55 \
	--board sim --speed max --epoch "$epoch" --exit-at-end \
	--broker "$STACK_BROKER_URL" --state-dir "$work/device" \
	--key "$work/keys/TP24A0002.key" 2>&1 | sed 's/^/   /'
stack_wait_idle
echo "   collector: $(curl -sf -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/stats")"

echo "== 4. what support sees: tpclaim list"
"$STACK_BIN/tpclaim" --api "$STACK_API" list
id=$("$STACK_BIN/tpclaim" --api "$STACK_API" --json list | sed -n 's/.*"id":[[:space:]]*"\(C-[0-9]*\)".*/\1/p' | head -n 1)
if [ -z "$id" ]; then
	echo "demo: no claim was opened (see $work/tpcollect.log)" >&2
	KEEP=1
	exit 1
fi

echo "== 5. tpclaim show $id"
"$STACK_BIN/tpclaim" --api "$STACK_API" show "$id"
# The story the demo tells: the claim opened on a forecast, and the limit
# faults came later as its evidence.
"$STACK_BIN/tpclaim" --api "$STACK_API" --json show "$id" > "$work/claim.json"
grep -q '"predictive":[[:space:]]*true' "$work/claim.json" ||
	{ echo "demo: $id did not open on a forecast" >&2; KEEP=1; exit 1; }

echo "== 6. support takes it: review, approve, schedule the repair (the device is told each step)"
"$STACK_BIN/tpclaim" --api "$STACK_API" transition "$id" in_review --note "evidence verified; fan stall confirmed"
"$STACK_BIN/tpclaim" --api "$STACK_API" transition "$id" approved
"$STACK_BIN/tpclaim" --api "$STACK_API" transition "$id" repair_scheduled --note "courier pick-up booked"
"$STACK_BIN/tpclaim" --api "$STACK_API" verify "$id" | tail -n 1
echo "== demo done in $(( $(date +%s) - start )) s"
