#!/bin/sh
# domain-pku - run the compartment tests that need PKU (generated from
# tests/domain/pku-run.sh by mk/domain.mk).  Natively when this CPU and
# kernel have PKU, otherwise inside a QEMU guest with emulated PKU.
# AOKI_DOMAIN_VM=1 forces the guest.  Exit 0 pass, 1 fail, 77 skip.
bin_dir=@BIN_DIR@
vm_run=@VM_RUN@
tests="@TESTS@"

if [ -z "${AOKI_DOMAIN_VM:-}" ] && grep -qw pku /proc/cpuinfo && grep -qw ospke /proc/cpuinfo; then
	echo "domain-pku: this CPU has PKU: running natively"
	fail=0 ran=0
	for t in $tests; do
		timeout 60 "$bin_dir/$t"
		rc=$?
		case $rc in
		0) echo "note: PASS  $t (native PKU)"; ran=1 ;;
		77) echo "note: SKIP  $t" ;;
		*) echo "note: FAIL  $t (exit $rc)"; fail=1 ran=1 ;;
		esac
	done
	[ "$ran" = 1 ] && exit $fail
	echo "domain-pku: every test skipped natively (pkeys unusable?): trying the VM"
fi
echo "domain-pku: no PKU on this CPU: running in QEMU (-accel tcg -cpu max, emulated PKU)"
set --
for t in $tests; do set -- "$@" "$bin_dir/$t"; done
out=$("$vm_run" -t 40 "$@" 2>&1)
rc=$?
# tests/run.sh shows "note:" lines of passing tests: list every test.
printf '%s\n' "$out" | sed 's/^\(PASS\|SKIP\|FAIL\)/note: \1/'
exit $rc
