#!/usr/bin/env python3
"""Regenerate the seed corpora in fuzz/corpus/ (layouts from lib/ipc/layout.h, ctl.h)."""
import os, struct

here = os.path.dirname(os.path.abspath(__file__))

def put(name, fname, data):
    d = os.path.join(here, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)

MAGIC = 0x314e48434b4f4155
VERSION = 2
HDR = 384

def header(nslots, grants):
    slots_off = HDR
    cq_off = slots_off + nslots * 64
    total = (cq_off + nslots * 4 + 63) & ~63
    line0 = struct.pack("<QIIIIIIQQQ8x", MAGIC, VERSION, HDR, nslots, 64, grants, 0,
                        slots_off, cq_off, total)
    return line0 + bytes(HDR - len(line0)), total

for n, g in ((64, 16), (2, 0), (4096, 1024)):
    h, total = header(n, g)
    put("fuzz_chan_attach", f"valid-{n}", h + struct.pack("<Q", total))
    put("fuzz_chan_attach", f"short-{n}", h + struct.pack("<Q", total - 1))

def slot(pos, kind, op, payload, flags=0, tag=0):
    return struct.pack("<IHHQQiHH", ((pos << 2) | kind) & 0xffffffff, op, len(payload),
                       tag, pos, 0, flags, 0) + payload.ljust(32, b"\0")

QUEUED = 1
ref = lambda gid, off, ln: struct.pack("<IIQ", gid, ln, off)
slots = [
    slot(0, QUEUED, 1, b"hello"),
    slot(1, QUEUED, 2, struct.pack("<QQ", 40, 2)),
    slot(2, QUEUED, 4, ref(0, 16, 32), flags=1, tag=7),
    slot(3, QUEUED, 5, ref(0, 0, 256) + b"\x07"),
    slot(4, QUEUED, 6, b"defer"),
    slot(5, QUEUED, 0xff01, struct.pack("<I", 0)),
    slot(6, QUEUED, 4, ref(0, 250, 32)),
    slot(7, QUEUED, 9999, b""),
]
put("fuzz_ring_serve", "eight-ops", bytes([2]) + b"".join(slots))
put("fuzz_ring_serve", "garbage-state", bytes([1]) + slot(5, 3, 1, b"x") + slot(1, QUEUED, 1, b"y"))
put("fuzz_ring_serve", "writes", bytes([0]) + slot(0, QUEUED, 1, b"a") + slot(1, QUEUED, 1, b"b")
    + struct.pack("<HB", 64, 5) + struct.pack("<HB", 0, 1) * 8)

# A resumed ring of 8: positions 8..11 taken by the dead server (srv_head
# 12), 10 completed, 12..13 queued but not taken.
resumed = [slot(8, QUEUED, 1, b"a"), slot(9, QUEUED, 6, b"d"), slot(10, 2, 1, b"c"),
           slot(11, QUEUED, 2, struct.pack("<QQ", 1, 2), flags=1, tag=3),
           slot(12, QUEUED, 1, b"e"), slot(13, QUEUED, 1, b"f"), slot(6, 2, 1, b""),
           slot(7, 0, 1, b"")]
put("fuzz_ring_serve", "resume", bytes([0x80 | 2]) + b"".join(resumed) + struct.pack("<Q", 12))

CTL_MAGIC = 0x4c54434b
msg = lambda t, status=0, ident=0, rights=0, arg=0: struct.pack(
    "<IHHiIIIQ", CTL_MAGIC, VERSION, t, status, ident, rights, 0, arg)
put("fuzz_ctl_recv", "hello", bytes([40 | 2]) + msg(1))
put("fuzz_ctl_recv", "grant-add", bytes([40 | 1]) + msg(3, rights=3) + msg(4, 0, 5))
put("fuzz_ctl_recv", "split", bytes([7]) + msg(2, arg=99))
put("fuzz_ctl_recv", "bad-version", bytes([40]) + msg(1)[:4] + b"\x63\x00" + msg(1)[6:])

# fuzz_dedup_open: aoki_dedup tables (lib/ipc/dedup_layout.h).
DD_MAGIC = 0x31544444494b4f41
DD_LIVE, DD_CLAIMING = 1, 2

def dd_table(clients, window, slots=(), recs=(), salt=0x5eed):
    recs_off = 64 + clients * 64
    total = recs_off + clients * window * 64
    img = bytearray(total)
    img[:64] = struct.pack("<QIIIIIIQQQQ", DD_MAGIC, 1, 64, clients, window, 64, 64,
                           64, recs_off, total, salt)
    for c, (ver, busy, kind, used, n) in slots:   # client n: uid 1000, id n, 0xa5 x 15
        ident = struct.unpack("<QQ", bytes([n]) + b"\xa5" * 15)
        img[64 + c * 64:128 + c * 64] = struct.pack("<QQQQI28x", ver << 22 | busy << 2 | kind,
                                                    used, ident[0], ident[1], 1000)
    for c, seq, begun, done, status, rep, rep_len in recs:  # tags are seq + 1
        off = recs_off + (c * window + seq % window) * 64
        img[off:off + 64] = struct.pack("<QQiH2x32s8x", begun, done, status, rep_len, rep)
    return bytes(img)

put("fuzz_dedup_open", "empty-4x4", dd_table(4, 4))
put("fuzz_dedup_open", "records-4x4", dd_table(
    4, 4, slots=[(0, (3, 0, DD_LIVE, 100, 0)), (1, (1, 2, DD_CLAIMING, 50, 2)),
                 (2, (7, 3, DD_LIVE, 10, 1))],
    recs=[(0, 0, 1, 1, 0, b"", 0), (0, 1, 2, 0, 0, b"", 0), (0, 2, 3, 3, -5, b"abc", 3),
          (2, 0, 1, 1, 0, b"x" * 32, 32), (2, 3, 4, 0, 0, b"", 0)]))
put("fuzz_dedup_open", "bad-replen-2x2", dd_table(
    2, 2, slots=[(1, (0, 0, DD_LIVE, 1, 0))], recs=[(1, 0, 1, 1, 0, b"", 33)]))
put("fuzz_dedup_open", "truncated-2x2", dd_table(2, 2)[:-1])

# aoki-blkd requests: records [op selector, length, 32 payload bytes]
# (servers/blkd, lib/blk/proto.h).  Selector = op - 0x100.
def blk_rec(sel, payload):
    return bytes([sel, len(payload)]) + payload.ljust(32, b"\0")
def blk_handle(index, name):
    h = 2166136261
    for c in name.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return index | ((h << 8) & 0x7fffff00)
V, R = blk_handle(0, "v"), blk_handle(1, "r")
blk_io = lambda h, g, goff, off, ln, fl=0: struct.pack("<IIQQII", [V, R][h] if h < 2 else h,
                                                        g, goff, off, ln, fl)
put("fuzz_blkd_request", "open-read-write",
    blk_rec(0, struct.pack("<I", 1) + b"v".ljust(28, b"\0")) +
    blk_rec(2, blk_io(0, 0, 0, 4096, 4096)) + blk_rec(3, blk_io(0, 1, 0, 8192, 512, 1)))
put("fuzz_blkd_request", "ranges",
    blk_rec(5, blk_io(0, 0, 0, 0, 65536)) + blk_rec(6, blk_io(1, 0, 0, 0, 512)) +
    blk_rec(4, blk_io(0, 0, 0, 0, 0)) + blk_rec(1, struct.pack("<I", 1)))
put("fuzz_blkd_request", "bad", blk_rec(2, blk_io(0, 7, 100, (1 << 20) - 512, 4096)) +
    blk_rec(3, blk_io(1, 0, 0, 0, 4096)) + blk_rec(8, b"x"))
put("fuzz_blkd_config", "full",
    b"# c\n[volume a]\npath = /tmp/a.img\nread-only = yes\nallow = 0 1000:ro *:rw\n\n"
    b"[volume b-2.x]\npath=/dev/null\n")
put("fuzz_blkd_config", "errors", b"[volume]\npath = x\n[volume a]\nallow = 1:xx\n")

# fuzz_fsd_mount: u8 base, u8 flags, u16 fail_at, records (u16 where, u16
# offset, u8 len, bytes); where >= 0x8000 is an absolute 1 KiB unit.
# Bases (fuzz_fsd_mount.c): 0/1 ext4 4K csum clean/crashed, 2/3 ext4 1K
# no csum, 4/5 ext3 1K.
fsd_rec = lambda unit, off, data: struct.pack("<HHB", 0x8000 | unit, off, len(data)) + data
for b in range(6):
    for flags, what in ((0, "read"), (1, "write"), (2, "ro")):
        put("fuzz_fsd_mount", f"base{b}-{what}", struct.pack("<BBH", b, flags, 0))
    put("fuzz_fsd_mount", f"base{b}-fail-io", struct.pack("<BBH", b, 1, 40))
SB = 1	# the superblock is the second 1 KiB unit
for b, name, off, val in (
        (2, "inodes-count", 0, struct.pack("<I", 0xffffffff)),
        (2, "blocks-per-group", 32, struct.pack("<I", 0)),
        (4, "inodes-per-group", 40, struct.pack("<I", 1 << 30)),
        (2, "first-ino", 84, struct.pack("<I", 1)),
        (4, "inode-size", 88, struct.pack("<H", 4096)),
        (2, "journal-inum", 224, struct.pack("<I", 2)),
        (2, "log-block-size", 24, struct.pack("<I", 2)),
        (4, "needs-recovery", 96, struct.pack("<I", 0x6)),
        (2, "desc-size", 254, struct.pack("<H", 4096))):
    put("fuzz_fsd_mount", f"sb-{name}", struct.pack("<BBH", b, 1, 0) + fsd_rec(SB, off, val))
put("fuzz_fsd_mount", "gdt-zero", struct.pack("<BBH", 2, 1, 0) + fsd_rec(2, 0, bytes(255)))
put("fuzz_fsd_mount", "gdt-zero-ext3", struct.pack("<BBH", 4, 1, 0) + fsd_rec(2, 0, bytes(255)))
# A wrong s_first_data_block made libext2fs overrun a buffer reading the
# bitmaps (read-only mount: bitmaps read at once).
put("fuzz_fsd_mount", "sb-first-data-block-ro",
    struct.pack("<BBH", 2, 2, 0) + fsd_rec(SB, 20, struct.pack("<I", 64)))
# Inode times past 2262 overflowed the nanoseconds (found by the fuzzer).
put("fuzz_fsd_mount", "inode-time-past-2262", bytes.fromhex(
    "02266d616e2e61266d6c6f6f02266d616e2e61266d6c6f6f7032616e2e616f6b796f6b79ffffffffffff"
    "0900020000000000000001007032616e2e616f6b796f6b79ffffffffffff090002000000000000000100"
    "282700"))
