#!/bin/sh
# plots: scripts/plots.sh draws every figure from the recorded JSON in
# docs/data (the formats `aoki bench ... --json` and `aoki soak ... --json`
# print): one well-formed SVG per kind, and no note that a file or a
# figure was left out (the script says so when it finds no numbers, as
# after a change of the JSON's keys).  Skips (77) without gnuplot, which
# only `make plots` installs.
src="@SRC@"
command -v gnuplot >/dev/null 2>&1 ||
	{ echo "SKIP: gnuplot not installed (make plots installs gnuplot-nox)"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "plots: $*"; exit 1; }

"$src/scripts/plots.sh" "$d" "$src"/docs/data/*.json >"$d/log" 2>&1 ||
	{ cat "$d/log"; fail "scripts/plots.sh failed"; }
grep -v '^  PLOT' "$d/log" && fail "unexpected output (above)"
for f in ipc-latency blk-ratios fs-ratios soak-stalls; do
	[ -s "$d/$f.svg" ] || fail "$f.svg not drawn"
	grep -q '</svg>' "$d/$f.svg" || fail "$f.svg is cut short"
	echo "note: $f.svg: $(wc -c <"$d/$f.svg") bytes"
done
exit 0
