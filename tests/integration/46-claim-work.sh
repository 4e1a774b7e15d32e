#!/usr/bin/env bash
# 46: who works a claim and what was done, in the language and the working
# hours of the device's region (issue 18 items 5 and 6). A device of region
# CN with locale zh-CN gets its claim in Chinese (English kept beside it),
# its review due in the CN calendar's working hours and the working time
# left on every answer; support assigns it and records the resolution (API
# and tpclaim), a viewer may not; bad bodies are a 400 that changes nothing;
# a calendar folder with a bad file stops tpcollect with a one-line error.
. "$(dirname "$0")/../lib/check.sh"
check_stack
PY=/usr/bin/python3
stack_register TP24A0001 archer-ax55 2025-06-01
stack_register TP24A0002 archer-ax55 2025-06-01
# the registry's optional columns: owner_contact, channel, locale, region
sed -i 's/^\(TP24A0001,[^,]*,[^,]*,[^,]*\)$/\1,"王伟 +86 138 0000 0000",web,zh-CN,CN/' "$STACK_DIR/registry.csv"
out=$("$STACK_BIN/tpclaim" token new auditor --role viewer 2>/dev/null)
VIEWER=$(sed -n 's/^token: //p' <<< "$out")
sed -n 's/^line: *//p' <<< "$out" >> "$STACK_DIR/tokens"
stack_broker
mkdir -p "$CHECK_DIR/cals0"
cp cloud/calendars/*.json "$CHECK_DIR/cals0/"
stack_collector --calendars "$CHECK_DIR/cals0"
check "the collector says which calendars it loaded" grep -q "business calendars of 2 regions from $CHECK_DIR/cals0" "$STACK_DIR/tpcollect.log"
for d in TP24A0001 TP24A0002; do
	"$STACK_BIN/tpdiagd" --trace boards/traces/$d.csv --speed max --exit-at-end \
		--epoch 1764000000 --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev-$d" \
		--key "$STACK_DIR/keys/$d.key" 2> "$CHECK_DIR/agent-$d.log"
done
stack_wait_idle
j() { $PY -c "import json,sys; o=json.load(sys.stdin); print($1)"; }
cn=$(db "select id from claims where device='TP24A0001' order by id limit 1")
en=$(db "select id from claims where device='TP24A0002' order by id limit 1")
check "both devices have a claim ($cn, $en)" test -n "$cn" -a -n "$en"
CN=$(printf 'C-%06d' "$cn")
EN=$(printf 'C-%06d' "$en")
claim() { stack_api GET "/api/v1/claims/$1" | sed '$d'; }
check_eq "CN device: the claim is in Chinese" zh-CN "$(claim $CN | j 'o["locale"]')"
check_eq "its region" CN "$(claim $CN | j 'o["region"]')"
check "its title is the Chinese one" $PY -c 'import json,sys; o=json.loads(sys.argv[1]); t=o["title"]; sys.exit(0 if t == o["text"]["zh-CN"]["title"] and any("\u4e00" <= ch <= "\u9fff" for ch in t) else 1)' "$(claim $CN)"
check "the English text is kept beside it" $PY -c 'import json,sys; o=json.loads(sys.argv[1]); e=o["text"]["en"]; sys.exit(0 if e["description"].startswith("Device TP24A0001") else 1)' "$(claim $CN)"
check_eq "the other device: English" en "$(claim $EN | j 'o["locale"]')"
check "and its Chinese text is there too" $PY -c 'import json,sys; o=json.loads(sys.argv[1]); sys.exit(0 if o["text"]["zh-CN"]["description"].startswith("设备 TP24A0002") else 1)' "$(claim $EN)"
check_eq "CN: the review clock counts working time" working "$(claim $CN | j 'o["review_clock"]')"
check_eq "no region: elapsed time" elapsed "$(claim $EN | j 'o["review_clock"]')"
left=$(claim $CN | j 'int(o["review_left_s"])')
check "2 CN working days are 15 h of working time; left now $left s" bash -c "[ $left -gt 52000 ] && [ $left -le 54000 ]"
# to the second: a claim opened at 13:30:06 on a Friday is due at 13:30:06 the
# next Tuesday, a working moment that whole minutes would call the break
check "the CN due time is at a working moment in Shanghai (09:00-12:00, 13:30-18:00)" $PY -c '
import json, sys, datetime as d
due = d.datetime.strptime(json.loads(sys.argv[1])["review_due"], "%Y-%m-%dT%H:%M:%SZ") + d.timedelta(hours=8)
s = due.hour * 3600 + due.minute * 60 + due.second
sys.exit(0 if due.weekday() < 5 and (32400 < s <= 43200 or 48600 < s <= 64800) else 1)' "$(claim $CN)"

# --- assignee ------------------------------------------------------------------
tpc() { "$STACK_BIN/tpclaim" --api "$STACK_API" "$@"; }
check_eq "tpclaim assign" "$CN assigned" "$(tpc assign $CN li.wei)"
check_eq "the claim says who" li.wei "$(claim $CN | j 'o["assignee"]')"
check_eq "the timeline says who assigned it" "assigned support li.wei" \
	"$(claim $CN | j '" ".join([(e["event"], e["by"], e["note"]) for e in o["timeline"] if e["event"] == "assigned"][0])')"
check_eq "list --assignee li.wei" 1 "$(tpc list --assignee li.wei | grep -c '^C-')"
unassigned=$(db "select count(*) from claims where assignee is null")
check_eq "list --assignee none: the unassigned" "$unassigned" "$(tpc list --assignee none --all | grep -c '^C-')"
check_eq "assigning the same again changes nothing" 1 "$(db "select count(*) from claim_timeline where claim_id=$cn and event='assigned'")"
tpc assign $CN li.wei > /dev/null
check_eq "(still one timeline line)" 1 "$(db "select count(*) from claim_timeline where claim_id=$cn and event='assigned'")"
check_eq "a webhook event per change" 1 "$(db "select count(*) from events where event='claim.assigned'")"
code=$(stack_api POST /api/v1/claims/$CN/assign '{"assignee":"a\nb"}' | tail -n 1)
check_eq "a two-line assignee -> 400" 400 "$code"
code=$(stack_api POST /api/v1/claims/$CN/assign '{}' | tail -n 1)
check_eq "no assignee key -> 400" 400 "$code"
code=$(stack_api POST /api/v1/claims/$CN/assign '{"assignee":"x","who":"y"}' | tail -n 1)
check_eq "an unknown key -> 400" 400 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $VIEWER" \
	-H 'Content-Type: application/json' --data '{"assignee":"mallory"}' "$STACK_API/api/v1/claims/$CN/assign")
check_eq "a viewer may not assign" 403 "$code"
check_eq "nothing changed by the refusals" li.wei "$(claim $CN | j 'o["assignee"]')"
code=$(stack_api POST /api/v1/claims/C-999999/assign '{"assignee":"x"}' | tail -n 1)
check_eq "no such claim -> 404" 404 "$code"

# --- resolution ------------------------------------------------------------------
check_eq "tpclaim resolution" "$CN resolution recorded" \
	"$(tpc resolution $CN "replaced the power adapter; the rail holds 12.1 V under load" --parts "PA-12V-2A, power cord" --at 2025-11-25T09:30:00Z)"
r=$(claim $CN)
check_eq "what was done" "replaced the power adapter; the rail holds 12.1 V under load" "$(j 'o["resolution"]["summary"]' <<< "$r")"
check_eq "the parts" "PA-12V-2A|power cord" "$(j '"|".join(o["resolution"]["parts"])' <<< "$r")"
check_eq "when" 2025-11-25T09:30:00Z "$(j 'o["resolution"]["at"]' <<< "$r")"
check_eq "by whom" support "$(j 'o["resolution"]["by"]' <<< "$r")"
for body in '{"parts":["x"]}' '{"summary":"x","parts":"x"}' '{"summary":"x","parts":[1]}' \
	'{"summary":"x","at":"2999-01-01T00:00:00Z"}' '{"summary":"x","at":"tomorrow"}' \
	'{"summary":"x","cost":5}' '{"summary":"x","parts":["a\nb"]}'; do
	code=$(stack_api POST /api/v1/claims/$CN/resolution "$body" | tail -n 1)
	check_eq "resolution $body -> 400" 400 "$code"
done
check_eq "the resolution is unchanged by them" "PA-12V-2A|power cord" "$(claim $CN | j '"|".join(o["resolution"]["parts"])')"
tpc show $CN > "$CHECK_DIR/show.txt"
check "tpclaim show: the assignee" grep -q 'Assignee     li.wei; region CN; text in zh-CN' "$CHECK_DIR/show.txt"
check "tpclaim show: the resolution" grep -q 'Resolution   2025-11-25T09:30:00Z, by support: replaced the power adapter.*parts: PA-12V-2A, power cord' "$CHECK_DIR/show.txt"
check "tpclaim show: working time left" grep -q 'of working time left' "$CHECK_DIR/show.txt"
curl -s -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/claims?format=csv&assignee=li.wei" > "$CHECK_DIR/a.csv"
check_eq "CSV: the assignee column" li.wei "$($PY -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=""))); print(r[0]["assignee"])' "$CHECK_DIR/a.csv")"

# --- a long Chinese description: titles are cut at a character, never inside one ----
long=$(printf '电源灯不亮，无法开机。%.0s' $(seq 40))
id=$(tpc --json new TP24A0002 "$long" --category power | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "a manual claim with 400 Chinese characters" test -n "$id"
check "its titles (both languages) are valid UTF-8, cut at a character" $PY -c '
import json, sys, urllib.request
r = urllib.request.Request(sys.argv[1] + "/api/v1/claims/" + sys.argv[2], headers={"Authorization": "Bearer " + sys.argv[3]})
raw = urllib.request.urlopen(r).read()
o = json.loads(raw.decode("utf-8"))          # strict: a cut inside a character fails here
ok = all(t["title"].rstrip().endswith(("亮", "，", "无", "法", "开", "机", "。", "电", "源", "灯", "不")) for t in o["text"].values())
sys.exit(0 if ok and len(o["title"].encode()) < 260 else 1)' "$STACK_API" "$id" "$STACK_TOKEN"

# --- the registry's locale and region through the API -------------------------------
tpc devices update TP24A0002 --locale zh-CN --region DE > /dev/null
check_eq "devices update --locale --region" "zh-CN DE" "$(stack_api GET /api/v1/devices/TP24A0002 | sed '$d' | j 'o["locale"] + " " + o["region"]')"
code=$(stack_api PATCH /api/v1/devices/TP24A0002 '{"locale":"fr"}' | tail -n 1)
check_eq "a locale we do not write -> 400" 400 "$code"
check_eq "(unchanged)" zh-CN "$(stack_api GET /api/v1/devices/TP24A0002 | sed '$d' | j 'o["locale"]')"

# --- SIGHUP: a calendar that does not load leaves the ones in use ------------------
printf '{"time_zone":"X","utc_offset":"+25:00","working_hours":["09:00-17:00"]}\n' > "$CHECK_DIR/cals0/XX.json"
kill -HUP "$STACK_COLLECTOR_PID"
for _ in $(seq 50); do grep -q 'reloaded on SIGHUP' "$STACK_DIR/tpcollect.log" && break; sleep 0.1; done
check "SIGHUP with a bad calendar: an error naming it" grep -q 'calendars: .*XX.json: utc_offset' "$STACK_DIR/tpcollect.log"
check "and the previous calendars stay" grep -q 'the previous calendars stay' "$STACK_DIR/tpcollect.log"
check_eq "CN claims still count working time" working "$(claim $CN | j 'o["review_clock"]')"
rm "$CHECK_DIR/cals0/XX.json"
kill -HUP "$STACK_COLLECTOR_PID"
for _ in $(seq 50); do [ "$(grep -c 'business calendars of 2 regions' "$STACK_DIR/tpcollect.log")" -ge 2 ] && break; sleep 0.1; done
check_eq "fixed and SIGHUP again: loaded" 2 "$(grep -c 'business calendars of 2 regions' "$STACK_DIR/tpcollect.log")"

# --- a bad calendar stops the start, with the file and key named ---------------------
mkdir -p "$CHECK_DIR/cals"
cp cloud/calendars/*.json "$CHECK_DIR/cals/"
printf '{"time_zone":"Asia/Shanghai","utc_offset":"+08:00","working_hours":["18:00-09:00"]}\n' > "$CHECK_DIR/cals/XX.json"
"$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "sqlite:$CHECK_DIR/other.db" --listen 127.0.0.1:0 \
	--calendars "$CHECK_DIR/cals" > "$CHECK_DIR/bad.log" 2>&1
check_eq "tpcollect refuses a bad calendar" 1 $?
check "naming the file and the key" grep -q 'XX.json: working_hours\[0\]' "$CHECK_DIR/bad.log"
check_done
