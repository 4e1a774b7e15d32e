# nats.sh - a private NATS cluster for the tests (issue 17): N nats-server
# nodes on 127.0.0.1 only, random free ports, JetStream with a store dir of
# its own each, routes between all of them, an MQTT listener on each (the
# devices' side), stopped by PID. Source it, then:
#
#   nats_cluster_start DIR [N]  N nodes (default 3); sets NATS_URLS
#                     (nats://127.0.0.1:P1,nats://127.0.0.1:P2,...),
#                     NATS_MQTT_PORTS, NATS_PORTS, NATS_MON_PORTS, NATS_PIDS
#                     (arrays, index 0..N-1); returns non-zero with the
#                     logs on stderr when the cluster does not come up
#   nats_kill I       kill -9 node I (its PID slot becomes empty)
#   nats_restart I    start node I again with the same config, ports, store
#   nats_cluster_stop SIGTERM each node by PID, then waits for it
#   nats_wait_ready I waits until node I says it is healthy (JetStream too)
#
# Why each setting (nats-server 2.9, facts checked with real processes):
# - MQTT needs JetStream and a server_name (the sessions, retained messages
#   and QoS 1 in flight live in the $MQTT_* streams); in a cluster it also
#   needs the cluster's name, and every node runs JetStream so the $MQTT_*
#   streams can be replicated. stream_replicas is set: 2.9.10 left to
#   itself created them with 2 replicas on a 3-node cluster (seen: the
#   first MQTT client came before the third node had joined), and then
#   killing one of those two nodes stalls every MQTT connect on every node
#   ("JetStream system temporarily unavailable": $MQTT_sess has no quorum).
# - No_advertise and the loopback listen addresses: nothing leaves 127.0.0.1,
#   and clients are not told about addresses other than the ones given.
# - The monitoring port (random) is how "answers" is checked: /healthz is
#   ok once the node has joined the JetStream meta group.
# - NATS_MAPPINGS (optional, set before nats_cluster_start): a mappings {}
#   block copied into every node's config.

NATS_PIDS=()
NATS_PORTS=()
NATS_CLUSTER_PORTS=()
NATS_MQTT_PORTS=()
NATS_MON_PORTS=()

# N free TCP ports on 127.0.0.1, one a line (bound to port 0 and let go:
# the kernel does not hand the same ports out again at once).
nats_free_ports() {
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

nats_write_conf() {
	local i=$1 n=$2 j routes=""
	for ((j = 0; j < n; j++)); do
		[ "$j" = "$i" ] && continue
		routes="$routes    nats-route://127.0.0.1:${NATS_CLUSTER_PORTS[$j]}
"
	done
	mkdir -p "$NATS_DIR/n$i/js"
	cat > "$NATS_DIR/n$i/nats.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${NATS_PORTS[$i]}
http: 127.0.0.1:${NATS_MON_PORTS[$i]}
jetstream {
  store_dir: "$NATS_DIR/n$i/js"
  max_memory_store: 256MB
  max_file_store: 4GB
}
cluster {
  name: tpc
  listen: 127.0.0.1:${NATS_CLUSTER_PORTS[$i]}
  no_advertise: true
  routes: [
$routes  ]
}
mqtt {
  listen: 127.0.0.1:${NATS_MQTT_PORTS[$i]}
  stream_replicas: $((n < 3 ? n : 3))
  consumer_replicas: $((n < 3 ? n : 3))
}
${NATS_MAPPINGS:-}
EOF
}

nats_launch() {
	local i=$1
	nats-server -c "$NATS_DIR/n$i/nats.conf" >> "$NATS_DIR/n$i/server.log" 2>&1 &
	NATS_PIDS[$i]=$!
}

nats_wait_ready() {
	local i=$1 k
	for k in $(seq 600); do
		if curl -sf "http://127.0.0.1:${NATS_MON_PORTS[$i]}/healthz" 2> /dev/null |
			grep -q '"ok"'; then
			(exec 3<>"/dev/tcp/127.0.0.1/${NATS_MQTT_PORTS[$i]}") 2> /dev/null && return 0
		fi
		kill -0 "${NATS_PIDS[$i]}" 2> /dev/null || break
		sleep 0.1
	done
	echo "nats: node $i did not become ready:" >&2
	tail -n 20 "$NATS_DIR/n$i/server.log" >&2
	return 1
}

nats_cluster_start() {
	NATS_DIR=$1
	local n=${2:-3} i ports try ok
	if ! command -v nats-server > /dev/null 2>&1; then
		echo "nats: no nats-server (apt-get install nats-server; make deps)" >&2
		return 1
	fi
	for try in 1 2 3; do
		mapfile -t ports < <(nats_free_ports $((4 * n)))
		for ((i = 0; i < n; i++)); do
			NATS_PORTS[$i]=${ports[$((4 * i))]}
			NATS_CLUSTER_PORTS[$i]=${ports[$((4 * i + 1))]}
			NATS_MQTT_PORTS[$i]=${ports[$((4 * i + 2))]}
			NATS_MON_PORTS[$i]=${ports[$((4 * i + 3))]}
		done
		for ((i = 0; i < n; i++)); do
			nats_write_conf "$i" "$n"
			nats_launch "$i"
		done
		ok=1
		for ((i = 0; i < n; i++)); do
			nats_wait_ready "$i" || { ok=0; break; }
		done
		[ "$ok" = 1 ] && break
		nats_cluster_stop   # a port taken meanwhile: again with others
	done
	[ "$ok" = 1 ] || return 1
	NATS_URLS=""
	for ((i = 0; i < n; i++)); do
		NATS_URLS="$NATS_URLS${NATS_URLS:+,}nats://127.0.0.1:${NATS_PORTS[$i]}"
	done
	export NATS_URLS NATS_DIR
}

nats_kill() {
	local i=$1
	[ -n "${NATS_PIDS[$i]:-}" ] || return 0
	kill -9 "${NATS_PIDS[$i]}" 2> /dev/null
	wait "${NATS_PIDS[$i]}" 2> /dev/null || true
	NATS_PIDS[$i]=""
}

nats_restart() {
	local i=$1
	nats_stop_one "$i"
	nats_launch "$i"
	nats_wait_ready "$i"
}

nats_stop_one() {
	local i=$1 k
	[ -n "${NATS_PIDS[$i]:-}" ] || return 0
	kill -TERM "${NATS_PIDS[$i]}" 2> /dev/null
	for k in $(seq 100); do kill -0 "${NATS_PIDS[$i]}" 2> /dev/null || break; sleep 0.1; done
	kill -9 "${NATS_PIDS[$i]}" 2> /dev/null || true
	wait "${NATS_PIDS[$i]}" 2> /dev/null || true
	NATS_PIDS[$i]=""
}

nats_cluster_stop() {
	local i
	for i in "${!NATS_PIDS[@]}"; do
		[ -n "${NATS_PIDS[$i]}" ] && kill -TERM "${NATS_PIDS[$i]}" 2> /dev/null
	done
	for i in "${!NATS_PIDS[@]}"; do
		nats_stop_one "$i"
	done
}
