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

for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	"$bin" > "$log" 2>&1
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

for script in tests/integration/[0-9]*.sh; do
	name=$(basename "$script" .sh)
	start=$(date +%s)
	if bash "$script" > "$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name ($(( $(date +%s) - start )) s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name"
		sed 's/^/    /' "$log"
	fi
done
rm -f "$log"

if [ "$fail" -ne 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
