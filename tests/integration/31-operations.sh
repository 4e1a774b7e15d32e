#!/usr/bin/env bash
# 31: operations (issue 20). The CLI errors an operator met each give one
# clear line and the right exit code; the collector serves its API while the
# broker is unreachable, with /healthz saying why it is not ready, and
# becomes ready (and says "listening on") once the broker is there.
. "$(dirname "$0")/../lib/check.sh"
check_stack

expect_fail() {   # what, exit code, message part, command...
	local what=$1 want=$2 needle=$3
	shift 3
	"$@" > /dev/null 2> "$CHECK_DIR/err"
	check_eq "$what: exit code" "$want" $?
	check "$what: one line saying \"$needle\"" \
		bash -c "[ \$(wc -l < '$CHECK_DIR/err') = 1 ] && grep -q -- '$needle' '$CHECK_DIR/err'"
}
expect_fail "tpdiagd --broker without a value" 2 "tpdiagd: bad usage: --broker needs a value" \
	"$STACK_BIN/tpdiagd" --state-dir "$CHECK_DIR/st" --broker
expect_fail "tpcollect --db without a value" 2 "tpcollect: bad usage: --db needs a value" \
	"$STACK_BIN/tpcollect" --broker mqtt://127.0.0.1:1 --db
expect_fail "tpdiagd --broker http://x" 2 "tpdiagd: bad usage: --broker takes mqtt://HOST:PORT" \
	"$STACK_BIN/tpdiagd" --broker http://x --state-dir "$CHECK_DIR/st" --trace tests/fixtures/traces/TPT0001.csv
check "no device key was made for it" test ! -e "$CHECK_DIR/st"
expect_fail "tpclaim list --state opened" 2 "tpclaim: bad usage: list: --state opened is not a claim state" \
	"$STACK_BIN/tpclaim" --api http://127.0.0.1:1 list --state opened
expect_fail "tpkey pub of a missing file" 1 "tpkey: $CHECK_DIR/none.key: No such file or directory" \
	"$STACK_BIN/tpkey" pub "$CHECK_DIR/none.key"
echo junk > "$CHECK_DIR/junk.key"
expect_fail "tpkey pub of a file that is no key" 1 "not a PEM EC P-256 private key" \
	"$STACK_BIN/tpkey" pub "$CHECK_DIR/junk.key"
for p in tpdiagd tpcollect tpsim tpkey tpclaim; do
	# every option row starts in column 3 and its help in column 29 (or on
	# the next line when the option is wider)
	bad=$("$STACK_BIN/$p" --help | sed -n '/^options:/,$p' | tail -n +2 |
		grep -v -E '^  --[^ ].{0,23}[^ ] +[^ ]|^  --[^ ]*( [^ ]+)?$|^ {28}[^ ]|^$' | head -n 3)
	check "$p --help: columns aligned${bad:+ (not: $bad)}" test -z "$bad"
	check "$p --help: no line over 100 columns" \
		bash -c "! '$STACK_BIN/$p' --help | grep -q -E '^.{101}'"
done
# --state-dir with parents that do not exist yet (README's state/ID)
timeout 3 "$STACK_BIN/tpdiagd" --broker mqtt://127.0.0.1:1 --state-dir "$CHECK_DIR/state/TPT0001" \
	--trace tests/fixtures/traces/TPT0001.csv > /dev/null 2>&1
check "--state-dir state/ID makes state/ too" test -f "$CHECK_DIR/state/TPT0001/device.key"

# Configuration: the shipped examples parse; the default file is read
# (TPDIAG_CONFIG_DIR stands in for $(PREFIX)/etc/tpdiag); --print-config
# says where each value came from; the command line wins.
for p in tpcollect tpdiagd tpclaim; do
	check "etc/$p.conf parses" bash -c "'$STACK_BIN/$p' --config etc/$p.conf --print-config > /dev/null"
done
mkdir -p "$CHECK_DIR/etc"
printf '# test\n[tpcollect]\nlisten = 127.0.0.1:9999\nmax-skew = 30d\n' > "$CHECK_DIR/etc/tpcollect.conf"
out=$(TPDIAG_CONFIG_DIR="$CHECK_DIR/etc" "$STACK_BIN/tpcollect" --db sqlite:x.db --print-config)
check "the default config file is read and named" grep -q "config file: $CHECK_DIR/etc/tpcollect.conf" <<< "$out"
check "a value from it says so" grep -qE '^max-skew = 30d +# config file$' <<< "$out"
check "the command line says so" grep -qE '^db = sqlite:x.db +# command line$' <<< "$out"
check "a default says so" grep -qE '^subscribe = shared +# default$' <<< "$out"
out=$(TPDIAG_CONFIG_DIR="$CHECK_DIR/etc" "$STACK_BIN/tpcollect" --listen 127.0.0.1:1 --print-config)
check "the command line wins over the file" grep -qE '^listen = 127.0.0.1:1 +# command line$' <<< "$out"
out=$("$STACK_BIN/tpclaim" --token secret-value --print-config)
check "--print-config does not show a token" bash -c "! grep -q secret-value <<< '$out'"

# The API while the broker is down: up, 503, says why.
for _ in $(seq 20); do
	STACK_BROKER_PORT=$(stack_random_port); api_port=$(stack_random_port)
	(exec 3<>"/dev/tcp/127.0.0.1/$STACK_BROKER_PORT") 2>/dev/null || break
done
log="$CHECK_DIR/tpcollect.log"
"$STACK_BIN/tpcollect" --broker "mqtt://127.0.0.1:$STACK_BROKER_PORT" --db "sqlite:$CHECK_DIR/c.db" \
	--listen "127.0.0.1:$api_port" --no-predict --policy cloud/warranty.json 2> "$log" &
STACK_PIDS+=("$!")
code=000
for _ in $(seq 50); do
	code=$(curl -s -o "$CHECK_DIR/h.json" -w '%{http_code}' "http://127.0.0.1:$api_port/healthz")
	[ "$code" != 000 ] && break
	sleep 0.1
done
check_eq "the API serves while the broker is unreachable: /healthz 503" 503 "$code"
for _ in $(seq 50); do   # "connecting to ..." until the first attempt failed
	grep -q '"not_ready":"no connection' "$CHECK_DIR/h.json" && break
	sleep 0.1
	curl -s -o "$CHECK_DIR/h.json" "http://127.0.0.1:$api_port/healthz"
done
check "/healthz says why" grep -q "\"not_ready\":\"no connection to mqtt://127.0.0.1:$STACK_BROKER_PORT\"" "$CHECK_DIR/h.json"
check_eq "read API answers meanwhile" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/api/v1/claims")"
stack_write_broker_conf
stack_launch_broker
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
check "listening on once subscribed (well before 30 s)" grep -q "listening on 127.0.0.1:$api_port" "$log"
check_eq "ready once the broker is up: /healthz 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/healthz")"
check "no claim it waited 30 s" bash -c "! grep -q 'within 30 s' '$log'"
stack_cleanup

# make install: the tree under DESTDIR has what the programs need and runs
# the demo from there (outside the source tree); another PREFIX rebuilds.
root="$CHECK_DIR/root"
make --no-print-directory install BUILD="$BUILD" DESTDIR="$root" > "$CHECK_DIR/install.log" 2>&1
check_eq "make install DESTDIR=... exits 0" 0 $?
check "the same PREFIX rebuilds nothing" bash -c "! grep -q '^cc ' '$CHECK_DIR/install.log'"
share="$root/usr/local/share/tpdiag"
for f in bin/tpcollect bin/tpdiagd bin/tpclaim share/tpdiag/boards/archer-ax55.json \
	share/tpdiag/warranty.json share/tpdiag/mosquitto/tpdiag.conf share/tpdiag/mosquitto/acl \
	share/tpdiag/calendars/CN.json share/tpdiag/calendars/DE.json \
	etc/tpdiag/tpcollect.conf etc/tpdiag/tpdiagd.conf etc/tpdiag/tpclaim.conf; do
	check "installed $f" test -s "$root/usr/local/$f"
done
check "the installed broker config expires stranded sessions" \
	grep -q '^persistent_client_expiration ' "$share/mosquitto/tpdiag.conf"
(cd "$CHECK_DIR" && bash "$share/tools/demo.sh" "$root/usr/local/bin") > "$CHECK_DIR/demo.log" 2>&1
check_eq "the installed tree runs the demo" 0 $?
check "... to the end" grep -q "== demo done" "$CHECK_DIR/demo.log"
make --no-print-directory -n install BUILD="$BUILD" PREFIX=/opt/tpdiag-it31 DESTDIR="$root" \
	> "$CHECK_DIR/install-n.log" 2>&1
check "another PREFIX recompiles with its paths" \
	grep -q "TPD_DATADIR='\"/opt/tpdiag-it31/share/tpdiag\"'" "$CHECK_DIR/install-n.log"
make --no-print-directory uninstall BUILD="$BUILD" DESTDIR="$root" > "$CHECK_DIR/uninstall.log" 2>&1
check_eq "make uninstall exits 0" 0 $?
check "uninstall removes programs and data" test ! -e "$root/usr/local/bin/tpcollect" -a ! -e "$share"
check "uninstall keeps (and names) the config files" \
	bash -c "test -f '$root/usr/local/etc/tpdiag/tpcollect.conf' && grep -q 'kept .*tpcollect.conf' '$CHECK_DIR/uninstall.log'"
check_done
