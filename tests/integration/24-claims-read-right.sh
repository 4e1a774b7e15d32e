#!/usr/bin/env bash
# 24: claims a support desk can work through: with 61 claims, the list
# filters by warranty, priority, predictive, model, overdue review and free
# text, sorts, exports CSV, refuses unknown query parameters (400, not all
# 61), tpclaim list stays within 120 columns, and evidence times are numbers.
. "$(dirname "$0")/../lib/check.sh"
check_stack
PY=/usr/bin/python3
stack_register TP24A0001 archer-ax55 2025-06-01
stack_broker
stack_collector
"$STACK_BIN/tpdiagd" --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TP24A0001.key" 2> "$CHECK_DIR/agent.log"
stack_wait_idle
tpc() { "$STACK_BIN/tpclaim" --api "$STACK_API" "$@"; }
# 60 support claims: models cpe-1 and archer-ax55, some bought long ago
for i in $(seq -w 1 60); do
	if [ $((10#$i % 3)) = 0 ]; then m=cpe-1; d=2019-05-0$((10#$i % 9 + 1)); else m=archer-ax55; d=2026-0$((10#$i % 9 + 1))-01; fi
	tpc new "TPM00$i" "unit $i: 电源灯不亮, it will not power on after a storm last night" --model $m \
		--purchase-date $d --channel phone > /dev/null || echo "new $i failed"
done
total=$(db "select count(*) from claims")
check_eq "61 claims" 61 "$total"
count() { stack_api GET "/api/v1/claims?$1" | sed '$d' | $PY -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
code() { stack_api GET "/api/v1/claims?$1" | tail -n 1; }

check_eq "warranty=expired" "$(db "select count(*) from claims where warranty_status='expired'")" "$(count warranty=expired)"
expired=$(count warranty=expired)
check "some are expired, not all ($expired)" bash -c "[ $expired -gt 0 ] && [ $expired -lt 61 ]"
check_eq "priority=low is the expired ones (out of warranty)" "$(count warranty=expired)" "$(count priority=low)"
check_eq "predictive=false" "$(db "select count(*) from claims where predictive=0")" "$(count predictive=false)"
check_eq "model=cpe-1" 20 "$(count model=cpe-1)"
check_eq "free text" 1 "$(count q=unit%2007)"
check_eq "free text in Chinese" 60 "$(count q=%E7%94%B5%E6%BA%90%E7%81%AF)"
check_eq "overdue=true: none yet" 0 "$(count overdue=true)"
db "update claims set review_due='2020-01-01T00:00:00Z' where id in (3,4,5)"
check_eq "overdue=true after three fall behind" 3 "$(count overdue=true)"
check_eq "overdue=false the others" 58 "$(count overdue=false)"
check_eq "filters combine" "$(db "select count(*) from claims where model='cpe-1' and warranty_status='expired' and review_due < '2021'")" \
	"$(count 'model=cpe-1&warranty=expired&overdue=true')"
first=$(stack_api GET "/api/v1/claims?sort=review_due&limit=1" | sed '$d' | $PY -c 'import json,sys; print(json.load(sys.stdin)["claims"][0]["id"])')
check_eq "sort=review_due puts the most overdue first" C-000003 "$first"
first=$(stack_api GET "/api/v1/claims?sort=-opened_at&limit=1" | sed '$d' | $PY -c 'import json,sys; print(json.load(sys.stdin)["claims"][0]["id"])')
check_eq "sort=-opened_at: the newest" C-000061 "$first"
check_eq "unknown parameter -> 400, not all 61" 400 "$(code warranty_status=expired)"
check "the 400 names it and what is taken" grep -q 'unknown query parameter \\"warranty_status\\" (this resource takes: state, device' <<< "$(stack_api GET '/api/v1/claims?warranty_status=expired')"
check_eq "bad warranty value -> 400" 400 "$(code warranty=gone)"
check_eq "bad flag -> 400" 400 "$(code overdue=maybe)"
check_eq "bad sort -> 400" 400 "$(code 'sort=id;drop')"
check_eq "after with another sort -> 400" 400 "$(code 'sort=review_due&after=C-000002')"
check_eq "unknown parameter on a device -> 400" 400 "$(stack_api GET '/api/v1/devices/TP24A0001?x=1' | tail -n 1)"
check_eq "and on telemetry" 400 "$(stack_api GET '/api/v1/devices/TP24A0001/telemetry?from=0' | tail -n 1)"

# --- CSV ------------------------------------------------------------------------
curl -s -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/claims?format=csv&limit=1000" > "$CHECK_DIR/claims.csv"
check_eq "CSV: a header and 61 rows" 61 "$($PY -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); print(len(r)-1)' "$CHECK_DIR/claims.csv")"
check_eq "CSV header" "id,state,priority,device,model,category,warranty,predictive,origin,opened_at,review_due,assignee,title" "$(head -n 1 "$CHECK_DIR/claims.csv" | tr -d '\r')"
check "CSV quotes the commas of titles" $PY -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); sys.exit(0 if all(len(x)==13 for x in r) else 1)' "$CHECK_DIR/claims.csv"
rows=$(curl -s -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/claims?format=csv&warranty=in_warranty&model=archer-ax55&limit=1000" | wc -l)
check_eq "CSV with filters" "$(db "select count(*) + 1 from claims where warranty_status='in_warranty' and model='archer-ax55'")" "$rows"

# --- tpclaim list -----------------------------------------------------------------
tpc list --all > "$CHECK_DIR/list.txt"
check_eq "tpclaim list shows all 61" 61 "$(grep -c '^C-0000' "$CHECK_DIR/list.txt")"
wide=$($PY -c 'import sys, unicodedata as u
w = lambda s: sum(2 if u.east_asian_width(c) in "WF" else 1 for c in s)
print(max(w(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$CHECK_DIR/list.txt")
check "every line within 120 columns (widest $wide)" [ "$wide" -le 120 ]
check "long titles are cut with ..." grep -q '\.\.\.$' "$CHECK_DIR/list.txt"
check "the cut is valid UTF-8" $PY -c 'open(__import__("sys").argv[1], encoding="utf-8").read()' "$CHECK_DIR/list.txt"
check_eq "tpclaim list --warranty expired --model cpe-1" \
	"$(db "select count(*) from claims where warranty_status='expired' and model='cpe-1'")" \
	"$(tpc list --warranty expired --model cpe-1 --limit 1000 | grep -c '^C-')"
check_eq "tpclaim list --overdue --sort review_due" "C-000003 C-000004 C-000005" \
	"$(tpc list --overdue --sort review_due | grep '^C-' | cut -d' ' -f1 | xargs)"
tpc list --warranty_status expired > /dev/null 2>&1
check_eq "tpclaim list refuses an unknown option" 2 $?
tpc list --priority urgent > /dev/null 2> "$CHECK_DIR/err"
check_eq "and the API's 400 is a runtime error" 1 $?
check "saying what is taken" grep -q 'priority: "urgent" is not one of high, normal, low' "$CHECK_DIR/err"

# --- out of warranty and evidence times ---------------------------------------------
check_eq "out of warranty: a quote, never a free repair" 0 \
	"$(db "select count(*) from claims where warranty_status='expired' and suggested_resolution in ('repair','replacement')")"
ev=$(stack_api GET /api/v1/claims/C-000001 | sed '$d')
check "evidence ts are numbers (SPEC §2)" $PY -c 'import json,sys; e=json.loads(sys.argv[1])["evidence"]; sys.exit(0 if e and all(isinstance(x["ts"], (int, float)) for x in e) else 1)' "$ev"
check_done
