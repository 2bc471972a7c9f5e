// What `p2pemu run`'s seccomp supervisor answers that FUSE never sees, from
// real processes: mmap() of allocate with the kernel's errnos at mmap() time
// (Python, a static C program, its threads and children), resourceN mapping
// limits, files without mmap, the device-align folio refusal, device identity
// for a static binary (native-notes/run.md).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CLI, mountTopology, ROOT, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let dir: string;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  dir = tempDir('p2pemu-run-supervisor-');
  const r = sh(`gcc -static -O2 -pthread -o '${dir}/map-allocate' '${ROOT}/test/e2e/c/map-allocate.c'`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => {
  m?.unmount();
  if (dir) sh(`rm -rf '${dir}'`);
});

const P2PMEM = '/sys/bus/pci/devices/0000:04:00.0/p2pmem';
const available = () => Number(readFileSync(`${m.mnt}${P2PMEM}/available`, 'utf8'));
const kmsg = () => readFileSync(`${m.mnt}/dev/kmsg`, 'utf8');
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** A command inside run, with this mount. */
const run = (...cmd: string[]) => sh(`node '${CLI}' run --mount '${m.mnt}' -- ${cmd.map(quote).join(' ')}`);

describeMount('mmap() of p2pmem/allocate inside p2pemu run', () => {
  test('Python: offset 4096 and MAP_PRIVATE are EINVAL, too large ENOMEM, all at mmap() with available unchanged; a good mapping lowers available before any touch', () => {
    const before = available();
    const r = run(
      'python3',
      '-c',
      `
import mmap, os
A = '${P2PMEM}/'
avail = lambda: int(open(A + 'available').read())
def case(name, n=1 << 20, **kw):
    fd = os.open(A + 'allocate', os.O_RDWR)
    b = avail()
    try:
        m = mmap.mmap(fd, n, **kw)
        print(name, 'ok', b - avail())
        m.close()
    except OSError as e:
        print(name, os.strerror(e.errno), b - avail())
    os.close(fd)
case('offset', offset=4096)
case('too-large', n=avail() + (1 << 20))
case('private', flags=mmap.MAP_PRIVATE)
case('good')
`,
    );
    expect(r.stdout).toBe('offset Invalid argument 0\ntoo-large Cannot allocate memory 0\nprivate Invalid argument 0\ngood ok 1048576\n');
    expect(available()).toBe(before);
    // p2pmem_alloc_mmap()'s own lines, with the caller's comm; ENOMEM logs nothing
    expect(kmsg()).toMatch(/nvme 0000:04:00\.0: python3: fail, attempted mapping with non-zero offset/);
    expect(kmsg()).toMatch(/nvme 0000:04:00\.0: python3: fail, attempted private mapping/);
  });

  test('a static C program, one of its threads and a forked child get the same answers; stat and fstat see the device nodes', () => {
    const r = run(`${dir}/map-allocate`, P2PMEM, '/dev/nvme0n1', '/dev/nvme1', '/dev/ng2n1', '/dev/hmm_dmirror0');
    expect(r.stdout.trim().split('\n')).toEqual([
      'offset: EINVAL 0',
      'too-large: ENOMEM 0',
      'private: EINVAL 0',
      'good: ok 1048576',
      'thread-offset: EINVAL 0',
      'child-private: EINVAL 0',
      'stat /dev/nvme0n1: blk 259:0',
      'fstat /dev/nvme0n1: blk 259:0',
      'stat /dev/nvme1: chr 241:1',
      'fstat /dev/nvme1: chr 241:1',
      'stat /dev/ng2n1: chr 240:2',
      'fstat /dev/ng2n1: chr 240:2',
      'stat /dev/hmm_dmirror0: chr 239:0',
      'fstat /dev/hmm_dmirror0: chr 239:0',
    ]);
    expect(r.code).toBe(0);
  });

  test('outside run the same program still gets SIGBUS at its first touch (FUSE sees no mmap)', () => {
    const r = sh(`'${dir}/map-allocate' '${m.mnt}${P2PMEM}'; echo "status $?"`);
    expect(r.stdout).toMatch(/^status 135$/m); // 128 + SIGBUS
  });
});

describeMount('other files mapped inside p2pemu run', () => {
  test('resourceN: past the BAR or at an offset outside it EINVAL; resourceN_wc maps the same bytes; config and /dev/nvme0 have no mmap (ENODEV)', () => {
    const r = run(
      'python3',
      '-c',
      `
import ctypes, ctypes.util, mmap, os
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
D = '/sys/bus/pci/devices/0000:05:00.0/'
size = os.stat(D + 'resource4').st_size
def case(name, path, n, off=0, prot=3):
    # Python's mmap module refuses a length past the file size itself: ask libc
    fd = os.open(path, os.O_RDWR if prot & 2 else os.O_RDONLY)
    p = libc.mmap(None, n, prot, mmap.MAP_SHARED, fd, off)
    os.close(fd)
    if p == ctypes.c_void_p(-1).value:
        print(name, os.strerror(ctypes.get_errno()))
    else:
        print(name, 'ok')
        return (ctypes.c_char * n).from_address(p)
uc = case('whole', D + 'resource4', size)
case('past-end', D + 'resource4', size + 4096)
case('past-offset', D + 'resource4', 4096, off=size)
wc = case('wc', D + 'resource4_wc', 4096)
uc[0:4] = b'p2p!'
print('wc sees', bytes(wc[0:4]))
case('config', D + 'config', 4096, prot=1)
case('nvme0', '/dev/nvme0', 4096, prot=1)
`,
    );
    expect(r.stdout).toBe(['whole ok', 'past-end Invalid argument', 'past-offset Invalid argument', 'wc ok', "wc sees b'p2p!'", 'config No such device', 'nvme0 No such device', ''].join('\n'));
  });

  test("device-align: a mapping whose length or fixed address is not folio-aligned is EINVAL at mmap() with the series' log line", () => {
    const topo = join(dir, 'devalign.yaml');
    writeFileSync(
      topo,
      `host_bridges:
  - children:
      - kind: root_port
        slot: "02.0"
        children: [{ kind: p2pmem, name: devalign, p2pmem: { bar: 4, folios: device-align, align: 2MiB } }]
`,
    );
    const r = sh(`node '${CLI}' run --topology '${topo}' -- sh -c "python3 - && grep -h 'unaligned vma' \\"\\$(grep -o '[^ ]*p2pemu-run-[^ ]*/mnt' /proc/self/mounts | head -1)/dev/kmsg\\"" <<'PY'
import ctypes, ctypes.util, os
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
A = '/sys/bus/pci/devices/0000:01:00.0/p2pmem/allocate'
def case(name, addr, n, flags):
    p = libc.mmap(addr, n, 3, 0x01 | flags, os.open(A, os.O_RDWR), 0)
    print(name, 'ok' if p != ctypes.c_void_p(-1).value else os.strerror(ctypes.get_errno()), flush=True)
case('1MiB', None, 1 << 20, 0)
case('fixed-unaligned', 0x7e0000401000, 2 << 20, 0x100000)
case('2MiB', None, 2 << 20, 0)
PY`);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['1MiB Invalid argument', 'fixed-unaligned Invalid argument', '2MiB ok']);
    // the series' p2pmem_alloc_mmap() message (PATCH 10/13), at mmap() rather than at the first touch
    expect(lines[4]).toMatch(/p2pmem_pci 0000:01:00\.0: python3: unaligned vma \(0x7e0000401000~0x7e0000601000, 0x200000\)$/);
  });
});
