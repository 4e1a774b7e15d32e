#!/usr/bin/env bash
# 42: README's "Running the programs against a real broker" works as
# written (issue 20): its fenced block, taken from README.md as it is, runs
# with bash -e in a temp dir beside build/, boards/ and cloud/ (the top of
# a checkout), on random free ports; every command succeeds, the claim goes
# the whole way, and every file the walkthrough leaves is in .gitignore.
. "$(dirname "$0")/../lib/check.sh"
check_stack

repo=$(pwd)
walk="$CHECK_DIR/walk"
mkdir -p "$walk"
awk '/^## Running the programs against a real broker/ { f = 1 }
     f && /^```sh$/ { g = 1; next }
     g && /^```$/ { exit }
     g' README.md > "$CHECK_DIR/block.sh"
check "README has the block" grep -q "build/tpcollect" "$CHECK_DIR/block.sh"
# The harness around it: on a failure part way, what it started is stopped.
{ echo 'trap '\''kill ${collector:-} ${broker:-} 2> /dev/null || true; wait'\'' EXIT'; cat "$CHECK_DIR/block.sh"; } \
	> "$walk/walk.sh"
ln -s "$(cd "$BUILD" && pwd)" "$walk/build"
ln -s "$repo/boards" "$repo/cloud" "$walk/"
free_port() {
	local p
	for _ in $(seq 50); do
		p=$(stack_random_port)
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return; }
	done
}
port=$(free_port)
api=$(free_port)
(cd "$walk" && PORT=$port API=$api timeout 120 bash -e walk.sh) > "$CHECK_DIR/walk.log" 2>&1
rc=$?
check_eq "the block runs to the end with bash -e" 0 $rc
[ "$rc" = 0 ] || tail -n 20 "$CHECK_DIR/walk.log"
out=$(cat "$CHECK_DIR/walk.log")
check "the collector took reports (listening on the given port)" \
	grep -q "listening on 127.0.0.1:$api" "$walk/tpcollect.log"
check "the device's fault opened C-000001" grep -q "^C-000001" <<< "$out"
check "the claim went to resolved" grep -q "C-000001 is now resolved" <<< "$out"
check "feedback recorded" grep -q "C-000001 feedback recorded" <<< "$out"
check "every signed report verifies" grep -qE "C-000001: ([0-9]+) of \1 signed reports verify" <<< "$out"
check "the second device imported and listed" grep -q "TP24A0002" <<< "$out"
check "the collector stopped with its counts" grep -q "stopping: " "$walk/tpcollect.log"
check "the tokens file holds one line: the name and the token's hash" \
	grep -qxE 'ann sha256:[0-9a-f]{64}' "$walk/tokens"
check_eq "... and nothing else" 1 "$(wc -l < "$walk/tokens")"
# what it left in the tree, all ignored (the checkout's own links aside)
left=""
for p in "$walk"/* "$walk"/.[!.]*; do
	[ -e "$p" ] || continue
	n=${p##*/}
	case $n in walk.sh | build | boards | cloud) continue ;; esac
	[ -d "$p" ] && n="$n/"
	git check-ignore -q --no-index "$n" || left="$left $n"
done
check "every file the walkthrough makes is in .gitignore${left:+ (not:$left)}" test -z "$left"
check "it made what README says" bash -c "cd '$walk' && test -d keys -a -d state/TP24A0001 -a -s registry.csv -a -s tpdiag.db -a -s row.csv"
check_done
