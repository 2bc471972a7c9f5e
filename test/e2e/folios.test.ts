// Compound-page policies seen from real processes: mappings at aligned and
// unaligned addresses, the folios and entries the model records, and data
// across folio boundaries (native-notes/compound-pages.md).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mountTopology, p2pemu, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let dir: string;
beforeAll(() => {
  // the command-line suite needs the directory too, mounted or not
  dir = tempDir('p2pemu-folios-');
  if (!canMount()) return;
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

describeMount('compound pages from a real process', () => {
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
print(line[5], line[7], line[8], line[9])
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
    // the series' p2pmem_alloc_mmap() message (PATCH 10/13)
    expect(sh(`cat '${m.mnt}/dev/kmsg'`).stdout).toMatch(/p2pmem_pci 0000:02:00\.0: python3: unaligned vma \(0x7e0000401000~0x7e0000601000, 0x200000\)/);
  });

  test('p2pemu report MNT lists the live allocations with their folios, entries and both time columns', () => {
    const r = py('0000:02:00.0', `buf = amap(0x7e0000800000, 2 << 20); buf[0] = b'x'; import subprocess; print(subprocess.run(['node', '${join(__dirname, '../../bin/p2pemu.js')}', 'report', '${m.mnt}', '--no-calibration'], capture_output=True, text=True).stdout)`);
    expect(r.stdout).toMatch(/0000:02:00\.0 2097152 \d+ python3 1x2M 0x7e0000800000 yes 1PMD 1PMD n\/a n\/a n\/a n\/a/);
    expect(r.stdout).toMatch(/^0000:02:00\.0\s+devalign\s+256 MiB\s+device-align\s+2 MiB\s+1 MiB\s+optimized\s+128 PMD/m);
  });
});

describe('p2pemu report and the scenarios from the command line', () => {
  test('eight accelerators × 32 GiB: struct pages 4 GiB with base pages, 2 MiB with a device-wide 1 GiB folio, still 4 GiB with best-effort', () => {
    const r = p2pemu('report', '--no-calibration', '--topology', join(__dirname, '../../scripts/topologies/eight-accelerators.yaml'));
    expect(r.stdout).toMatch(/^4 KiB\s+base\s+8 of 8 \(256 GiB\)\s+4 GiB\s/m);
    expect(r.stdout).toMatch(/^1 GiB\s+device-align\s+8 of 8 \(256 GiB\)\s+2 MiB\s/m);
    expect(r.stdout).toMatch(/^1 GiB\s+best-effort\s+8 of 8 \(256 GiB\)\s+4 GiB\s+none: per-mmap folios/m);
  });

  test('report --policy device-align --align 1GiB names every range that did not register, with its rule', () => {
    const r = p2pemu('report', '--no-calibration', '--policy', 'device-align', '--align', '1GiB');
    expect(r.stdout).toMatch(/^not registered \(3\)/m);
    for (const [bdf, size] of [['0000:03:00.0 nvme0', '64 MiB'], ['0000:04:00.0 nvme1', '64 MiB'], ['0000:05:00.0 p2pmem0', '256 MiB']]) {
      expect(r.stdout).toContain(`${bdf} BAR ${bdf.includes('p2pmem') ? 4 : 2}, ${size}: refused (EINVAL)`);
    }
    expect(r.stdout).toMatch(/rule: pci_p2pdma_check_pagemap_align\(\).*verified in the series text, not merged/);
  });

  test('report and scenario compound-review print measured-here and cover-letter columns, and never the word seed', () => {
    const report = p2pemu('report');
    const review = p2pemu('scenario', 'compound-review');
    for (const r of [report, review]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^cost per page-table entry\s+measured here\s+cover-letter reference$/m);
      expect(r.stdout).toMatch(/measured here\s+cover-letter ref/);
      expect(r.stdout).not.toMatch(/seed/i);
    }
    // the PTE cost is measured on this machine (a number) or says why not
    expect(report.stdout).toMatch(/^ {2}PTE \(4 KiB\)\s+(\d[\d.]* (ns|µs)|not measured)\s/m);
    expect(review.stdout).toContain('app1: mmap a 4KiB at 0x7f1234561000');
  });

  test('scenario sequence reads steps from a file and reports a bad line as FILE:LINE', () => {
    const f = join(dir, 'steps.txt');
    writeFileSync(f, 'memory 4MiB\napp1: mmap a 4KiB\napp2: mmap b 2MiB\n');
    const ok = p2pemu('scenario', 'sequence', f, '--no-calibration');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ {2}app2: mmap b 2MiB\s+at offset 0x200000/m);
    writeFileSync(f, 'memory 4MiB\napp1: mmap a 4KiB sideways\n');
    const bad = p2pemu('scenario', 'sequence', f);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, `p2pemu: ${f}:2: placement is aligned, unaligned or "at ADDR", not "sideways"`]);
  });
});
