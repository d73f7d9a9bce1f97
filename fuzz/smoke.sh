#!/bin/sh
# fuzz-smoke - run every libFuzzer harness briefly over its seed corpus,
# so the harnesses stay compiled and green.  `make fuzz` runs them longer.
set -u
build=@FUZZ_BUILD@
src=@SRCDIR@
secs=${AOKI_FUZZ_SMOKE_SECONDS:-4}
status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$build"/fuzz_*; do
	name=$(basename "$f")
	mkdir -p "$work/$name"
	if "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/" "$work/$name" \
		"$src/fuzz/corpus/$name" >"$work/$name.log" 2>&1; then
		runs=$(grep -m1 'stat::number_of_executed_units' "$work/$name.log" | awk '{print $2}')
		echo "note: $name: $runs runs in ${secs}s, no crash"
	else
		echo "$name FAILED:"
		tail -n 40 "$work/$name.log"
		status=1
	fi
done
exit $status
