#!/bin/sh
# soak-fs: a short file system fault soak.  aoki-init runs aoki-blkd on a
# fresh 256 MiB ext4 image and aoki-fsd on it; 4 client threads (a mount
# and a directory each) create, write, append, truncate, rename, unlink,
# fsync, read and syncfs against a model of their files while aoki-fsd is
# killed with SIGKILL 10 times.  Passes when aoki soak exits 0 and its
# JSON says lost, corrupt, errors and fsck_errors are 0 and mount_diffs 0
# (or null: no root or no loop mount here): nothing acknowledged before a
# syncfs was lost, no read disagreed with the model, no call failed, and
# the image is clean ext4 after the stack stops.  Stall times are
# reported, not asserted.
out=$(mktemp) log=$(mktemp)
trap 'rm -f "$out" "$log"' EXIT
command -v mke2fs >/dev/null 2>&1 && command -v e2fsck >/dev/null 2>&1 || {
	echo "SKIP: e2fsprogs (mke2fs, e2fsck) not installed"
	exit 77
}
"@AOKI@" soak fs --kills 10 --clients 4 --json >"$out" 2>"$log"
rc=$?
ok=1
for want in '"kills": 10,' '"lost": 0,' '"corrupt": 0,' '"errors": 0,' '"fsck_errors": 0,'; do
	grep -qF "$want" "$out" || ok=0
done
grep -qE '"mount_diffs": (0|null),' "$out" || ok=0
if [ $rc -ne 0 ] || [ $ok -ne 1 ]; then
	echo "FAIL: aoki soak fs exited $rc"
	cat "$out"
	tail -n 40 "$log"
	exit 1
fi
grep -h 'note:' "$log" | sed 's/^.*note: /note: /'
sed 's/^/note: /' "$out"
exit 0
