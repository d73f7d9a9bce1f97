#!/bin/sh
# host-pku - run the isolation test of in-process hosting (generated from
# tests/host/pku-run.sh by mk/host.mk): natively when this CPU and kernel
# have PKU, otherwise inside a QEMU guest with emulated PKU.
# AOKI_DOMAIN_VM=1 forces the guest.  Exit 0 pass, 1 fail, 77 skip.
bin=@BIN@
vm_run=@VM_RUN@

if [ -z "${AOKI_DOMAIN_VM:-}" ] && grep -qw pku /proc/cpuinfo && grep -qw ospke /proc/cpuinfo; then
	echo "host-pku: this CPU has PKU: running natively"
	timeout 60 "$bin"
	exit $?
fi
echo "host-pku: no PKU on this CPU: running in QEMU (-accel tcg -cpu max, emulated PKU)"
start=$(date +%s)
# Verbose: the guest's console, whose "note:" and per-check lines
# vm-run.sh does not pass on; kept from it are the test's own lines.
out=$(AOKI_VM_VERBOSE=1 "$vm_run" -t 80 "$bin" 2>&1)
rc=$?
printf '%s\n' "$out" | tr -d '\r' |
	grep -a -E '^(note:|ok:|FAIL|PASS|SKIP|vm-run:|      \||[^ ]*:[0-9]+: )' |
	sed 's/^\(PASS\|SKIP\|FAIL\|ok:\)/note: \1/'
echo "note: guest run $(( $(date +%s) - start )) s"
exit $rc
