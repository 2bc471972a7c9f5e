// Open flags, truncate and fallocate as the kernel treats them, for each kind
// of node: sysfs attributes and binary attributes (kernfs), the namespace files
// standing in for block devices and the controller files standing in for
// character devices. One compiled probe (test/e2e/c/open-flags.c) prints one
// line per case; each row below is what a 6.18 kernel prints for the real file
// (checked on /sys and a loop device), except where native-notes/open-flags.md
// says why the mount differs.

import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountTopology, ROOT, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let probe: string;
let copy: string;
const out = new Map<string, Map<string, string>>();

const T = 2 ** 40;
const G = 2 ** 30;
// node kind → [path below the mount, what the probe writes]
const NODES = {
  'read-only attribute': ['sys/bus/pci/devices/0000:03:00.0/vendor', '-'],
  'writable attribute': ['sys/bus/pci/devices/0000:03:00.0/broken_parity_status', '0'],
  'binary attribute': ['sys/bus/pci/devices/0000:03:00.0/config', 'A'],
  allocate: ['sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate', 'MMAP'],
  'block device': ['dev/nvme2n1', 'BLOCK'],
  'character device': ['dev/nvme2', 'x'],
} as const;
type Kind = keyof typeof NODES;
const KINDS = Object.keys(NODES) as Kind[];

const ok = (size: number, extra = '') => `ok size ${size}${extra}`;
// row → the probe's answer per kind, in the order of KINDS
const ROWS: Record<string, string[]> = {
  'O_RDONLY|O_TRUNC': [ok(4096), ok(4096), ok(4096), ok(T), ok(G), ok(0)],
  // the allocate mapping survives: its size stays 1 TiB and the first touch is served
  'O_RDWR|O_TRUNC': ['EACCES', ok(4096), ok(4096), ok(T, ' touch ok'), ok(G), ok(0)],
  // differs (binary attribute, block device): FUSE puts O_APPEND writes at the end
  'O_WRONLY|O_APPEND': ['EACCES', ok(4096, ' write ok'), ok(4096, ' write EFBIG'), ok(T), ok(G, ' write ENOSPC'), ok(0, ' write EINVAL')],
  'O_CREAT|O_EXCL': ['EEXIST', 'EEXIST', 'EEXIST', 'EEXIST', 'EEXIST', 'EEXIST'],
  O_CREAT: [ok(4096), ok(4096), ok(4096), ok(T), ok(G), ok(0)],
  O_DIRECT: ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', ok(G), 'EINVAL'],
  O_NONBLOCK: [ok(4096), ok(4096), ok(4096), ok(T), ok(G), ok(0)],
  O_NOATIME: [ok(4096), ok(4096), ok(4096), ok(T), ok(G), ok(0)],
  O_SYNC: ['EACCES', ok(4096, ' write ok'), ok(4096, ' write ok'), ok(T), ok(G, ' write ok'), ok(0, ' write EINVAL')],
  O_DSYNC: ['EACCES', ok(4096, ' write ok'), ok(4096, ' write ok'), ok(T), ok(G, ' write ok'), ok(0, ' write EINVAL')],
  O_PATH: [ok(4096, ' read EBADF'), ok(4096, ' read EBADF'), ok(4096, ' read EBADF'), ok(T, ' read EBADF'), ok(G, ' read EBADF'), ok(0, ' read EBADF')],
  'O_TMPFILE in its directory': Array(6).fill('EOPNOTSUPP'),
  'O_TMPFILE on it': Array(6).fill('ENOTDIR'),
  ftruncate: ['EACCES at open', 'ok size 4096', 'ok size 4096', `ok size ${T}`, `EINVAL size ${G}`, 'EINVAL size 0'],
  'fallocate 0': [undefined, 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'ENODEV'] as string[],
  'fallocate KEEP_SIZE': [undefined, 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'ENODEV'] as string[],
  'fallocate PUNCH_HOLE|KEEP_SIZE': [undefined, 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'ok', 'ENODEV'] as string[],
  'fallocate ZERO_RANGE': [undefined, 'EOPNOTSUPP', 'EOPNOTSUPP', 'EOPNOTSUPP', 'ok', 'ENODEV'] as string[],
  truncate: ['ok size 4096', 'ok size 4096', 'ok size 4096', `ok size ${T}`, `EINVAL size ${G}`, 'EINVAL size 0'],
};

beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  probe = join(tempDir('p2pemu-open-flags-'), 'open-flags');
  copy = join(tempDir('p2pemu-tool-copy-'), 'tool-copy');
  const c = sh(`gcc -O2 -o '${probe}' '${ROOT}/test/e2e/c/open-flags.c' && gcc -O2 -pthread -o '${copy}' '${ROOT}/test/e2e/c/tool-copy.c'`);
  if (c.code !== 0) throw new Error(c.stderr);
  for (const kind of KINDS) {
    const [path, data] = NODES[kind];
    const r = sh(`'${probe}' '${m.mnt}/${path}' '${data}'`);
    const lines = new Map<string, string>();
    for (const l of r.stdout.split('\n').filter(Boolean)) {
      const i = l.indexOf(': ');
      lines.set(l.slice(0, i), l.slice(i + 2));
    }
    out.set(kind, lines);
  }
});
afterAll(() => m?.unmount());

describeMount('open flags, truncate and fallocate: one row per case, every kind of node', () => {
  test.each(Object.entries(ROWS))('%s', (row, expected) => {
    const got = KINDS.map((k) => out.get(k)!.get(row));
    expect(Object.fromEntries(KINDS.map((k, i) => [k, got[i]]))).toEqual(Object.fromEntries(KINDS.map((k, i) => [k, expected[i]])));
  });

  test('O_NOATIME by a process that does not own the file: EPERM', () => {
    const r = sh(`setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "
import os
try:
    os.open('${m.mnt}/sys/bus/pci/devices/0000:03:00.0/vendor', os.O_RDONLY | os.O_NOATIME); print('ok')
except OSError as e: print(e.errno)"`);
    expect(r.stdout.trim()).toBe('1');
  });

  test('creating, removing or renaming entries: EACCES for create, EPERM for the rest, as on sysfs', () => {
    const d = `${m.mnt}/sys/bus/pci`;
    const r = sh(`touch '${d}/new' 2>&1; mkdir '${d}/newdir' 2>&1; rm -f '${d}/devices/0000:03:00.0/vendor' 2>&1; ln -s x '${d}/link' 2>&1; mknod '${d}/node' c 1 3 2>&1; mv '${d}/devices' '${d}/moved' 2>&1`);
    const errs = r.stdout.split('\n').filter(Boolean).map((l) => /: ([A-Z][a-z ]+)$/.exec(l)?.[1]);
    expect(errs).toEqual(['Permission denied', 'Operation not permitted', 'Operation not permitted', 'Operation not permitted', 'Operation not permitted', 'Operation not permitted']);
  });

  test('fallocate ZERO_RANGE on a namespace zeroes whole blocks and keeps the rest', () => {
    const ns = `${m.mnt}/dev/nvme2n1`;
    const r = sh(`set -e
      printf 'abcdefgh%.0s' $(seq 256) | dd of='${ns}' bs=2048 count=1 conv=notrunc status=none
      fallocate -z -o 512 -l 1024 '${ns}'
      dd if='${ns}' bs=512 count=4 status=none | tr -d '\\0' | wc -c
      fallocate -z -o 100 -l 512 '${ns}' 2>&1 || true`);
    expect(r.stdout).toMatch(/^1024\n.*Invalid argument/);
  });
});

describeMount('a tool that opens its files the way option-parsing libraries do', () => {
  const allocate = (bdf: string) => `${m.mnt}/sys/bus/pci/devices/${bdf}/p2pmem/allocate`;

  test('O_RDWR|O_TRUNC|O_DIRECT namespaces, an untouched mapping and I/O from a thread: 4 MiB nvme0n1 → CMB of nvme1 → nvme1n1, verified', () => {
    sh(`head -c 4194304 /dev/urandom | dd of='${m.mnt}/dev/nvme0n1' bs=1M iflag=fullblock oflag=direct status=none`);
    const r = sh(`'${copy}' '${m.mnt}/dev/nvme0n1' '${m.mnt}/dev/nvme1n1' '${allocate('0000:04:00.0')}' 4`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^copied 4 MiB .* verified$/m);
  });

  test('the same copy through memory behind another host bridge (accel0) fails with EREMOTEIO', () => {
    const r = sh(`'${copy}' '${m.mnt}/dev/nvme0n1' '${m.mnt}/dev/nvme1n1' '${allocate('0000:81:00.0')}' 4`);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Remote I/O error');
  });

  // kernel: p2pmem_alloc_mmap() runs per mmap; over FUSE one open file has one page cache
  test('differs: a second mmap of the same open allocate file maps the first allocation (SIGBUS past its end); a second open gets its own', () => {
    const r = sh(`/usr/bin/python3 - '${allocate('0000:05:00.0')}' <<'PY'
import mmap, os, signal, sys
fd = os.open(sys.argv[1], os.O_RDWR)
a = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED)
a[0:5] = b'first'
b = mmap.mmap(fd, 2 << 20, mmap.MAP_SHARED)
print(bytes(b[0:5]).decode())
pid = os.fork()
if pid == 0:
    b[(1 << 20) + 1] = 1
    os._exit(0)
_, st = os.waitpid(pid, 0)
print('SIGBUS' if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS else st)
c = mmap.mmap(os.open(sys.argv[1], os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
print(bytes(c[0:5]))
PY`);
    expect(r.stdout).toBe("first\nSIGBUS\nb'\\x00\\x00\\x00\\x00\\x00'\n");
  });
});
