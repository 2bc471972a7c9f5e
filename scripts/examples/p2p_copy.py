#!/usr/bin/env python3
"""p2p_copy.py: the C example's copy in Python.

Reads SRC_NS with O_DIRECT into a mapping of a p2pmem/allocate file (P2P memory,
e.g. another NVMe's CMB), writes it to DST_NS with O_DIRECT, reads DST_NS back
into host memory and compares checksums.

usage: p2p_copy.py SRC_NS DST_NS ALLOCATE_FILE [MiB]
exit: 0 verified, 3 the kernel refused the P2P path (EREMOTEIO), 1 other errors
"""
import errno
import hashlib
import mmap
import os
import sys

CHUNK = 1 << 20


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 1
    src_path, dst_path, alloc_path = sys.argv[1:4]
    total = (int(sys.argv[4]) if len(sys.argv) > 4 else 8) << 20
    src = os.open(src_path, os.O_RDONLY | os.O_DIRECT)
    dst = os.open(dst_path, os.O_RDWR | os.O_DIRECT)
    buf = mmap.mmap(os.open(alloc_path, os.O_RDWR), CHUNK, mmap.MAP_SHARED)
    buf[0] = 0  # first touch
    want = hashlib.sha256()
    for off in range(0, total, CHUNK):
        for what, fd, op in (('read', src, os.preadv), ('write', dst, os.pwritev)):
            try:
                if op(fd, [buf], off) != CHUNK:
                    print(f'p2p_copy: short {what} at {off}', file=sys.stderr)
                    return 1
            except OSError as e:
                print(f'p2p_copy: {what} {src_path if fd == src else dst_path} at {off}: {os.strerror(e.errno)}', file=sys.stderr)
                return 3 if e.errno == errno.EREMOTEIO else 1
            if what == 'read':
                want.update(buf)
    host = mmap.mmap(-1, CHUNK)  # page-aligned host memory
    got = hashlib.sha256()
    for off in range(0, total, CHUNK):
        os.preadv(dst, [host], off)
        got.update(host)
    ok = got.digest() == want.digest()
    print(f'copied {total >> 20} MiB {src_path} -> P2P buffer -> {dst_path}, sha256 {got.hexdigest()[:16]} {"verified" if ok else "MISMATCH"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
