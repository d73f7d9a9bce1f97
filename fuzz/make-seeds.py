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

CTL_MAGIC = 0x4c54434b
msg = lambda t, status=0, ident=0, rights=0, arg=0: struct.pack(
    "<IHHiIIIQ", CTL_MAGIC, VERSION, t, status, ident, rights, 0, arg)
put("fuzz_ctl_recv", "hello", bytes([40 | 2]) + msg(1))
put("fuzz_ctl_recv", "grant-add", bytes([40 | 1]) + msg(3, rights=3) + msg(4, 0, 5))
put("fuzz_ctl_recv", "split", bytes([7]) + msg(2, arg=99))
put("fuzz_ctl_recv", "bad-version", bytes([40]) + msg(1)[:4] + b"\x63\x00" + msg(1)[6:])
