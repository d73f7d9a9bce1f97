#!/bin/sh
# tests/run.sh DIR [NAME...] - run test binaries, liburing style.
# Each test is an executable in DIR: exit 0 pass, 77 skip, anything else
# fail.  Each gets AOKI_TEST_TIMEOUT seconds (default 120).  Prints one
# line per test and a closing summary "N passed, N failed, N skipped";
# exits 1 if any test failed.
set -u
dir=${1:?usage: tests/run.sh DIR [NAME...]}
shift
timeout_s=${AOKI_TEST_TIMEOUT:-120}
pass=0 fail=0 skip=0 failed=""

if [ $# -gt 0 ]; then
	tests="$*"
else
	tests=$(cd "$dir" && ls | sort)
fi

for t in $tests; do
	bin="$dir/$t"
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	log=$(mktemp)
	start=$(date +%s.%N)
	timeout -k 5 "$timeout_s" "$bin" >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0)
		pass=$((pass + 1))
		printf 'PASS  %-28s %6ss\n' "$t" "$secs"
		# Tests may report measurements on lines starting with "note:".
		grep '^note:' "$log" | sed 's/^/      /'
		;;
	77)
		skip=$((skip + 1))
		printf 'SKIP  %-28s %s\n' "$t" "$(grep -m1 'SKIP' "$log" | cut -c1-100)"
		;;
	124 | 137)
		fail=$((fail + 1))
		failed="$failed $t"
		printf 'FAIL  %-28s timed out after %ss\n' "$t" "$timeout_s"
		tail -n 20 "$log" | sed 's/^/      | /'
		;;
	*)
		fail=$((fail + 1))
		failed="$failed $t"
		printf 'FAIL  %-28s exit %s\n' "$t" "$rc"
		tail -n 30 "$log" | sed 's/^/      | /'
		;;
	esac
	rm -f "$log"
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
