#!/usr/bin/env bash
# 04: SPEC §1 for every program: --help and --version exit 0, bad usage exits
# 2, runtime failures exit 1 with one line "PROGRAM: what failed: why".
. "$(dirname "$0")/../lib/check.sh"
check_stack

for p in tpdiagd tpcollect tpclaim tpkey; do
	check "$p --help exits 0" "$STACK_BIN/$p" --help
	check "$p --version names itself" bash -c "'$STACK_BIN/$p' --version | grep -q '^$p '"
	"$STACK_BIN/$p" --no-such-flag 2> "$CHECK_DIR/err"
	check_eq "$p bad flag exits 2" 2 $?
	check "$p bad flag error is one line with its name" \
		bash -c "[ \$(wc -l < '$CHECK_DIR/err') = 1 ] && grep -q '^$p: ' '$CHECK_DIR/err'"
done

expect_fail() {   # what, exit code, message part, command...
	local what=$1 want=$2 needle=$3
	shift 3
	"$@" > /dev/null 2> "$CHECK_DIR/err"
	check_eq "$what: exit code" "$want" $?
	check "$what: says \"$needle\"" grep -q -- "$needle" "$CHECK_DIR/err"
}

printf '{\n "model": "x",\n "sensors": [ {"id": "temp.cpu", "wran": 1} ]\n}\n' > "$CHECK_DIR/bad.json"
printf '{\n "model": "x",\n "sensors": [\n' > "$CHECK_DIR/broken.json"
printf 't_s,temp.cpu\n0,50\n1,abc\n' > "$CHECK_DIR/bad.csv"
printf 't_s,temp.cpu,temp.board,volt.vin,curr.vin,fan.main,load.cpu,event.undervoltage\n0,50,40,12,1,4000,0.3,0\n1,50,40,12,1,4000,0.3,0\n0.5,50,40,12,1,4000,0.3,0\n' > "$CHECK_DIR/TPC1.csv"
stack_broker
agent=("$STACK_BIN/tpdiagd" --broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/st" --speed max --exit-at-end)
expect_fail "unknown key in a description" 1 "bad.json: sensors\[0\].\"wran\": unknown key" \
	"${agent[@]}" --product "$CHECK_DIR/bad.json" --trace "$CHECK_DIR/TPC1.csv"
expect_fail "JSON syntax error in a description" 1 "broken.json:3:14: JSON ends early" \
	"${agent[@]}" --product "$CHECK_DIR/broken.json" --trace "$CHECK_DIR/TPC1.csv"
expect_fail "unknown product" 1 "no boards/nope.json" \
	"${agent[@]}" --product nope --trace "$CHECK_DIR/TPC1.csv"
expect_fail "trace lacking the product's sensors" 1 "no column for sensor temp.board" \
	"${agent[@]}" --product archer-ax55 --trace "$CHECK_DIR/bad.csv"
expect_fail "trace going back in time" 1 "TPC1.csv:4: t_s 0.500 goes back in time" \
	"${agent[@]}" --product archer-ax55 --trace "$CHECK_DIR/TPC1.csv"
expect_fail "bad speed" 2 "tpdiagd: bad usage: --speed" "${agent[@]}" --speed fast --trace x
expect_fail "unknown board" 2 "unknown board" "${agent[@]}" --board toaster --trace x
expect_fail "bad broker URL is bad usage" 2 "bad usage: --broker takes mqtt://HOST:PORT" \
	"$STACK_BIN/tpdiagd" --broker http://x --state-dir "$CHECK_DIR/st2" --product archer-ax55 \
	--trace boards/traces/TP24A0001.csv
check "... and made no device key first" test ! -e "$CHECK_DIR/st2"
expect_fail "collector: bad db URL" 1 "tpcollect: database:" \
	"$STACK_BIN/tpcollect" --broker mqtt://127.0.0.1:1 --db mysql://x
expect_fail "collector: bad registry" 1 "tpcollect: registry:" \
	"$STACK_BIN/tpcollect" --broker mqtt://127.0.0.1:1 --db "sqlite:$CHECK_DIR/x.db" --registry "$CHECK_DIR/bad.csv"
expect_fail "collector: missing --db" 2 "bad usage" "$STACK_BIN/tpcollect" --broker mqtt://x:1
expect_fail "tpclaim without --api" 2 "TPCLAIM_API" env -u TPCLAIM_API "$STACK_BIN/tpclaim" list
expect_fail "tpclaim with no server" 1 "tpclaim: list: http://127.0.0.1:1/api/v1/claims" \
	"$STACK_BIN/tpclaim" --api http://127.0.0.1:1 list
expect_fail "tpkey refuses to overwrite an identity" 1 "exists already" \
	bash -c "'$STACK_BIN/tpkey' gen TPK --out '$CHECK_DIR/k' >/dev/null && '$STACK_BIN/tpkey' gen TPK --out '$CHECK_DIR/k'"
check "tpkey private key is 0600" test "$(stat -c %a "$CHECK_DIR/k/TPK.key")" = 600

# A config file carries the same options as the command line.
printf 'broker = %s\ndb = sqlite:%s/cfg.db\nlisten = 127.0.0.1:0\n' "$STACK_BROKER_URL" "$CHECK_DIR" > "$CHECK_DIR/c.conf"
"$STACK_BIN/tpcollect" --config "$CHECK_DIR/c.conf" 2> "$CHECK_DIR/c.log" &
pid=$!
STACK_PIDS+=("$pid")
for _ in $(seq 50); do grep -q "listening on" "$CHECK_DIR/c.log" && break; sleep 0.1; done
check "tpcollect runs from --config" grep -q "listening on 127.0.0.1:" "$CHECK_DIR/c.log"
kill "$pid"
wait "$pid"
check_eq "tpcollect exits 0 on SIGTERM" 0 $?
check_done
