#!/usr/bin/env bash
# run.sh - the whole suite: every cmocka unit test binary, every fuzz target
# over its corpus, then every integration scenario (tests/integration/NN-*.sh, real mosquitto + collector).
# Ends with one line "tests: N passed, M failed" and exits non-zero on any
# failure.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
pass=0
fail=0
failed=()
log=$(mktemp /tmp/tpdiag-tests.XXXXXX)

# One private PostgreSQL server for the whole run (tests/lib/pg.sh): the
# store's unit tests run against it as well as SQLite, and the scenarios in
# PG_SCENARIOS run a second time with their collector on it (issue 16).
# A server that does not start is a failure, not a skip.
. tests/lib/pg.sh
pg_dir=$(mktemp -d /tmp/tpdiag-pg.XXXXXX)
trap 'pg_stop; rm -rf "$pg_dir"' EXIT
if pg_start "$pg_dir" > "$log" 2>&1; then
	echo "ok   postgresql server ($PG_URL)"
	export TPC_TEST_PG_URL=$PG_URL
else
	fail=$((fail + 1))
	failed+=("postgresql-server")
	echo "FAIL postgresql server"
	sed 's/^/    /' "$log"
fi
export TPC_TEST_PG_REQUIRED=1
# The scenarios whose SQL and behaviour are the backend's business.
PG_SCENARIOS=${PG_SCENARIOS:-01-trace-to-claim 02-duplicate-delivery 06-claim-lifecycle 22-webhooks
	23-customer-claims 24-claims-read-right 32-console 46-claim-work}

for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	# a bound on each (a failed PostgreSQL test can leave a transaction
	# that the next one's schema reset waits on): a hang is a failure
	timeout 900 "$bin" > "$log" 2>&1
	rc=$?
	# a binary may run several groups (test_store: SQLite, then PostgreSQL)
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1   # crashed, or a sanitizer stopped it
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		failed+=("$name")
		echo "FAIL $name"
		sed 's/^/    /' "$log"
	else
		echo "ok   $name ($p)"
	fi
done

# Fuzz targets replay their seed corpus plus deterministic mutations of it
# (tests/fuzz/driver.c); `make fuzz` runs them under libFuzzer instead.
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	if FUZZ_MUTATIONS=${FUZZ_MUTATIONS:-3000} "$bin" "tests/fuzz/corpus/${name#fuzz_}" > "$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name ($(tail -n 1 "$log"))"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name"
		sed 's/^/    /' "$log" | tail -n 40
	fi
done

# One scenario: LABEL is how the lines name it; the rest of the arguments
# run it (an environment assignment may lead: env does it).
scenario() {
	local label=$1 start
	shift
	start=$(date +%s)
	if timeout 1200 env "$@" > "$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $label ($(( $(date +%s) - start )) s)"
	else
		fail=$((fail + 1))
		failed+=("${label// /-}")
		echo "FAIL $label"
		sed 's/^/    /' "$log"
	fi
}
for script in tests/integration/[0-9]*.sh; do
	scenario "$(basename "$script" .sh)" bash "$script"
done
for name in $PG_SCENARIOS; do
	[ -n "${PG_URL:-}" ] || break
	scenario "$name on postgresql" STACK_PG=1 bash "tests/integration/$name.sh"
done
rm -f "$log"

if [ "$fail" -ne 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
