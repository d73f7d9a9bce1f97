#!/bin/sh
# bench/recovery-cost.sh [ROUNDS] - the steady-state cost of the crash
# recovery bookkeeping (srv_head stored per request, the reaper gate).
# Builds BASE (default 8d53bb2, the last commit before recovery) in a
# temporary worktree, then runs `aoki bench ipc --json` of BASE and of this
# tree alternately ROUNDS times (default 5) on the same machine, and prints
# the medians of call_rtt_ns and async_msgs_per_s with after/before ratios.
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-5}
base=${BASE:-8d53bb2}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/base" >/dev/null 2>&1; rm -rf "$tmp"' EXIT

make -s all
git worktree add -q --detach "$tmp/base" "$base"
make -s -C "$tmp/base" all >/dev/null
for i in $(seq "$rounds"); do
	echo "round $i/$rounds" >&2
	"$tmp/base/build/bin/aoki" bench ipc --json 2>/dev/null >"$tmp/before.$i.json"
	build/bin/aoki bench ipc --json 2>/dev/null >"$tmp/after.$i.json"
done
python3 - "$tmp" "$base" <<'PY'
import glob, json, statistics, sys
load = lambda what: [json.load(open(p)) for p in sorted(glob.glob(f"{sys.argv[1]}/{what}.*.json"))]
before, after = load("before"), load("after")
print(f"base {sys.argv[2]} vs this tree, {len(after)} alternating runs each, medians:")
for key, better in (("call_rtt_ns", "lower"), ("async_msgs_per_s", "higher")):
    b = statistics.median(r[key] for r in before)
    a = statistics.median(r[key] for r in after)
    print(f"  {key:18s} before {b:12.1f}  after {a:12.1f}  after/before {a / b:.3f} ({better} is better)")
PY
