#!/bin/sh
# soak-ipc: a short fault soak.  aoki-init runs aoki-soakd; 4 clients x 2
# threads load it with sync and async echo/append requests; it is killed
# with SIGKILL 30 times.  Passes when no request is lost, duplicated,
# answered wrongly or failed (aoki soak exits 0).  Stall times are
# reported, not asserted (a shared VM's scheduling decides the tail).
out=$(mktemp) log=$(mktemp)
trap 'rm -f "$out" "$log"' EXIT
"@AOKI@" soak ipc --kills 30 --clients 4 --threads 2 --json >"$out" 2>"$log"
rc=$?
if [ $rc -ne 0 ]; then
	cat "$out"
	tail -n 40 "$log"
	exit 1
fi
sed 's/^/note: /' "$out"
exit 0
