# stack.sh - start and stop a local tpdiag stack on loopback (sourced by the
# demo and the integration tests; bash).
#
#   stack_init DIR            work folder for configs, logs, databases
#   stack_broker              mosquitto on a free 127.0.0.1 port -> STACK_BROKER_PORT, STACK_BROKER_URL
#   stack_stop_broker / stack_start_broker_again   stop and restart it on the same port
#   stack_collector [ARGS]    tpcollect on sqlite + a free API port -> STACK_API (http://...),
#                             with the shipped warranty policy and a tokens file;
#                             STACK_DB (e.g. a postgresql:// URL) instead of the file
#   stack_stop_collector      stops it (SIGTERM) and waits for it
#   stack_api METHOD PATH [BODY]  curl with the support token; prints the body,
#                             then the HTTP status on a line of its own
#   stack_register ID MODEL DATE   tpkey gen + registry row -> $STACK_DIR/keys/ID.key
#   stack_wait_stored N [S]   until N reports are stored (fails if stored stands S s, 30)
#   stack_wait_idle           until the collector's received count stops moving
#   stack_cleanup             kills everything started here, by PID
#
# Every process is started by this file and killed by PID; nothing else on the
# machine is touched. Needs BUILD (folder of the binaries).

STACK_PIDS=()

stack_init() {
	STACK_DIR=$1
	mkdir -p "$STACK_DIR/keys"
	: "${BUILD:=build}"
	STACK_BIN=$(cd "$BUILD" && pwd)
	STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	# The shipped policy: in the source tree, or beside an installed copy.
	STACK_POLICY=$STACK_ROOT/cloud/warranty.json
	[ -f "$STACK_POLICY" ] || STACK_POLICY=$STACK_ROOT/warranty.json
	# No default config file (an installed /etc/tpdiag/*.conf) in a test stack.
	export TPDIAG_CONFIG_DIR=""
	printf 'device_id,model,purchase_date,public_key\n' > "$STACK_DIR/registry.csv"
	# The database: SQLite in the stack's folder, or with STACK_PG (the
	# suite's PostgreSQL server, tests/lib/pg.sh: PG_SOCK, PG_PORT) a
	# database of its own on it.
	STACK_DB_URL="sqlite:$STACK_DIR/tpcollect.db"
	if [ "${STACK_PG:-0}" = 1 ]; then
		local name
		name="it_$(basename "$STACK_DIR" | tr -c 'A-Za-z0-9\n' '_' | tr 'A-Z' 'a-z')"
		createdb -h "$PG_SOCK" -p "$PG_PORT" -U tpdiag "$name" || return 1
		STACK_DB_URL="postgresql://tpdiag@127.0.0.1:$PG_PORT/$name"
	fi
	# One API token for "support"; tpclaim reads it from TPCLAIM_TOKEN.
	local out
	out=$("$STACK_BIN/tpclaim" token new support 2>/dev/null)
	STACK_TOKEN=$(sed -n 's/^token: //p' <<< "$out")
	sed -n 's/^line: *//p' <<< "$out" > "$STACK_DIR/tokens"
	export TPCLAIM_TOKEN=$STACK_TOKEN
}

stack_api() {
	local method=$1 path=$2 body=${3-}
	if [ -n "$body" ]; then
		curl -s -X "$method" -H "Authorization: Bearer $STACK_TOKEN" \
			-H 'Content-Type: application/json' --data-binary "$body" \
			-w '\n%{http_code}\n' "$STACK_API$path"
	else
		curl -s -X "$method" -H "Authorization: Bearer $STACK_TOKEN" \
			-w '\n%{http_code}\n' "$STACK_API$path"
	fi
}

stack_cleanup() {
	local pid
	for pid in "${STACK_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${STACK_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	STACK_PIDS=()
}

# A port in the dynamic range; the caller retries if it turns out taken.
stack_random_port() {
	echo $(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
}

stack_write_broker_conf() {
	# Lossless for a subscriber that falls behind: no queue limit for QoS 1
	# (mosquitto's default of 1000 queued messages drops the rest).
	# "user": started as root, mosquitto otherwise switches to the mosquitto
	# user, cannot write its persistence file into our 0700 folder, and loses
	# every offline client's queued messages when it restarts.
	cat > "$STACK_DIR/mosquitto.conf" <<EOF
user $(id -un)
listener $STACK_BROKER_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $STACK_DIR/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 0
log_dest file $STACK_DIR/mosquitto.log
log_type error
log_type warning
EOF
}

stack_launch_broker() {
	mosquitto -c "$STACK_DIR/mosquitto.conf" > /dev/null 2>&1 &
	STACK_BROKER_PID=$!
	STACK_PIDS+=("$STACK_BROKER_PID")
	local i
	for i in $(seq 50); do
		if ! kill -0 "$STACK_BROKER_PID" 2>/dev/null; then
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$STACK_BROKER_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

stack_broker() {
	local try
	for try in $(seq 20); do
		STACK_BROKER_PORT=$(stack_random_port)
		stack_write_broker_conf
		if stack_launch_broker; then
			STACK_BROKER_URL="mqtt://127.0.0.1:$STACK_BROKER_PORT"
			return 0
		fi
	done
	echo "stack: cannot start mosquitto (is it installed? see $STACK_DIR/mosquitto.log)" >&2
	return 1
}

stack_stop_broker() {
	kill "$STACK_BROKER_PID" 2>/dev/null
	wait "$STACK_BROKER_PID" 2>/dev/null
}

stack_start_broker_again() {
	stack_launch_broker
}

# --raw-days 0: the tests and the demo replay traces dated November 2025
# (--epoch), which the default retention (30 days) would delete as they
# arrive; a later --raw-days in ARGS wins.
stack_collector() {
	local log="$STACK_DIR/tpcollect.log" i
	: > "$log"
	"$STACK_BIN/tpcollect" --broker "$STACK_BROKER_URL" --db "${STACK_DB:-$STACK_DB_URL}" \
		--listen 127.0.0.1:0 --registry "$STACK_DIR/registry.csv" \
		--policy "$STACK_POLICY" --tokens "$STACK_DIR/tokens" \
		--raw-days 0 "$@" 2>> "$log" &
	STACK_COLLECTOR_PID=$!
	STACK_PIDS+=("$STACK_COLLECTOR_PID")
	# STACK_START_WAIT tenths of a second (default 10 s): a collector coming
	# back to a large backlog drains until its SUBACK arrives
	for i in $(seq "${STACK_START_WAIT:-100}"); do
		if grep -q "listening on" "$log"; then
			STACK_API="http://$(sed -n 's/.*listening on \(.*\)$/\1/p' "$log" | tail -n 1)"
			return 0
		fi
		kill -0 "$STACK_COLLECTOR_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "stack: tpcollect did not start:" >&2
	cat "$log" >&2
	return 1
}

stack_stop_collector() {
	kill "$STACK_COLLECTOR_PID" 2>/dev/null
	wait "$STACK_COLLECTOR_PID" 2>/dev/null
}

stack_register() {
	local id=$1 model=$2 date=$3
	"$STACK_BIN/tpkey" gen "$id" --out "$STACK_DIR/keys" --model "$model" \
		--purchase-date "$date" >> "$STACK_DIR/registry.csv"
}

stack_stat() {
	curl -sf -H "Authorization: Bearer $STACK_TOKEN" "$STACK_API/api/v1/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# Waits until the collector has stored N reports; fails when its stored
# count stands still for STALL seconds (default 30) first. Unlike
# stack_wait_idle this cannot mistake a collector busy with a long commit
# (or a loaded machine) for one that is done.
stack_wait_stored() {
	local want=$1 stall=${2:-30} now last=-1 still=0
	while :; do
		now=$(stack_stat stored)
		now=${now:-0}
		[ "$now" -ge "$want" ] && return 0
		if [ "$now" = "$last" ]; then
			still=$((still + 1))
			[ "$still" -ge $((stall * 2)) ] && return 1
		else
			still=0
		fi
		last=$now
		sleep 0.5
	done
}

# Waits until the collector has received nothing new for a second (max 60 s).
stack_wait_idle() {
	local last=-1 now i
	for i in $(seq 120); do
		now=$(stack_stat received)
		if [ -n "$now" ] && [ "$now" = "$last" ]; then
			return 0
		fi
		last=$now
		sleep 0.5
	done
	return 1
}
