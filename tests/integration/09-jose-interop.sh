#!/usr/bin/env bash
# 09: the agent's signed reports verify with an independent JOSE
# implementation (npm `jose` under node), and one flipped byte in any part
# fails there too. Node and the package come from Debian and the npm
# registry at test time (installed once into build/interop).
. "$(dirname "$0")/../lib/check.sh"
check_stack
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get install -y -qq nodejs npm > /dev/null 2>&1
fi
check "node and npm are there" command -v node
interop="$BUILD/interop"
if [ ! -d "$interop/node_modules/jose" ]; then
	mkdir -p "$interop"
	cp tests/interop/package.json tests/interop/verify.mjs "$interop/"
	(cd "$interop" && npm install --no-audit --no-fund --loglevel=error > npm.log 2>&1)
fi
cp tests/interop/verify.mjs "$interop/"
check "jose installed from the npm registry" test -d "$interop/node_modules/jose"

stack_register TPJ0001 archer-ax55 2025-06-01
stack_broker
mosquitto_sub -p "$STACK_BROKER_PORT" -h 127.0.0.1 -q 1 -t 'tp/v1/TPJ0001/fault' \
	> "$CHECK_DIR/jws.txt" 2>/dev/null &
STACK_PIDS+=("$!")
sleep 0.3
"$STACK_BIN/tpdiagd" --id TPJ0001 --trace boards/traces/TP24A0001.csv --speed max --exit-at-end \
	--broker "$STACK_BROKER_URL" --state-dir "$CHECK_DIR/dev" \
	--key "$CHECK_DIR/keys/TPJ0001.key" 2> "$CHECK_DIR/agent.log"
for _ in $(seq 50); do [ "$(grep -c . "$CHECK_DIR/jws.txt")" -ge 8 ] && break; sleep 0.1; done
check_eq "8 signed fault reports captured off the broker" 8 "$(grep -c . "$CHECK_DIR/jws.txt")"
out=$(node "$interop/verify.mjs" "$CHECK_DIR/keys/TPJ0001.pub.pem" "$CHECK_DIR/jws.txt" 2>&1)
check_eq "jose verifies every report, rejects every altered one" "verified 8, tampered 24 rejected" "$out"
check_done
