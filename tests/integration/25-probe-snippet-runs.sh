#!/usr/bin/env bash
# 25: `tpdiagd --probe --json` on each sysfs fixture layout from the wild
# (tests/fixtures/sysfs: x86 desktop with repeated chip names, an old
# kernel's hwmonN/device/ layout, an ARM router with a name-less chip): the
# description it prints is saved as it is, and tpdiagd runs with it on the
# linux board against a real broker and collector; every sensor's telemetry
# is the value the probe listed.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_broker
for n in 1 2 3; do stack_register "TPP000$n" probed 2025-06-01; done
stack_collector

n=0
for fx in x86-desktop amd-legacy arm-router; do
	n=$((n + 1))
	id=TPP000$n
	sys="$STACK_ROOT/tests/fixtures/sysfs/$fx/sys"
	"$STACK_BIN/tpdiagd" --probe --json --sysfs-root "$sys" > "$CHECK_DIR/$fx.json"
	check_eq "$fx: --probe --json exits 0" 0 $?
	python3 - "$CHECK_DIR/$fx.json" "$CHECK_DIR/$fx.product.json" <<'PY'
import json, sys
probe = json.load(open(sys.argv[1]))
json.dump(probe["snippet"], open(sys.argv[2], "w"))
PY
	check "$fx: the snippet is a product description" test -s "$CHECK_DIR/$fx.product.json"
	"$STACK_BIN/tpdiagd" --id "$id" --product "$CHECK_DIR/$fx.product.json" --board linux \
		--sysfs-root "$sys" --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/$id" \
		--key "$CHECK_DIR/keys/$id.key" 2> "$CHECK_DIR/$id.log" &
	pid=$!
	STACK_PIDS+=("$pid")
	sleep 2.5
	kill "$pid"
	wait "$pid"
	check_eq "$fx: tpdiagd ran with it and stopped cleanly" 0 $?
	check_eq "$fx: it loaded as printed (no refusal)" 0 "$(grep -c "refused" "$CHECK_DIR/$id.log")"
	# telemetry is stored as compact rows (issue 15), read back through the API
	got=$(wait_db "select count(*) > 0 from telemetry where dev_id = (select id from names where name = '$id')" 1)
	check_eq "$fx: telemetry arrived" 1 "$got"
	stack_api GET "/api/v1/devices/$id/telemetry?limit=1" | sed '$d' | jq -c '.telemetry[0]' > "$CHECK_DIR/$id.telem"
	out=$(python3 - "$CHECK_DIR/$fx.json" "$CHECK_DIR/$id.telem" <<'PY'
import json, sys
probe = json.load(open(sys.argv[1]))
telem = json.loads(open(sys.argv[2]).read())
by_source = {s["source"]: s for s in probe["sensors"]}
bad = []
for s in probe["snippet"]["sensors"]:
    want = by_source[s["source"]]["value"]
    got = telem["sensors"].get(s["id"], {}).get("avg")
    if got is None or abs(got - want) > 1e-6:
        bad.append("%s (%s): %r, want %r" % (s["id"], s["source"], got, want))
print("%d %s" % (len(probe["snippet"]["sensors"]), "; ".join(bad) or "ok"))
PY
)
	check "$fx: every sensor's telemetry is the probed value ($out)" grep -q " ok$" <<< "$out"
	check "$fx: no sensor fault from the kernel's own limits" \
		test "$(db "select count(*) from reports where dev='$id' and kind='fault'")" = 0
done
check_done
