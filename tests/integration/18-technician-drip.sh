#!/usr/bin/env bash
# 18: slow technicians cannot stall the agent (issue 14, finding 5). While
# tpdiagd samples in real time (10x, a 100 ms period), clients that drip one
# byte of their request every 150 ms hold the socket: no sample is late by
# more than a period and each dripping client is dropped at its 2 s
# deadline; then 200 `tpdiag status` run at once (dripping goes on): every
# one is answered.
. "$(dirname "$0")/../lib/check.sh"
check_stack
stack_register TPT0001 archer-ax55 2025-06-01
stack_broker
# The state directory on tmpfs when there is one: a loaded shared disk can
# make one fsync of the spool take half a second, which is the disk's delay,
# not the socket's (scenario 14 is about disks).
dev="$CHECK_DIR/dev"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/tpdiag-drip.XXXXXX)
	ln -s "$shm" "$dev"
fi
# 300 s of the fan-stop fixture at 10x: 30 s
head -n 303 tests/fixtures/traces/TPT0001.csv > "$CHECK_DIR/TPT0001.csv"
# As root the agent runs at nice -10, as a product's daemon would: the test
# machine is shared, and what is measured is the socket's design, not the
# scheduler under others' load.
prio=()
[ "$(id -u)" = 0 ] && prio=(nice -n -10)
"${prio[@]}" "$STACK_BIN/tpdiagd" --trace "$CHECK_DIR/TPT0001.csv" --speed 10 --epoch 1764000000 \
	--broker "$STACK_BROKER_URL" --state-dir "$dev" --key "$CHECK_DIR/keys/TPT0001.key" \
	--exit-at-end 2> "$CHECK_DIR/agent.log" &
agent=$!
STACK_PIDS+=("$agent")
for _ in $(seq 100); do [ -S "$dev/tpdiag.sock" ] && break; sleep 0.1; done
check "the socket is up" test -S "$dev/tpdiag.sock"

# drip SOCK N: writes "status" and spaces, one byte per 150 ms (3 s in all;
# the old agent read on while each byte came within 200 ms), N times over; prints
# how many seconds the agent kept it before closing
cat > "$CHECK_DIR/drip.py" <<'PY'
import socket, sys, time
path, rounds = sys.argv[1], int(sys.argv[2])
for _ in range(rounds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t0 = time.monotonic()
    try:
        for ch in b"status" + b" " * 14:
            s.send(bytes([ch]))
            time.sleep(0.15)
        s.settimeout(5)
        s.recv(1)
    except OSError:
        pass
    print("%.1f" % (time.monotonic() - t0))
    s.close()
PY
# Phase 1: four clients drip for ~6 s (3 connections each, dropped at 2 s).
drips=()
for i in 1 2 3 4; do
	nice -n 19 python3 "$CHECK_DIR/drip.py" "$dev/tpdiag.sock" 3 > "$CHECK_DIR/drip$i.out" 2>&1 &
	drips+=("$!")
	STACK_PIDS+=("$!")
done
for p in "${drips[@]}"; do wait "$p"; done
held=$(cat "$CHECK_DIR"/drip*.out | sort -n | tail -n 1)
check "a dripping client is dropped at its 2 s deadline (held at most $held s)" \
	awk -v h="$held" 'BEGIN { exit !(h >= 1.5 && h < 3.0) }'
late=$("$STACK_BIN/tpdiag" --state-dir "$dev" --json status | sed -n 's/.*"max_sample_late_ms":[[:space:]]*\([0-9.]*\).*/\1/p')
echo "  worst sample lateness while 4 clients dripped: ${late:-?} ms (period 100 ms)"
check "no sample later than one period (100 ms) while clients drip" \
	awk -v l="${late:-999}" 'BEGIN { exit !(l < 100) }'

# Phase 2: 200 technicians at once, with the dripping going on. The load
# runs niced: on a shared 2-core machine 400 new processes would otherwise
# starve the agent of CPU, which is the scheduler's doing, not the socket's.
for i in 1 2; do
	nice -n 19 python3 "$CHECK_DIR/drip.py" "$dev/tpdiag.sock" 3 > /dev/null 2>&1 &
	STACK_PIDS+=("$!")
done
for i in $(seq 200); do
	( nice -n 19 "$STACK_BIN/tpdiag" --state-dir "$dev" --json status > "$CHECK_DIR/st$i.json" 2>&1
	  echo $? > "$CHECK_DIR/st$i.rc" ) &
done
for i in $(seq 600); do   # at most 60 s
	n=$(ls "$CHECK_DIR"/st*.rc 2>/dev/null | wc -l)
	[ "$n" -ge 200 ] && break
	sleep 0.1
done
answered=$(grep -l '"device"' "$CHECK_DIR"/st*.json 2>/dev/null | wc -l)
check_eq "all 200 concurrent status requests answered" 200 "$answered"
check_eq "all exited 0" 200 "$(cat "$CHECK_DIR"/st*.rc | grep -c '^0$')"
wait "$agent"
check_eq "the agent finishes the trace" 0 $?
late=$(sed -n 's/.*samples were at most \([0-9.]*\) ms late.*/\1/p' "$CHECK_DIR/agent.log")
# Reported, not judged: under the burst this machine's load decides it.
echo "  worst sample lateness over the whole run, burst included: ${late:-?} ms"
check "the agent kept sampling through the burst (worst lateness under a second)" \
	awk -v l="${late:-9999}" 'BEGIN { exit !(l < 1000) }'
[ -n "${shm:-}" ] && rm -rf "$shm"
check_done
