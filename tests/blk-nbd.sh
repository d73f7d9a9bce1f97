#!/bin/sh
# blk-nbd: nbdkit-aoki-blk-plugin end to end.  aoki-blkd serves a 64 MiB
# volume vol0 and a read-only volume ro0 from a temporary directory;
# nbdkit serves them on private Unix sockets (captive mode, --run):
#   - nbdinfo: the size, and flush/FUA/trim/zero/multi-conn advertised;
#   - 8 MiB of random data nbdcopy'd in (4 connections in parallel) reads
#     back equal and is in the backing file;
#   - a source with a hole: the hole goes as zero requests and reads back
#     as zeroes;
#   - unaligned I/O (nbdkit's offset filter shifts every request by 1000
#     bytes): written and read back right, the bytes around it intact
#     (the plugin's read-modify-write); fio verifies concurrent
#     unaligned writes, and runs a 4k randread job (when installed);
#   - qemu-io, when installed: FUA write, write-zeroes, discard, flush;
#   - ro0 reads back, is advertised read-only, nbdcopy into it fails;
#   - a wrong volume name stops nbdkit at start.
# Exit 0 pass, 1 fail, 77 skip (nbdkit, nbdinfo or nbdcopy missing).
#
# fio's nbd engine against the plugin (the benchmark's compatibility row;
# tested with fio 3.33, nbdkit 1.32.5):
#   nbdkit -U SOCK -P PIDFILE PLUGIN port=BLK_SOCK volume=vol0   # forks
#   fio --name=randread --ioengine=nbd --uri="nbd+unix:///?socket=SOCK" \
#       --rw=randread --bs=4k --iodepth=32 --runtime=5 --time_based
#   kill "$(cat PIDFILE)"
set -u
PLUGIN="@PLUGIN@"
BLKD="@BLKD@"
# shellcheck disable=SC2034  # not needed yet; substituted like the others
AOKI="@AOKI@"

for t in nbdkit nbdinfo nbdcopy; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "SKIP: $t is not installed (scripts/deps.sh installs it)"
		exit 77
	fi
done
if [ ! -x "$BLKD" ] || [ ! -f "$PLUGIN" ]; then
	echo "FAIL: $BLKD or $PLUGIN is not built"
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/blk-nbd.XXXXXX") || exit 1
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	[ -s "$dir/blkd.log" ] && sed 's/^/blkd: /' "$dir/blkd.log" | tail -n 20
	exit 1
}

# nbdkit in captive mode on the plugin; "$@": nbdkit options and plugin
# parameters, then --run and its command.
serve() {
	nbdkit -U - "$@"
}

MiB=1048576
truncate -s 64M "$dir/vol0.img" || fail "truncate"
head -c $((4 * MiB)) /dev/urandom >"$dir/ro0.img"
head -c $((8 * MiB)) /dev/urandom >"$dir/in.bin"
# 2 MiB data, 4 MiB hole, 2 MiB data.
head -c $((2 * MiB)) /dev/urandom >"$dir/holey.bin"
truncate -s $((6 * MiB)) "$dir/holey.bin"
head -c $((2 * MiB)) /dev/urandom >>"$dir/holey.bin"
head -c $((1 * MiB)) /dev/urandom >"$dir/unaligned.bin"

"$BLKD" --port "$dir/blk.sock" --volume "vol0=$dir/vol0.img" \
	--volume "ro0=$dir/ro0.img:ro" --quiet >"$dir/blkd.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$dir/blk.sock" ]; do
	kill -0 "$pid" 2>/dev/null || fail "aoki-blkd exited"
	i=$((i + 1))
	[ $i -gt 100 ] && fail "no socket $dir/blk.sock after 5 s"
	sleep 0.05
done
export dir MiB
P="port=$dir/blk.sock"

# 1. Size and capabilities.
serve "$PLUGIN" "$P" volume=vol0 --run '
	set -e
	test "$(nbdinfo --size "$uri")" -eq $((64 * MiB))
	for c in flush fua trim zero multi-conn write; do
		nbdinfo --can $c "$uri" || { echo "cannot $c"; exit 1; }
	done
' || fail "nbdinfo on vol0"
echo "ok: size 64 MiB, flush/fua/trim/zero/multi-conn"

# 2. 8 MiB in and out, 4 connections.
serve "$PLUGIN" "$P" volume=vol0 --run '
	set -e
	nbdcopy --flush "$dir/in.bin" "$uri"
	nbdcopy "$uri" "$dir/out.img"
' || fail "nbdcopy vol0"
cmp -n $((8 * MiB)) "$dir/in.bin" "$dir/out.img" || fail "data read back differs"
cmp -n $((8 * MiB)) "$dir/in.bin" "$dir/vol0.img" || fail "data not in the backing file"
cmp -n $((56 * MiB)) -i $((8 * MiB)):0 "$dir/out.img" /dev/zero ||
	fail "bytes past the copy are not zero"
echo "ok: 8 MiB copied in and out"

# 3. A hole in the source: zero requests over old data.
serve --filter=stats "$PLUGIN" "$P" volume=vol0 statsfile="$dir/stats" --run '
	set -e
	nbdcopy --flush "$dir/holey.bin" "$uri"
	nbdcopy "$uri" "$dir/out.img"
' || fail "nbdcopy of a sparse file"
cmp -n $((8 * MiB)) "$dir/holey.bin" "$dir/out.img" || fail "zeroed range reads back wrong"
grep -Eq '^zero: [1-9]' "$dir/stats" || fail "no zero request was made: $(cat "$dir/stats")"
echo "ok: zero requests"

# 4. Unaligned: every request shifted by 1000 bytes.
off=1000
serve --filter=offset "$PLUGIN" "$P" volume=vol0 offset=$off range=$MiB --run '
	set -e
	nbdcopy --flush "$dir/unaligned.bin" "$uri"
	nbdcopy "$uri" "$dir/out2.img"
' || fail "nbdcopy at an unaligned offset"
cmp "$dir/unaligned.bin" "$dir/out2.img" || fail "unaligned data read back differs"
cmp -n $MiB -i 0:$off "$dir/unaligned.bin" "$dir/vol0.img" ||
	fail "unaligned data not in the backing file"
cmp -n $off "$dir/holey.bin" "$dir/vol0.img" || fail "bytes before the unaligned write changed"
end=$((off + MiB))
cmp -n $((MiB)) -i $end:$end "$dir/holey.bin" "$dir/vol0.img" ||
	fail "bytes after the unaligned write changed"
echo "ok: unaligned writes and reads"

# 5. fio's nbd engine (when installed): 32 concurrent unaligned 4k writes
# (neighbours share edge blocks: lost updates fail the verify), then the
# benchmark's 4k randread job for a second.
if command -v fio >/dev/null 2>&1; then
	serve --filter=offset "$PLUGIN" "$P" volume=vol0 offset=100 range=$((16 * MiB)) --run '
		fio --name=rmw --verify_state_save=0 --ioengine=nbd --uri="$uri" --rw=randwrite --bs=4k \
			--iodepth=32 --verify=crc32c --verify_fatal=1 --do_verify=1 \
			--output="$dir/fio.log"
	' || fail "fio verify of unaligned writes: $(tail -n 20 "$dir/fio.log")"
	serve "$PLUGIN" "$P" volume=vol0 --run '
		fio --name=randread --verify_state_save=0 --ioengine=nbd --uri="$uri" --rw=randread --bs=4k \
			--iodepth=32 --runtime=1 --time_based --output="$dir/fio.log"
	' || fail "fio randread: $(tail -n 20 "$dir/fio.log")"
	echo "note: fio nbd 4k randread qd32: $(grep -m1 -o 'IOPS=[^,]*' "$dir/fio.log")"
	echo "ok: fio nbd engine"
else
	echo "note: fio not installed, fio checks skipped"
fi

# 6. FUA write, write-zeroes, discard, flush (qemu-io, when installed).
if command -v qemu-io >/dev/null 2>&1; then
	serve "$PLUGIN" "$P" volume=vol0 --run '
		set -e
		q() { qemu-io -f raw -c "$1" "$uri" >>"$dir/qemu-io.log" 2>&1; }
		q "write -f -P 0x5a 0 64k"
		q "read -P 0x5a 0 64k"
		q "write -z 64k 64k"
		q "read -P 0 64k 64k"
		q "discard 1M 1M"
		q "read -P 0 1M 1M"
		q "write -P 0xa5 3M 4k"
		q "flush"
		! grep -q "failed" "$dir/qemu-io.log"
	' || fail "qemu-io: $(cat "$dir/qemu-io.log")"
	head -c 4096 /dev/zero | tr '\0' '\245' >"$dir/a5.bin"
	cmp -n 4096 -i $((3 * MiB)):0 "$dir/vol0.img" "$dir/a5.bin" ||
		fail "qemu-io write not in the file"
	echo "ok: FUA write, write-zeroes, discard, flush"
else
	echo "note: qemu-io not installed, FUA/zero/discard checks skipped"
fi

# 7. The read-only volume: readable, advertised read-only, not writable.
serve "$PLUGIN" "$P" volume=ro0 --run '
	set -e
	nbdinfo --is read-only "$uri"
	nbdcopy "$uri" "$dir/ro-out.img"
	if nbdcopy "$dir/in.bin" "$uri" 2>/dev/null; then exit 1; fi
' || fail "read-only volume"
cmp "$dir/ro0.img" "$dir/ro-out.img" || fail "ro0 reads back wrong"
serve -r "$PLUGIN" "$P" volume=vol0 --run '
	if nbdcopy "$dir/in.bin" "$uri" 2>/dev/null; then exit 1; fi
' || fail "nbdkit -r let a write through"
echo "ok: read-only volume and nbdkit -r"

# 8. A volume the server does not have: nbdkit does not start.
if serve "$PLUGIN" "$P" volume=nosuch --run true 2>"$dir/err"; then
	fail "nbdkit served a missing volume"
fi
grep -q "nosuch" "$dir/err" || fail "no error naming the volume: $(cat "$dir/err")"
echo "ok: missing volume refused"

kill "$pid"
wait "$pid"
rc=$?
pid=""
[ $rc -eq 0 ] || echo "note: aoki-blkd exited $rc on SIGTERM"
exit 0
