#!/bin/sh
# Install the Debian packages Aoki needs to build, test and benchmark.
# Idempotent: only what is missing is installed; silent when all is present.
# Usage: scripts/deps.sh [--check] [--plots]
#   --check: list what is missing, exit 1 if any
#   --plots: also what `make plots` needs (gnuplot-nox), and only for it
set -eu

# qemu-utils: qemu-io, which tests/blk-nbd.sh uses for FUA, write-zeroes,
# discard and flush through nbdkit (without it those checks are skipped).

PKGS="build-essential pkg-config clang llvm libclang-rt-14-dev liburing-dev libck-dev \
qemu-system-x86 qemu-utils busybox-static cpio strace nbdkit nbdkit-plugin-dev libnbd-bin fio \
libext2fs-dev e2fsprogs fuse2fs fuse3 libfuse3-dev sqlite3 git tar"

check=""
for a in "$@"; do
	case $a in
	--check) check=1 ;;
	--plots) PKGS="$PKGS gnuplot-nox" ;;
	*) echo "usage: $0 [--check] [--plots]" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0
if [ -n "$check" ]; then
	echo "missing:$missing"
	exit 1
fi

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A failed update (stale mirror, offline) must not stop us if the packages
# are still installable from the cached lists.
$SUDO apt-get update -qq >/dev/null 2>&1 || echo "deps: apt-get update failed, trying cached lists" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done" >&2
