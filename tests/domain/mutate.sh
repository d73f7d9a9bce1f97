#!/bin/bash
# tests/domain/mutate.sh - mutation testing of the compartment runtime
# (`make mutate-domain`).  Each mutation below removes one defence from a
# copy of lib/domain; the PKU tests (build/tests/domain-pku: natively with
# PKU, else in the QEMU guest) and the native unprotected-mode tests
# (domain-unprotected, domain-recover: built straight from the mutated
# objects) run against it and must fail: "killed".  A
# mutation the tests still pass with "survived".  Mutations marked
# "unobservable" change nothing the tests can see under emulation (a
# missing lfence: TCG does not speculate; a retry that only matters when a
# signal lands between two instructions; a check made redundant by
# another); they are run and reported, and do not count as failures.  Exit 0 when every other mutation was killed.
#
# Usage: tests/domain/mutate.sh [NAME-SUBSTRING]   (from the repository root)
set -u

filter=${1:-}
[ -f lib/domain/gate.S ] || { echo "run from the repository root" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tests" "$work/scripts"
cp -r Makefile mk include lib "$work/"
cp -r tests/domain tests/util tests/domain-recover.c "$work/tests/"
cp scripts/vm-run.sh "$work/scripts/"
cp -r lib/domain "$work/pristine"	# the code under test, as it was at the start
# A mutation may leave a function unused or a body empty: warnings only
# in this copy.
sed -i 's/ -Werror / /' "$work/Makefile"

# name <TAB> expect (kill | unobservable) <TAB> file <TAB> perl substitution (-0777: whole file)
mutations=$(cat <<'EOF'
no-pkey-mprotect	kill	sys.c	s/return dom_pkey_mprotect\(addr, len, PROT_READ \| PROT_WRITE, pkey\);/return dom_mprotect(addr, len, PROT_READ | PROT_WRITE);/
all-access-gate-pkru	kill	runtime.c	s/uint32_t v = PKRU_ALL_DENIED;\n\n\tif \(d->pkey > 0\)/uint32_t v = 0;\n\n\tif (d->pkey > 0)/
leaky-gate-exit	kill	gate.S	s/movl GF_PKRU\(%rdx\), %ebx/movl aoki__pkru_table+RO_GAD(%rip), %ebx/
no-revoke-on-destroy	kill	runtime.c	s/\t\taoki_domain_grant\(d, AOKI_DOMAIN_NONE\);\n//
free-key-on-destroy	kill	runtime.c	s/\t\tdom_revoke_quarantine\(d->pkey, d->name\);\n\t\}\n\tpthread_mutex_unlock/\t\tdom_pkey_free(d->pkey);\n\t}\n\tpthread_mutex_unlock/
no-revoke-other-threads	kill	revoke.c	s/\t\tr = pass\(&done, round\);/\t\tr = 0;/
no-revoke-self	kill	revoke.c	s/\tdom_pkru_update\(0, bits\);\t\/\*/\t(void)0;\t\/*/
no-revoke-sigframe	kill	revoke.c	s/\t\*pk \|= bits;\n//
no-revoke-gate-frames	kill	revoke.c	s/\tscrub_frames\(bits\);\n\t\/\* Release/\t\/* Release/
revoke-ack-mid-gate	unobservable	revoke.c	s/\t\treturn;\t\t\/\* a register may hold a PKRU: asked again \*\//\t\t;/
no-pkru-update-retry	unobservable	revoke.c	s/\t\tif \(now == e\)\n\t\t\treturn;/\t\treturn;/
no-table-compare	kill	gate.S	s/\tcmpl \(%r15,%rbx,4\), %eax\n\tjne aoki__gate_bad\n//
no-table-compare-nor-arena	kill	gate.S	s/\tcmpl \(%r15,%rbx,4\), %eax\n\tjne aoki__gate_bad\n(.*?)\tcmpq aoki__pkru_table\+RO_ARENA_LO\(%rip\), %rbp\n\tjbe aoki__gate_bad\n\tcmpq aoki__pkru_table\+RO_ARENA_HI\(%rip\), %rbp\n\tja aoki__gate_bad\n/$1/s
no-arena-check	kill	gate.S	s/\tcmpq aoki__pkru_table\+RO_ARENA_LO\(%rip\), %rbp\n\tjbe aoki__gate_bad\n\tcmpq aoki__pkru_table\+RO_ARENA_HI\(%rip\), %rbp\n\tja aoki__gate_bad\n//
no-exit-value-compare	kill	gate.S	s/\tcmpl %ebx, %eax\n\tjne aoki__gate_bad\n//
no-exit-frame-key-check	kill	gate.S	s/\tjne aoki__gate_bad\n\ttestl aoki__pkru_table\+RO_GAD\(%rip\), %eax\n\tjz aoki__gate_bad\n/\tjne aoki__gate_bad\n/
no-caller-frame-key-check	unobservable	gate.S	s/\ttestl aoki__pkru_table\+RO_GAD\(%rip\), %r10d\n\tjz aoki__gate_bad\n//
no-wrpkru-fn-compare	kill	gate.S	s/\tcmpl %edi, %eax\n\tjne aoki__gate_bad\n//
no-open-frames-compare	kill	gate.S	s/\tcmpl aoki__pkru_table\+RO_GOPEN\(%rip\), %eax\n\tjne aoki__gate_bad\n//
no-trap-reset	kill	gate.S	s/aoki__gate_bad:\n.*?\tud2\n/aoki__gate_bad:\n\tud2\n/s
no-lfence	unobservable	gate.S	s/\tlfence[^\n]*\n//g
no-frame-checks	kill	gate.S	s/\.macro CHECK_GSTACK\n.*?\.endm/.macro CHECK_GSTACK\n.endm/s
no-frame-region-check	kill	gate.S	s/\tcmpq aoki__pkru_table\+RO_BLK_LO\(%rip\), %r12\n\tjb aoki__gate_bad\n\tcmpq aoki__pkru_table\+RO_BLK_HI\(%rip\), %r12\n\tjae aoki__gate_bad\n//
no-frame-self-check	unobservable	gate.S	s/\tcmpq G_SELF\(%r12\), %r12\n\tjne aoki__gate_bad\n//
no-frame-fsbase-check	kill	gate.S	s/\tcmpq %rcx, %rax\n\tjne aoki__gate_bad\n//
no-depth-check	kill	gate.S	s/\ttestl %ecx, %ecx\t\t\/\* no gate to return from \*\/\n\tjz aoki__gate_bad\n//
no-scan	kill	scan.c	s/int dom_scan_self\(bool report_only\)\n\{/int dom_scan_self(bool report_only)\n{\n\tif (1) return 0;/
no-map-exec-scan	kill	scan.c	s/n = aoki_domain_scan\(copy, len, NULL\);/n = 0;/
map-exec-in-place	kill	scan.c	s/\tr = dom_mprotect\(addr, len, PROT_READ\);\n\tif \(r < 0\)\n\t\treturn r;\n/\tr = dom_mprotect(addr, len, PROT_READ);\n\tif (r < 0)\n\t\treturn r;\n\tif (aoki_domain_scan(addr, len, NULL)) return -EPERM;\n\treturn dom_mprotect(addr, len, PROT_READ | PROT_EXEC);\n/
no-landlock	kill	landlock.c	s/int dom_landlock_install\(bool report_only\)\n\{/int dom_landlock_install(bool report_only)\n{\n\tif (1) return 0;/
no-sigframe-pkru-restore	kill	signal.c	s/\t\t\*pk = saved;\n//
no-gate-trap-rule	kill	signal.c	s/\tif \(in_gate && si && si->si_code > 0 &&/\tif (0 \&\& in_gate \&\& si \&\& si->si_code > 0 \&\&/
no-revoke-block-in-handlers	unobservable	signal.c	s/\tsigaddset\(&w.sa_mask, DOM_REVOKE_SIG\);\n//
seccomp-x32	kill	seccomp.c	s/X32_SYSCALL_BIT, L_EPERM, 0\)/X32_SYSCALL_BIT, 0, 0)/
seccomp-arch	kill	seccomp.c	s/jeq\(p, AUDIT_ARCH_X86_64, 0, L_KILL\)/jeq(p, AUDIT_ARCH_X86_64, 0, L_ALLOW)/
seccomp-sigreturn	kill	seccomp.c	s/\t\tret\(p, SECCOMP_RET_ERRNO \| EPERM\);\n\t\tplace\(p, not_sigreturn\);/\t\tret(p, SECCOMP_RET_ALLOW);\n\t\tplace(p, not_sigreturn);/
seccomp-pkey_alloc	kill	seccomp.c	s/\t\tjeq\(p, SYS_pkey_alloc, L_EPERM, 0\);\n//
seccomp-pkey_free	kill	seccomp.c	s/\t\tjeq\(p, SYS_pkey_free, L_EPERM, 0\);\n//
seccomp-pkey_mprotect	kill	seccomp.c	s/\t\tjeq\(p, SYS_pkey_mprotect, L_EPERM, 0\);\n//
seccomp-process_vm_readv	kill	seccomp.c	s/\t\tjeq\(p, SYS_process_vm_readv, L_EPERM, 0\);\n//
seccomp-process_vm_writev	kill	seccomp.c	s/\t\tjeq\(p, SYS_process_vm_writev, L_EPERM, 0\);\n//
seccomp-ptrace	kill	seccomp.c	s/\t\tjeq\(p, SYS_ptrace, L_EPERM, 0\);\n//
seccomp-process_madvise	kill	seccomp.c	s/\t\tjeq\(p, SYS_process_madvise, L_EPERM, 0\);\n//
seccomp-userfaultfd	kill	seccomp.c	s/\t\tjeq\(p, SYS_userfaultfd, L_EPERM, 0\);\n//
seccomp-io_uring_setup	kill	seccomp.c	s/\t\tjeq\(p, SYS_io_uring_setup, L_EPERM, 0\);\n//
seccomp-io_uring_enter	kill	seccomp.c	s/\t\tjeq\(p, SYS_io_uring_enter, L_EPERM, 0\);\n//
seccomp-io_uring_register	kill	seccomp.c	s/\t\tjeq\(p, SYS_io_uring_register, L_EPERM, 0\);\n//
seccomp-clone	kill	seccomp.c	s/\t\tjeq\(p, SYS_clone, clone, 0\);\n//
seccomp-clone3	kill	seccomp.c	s/\t\tjeq\(p, SYS_clone3, L_ENOSYS, 0\);\n//
seccomp-shmat	kill	seccomp.c	s/\t\tjeq\(p, SYS_shmat, shm, 0\);\n//
seccomp-personality	kill	seccomp.c	s/\t\tjeq\(p, SYS_personality, pers, 0\);\n//
seccomp-rt_sigaction	kill	seccomp.c	s/\t\tjeq\(p, SYS_rt_sigaction, L_SIGACT, 0\);\n//
seccomp-mprotect-exec	kill	seccomp.c	s/PROT_EXEC, L_EPERM, L_RANGE\)/PROT_EXEC, L_RANGE, L_RANGE)/
seccomp-mprotect-range	kill	seccomp.c	s/PROT_EXEC, L_EPERM, L_RANGE\)/PROT_EXEC, L_EPERM, L_ALLOW)/
seccomp-mremap	kill	seccomp.c	s/\t\tjeq\(p, SYS_mremap, L_MREMAP, 0\);\n//
seccomp-arch_prctl	kill	seccomp.c	s/\t\tjeq\(p, SYS_arch_prctl, arch, 0\);\n//
seccomp-mmap-exec	kill	seccomp.c	s/PROT_EXEC, L_EPERM, 0\);\n\t\}\n\tld\(p, OFF_ARG_LO\(3\)\);/PROT_EXEC, 0, 0);\n\t}\n\tld(p, OFF_ARG_LO(3));/
seccomp-mmap-fixed	kill	seccomp.c	s/MAP_FIXED, L_RANGE, L_ALLOW\)/MAP_FIXED, L_ALLOW, L_ALLOW)/
seccomp-munmap	kill	seccomp.c	s/\tjeq\(p, SYS_munmap, L_RANGE, 0\);\n//
seccomp-madvise	kill	seccomp.c	s/jeq\(p, SYS_madvise, L_RANGE, L_ALLOW\)/jeq(p, SYS_madvise, L_ALLOW, L_ALLOW)/
seccomp-placed-globals	kill	runtime.c	s/\t\tr = dom_seccomp_protect\(addr, len\);\n\t\tif \(r < 0\)\n\t\t\tgoto out;\n//
no-recover-sigbus	kill	fault.c	s/\{ SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT \}/{ SIGSEGV, SIGFPE, SIGILL, SIGABRT }/
recover-non-recoverable	kill	fault.c	s/if \(!f \|\| !\(f->d->flags & AOKI_DOMAIN_RECOVERABLE\)\)/if (!f)/
recover-in-gate-text	kill	fault.c	s/\tif \(in_gate_text\(\(uintptr_t\)uc->uc_mcontext.gregs\[REG_RIP\]\)\)\n\t\treturn false;\n//
recover-sent-signals	kill	fault.c	s/\} else if \(si->si_code <= 0\) \{\n\t\treturn false;[^\n]*\n\t\}/}/
recover-abort-from-anyone	kill	fault.c	s/ \|\| si->si_pid != getpid\(\)\)/)/
recover-off-the-callee-stack	kill	fault.c	s/if \(!s \|\| sp < \(uintptr_t\)s->base \|\| sp >= \(uintptr_t\)f->top\)/if (!s)/
fault-install-pku-only	kill	runtime.c	s/\tr = dom_fault_install\(\);/\tr = dom_rt.isolated ? dom_fault_install() : 0;/
nopku-landing-skips-stack	kill	gate.S	s/aoki__gate_exit_nopku:\n\tmovq F_RSP\(%r12\), %rsp\n/\tmovq F_RSP(%r12), %rsp\naoki__gate_exit_nopku:\n/
chain-no-resend	kill	fault.c	s/\tif \(sent\)\t[^\n]*\n\t\taoki__sys\(SYS_tgkill[^\n]*\n//
wrapper-no-recover	kill	signal.c	s/\tif \(dom_fault_recover\(sig, si, ucv\)\)\n\t\treturn;\n//
wrapper-dfl-raw	kill	signal.c	s/if \(!dom_fault_sig\(sig\) && \(act->sa_handler == SIG_DFL/if ((act->sa_handler == SIG_DFL/
no-fatal-flag	unobservable	fault.c	s/\tt->fatal = true;[^\n]*\n//
light-recovery-protected-exit	kill	fault.c	s/\tif \(f->light\) \{/\tif (0) {/
light-no-exit-value-compare	kill	gate.S	s/\tcmpl %ebx, %eax\n\tjne aoki__gate_bad\n(\ttestl aoki__pkru_table\+RO_GAD\(%rip\), %eax\n\tjz aoki__gate_bad\n\tmovq F_RSP\(%r12\), %rsp)/$1/
light-no-exit-frame-key-check	kill	gate.S	s/\ttestl aoki__pkru_table\+RO_GAD\(%rip\), %eax\n\tjz aoki__gate_bad\n(\tmovq F_RSP\(%r12\), %rsp)/$1/
light-leaky-exit	kill	gate.S	s/\tmovl F_PKRU\(%r12\), %ebx\n/\tmovl aoki__pkru_table+RO_GAD(%rip), %ebx\n/
no-revoke-light-frames	kill	revoke.c	s/\tfor \(unsigned i = 0; i < DOM_MAX_DEPTH; i\+\+\)\n\t\tf\[i\].caller_pkru \|= bits;\n//
revoke-io-workers-hold-nothing	kill	revoke.c	s/\t\t\tdone->held \|= \(uint32_t\)w;/\t\t\t(void)w;/
revoke-ask-io-workers	kill	revoke.c	s/\t\tif \(w >= 0\)\n/\t\tif (0)\n/
revoke-io-workers-hold-all	kill	revoke.c	s/\(keys & \(1u << k\)\) && born\[k\] < made_by/keys \& (1u << k)/
revoke-no-successor	kill	revoke.c	s/\t\tk = successor \? heir_of\(name\) : -1;/\t\tk = -1; (void)heir_of;/
revoke-heir-to-anyone	kill	revoke.c	s/\t\tk = successor \? heir_of\(name\) : -1;/\t\tk = heir ? __builtin_ctz(heir) : -1; (void)heir_of;/
unplace-keeps-placement	kill	runtime.c	s/\t\td->places\[i\] = d->places\[--d->nplaces\];\n//
unplace-no-retag	kill	runtime.c	s/\t\tr = dom_tag\(addr, len, d->pkey > 0 \? 0 : -1\);/\t\tr = 0;/
revoke-resend-while-pending	kill	revoke.c	s/\t\tif \(send\) \{\n\t\t\tsend = false;/\t\tif (1) {/
seccomp-table-range	kill	seccomp.c	s/r = build\(&p, true, \(const uintptr_t \(\*\)\[2\]\)ranges, 2\);/r = build(\&p, true, (const uintptr_t (*)[2])ranges, 1);/
EOF
)

# The native unprotected-mode tests, linked straight against the
# (mutated) objects of lib/domain: they need nothing else of the tree.
native() {
	(cd "$work" && for t in tests/domain-recover.c tests/domain/unprotected.c; do
		b=build/native-$(basename "$t" .c)
		cc -O2 -std=gnu11 -Iinclude -pthread -o "$b" "$t" build/obj/lib/domain/*.o >>"$work/build.log" 2>&1 ||
			{ echo "note: FAIL  $b (does not build)"; continue; }
		# The subshell's stderr holds the shell's "Bus error" notes.
		{ timeout 60 "$b" >/dev/null 2>&1; } 2>/dev/null || echo "note: FAIL  $(basename "$b")"
	done)
}

# The unmutated code must pass, or every mutation would look killed.
if ! (cd "$work" && make -j2 build/tests/domain-pku >"$work/build.log" 2>&1); then
	echo "mutate-domain: the unmutated tree does not build"; exit 2
fi
nat=$(native)
[ -z "$nat" ] || { printf '%s\n' "$nat"; echo "mutate-domain: the unmutated code fails natively"; exit 2; }
out=$(cd "$work" && build/tests/domain-pku 2>&1)
case $? in
0) echo "baseline  the unmutated code passes" ;;
77) echo "SKIP: the PKU tests cannot run here"; exit 77 ;;
*) printf '%s\n' "$out" | grep -E 'FAIL' ; echo "mutate-domain: the unmutated code fails"; exit 2 ;;
esac

killed=0 survived=0 unobs_survived=0 bad=0
while IFS=$'\t' read -r name expect file expr; do
	[ -n "$name" ] || continue
	case "$name" in *"$filter"*) ;; *) continue ;; esac
	rm -rf "$work/lib/domain"
	cp -r "$work/pristine" "$work/lib/domain"
	f="$work/lib/domain/$file"
	cp "$f" "$f.orig"
	perl -0777 -pi -e "$expr" "$f"
	if cmp -s "$f" "$f.orig"; then
		echo "ERROR     $name: the mutation does not apply to lib/domain/$file"
		bad=$((bad + 1))
		continue
	fi
	rm -f "$f.orig"
	rm -rf "$work/build/obj/lib/domain" "$work/build/domain-pku"
	if ! (cd "$work" && make -j2 build/tests/domain-pku >"$work/build.log" 2>&1); then
		echo "ERROR     $name: does not build"; tail -n 5 "$work/build.log" | sed 's/^/          | /'
		bad=$((bad + 1))
		continue
	fi
	out=$(cd "$work" && build/tests/domain-pku 2>&1)
	rc=$?
	nat=$(native)
	if [ -n "$nat" ]; then
		out=$(printf '%s\n%s' "$out" "$nat")
		[ $rc -eq 77 ] && rc=1
		[ $rc -eq 0 ] && rc=1
	fi
	if [ $rc -eq 77 ]; then
		echo "SKIP: the PKU tests cannot run here"; exit 77
	fi
	if [ $rc -ne 0 ]; then
		by=$(printf '%s\n' "$out" | sed -n 's/^note: FAIL  \([^ ]*\).*/\1/p' | tr '\n' ' ')
		echo "killed    $name (by: $by)"
		killed=$((killed + 1))
	elif [ "$expect" = unobservable ]; then
		echo "survived  $name (expected: not observable under emulation, see docs/domain.md)"
		unobs_survived=$((unobs_survived + 1))
	else
		echo "SURVIVED  $name"
		survived=$((survived + 1))
	fi
done <<<"$mutations"
echo "mutate-domain: $killed killed, $survived survived, $unobs_survived survived as documented (unobservable), $bad broken"
[ $survived -eq 0 ] && [ $bad -eq 0 ]
