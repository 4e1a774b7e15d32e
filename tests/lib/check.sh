# check.sh - assertions for integration scenarios (sourced; bash).
#
#   check "what" test-expression...     e.g. check "one claim" [ "$n" = 1 ]
#   check_eq "what" EXPECTED ACTUAL
#   check_done                          prints the tally, exits 1 on any failure
#
# Each scenario starts its own stack under a temp folder and stops it on exit.
set -u
CHECK_PASS=0
CHECK_FAIL=0
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. tools/lib/stack.sh
: "${BUILD:=build}"

check() {
	local what=$1
	shift
	if "$@"; then
		CHECK_PASS=$((CHECK_PASS + 1))
		echo "  ok   $what"
	else
		CHECK_FAIL=$((CHECK_FAIL + 1))
		echo "  FAIL $what"
	fi
}

check_eq() {
	local what=$1 want=$2 got=$3
	if [ "$want" = "$got" ]; then
		CHECK_PASS=$((CHECK_PASS + 1))
		echo "  ok   $what ($got)"
	else
		CHECK_FAIL=$((CHECK_FAIL + 1))
		echo "  FAIL $what: expected $want, got $got"
	fi
}

check_done() {
	echo "$CHECK_PASS checks passed, $CHECK_FAIL failed"
	[ "$CHECK_FAIL" -eq 0 ]
}

# A scenario's work folder, removed (and every process stopped) on exit.
# Processes log into it; a sanitizer report in any log (build-san, checked
# after they exit, so leaks count) fails the scenario.
check_stack() {
	CHECK_DIR=$(mktemp -d /tmp/tpdiag-it.XXXXXX)
	trap 'check_finish' EXIT
	stack_init "$CHECK_DIR"
}

check_finish() {
	local rc=$? san
	stack_cleanup
	if [ "$CHECK_FAIL" -ne 0 ]; then
		echo "--- tpcollect.log"
		tail -n 30 "$CHECK_DIR/tpcollect.log" 2>/dev/null
	fi
	san=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$CHECK_DIR"/*.log 2>/dev/null)
	if [ -n "$san" ]; then
		echo "FAIL sanitizer reports in: $san"
		grep -h -A 12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $san | head -n 60
		rc=1
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $CHECK_DIR"; else rm -rf "$CHECK_DIR"; fi
	exit "$rc"
}

# A query on the stack's database, answered as sqlite3 prints it (rows of
# |-separated values): SQLite, or PostgreSQL under STACK_PG=1 (or a
# postgresql:// URL in STACK_DB).
db() {
	case "${STACK_DB:-$STACK_DB_URL}" in
	postgres*) psql -X -q -tA -F '|' -v ON_ERROR_STOP=1 "${STACK_DB:-$STACK_DB_URL}" -c "$1" ;;
	*) sqlite3 "$CHECK_DIR/tpcollect.db" "$1" ;;
	esac
}

# Waits until the query returns want (max 30 s); prints the last answer.
wait_db() {
	local query=$1 want=$2 got i
	for i in $(seq 300); do
		got=$(db "$query" 2>/dev/null)
		[ "$got" = "$want" ] && break
		sleep 0.1
	done
	echo "$got"
}
