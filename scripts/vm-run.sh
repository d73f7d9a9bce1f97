#!/bin/sh
# scripts/vm-run.sh - run static test binaries inside a QEMU guest with
# emulated PKU (qemu-system-x86_64 -accel tcg -cpu max) and report per test.
#
# Usage: scripts/vm-run.sh [-t SECONDS] BINARY...
#
# The guest kernel is Debian's cloud kernel, fetched once with
# `apt-get download` and unpacked with `dpkg -x` into the cache directory
# $AOKI_VM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/aoki/vm); nothing
# is installed into /boot.  The initramfs holds busybox (static) and the
# given binaries; /init runs each one, prints "AOKI-VM <name> <rc>" on the
# serial console and powers the guest off.
#
# Prints "PASS name" / "FAIL name (exit N)" / "SKIP name" per binary and
# exits 0 if every binary passed or skipped, 1 if one failed or the guest
# did not report, 77 (with a "SKIP:" line) when QEMU or the kernel cannot
# be obtained.
set -eu

limit=45
if [ "${1:-}" = "-t" ]; then limit=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-t SECONDS] BINARY..." >&2; exit 2; }

skip() { echo "SKIP: $*"; exit 77; }

cache=${AOKI_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aoki/vm}
mkdir -p "$cache"

need_pkgs=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs="$need_pkgs qemu-system-x86"
[ -x /bin/busybox ] && file_is_static=$(ldd /bin/busybox 2>&1 | grep -Ec "not a dynamic|statically linked" || true) || file_is_static=0
[ "$file_is_static" = 1 ] || need_pkgs="$need_pkgs busybox-static"
command -v cpio >/dev/null 2>&1 || need_pkgs="$need_pkgs cpio"
if [ -n "$need_pkgs" ]; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
	echo "vm-run: installing$need_pkgs" >&2
	{ $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $need_pkgs; } >/dev/null 2>&1 || true
	command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 missing and could not be installed"
	command -v cpio >/dev/null 2>&1 || skip "cpio missing and could not be installed"
fi
busybox=/bin/busybox
ldd "$busybox" 2>&1 | grep -Eq "not a dynamic|statically linked" || skip "no static busybox (install busybox-static)"

# --- the guest kernel: download once, idempotent -------------------------
kernel="$cache/vmlinuz"
if [ ! -s "$kernel" ]; then
	echo "vm-run: fetching the Debian cloud kernel into $cache" >&2
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
	fi
	[ -n "$pkg" ] || skip "cannot resolve linux-image-cloud-amd64 (apt lists missing?)"
	(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || skip "apt-get download $pkg failed"
	dpkg -x "$tmp"/*.deb "$tmp/root" || skip "dpkg -x failed"
	k=$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -n "$k" ] || skip "no vmlinuz in $pkg"
	cp "$k" "$kernel.tmp" && mv "$kernel.tmp" "$kernel"
	echo "$pkg" > "$cache/kernel-package"
	rm -rf "$tmp"; trap - EXIT
fi

# --- the initramfs -----------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/bin" "$root/t" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for b in sh mount poweroff timeout cat echo sleep; do ln -s busybox "$root/bin/$b"; done
names=""
for b in "$@"; do
	[ -x "$b" ] || { echo "vm-run: $b: not an executable" >&2; exit 2; }
	ldd "$b" 2>&1 | grep -Eq "not a dynamic|statically linked" || { echo "vm-run: $b is not static" >&2; exit 2; }
	n=$(basename "$b")
	cp "$b" "$root/t/$n"
	names="$names $n"
done
cat > "$root/init" <<INIT
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo AOKI-VM-BOOTED
for t in $names; do
	echo "AOKI-VM-BEGIN \$t"
	timeout $limit /t/\$t 2>&1
	echo "AOKI-VM \$t \$?"
done
echo AOKI-VM-DONE
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$work/initrd.gz"

# --- boot ----------------------------------------------------------------------
log="$work/console.log"
timeout -k 5 $((limit + 30)) qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 512 \
	-nographic -no-reboot -monitor none -serial "file:$log" \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init" >/dev/null 2>&1 || true

if [ -n "${AOKI_VM_VERBOSE:-}" ]; then cat "$log"; fi
grep -q AOKI-VM-BOOTED "$log" 2>/dev/null || { echo "vm-run: the guest did not boot"; tail -n 30 "$log" 2>/dev/null; exit 1; }
fail=0
for n in $names; do
	rc=$(sed -n "s/^AOKI-VM $n \([0-9]*\).*/\1/p" "$log" | tr -d '\r' | head -n1)
	case "$rc" in
	0) echo "PASS  $n (emulated PKU)"
	   sed -n "/^AOKI-VM-BEGIN $n/,/^AOKI-VM $n /p" "$log" | grep -a '^note:' | tr -d '\r' || true ;;
	77) echo "SKIP  $n: $(sed -n "/^AOKI-VM-BEGIN $n/,/^AOKI-VM $n /p" "$log" | grep -a -m1 SKIP | tr -d '\r')" ;;
	"") echo "FAIL  $n (no result: guest hung or crashed)"; fail=1 ;;
	*) echo "FAIL  $n (exit $rc)"; fail=1 ;;
	esac
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		sed -n "/^AOKI-VM-BEGIN $n/,/^AOKI-VM $n /p" "$log" | tr -d '\r' | tail -n 40 | sed 's/^/      | /'
	fi
done
exit $fail
