# pg.sh - a private PostgreSQL cluster for the tests (issue 16): initdb in
# a temp dir, the server on 127.0.0.1 and a random free port with its own
# socket dir, stopped by its PID. Source it, then:
#
#   pg_start DIR      sets PG_URL (postgresql://tpdiag@127.0.0.1:PORT/tpdiag),
#                     PG_PORT, PG_PID, PG_SOCK; returns non-zero with the log
#                     on stderr when the server does not come up
#   pg_stop           fast shutdown (SIGINT), then waits for the PID
#   pg_restart        stop and start the same cluster on the same port
#
# The server cannot run as root: as root it runs as the postgres user of
# Debian's package (the cluster dir is handed to it).
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

# setpriv execs the program itself (runuser would sit between as a parent
# that does not pass SIGINT on): $! is the server's own PID.
pg_as() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

pg_launch() {
	local as=()
	[ "$(id -u)" = 0 ] && as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	# a command, not a function, in the background: $! is the server
	"${as[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -k "$PG_SOCK" \
		-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on \
		-c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB \
		>> "$PG_DIR/server.log" 2>&1 &
	PG_PID=$!
	local i
	for i in $(seq 150); do
		if "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT" 2> /dev/null; then
			return 0
		fi
		kill -0 "$PG_PID" 2> /dev/null || break
		sleep 0.1
	done
	echo "pg: the server did not start:" >&2
	tail -n 20 "$PG_DIR/server.log" >&2
	return 1
}

pg_start() {
	PG_DIR=$1
	if [ ! -x "$PG_BIN/initdb" ]; then
		echo "pg: no PostgreSQL server binaries (apt-get install postgresql; make deps)" >&2
		return 1
	fi
	mkdir -p "$PG_DIR/sock"
	PG_SOCK=$PG_DIR/sock
	[ "$(id -u)" = 0 ] && chown -R postgres "$PG_DIR"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U tpdiag -A trust --no-sync -E UTF8 \
		--locale=C.UTF-8 > "$PG_DIR/initdb.log" 2>&1 || {
		echo "pg: initdb failed:" >&2; cat "$PG_DIR/initdb.log" >&2; return 1; }
	local try
	for try in $(seq 20); do
		PG_PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		(exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2> /dev/null && continue
		pg_launch && break
		PG_PID=""
	done
	[ -n "${PG_PID:-}" ] || return 1
	"$PG_BIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" -U tpdiag tpdiag || return 1
	PG_URL="postgresql://tpdiag@127.0.0.1:$PG_PORT/tpdiag"
	export PG_URL PG_PORT PG_PID PG_SOCK PG_DIR
}

pg_stop() {
	[ -n "${PG_PID:-}" ] || return 0
	kill -INT "$PG_PID" 2> /dev/null
	local i
	for i in $(seq 100); do kill -0 "$PG_PID" 2> /dev/null || break; sleep 0.1; done
	kill -9 "$PG_PID" 2> /dev/null || true
	wait "$PG_PID" 2> /dev/null || true
	PG_PID=""
}

pg_restart() {
	pg_stop
	pg_launch
}
