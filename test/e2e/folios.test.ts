// Compound-page policies seen from real processes: mappings at aligned and
// unaligned addresses, the folios and entries the model records, and data
// across folio boundaries (native-notes/compound-pages.md).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isRoot, mountTopology, p2pemu, sh, tempDir, type Mount } from './helpers.js';

let m: Mount;
let dir: string;
beforeAll(() => {
  if (!isRoot) return;
  dir = tempDir('p2pemu-folios-');
  const topo = join(dir, 't.yaml');
  writeFileSync(
    topo,
    `host_bridges:
  - vendor: 0x8086
    device: 0x2020
    children:
      - kind: root_port
        slot: "01.0"
        children: [{ kind: p2pmem, name: besteffort, p2pmem: { bar: 4, folios: best-effort, align: 2MiB } }]
      - kind: root_port
        slot: "02.0"
        children: [{ kind: p2pmem, name: devalign, p2pmem: { bar: 4, folios: device-align, align: 2MiB } }]
`,
  );
  m = mountTopology(topo);
});
afterAll(() => {
  m?.unmount();
  if (dir) sh(`rm -rf '${dir}'`);
});

/** python with ctypes mmap at a chosen address (MAP_FIXED_NOREPLACE), as device-dax users do */
const py = (bdf: string, script: string) =>
  sh(`python3 - <<'PY'
import ctypes, ctypes.util, os, signal
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
MAP_SHARED, MAP_FIXED_NOREPLACE = 0x01, 0x100000
A = '${m.sysfs}/devices/${bdf}/p2pmem/allocate'
D = '${m.mnt}/sys/kernel/debug/p2pemu'
def amap(addr, length):
    p = libc.mmap(addr, length, 3, MAP_SHARED | MAP_FIXED_NOREPLACE, os.open(A, os.O_RDWR), 0)
    assert p == addr, 'mmap did not give the address asked for'
    return (ctypes.c_char * length).from_address(p)
def dma(cmd):
    fd = os.open(D + '/dma', os.O_RDWR); os.write(fd, cmd.encode()); r = os.pread(fd, 1 << 21, 0).decode().strip(); os.close(fd); return r
${script}
PY`);

describe.skipIf(!isRoot)('compound pages from a real process', () => {
  test('best-effort: a 4 MiB mapping at a 2 MiB-aligned address gets two 2 MiB folios and two PMD entries; data crosses the folio boundary intact', () => {
    const r = py(
      '0000:01:00.0',
      `
buf = amap(0x7e0000000000, 4 << 20)
pattern = bytes(range(256)) * 32
buf[(2 << 20) - 4096:(2 << 20) + 4096] = pattern
print(bytes(buf[(2 << 20) - 4096:(2 << 20) + 4096]) == pattern)
line = [l for l in open(D + '/folios').read().split('\\n') if ' 0000:01:00.0 4194304 ' in l][0].split()
print(line[5], line[7], line[8])
off = int([l for l in open(D + '/allocations').read().split('\\n') if '0000:01:00.0' in l][0].split()[3], 16)
print(bytes.fromhex(dma('read 0000:01:00.0 4 %d 8192' % (off + (2 << 20) - 4096))) == pattern)
`,
    );
    expect(r.stdout).toBe('True\n2x2M yes 2PMD\nTrue\n');
  });

  test('best-effort at an unaligned address: base entries now, the PMD a kernel would have chosen is reported', () => {
    const r = py(
      '0000:01:00.0',
      `
buf = amap(0x7e0000201000, 2 << 20)
buf[0] = b'x'
line = [l for l in open(D + '/folios').read().split('\\n') if '0x7e0000201000' in l][0].split()
print(line[5], line[7], line[8], line[10])
`,
    );
    expect(r.stdout).toBe('1x2M no 512PTE 1PMD\n');
  });

  test('device-align: a mapping at an unaligned address is refused at first touch (SIGBUS) with the log line', () => {
    const r = py(
      '0000:02:00.0',
      `
pid = os.fork()
if pid == 0:
    buf = amap(0x7e0000401000, 2 << 20)
    buf[0] = b'x'
    os._exit(0)
_, st = os.waitpid(pid, 0)
print(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS)
`,
    );
    expect(r.stdout).toBe('True\n');
    expect(sh(`cat '${m.mnt}/dev/kmsg'`).stdout).toMatch(/p2pmem_pci 0000:02:00\.0: python3: fail, attempted mapping not aligned to the 2 MiB device folio/);
  });

  test('p2pemu report MNT lists the live allocations with their folios', () => {
    const r = py('0000:02:00.0', `buf = amap(0x7e0000800000, 2 << 20); buf[0] = b'x'; import subprocess; print(subprocess.run(['node', '${join(__dirname, '../../bin/p2pemu.js')}', 'report', '${m.mnt}'], capture_output=True, text=True).stdout)`);
    expect(r.stdout).toMatch(/0000:02:00\.0 2097152 \d+ python3 1x2M 0x7e0000800000 yes 1PMD/);
    expect(r.stdout).toMatch(/^0000:02:00\.0\s+256 MiB\s+device-align\s+2 MiB\s+4 MiB\s+1 MiB\s+128 PMD/m);
  });
});

describe('p2pemu report and the scenario from the command line', () => {
  test('eight accelerators × 32 GiB: struct pages 4 GiB with base pages, 2 MiB with 1 GiB folios; mmap 0.8 s vs 40 µs', () => {
    const r = p2pemu('report', '--topology', join(__dirname, '../../scripts/topologies/eight-accelerators.yaml'), '--policy', 'device-align', '--align', '1GiB');
    expect(r.stdout).toMatch(/^ {2}base\s+struct pages 4 GiB\s+with dedup 4 GiB\s+map everything 6\.4 s$/m);
    expect(r.stdout).toMatch(/^ {2}device-align\s+struct pages 4 GiB\s+with dedup 2 MiB\s+map everything 320 µs$/m);
    expect(r.stdout).toMatch(/^0000:01:00\.0\s+32 GiB\s+device-align\s+1 GiB\s+512 MiB\s+256 KiB\s+32 PUD\s+40 µs$/m);
  });

  test('scenario compound-review prints each policy\'s outcome', () => {
    const r = p2pemu('scenario', 'compound-review');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('app1: refused (EINVAL)');
  });
});
