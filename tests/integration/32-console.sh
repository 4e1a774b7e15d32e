#!/usr/bin/env bash
# 32: the support console in a real browser. Debian's headless chromium,
# driven by playwright-core from the npm registry (installed once into
# build/browser), against a real collector fed by the shipped fan-wear
# trace: the queue lists the claim and its filters narrow it, the claim page
# shows its fields, evidence, self-check and timeline, an allowed transition
# clicked changes the state (checked through the API) and a disallowed one
# is not offered, a viewer's token gets no transition buttons (and a 403
# from the API), the device page draws its plots with the limit lines
# (screenshots in build/artefacts/32-console/), and the zh-CN console has
# none of the English labels left.
. "$(dirname "$0")/../lib/check.sh"
check_stack
# Only what is missing (node and npm as in 09: a node from elsewhere brings
# its own npm, and Debian's npm package conflicts with it).
need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -f /usr/share/javascript/dygraphs/dygraph.min.js ] || need="$need libjs-dygraphs"
{ command -v node > /dev/null && command -v npm > /dev/null; } || need="$need nodejs npm"
if [ -n "$need" ]; then
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need > /dev/null 2>&1
fi
check "chromium is there" test -x /usr/bin/chromium
check "node is there" command -v node
check "libjs-dygraphs is there" test -f /usr/share/javascript/dygraphs/dygraph.min.js
browser="$BUILD/browser"
if [ ! -d "$browser/node_modules/playwright-core" ]; then
	mkdir -p "$browser"
	cp tests/browser/package.json "$browser/"
	(cd "$browser" && npm install --no-audit --no-fund --loglevel=error > npm.log 2>&1)
fi
cp tests/browser/console.mjs "$browser/"
check "playwright-core installed from the npm registry" test -d "$browser/node_modules/playwright-core"
artefacts="$BUILD/artefacts/32-console"
rm -rf "$artefacts"
mkdir -p "$artefacts"

# A viewer's token beside the stack's support one.
out=$("$STACK_BIN/tpclaim" token new watcher --role viewer 2>/dev/null)
viewer=$(sed -n 's/^token: //p' <<< "$out")
sed -n 's/^line: *//p' <<< "$out" >> "$CHECK_DIR/tokens"
check "the viewer's tokens line names its role" grep -q '^watcher sha256:[0-9a-f]* viewer$' "$CHECK_DIR/tokens"

stack_register TP24A0001 archer-ax55 2025-06-01
stack_broker
stack_collector
"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
check_eq "tpdiagd replays the trace" 0 $?
stack_wait_idle
check_eq "the trace opened one claim" 1 "$(wait_db "select count(*) from claims" 1)"

# The API behind the console.
code=$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/")
check_eq "GET / is the console" 200 "$code"
check "the console page is HTML" bash -c "curl -s '$STACK_API/' | grep -q '<script src=\"/web/console.js\"'"
type=$(curl -s -o /dev/null -w '%{content_type}' "$STACK_API/lib/dygraphs/dygraph.min.js")
check_eq "dygraphs served from Debian's package" "text/javascript; charset=utf-8" "$type"
check_eq "no path outside the package folder" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$STACK_API/lib/dygraphs/..%2f..%2fpasswd.js")"
who=$(curl -s -H "Authorization: Bearer $viewer" "$STACK_API/api/v1/whoami")
check_eq "whoami: the viewer" '{"name":"watcher","role":"viewer"}' "$who"
check_eq "whoami: support" '{"name":"support","role":"support"}' "$(stack_api GET /api/v1/whoami | head -n 1)"
check_eq "a viewer cannot move a claim (403)" 403 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
	--data '{"to":"in_review"}' "$STACK_API/api/v1/claims/C-000001/transition")"
check_eq "a viewer cannot add a note (403)" 403 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
	--data '{"note":"x"}' "$STACK_API/api/v1/claims/C-000001/notes")"
check_eq "a viewer cannot open a claim either (403)" 403 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
	--data '{"device":"TP24A0001","description":"x"}' "$STACK_API/api/v1/claims")"
check "a viewer sees no transitions" bash -c "curl -s -H 'Authorization: Bearer $viewer' \
	'$STACK_API/api/v1/claims/C-000001' | grep -q '\"transitions\":\[\]'"
check "support sees the lifecycle's one step from open" bash -c \
	"grep -q '\"transitions\":\[\"in_review\"\]' <<< '$(stack_api GET /api/v1/claims/C-000001 | head -n 1)'"
check_eq "category filter in the API: power" 0 \
	"$(stack_api GET '/api/v1/claims?category=power' | head -n 1 | sed -n 's/.*"total":\([0-9]*\).*/\1/p')"
check_eq "category filter in the API: thermal" 1 \
	"$(stack_api GET '/api/v1/claims?category=thermal' | head -n 1 | sed -n 's/.*"total":\([0-9]*\).*/\1/p')"
check_eq "a bad category is a 400" 400 "$(stack_api GET '/api/v1/claims?category=fan' | tail -n 1)"
limits=$(stack_api GET /api/v1/models/archer-ax55 | head -n 1)
check "the model's limits: temp.cpu warn 85, crit 100" grep -q '"id":"temp.cpu","label":"SoC die","nominal":55,"warn":85,"crit":100' <<< "$limits"
check "the model's limits: fan stall 500 rpm" grep -q '"id":"fan.main"[^}]*"stall_rpm":500' <<< "$limits"
check_eq "an unknown model is a 404" 404 "$(stack_api GET /api/v1/models/nope-9 | tail -n 1)"

# The browser.
node "$browser/console.mjs" "$STACK_API" "$STACK_TOKEN" "$viewer" C-000001 TP24A0001 "$artefacts" \
	> "$CHECK_DIR/browser.out" 2> "$CHECK_DIR/browser.log"
check_eq "the browser run completes" 0 $?
cp "$CHECK_DIR/browser.out" "$CHECK_DIR/browser.log" "$artefacts/"
got() { sed -n "s/^$1=//p" "$CHECK_DIR/browser.out"; }
check_eq "signed in as support" support "$(got role)"
check_eq "the queue is shown" true "$(got queue_visible)"
check_eq "the queue lists the claim" '["C-000001"]' "$(got queue_rows)"
check_eq "counts per state: 1 open" 1 "$(got count_open)"
check_eq "counts per state: 0 closed" 0 "$(got count_closed)"
check_eq "filter category=power narrows it to none" '[]' "$(got filter_category_power)"
check_eq "filter category=thermal keeps it" '["C-000001"]' "$(got filter_category_thermal)"
check_eq "filter state=closed narrows it to none" '[]' "$(got filter_state_closed)"
check_eq "filter warranty=expired narrows it to none" '[]' "$(got filter_warranty_expired)"
check_eq "free text: the serial finds it" '["C-000001"]' "$(got filter_q_device)"
check_eq "free text: other words find nothing" '[]' "$(got filter_q_nothing)"
check_eq "counts follow the filters" 0 "$(got count_open_filtered)"
check_eq "clearing the filters lists it again" '["C-000001"]' "$(got queue_rows_reset)"
check_eq "the claim page opens from the queue" true "$(got claim_visible)"
fields=$(got claim_fields)
for f in id state priority device model category fault_codes predictive detected_ts opened_at \
	purchase_date warranty warranty_until selfcheck_verdict suggested_resolution review_due \
	origin contact channel tracking_url chain; do
	check "the claim page shows \"$f\"" grep -q "\"$f\"" <<< "$fields"
done
check_eq "field: id" C-000001 "$(got field_id)"
check_eq "field: state" open "$(got field_state)"
check_eq "field: device" TP24A0001 "$(got field_device)"
check_eq "field: warranty" 'in warranty' "$(got field_warranty)"
check_eq "field: purchase date" 2025-06-01 "$(got field_purchase_date)"
check "the description is shown" test "$(got description_len)" -gt 200
check_eq "every evidence report listed" "$(db "select count(*) from claim_evidence where claim_id=1")" "$(got evidence_rows)"
check_eq "every evidence report shown verified" "$(got evidence_rows)" "$(got evidence_verified)"
check_eq "the self-check's steps are shown" 8 "$(got selfcheck_steps)"
check_eq "the failed fan step has its hint" true "$(got selfcheck_fan_hint)"
check "the timeline starts with opened" grep -q '^\["opened"' <<< "$(got timeline_events)"
check_eq "only the allowed transition is offered" '["in_review"]' "$(got buttons_before)"
check_eq "transitions are real buttons" '["BUTTON"]' "$(got transition_elements)"
check "keyboard focus is visible" test "$(got focus_outline)" != none
check_eq "the page says the state changed" true "$(got moved_shown)"
check_eq "the page shows the new state" in_review "$(got field_state_after)"
check_eq "the API has the new state" in_review "$(db "select state from claims where id=1")"
check "the timeline says support did it" bash -c "curl -s -H 'Authorization: Bearer $STACK_TOKEN' '$STACK_API/api/v1/claims/C-000001' \
	| grep -q '\"event\":\"in_review\",\"by\":\"support\"'"
check_eq "then the next allowed ones" '["approved","rejected"]' "$(got buttons_after)"
check "the note is listed" grep -q 'fan noise confirmed' <<< "$(got notes)"
check_eq "the note is stored" 1 "$(db "select count(*) from claim_timeline where event='note'" 2>/dev/null || echo 0)"
check_eq "the device page opens from the claim" true "$(got device_visible)"
check_eq "three plots drawn" 3 "$(got charts)"
plot=$(got plot)
telem=$(db "select count(*) from telemetry")   # compact rows (issue 15)
pyget() { python3 -c "import json,sys; p=json.loads(sys.argv[1]); print($2)" "$plot"; }
check_eq "temperature plot: one row per telemetry report" "$telem" "$(pyget 0 "p['plot-temp']['rows']")"
check "temperature plot: limit lines warn 85 and crit 100" bash -c "[ \"\$(python3 -c \"import json,sys; l=json.loads(sys.argv[1])['plot-temp']['labels']; print(all(any(x.endswith(s) for x in l) for s in ('warning 85','critical 100')))\" '$plot')\" = True ]"
check "fan plot: the stall limit line" bash -c "[ \"\$(python3 -c \"import json,sys; l=json.loads(sys.argv[1])['plot-fan']['labels']; print(any(x.endswith('stall 500') for x in l))\" '$plot')\" = True ]"
check "input rail plot: min 11.4 and max 13.2" bash -c "[ \"\$(python3 -c \"import json,sys; l=json.loads(sys.argv[1])['plot-vin']['labels']; print(all(any(x.endswith(s) for x in l) for s in ('minimum 11.4','maximum 13.2')))\" '$plot')\" = True ]"
for p in plot-temp plot-fan plot-vin; do
	check "$p: the canvas has drawn pixels" test "$(pyget 0 "p['$p']['drawn']")" -gt 5000
	check "$p: the top limit line is drawn in red at its value" test "$(pyget 0 "p['$p']['limitPx']")" -gt 100
done
check "temperature plot: fault markers drawn" test "$(pyget 0 "p['plot-temp']['faultPx']")" -gt 2
check_eq "device page: its claim history" 1 "$(got device_claims)"
check_eq "device page: its faults" "$(db "select count(*) from claim_evidence where claim_id=1")" "$(got device_faults)"
check "screenshot saved" test -s "$artefacts/device-page.png"
check "plot screenshot saved" test -s "$artefacts/device-temperature.png"
check_eq "the switch turns the page into Chinese" 售后支持控制台 "$(got switch_title)"
check_eq "every English word has a Chinese one" '[]' "$(got zh_missing_keys)"
check_eq "no script errors, nothing fetched from elsewhere" '[]' "$(got errors)"
check_eq "viewer: signed in as a viewer" viewer "$(got viewer_role)"
check_eq "viewer: sees the queue" '["C-000001"]' "$(got viewer_rows)"
check_eq "viewer: sees the claim" true "$(got viewer_claim_visible)"
check_eq "viewer: no transition buttons" 0 "$(got viewer_buttons)"
check_eq "viewer: told it reads only" true "$(got viewer_readonly_shown)"
check_eq "viewer: no note form" false "$(got viewer_note_form)"
check_eq "the state is untouched by the viewer" in_review "$(db "select state from claims where id=1")"
check_eq "zh-CN browser: the page is Chinese" zh-CN "$(got zh_lang)"
check "zh-CN: labels were looked at" test "$(got zh_labels_seen)" -gt 100
check_eq "zh-CN: no English label left" '[]' "$(got zh_english_left)"
check "zh-CN screenshot saved" test -s "$artefacts/device-page-zh.png"

# Working a claim, and a forecast drawn: a second device whose fan wears
# out (the demo's trace, ending now) gets a predictive claim, which the
# collector's forecast then tracks with its ETA band.
stack_register TP24A0002 archer-ax55 2025-06-01
kill -HUP "$STACK_COLLECTOR_PID"
for _ in $(seq 50); do grep -q 'reloaded on SIGHUP' "$STACK_DIR/tpcollect.log" && break; sleep 0.1; done
"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0002.csv --product archer-ax55 --board sim \
	--speed max --epoch $(( $(date +%s) - 30 * 86400 )) --exit-at-end \
	--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev2" \
	--key "$CHECK_DIR/keys/TP24A0002.key" 2> "$CHECK_DIR/agent2.log"
stack_wait_idle
fc=$(db "select forecast from claims where device='TP24A0002'")
check "the second device's claim is tracked by the collector's forecast, with its numbers" \
	python3 -c 'import json,sys; f=json.loads(sys.argv[1]); sys.exit(0 if f["sensor"] == "fan.main" and f["eta_s"] > 0 and f["limit"] == 500 else 1)' "$fc"
cp tests/browser/console-work.mjs "$browser/"
node "$browser/console-work.mjs" "$STACK_API" "$STACK_TOKEN" C-000001 TP24A0002 "$artefacts" \
	> "$CHECK_DIR/work.out" 2> "$CHECK_DIR/work.log"
check_eq "the second browser run completes" 0 $?
cp "$CHECK_DIR/work.out" "$CHECK_DIR/work.log" "$artefacts/"
wgot() { sed -n "s/^$1=//p" "$CHECK_DIR/work.out"; }
check_eq "support sees the assign form" true "$(wgot assign_form)"
check_eq "and the resolution form" true "$(wgot resolution_form)"
check_eq "assign to me: shown" support "$(wgot assignee_shown)"
check_eq "assign to me: stored" support "$(db "select assignee from claims where id=1")"
check "the resolution is shown with its parts" grep -q 'Replaced the fan.*FAN-4010-12V, thermal pad' <<< "$(wgot resolution_shown)"
check_eq "the resolution is stored" '["FAN-4010-12V","thermal pad"]' "$(db "select resolution_parts from claims where id=1")"
check "the timeline has both" grep -q '"assigned","resolution"\]$' <<< "$(wgot timeline_after)"
check_eq "the device page tells the forecast" true "$(wgot forecast_text_shown)"
check "in words, with the limit" grep -q 'fan.main reaches its limit 500' <<< "$(wgot forecast_text)"
f=$(wgot forecast)
check "the fan plot carries the forecast" python3 -c 'import json,sys; f=json.loads(sys.argv[1]); sys.exit(0 if f["plot-fan"]["sensor"] == "fan.main" else 1)' "$f"
check "the ETA band is drawn (shaded pixels in its columns)" python3 -c 'import json,sys; f=json.loads(sys.argv[1])["plot-fan"]; sys.exit(0 if f["band"][1] > f["band"][0] and f["bandPx"] > 5 else 1)' "$f"
check "the trend line is drawn" python3 -c 'import json,sys; f=json.loads(sys.argv[1])["plot-fan"]; sys.exit(0 if f["trendPx"] > 20 else 1)' "$f"
check "the time axis runs on to the forecast" python3 -c 'import json,sys,time; f=json.loads(sys.argv[1])["plot-fan"]; sys.exit(0 if f["xEnd"] > time.time() + 86400 else 1)' "$f"
check_eq "no script errors while working the claim" '[]' "$(wgot errors)"
check "forecast screenshot saved" test -s "$artefacts/device-forecast.png"
check "zh-CN: the claim's title is its Chinese text" grep -q '风扇' <<< "$(wgot zh_title)"
check_eq "zh-CN: the description too" "设备 TP24A0001（" "$(wgot zh_description_start)"
check_eq "zh-CN: the claim's language named in Chinese" 英文 "$(wgot zh_locale_field)"
if [ "$CHECK_FAIL" -ne 0 ]; then
	echo "--- browser"
	cat "$CHECK_DIR/browser.out" "$CHECK_DIR/browser.log" "$CHECK_DIR/work.out" \
		"$CHECK_DIR/work.log" | cut -c 1-400 | head -n 120
fi
check_done
