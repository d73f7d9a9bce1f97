#!/bin/sh
# soak-blk: a short storage fault soak.  aoki-init runs aoki-blkd on a new
# 64 MiB volume image; 4 client threads (a channel and a disjoint region
# each) keep 16 random 4 KiB reads and writes in flight; the server is
# killed with SIGKILL 20 times.  Passes when aoki soak exits 0 and its
# JSON says lost, corrupt and errors are 0 and every kill was recovered
# from: every read, and a final read of every block, returned the last
# acknowledged write.  Stall times are reported, not asserted (a shared
# VM's scheduling decides the tail).
out=$(mktemp) log=$(mktemp)
trap 'rm -f "$out" "$log"' EXIT
"@AOKI@" soak blk --kills 20 --clients 4 --qd 16 --json >"$out" 2>"$log"
rc=$?
ok=1
for want in '"kills": 20,' '"lost": 0,' '"corrupt": 0,' '"errors": 0,'; do
	grep -qF "$want" "$out" || ok=0
done
if [ $rc -ne 0 ] || [ $ok -ne 1 ]; then
	echo "FAIL: aoki soak blk exited $rc"
	cat "$out"
	tail -n 40 "$log"
	exit 1
fi
sed 's/^/note: /' "$out"
exit 0
