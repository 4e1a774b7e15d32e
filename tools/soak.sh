#!/usr/bin/env bash
# soak.sh - the collector under a long mixed load (make soak): a benchmark
# of robustness, not a unit test. For SOAK_SECONDS (600):
#   - tpsim replays a labelled fleet through the real agent core as fast as
#     the broker takes it, round after round (each round's devices new ids,
#     registered through the API first), so reports keep coming;
#   - about 1 % hostile messages beside them (SOAK_HOSTILE_PCT): malformed
#     JSON, a wrong id in the payload, a forged signature, duplicate keys, a
#     NUL in an id, a report from the year 3000, an oversize payload, each
#     sent with mosquitto_pub;
#   - SOAK_SLOW (64) slow HTTP clients dripping a header byte every 2 s,
#     reconnecting when cut.
# It prints the collector's RSS at the start and the end, the rejections by
# reason, and checks that every valid report published was stored once:
# exit 0 when stored = valid published and the collector is alive, 1 when
# not. Loopback only; everything it starts is stopped by PID.
#
#   tools/soak.sh [BUILD]
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${SOAK_SECONDS:-600}
PCT=${SOAK_HOSTILE_PCT:-1}
SLOW=${SOAK_SLOW:-64}
. tools/lib/stack.sh
work=$(mktemp -d /tmp/tpdiag-soak.XXXXXX)
pids=()
soak_stop() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
	stack_cleanup
	rm -rf "$work"
}
trap soak_stop EXIT
[ -x "$BUILD/tpsim" ] || { echo "soak: $BUILD/tpsim is missing (make first)" >&2; exit 1; }
command -v python3 > /dev/null || { echo "soak: python3 is missing (make deps)" >&2; exit 1; }

stack_init "$work/stack"
"$STACK_BIN/tpsim" --generate "$work/fleet" --devices 20 --days 4 --seed 7 --period 60 \
	2> /dev/null || exit 1
echo "device_id,model,purchase_date,public_key" > "$STACK_DIR/registry.csv"
stack_broker || exit 1
stack_collector || exit 1
cpid=$STACK_COLLECTOR_PID
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2> /dev/null; }
rss0=$(rss "$cpid")
echo "soak: $SECS s; collector pid $cpid, RSS ${rss0} KiB at the start"

# The slow clients.
cat > "$work/drip.py" <<'EOF'
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
req = b"GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
end, conns = time.time() + secs, []
def dial():
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return [s, 0]
while time.time() < end:
    while len(conns) < n:
        c = dial()
        if not c:
            break
        conns.append(c)
    keep = []
    for c in conns:
        try:
            c[0].send(c[1] < len(req) and req[c[1]:c[1] + 1] or b"a")
            c[1] += 1
            keep.append(c)
        except OSError:
            c[0].close()
    conns = keep
    time.sleep(2)
EOF
python3 "$work/drip.py" "${STACK_API##*:}" "$SLOW" "$SECS" 2> /dev/null &
pids+=("$!")

# Hostile lines, one mosquitto_pub -l per kind, paced to PCT % of the valid
# rate measured in the first round; each kind's count is kept.
declare -A sent
hostile() {
	local kind=$1 topic=$2 line=$3 n=$4
	sent[$kind]=$(( ${sent[$kind]:-0} + n ))
	yes "$line" 2> /dev/null | head -n "$n" |
		mosquitto_pub -h 127.0.0.1 -p "$STACK_BROKER_PORT" -q 1 -t "$topic" -l 2> /dev/null
}

published=0
start=$(date +%s)
round=0
while [ $(( $(date +%s) - start )) -lt "$SECS" ]; do
	round=$(( round + 1 ))
	rdir=$work/r$round
	mkdir -p "$rdir"
	for f in "$work/fleet"/TPS*.csv; do ln -s "$f" "$rdir/R$round-$(basename "$f")"; done
	"$STACK_BIN/tpsim" --traces "$rdir" --keys "$work/keys" --registry-out "$work/reg$round.csv" \
		2> /dev/null || exit 1
	"$STACK_BIN/tpclaim" --api "$STACK_API" --token "$STACK_TOKEN" devices import "$work/reg$round.csv" \
		> /dev/null || exit 1
	t0=$(date +%s)
	"$STACK_BIN/tpsim" --traces "$rdir" --keys "$work/keys" --broker "$STACK_BROKER_URL" \
		--epoch $(( $(date +%s) - 4 * 86400 )) 2> "$rdir/tpsim.log" || { tail -n 3 "$rdir/tpsim.log"; exit 1; }
	n=$(sed -n 's/.*devices done: \([0-9]*\) reports.*/\1/p' "$rdir/tpsim.log")
	published=$(( published + n ))
	# about PCT % of this round's reports, spread over the kinds
	h=$(( n * PCT / 100 / 7 + 1 ))
	dev=R$round-TPS00001
	hostile bad_json "tp/v1/$dev/telemetry" '{"v":1,"dev":' "$h"
	hostile dev_mismatch "tp/v1/$dev/telemetry" '{"v":1,"dev":"OTHER","model":"archer-ax55","fw":"1","seq":1,"ts":1764000000,"period_s":60,"sensors":{},"events":{},"load":{}}' "$h"
	# a JWS in the device's name whose signature is 64 zero bytes
	hdr=$(printf '{"alg":"ES256","kid":"%s","typ":"tp-report"}' "$dev" | base64 -w0 | tr '+/' '-_' | tr -d '=')
	hostile forged "tp/v1/$dev/fault" "$hdr.e30.$(head -c 64 /dev/zero | base64 -w0 | tr '+/' '-_' | tr -d '=')" "$h"
	hostile dup_keys "tp/v1/$dev/telemetry" '{"v":1,"dev":"'"$dev"'","dev":"X","model":"archer-ax55","fw":"1","seq":1,"ts":1764000000,"period_s":60,"sensors":{},"events":{},"load":{}}' "$h"
	hostile nul_id "tp/v1/$dev/telemetry" '{"v":1,"dev":"'"$dev"'\u0000EVIL","model":"archer-ax55","fw":"1","seq":1,"ts":1764000000,"period_s":60,"sensors":{},"events":{},"load":{}}' "$h"
	hostile year_3000 "tp/v1/$dev/telemetry" '{"v":1,"dev":"'"$dev"'","model":"archer-ax55","fw":"1","seq":999999999,"ts":32503680000,"period_s":60,"sensors":{},"events":{},"load":{}}' "$h"
	hostile bad_topic "tp/v1/bad id/telemetry" '{}' "$h"
	echo "soak: round $round: $n reports in $(( $(date +%s) - t0 )) s, ${h} of each of 7 hostile kinds; collector RSS $(rss "$cpid") KiB"
done
stack_wait_idle
kill -0 "$cpid" 2> /dev/null || { echo "soak: FAIL: the collector died" >&2; exit 1; }
stats=$(curl -sf -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/stats")
stored=$(stack_stat stored)
echo "soak: RSS ${rss0} KiB at the start, $(rss "$cpid") KiB at the end"
echo "soak: hostile sent: $(for k in "${!sent[@]}"; do printf '%s %s  ' "$k" "${sent[$k]}"; done)"
echo "soak: rejected by reason: $(printf '%s' "$stats" | sed -n 's/.*"rejected_by":{\([^}]*\)}.*/\1/p')"
echo "soak: valid published $published, stored $stored, duplicates $(stack_stat duplicates), store_errors $(stack_stat store_errors)"
if [ "$stored" != "$published" ]; then
	echo "soak: FAIL: stored $stored of $published valid reports" >&2
	exit 1
fi
echo "soak: ok"
